"""Resumable snapshots (checkpoint/last.pt) of one process, of replicated (DDP) and of sharded (FSDP2) runs.

last.pt is always the snapshot's index, written last and atomically by rank 0:

    scheduler, state (step/epoch/batch cursor), summary, torch_rng, rng_by_rank (each process's CPU and
    CUDA generator), and either
    model + optimizer   whole tensors (one process, or DDP, whose replicas are identical), or
    sharded             "last-sharded/<name>": a torch.distributed.checkpoint folder holding each process's
                        shards of the trainable weights and AdamW state (it loads on any number of processes)

A crash at any moment leaves last.pt naming a complete snapshot: a new folder is written in full before
last.pt names it, and the previous one is deleted only after.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import torch

from xlpt import checkpoints
from xlpt.errors import RunFileError

SHARDED_DIR = "last-sharded"
KEYS = ("scheduler", "state", "summary", "torch_rng")


def rng_state() -> dict:
    cuda = torch.cuda.get_rng_state() if torch.cuda.is_available() and torch.cuda.is_initialized() else None
    return {"cpu": torch.get_rng_state(), "cuda": cuda}


def save(engine, optimizer, scheduler, state: dict, summary: dict, path: Path) -> None:
    """Write the snapshot (collective: every process calls it at the same step)."""
    context = engine.context
    index = {"scheduler": scheduler.state_dict(), "state": dict(state), "summary": summary,
             "torch_rng": torch.get_rng_state(), "rng_by_rank": context.gather(rng_state())}
    if engine.sharded:
        import torch.distributed.checkpoint as dcp
        from torch.distributed.checkpoint.state_dict import get_optimizer_state_dict

        name = context.broadcast(f"step-{state['step']:08d}-{time.time_ns()}")
        folder = path.parent / SHARDED_DIR / name
        dcp.save({"model": engine.sharded_trainables(), "optimizer": get_optimizer_state_dict(engine.model, optimizer)},
                 checkpoint_id=str(folder))
        context.barrier()  # every shard is on disk before last.pt names the folder
        if context.is_main:
            checkpoints.atomic_save({**index, "sharded": f"{SHARDED_DIR}/{name}", "world_size": context.world_size},
                                    path)
            for old in (path.parent / SHARDED_DIR).iterdir():
                if old.name != name:
                    shutil.rmtree(old, ignore_errors=True)
    elif context.is_main:
        checkpoints.atomic_save({**index, "model": checkpoints.trainable_state(engine.model),
                                 "optimizer": optimizer.state_dict()}, path)
    context.barrier()  # no process goes on (or exits, making torchrun stop the others) before it is complete


def load(engine, optimizer, scheduler, path: Path) -> tuple[dict, dict]:
    """Restore weights, optimizer, scheduler and RNG from `path`; returns (cursor state, summary fields).
    A file that does not fit is one RunFileError."""
    saved = checkpoints.load(path)
    whole = isinstance(saved, dict) and "model" in saved and "optimizer" in saved
    if not isinstance(saved, dict) or any(key not in saved for key in KEYS) or not (whole or "sharded" in saved):
        raise RunFileError(path, "is not a resumable checkpoint of this version (keys missing); delete it to "
                           "train from the start")
    if ("sharded" in saved) != engine.sharded:
        written = "sharded (train.sharding=full)" if "sharded" in saved else "unsharded"
        raise RunFileError(path, f"is a {written} snapshot but this run is {engine.describe()}; resume it as it was "
                           "trained, or delete it to train from the start")
    if whole:
        checkpoints.load_trainable_state(engine.model, saved["model"], path)
    try:
        if whole:
            optimizer.load_state_dict(saved["optimizer"])
        else:
            _load_sharded(engine, optimizer, path.parent / saved["sharded"])
        scheduler.load_state_dict(saved["scheduler"])
        _restore_rng(saved, engine.context)
    except (ValueError, KeyError, TypeError, RuntimeError) as err:
        raise RunFileError(path, f"does not fit this run ({err}); delete it to train from the start") from None
    return saved["state"], saved["summary"]


def _load_sharded(engine, optimizer, folder: Path) -> None:
    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint.state_dict import get_optimizer_state_dict, set_optimizer_state_dict

    if not (folder / ".metadata").exists():
        raise RunFileError(folder, "is missing or incomplete (checkpoint/last.pt names it); delete checkpoint/last.pt "
                           "to train from the start")
    content = {"model": engine.sharded_trainables(), "optimizer": get_optimizer_state_dict(engine.model, optimizer)}
    with torch.no_grad():
        dcp.load(content, checkpoint_id=str(folder))  # in place, into this process's shards (any world size)
    set_optimizer_state_dict(engine.model, optimizer, content["optimizer"])


def _restore_rng(saved: dict, context) -> None:
    """Each process gets its own generator state back; with another number of processes than before, all
    take rank 0's (the order of examples does not depend on it: only dropout does)."""
    by_rank = saved.get("rng_by_rank")
    mine = by_rank[context.rank] if isinstance(by_rank, list) and len(by_rank) == context.world_size else None
    torch.set_rng_state(mine["cpu"] if mine else saved["torch_rng"])
    if mine and mine.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state(mine["cuda"])
