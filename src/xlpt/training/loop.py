"""The training loop: one explicit function for every method and task.

What it does, top to bottom: AdamW (fused) over the trainable parameters, warm-up + linear decay,
gradient accumulation, length-bucketed batches, optional autocast, gradient clipping, a stop at the
first non-finite loss or gradient norm, English-dev evaluation every `eval_every` steps with the best
weights kept (XTREME protocol: selection on the source language only; written in the background as
safetensors), early stopping, tokens/s and peak memory logged, and resumable snapshots (every
`checkpoint_every` steps or `checkpoint_minutes`, at the end, and on SIGTERM/SIGINT) that resume
exactly (same batches, same RNG state).

Under torchrun the same function runs in every process: `xlpt.distributed.engine` splits each global
micro-batch over the processes and wraps the model (DDP, or FSDP2 with train.sharding=full); decisions
(a non-finite loss, a dev score, a stop signal, a snapshot due by time) are taken together; only rank 0
writes files. With one process the code path is the one it always was.
"""

from __future__ import annotations

import json
import math
import random
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

import torch
from torch import nn
from xlpt.progress import progress_bar

from xlpt import checkpoints
from xlpt.config import TrainConfig
from xlpt.distributed import snapshot
from xlpt.distributed.context import Context
from xlpt.distributed.engine import Engine
from xlpt.errors import TrainingDiverged, TrainingInterrupted
from xlpt.training.batching import bucketed_batches
from xlpt.training.flops import peak_flops
from xlpt.training.schedule import make_optimizer, warmup_linear


class Objective(Protocol):
    """What the loop needs from a task: training items, batches, a loss and a dev score."""

    def train_lengths(self) -> list[int]: ...
    def batch(self, indices: list[int], device: torch.device) -> dict[str, torch.Tensor]: ...
    def loss(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]: ...
    def dev_score(self, model: nn.Module) -> float: ...
    # Under torchrun also: loss_terms(model, batch) -> (summed loss, units averaged over, real tokens).


@dataclass
class TrainSummary:
    steps: int = 0
    best_step: int = 0
    best_dev_score: float = float("-inf")
    dev_history: list = field(default_factory=list)
    tokens_seen: int = 0
    tokens_per_second: float = 0.0
    peak_memory_mb: float = 0.0
    stopped_early: bool = False
    resumed_from_step: int | None = None
    seconds: float = 0.0
    checkpoint_seconds: float = 0.0
    """Of `seconds`, how long training waited for checkpoints: handing the best weights to the background
    writer (and waiting for the previous write) and writing resumable snapshots."""


def autocast_dtype(mode: str, device: torch.device) -> torch.dtype | None:
    """The dtype train.autocast computes in on `device` (None: no autocast)."""
    if mode == "off" or (mode == "auto" and device.type != "cuda"):
        return None
    return torch.float16 if mode == "fp16" else torch.bfloat16


def autocast_context(mode: str, device: torch.device):
    dtype = autocast_dtype(mode, device)
    return nullcontext() if dtype is None else torch.autocast(device_type=device.type, dtype=dtype)


def peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def train_mode(model: nn.Module, dropout: str) -> None:
    """Training mode; with train.dropout=off the language model runs without dropout (eval mode: these
    models have no other train/eval differences), while prompts, prefixes, adapters and heads still train."""
    model.train()
    if dropout == "off":
        model.backbone.eval()


class StopRequest:
    """SIGTERM/SIGINT during training ask for a clean stop at the next optimizer step: the loop writes its
    resumable snapshot and raises TrainingInterrupted (schedulers send SIGTERM before preempting)."""

    def __init__(self):
        self.signal: int | None = None
        self._previous = {}

    def __enter__(self):
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.signal is not None:  # a second signal: stop now
            raise KeyboardInterrupt
        self.signal = signum

    def __exit__(self, *exc):
        import signal

        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        return False


def train(model: nn.Module, objective: Objective, cfg: TrainConfig, lr: float, run_dir: Path,
          device: torch.device, log=print, progress: bool = True, flops_per_token: float | None = None,
          on_log=None, context: Context | None = None, settings: str | None = None,
          checkpoint_metadata: dict[str, str] | None = None) -> TrainSummary:
    """Train `model` on `objective`; returns the summary. `on_log(record)` receives every record written
    to train_log.jsonl (experiment trackers hook in here). `context`: this process's place among those
    torchrun started (xlpt.distributed.setup); None = one process. `settings`: what the caller's user set
    that bears on divergence, in their own key names (`xlpt train`: method, train.learning_rate, ...), for
    the divergence message; None says only the learning rate (callers without those keys, e.g. the lab).
    `checkpoint_metadata`: entries every best.safetensors carries besides its step and score (the base model's
    identity, checkpoints.identity_metadata)."""
    settings = settings or f"learning rate {lr:g}"

    def diverged(what: str, value, step: int) -> TrainingDiverged:
        # Name what the run used and where it stopped; which setting to change is the user's call (a too high
        # learning rate is the usual cause, but fp16 overflow or missing clipping diverge the same way).
        kept = (f"the best checkpoint so far (step {summary.best_step}) is kept" if summary.best_step else
                "no checkpoint was kept (no dev evaluation finished before it)")
        return TrainingDiverged(f"the {what} became {value} at step {step} (scheduled learning rate "
                                f"{scheduler.get_last_lr()[0]:.3g} there; the run used {settings}); {kept}, "
                                "nothing diverged was saved")

    context = context or Context(device=device)
    main = context.is_main
    ckpt_dir = Path(run_dir) / "checkpoint"
    Path(run_dir).mkdir(parents=True, exist_ok=True)
    metrics_log = open(Path(run_dir) / "train_log.jsonl", "a", encoding="utf-8") if main else None
    lengths = objective.train_lengths()
    batches_per_epoch = math.ceil(len(lengths) / cfg.batch_size)
    total_steps = cfg.max_steps or max(1, math.ceil(cfg.epochs * batches_per_epoch / cfg.grad_accum))
    engine = Engine(model, cfg, context, compute_dtype=autocast_dtype(cfg.autocast, device))
    optimizer = make_optimizer(model, lr, cfg.weight_decay, cfg.head_learning_rate)
    scheduler = warmup_linear(optimizer, int(cfg.warmup_ratio * total_steps), total_steps)
    params = [p for group in optimizer.param_groups for p in group["params"]]
    summary, state = TrainSummary(), {"step": 0, "epoch": 0, "batch": 0, "bad_evals": 0}
    best_writer = checkpoints.BackgroundWriter()
    if context.distributed:
        log(f"training {engine.describe()}: each micro-batch of {cfg.batch_size} examples is split over "
            f"{context.world_size} processes")

    def emit(record: dict) -> None:
        if not main:
            return
        _write(metrics_log, record)
        if on_log is not None:
            on_log(record)

    last_path = ckpt_dir / "last.pt"
    if last_path.exists():  # resume exactly where the last checkpoint left off
        state, summary = _resume(engine, optimizer, scheduler, last_path)
        log(f"resumed from step {state['step']} (epoch {state['epoch']}, batch {state['batch']})")

    prior_seconds, started = summary.seconds, time.perf_counter()
    last_snapshot = time.perf_counter()

    def save_last():
        nonlocal last_snapshot
        waited = time.perf_counter()
        best_writer.wait()  # the snapshot names the best step: its weights must be on disk first
        summary.seconds = prior_seconds + time.perf_counter() - started
        snapshot.save(engine, optimizer, scheduler, state, asdict(summary), last_path)
        last_snapshot = time.perf_counter()
        summary.checkpoint_seconds += last_snapshot - waited

    def evaluate_and_select() -> bool:
        """Dev evaluation; keeps the best trainable state. Returns True when training should stop."""
        score = context.broadcast(objective.dev_score(model))  # rank 0's score decides for every process
        train_mode(model, cfg.dropout)
        if not math.isfinite(score):
            raise diverged("dev score", score, state["step"])
        summary.dev_history.append({"step": state["step"], "dev_score": score})
        improved = score > summary.best_dev_score
        if improved:
            summary.best_dev_score, summary.best_step = score, state["step"]
            handed = time.perf_counter()
            weights = engine.trainable_state()  # rank 0 only (all processes gather when sharded)
            if weights is not None:
                best_writer.submit(weights, ckpt_dir / "best.safetensors",
                                   {**(checkpoint_metadata or {}), "step": str(state["step"]), "dev_score": repr(score)})
            summary.checkpoint_seconds += time.perf_counter() - handed
            state["bad_evals"] = 0
        else:
            state["bad_evals"] += 1
        emit({"step": state["step"], "dev_score": score, "best": summary.best_dev_score})
        log(f"step {state['step']}: dev score {score:.4f} (best {summary.best_dev_score:.4f} at step {summary.best_step})")
        return cfg.patience is not None and state["bad_evals"] >= cfg.patience

    train_mode(model, cfg.dropout)
    bar = progress_bar(total=total_steps, initial=state["step"], desc="train", unit="step", disable=not (progress and main),
               leave=False)
    stop_request = StopRequest()
    device_flops = (peak_flops(device) or 0) * context.world_size
    try:
        with stop_request:
            window_tokens, window_start = 0, time.perf_counter()
            micro, stop = 0, False
            while state["step"] < total_steps and not stop:
                order = bucketed_batches(lengths, cfg.batch_size, random.Random(cfg.seed * 1000 + state["epoch"]))
                for batch_indices in order[state["batch"] :]:
                    with engine.accumulating(sync=(micro + 1) % cfg.grad_accum == 0):
                        loss, n_tokens, to_backprop = engine.forward(objective, batch_indices, device,
                                                                     autocast_context(cfg.autocast, device))
                        if not torch.isfinite(loss):
                            emit({"step": state["step"], "loss": None, "diverged": True})
                            raise diverged("loss", loss.item(), state["step"] + 1)
                        engine.backward(to_backprop, cfg.grad_accum)
                    window_tokens += n_tokens
                    summary.tokens_seen += n_tokens
                    state["batch"] += 1
                    micro += 1
                    if micro % cfg.grad_accum:
                        continue
                    grad_norm = engine.clip_gradients(params, cfg.max_grad_norm)
                    if not torch.isfinite(grad_norm):
                        emit({"step": state["step"], "grad_norm": None, "diverged": True})
                        raise diverged("gradient norm", float(grad_norm), state["step"] + 1)
                    optimizer.step()
                    scheduler.step()
                    optimizer.zero_grad(set_to_none=True)
                    state["step"] += 1
                    bar.update(1)
                    if state["step"] % cfg.log_every == 0:
                        elapsed = time.perf_counter() - window_start
                        record = {"step": state["step"], "loss": loss.item(), "lr": scheduler.get_last_lr()[0],
                                  "grad_norm": float(grad_norm), "tokens_per_s": window_tokens / max(elapsed, 1e-9),
                                  "peak_memory_mb": peak_memory_mb(device)}
                        if flops_per_token:
                            record["tflops"] = record["tokens_per_s"] * flops_per_token / 1e12
                            if device_flops:
                                record["mfu"] = record["tflops"] * 1e12 / device_flops
                        emit(record)
                        bar.set_postfix(loss=f"{record['loss']:.4f}", tok_s=f"{record['tokens_per_s']:.0f}")
                        window_tokens, window_start = 0, time.perf_counter()
                    last_step = state["step"] >= total_steps
                    if state["step"] % cfg.eval_every == 0 or last_step:
                        stop = evaluate_and_select()
                    # Taken together: one process stopping (or snapshotting) alone would leave the others waiting.
                    signalled, time_due = context.any(
                        stop_request.signal is not None,
                        time.perf_counter() - last_snapshot >= 60 * cfg.checkpoint_minutes)
                    if signalled:
                        save_last()
                        cause = f"signal {stop_request.signal}" if stop_request.signal is not None else "a signal"
                        raise TrainingInterrupted(f"stopped by {cause} at step {state['step']}; the snapshot is "
                                                  "saved: run the same command to resume")
                    by_steps = cfg.checkpoint_every is not None and state["step"] % cfg.checkpoint_every == 0
                    if not (stop or last_step) and (by_steps or time_due):
                        save_last()
                    if stop or last_step:
                        break
                else:
                    state["epoch"] += 1
                    state["batch"] = 0
    finally:
        bar.close()
        if metrics_log is not None:
            metrics_log.close()
    summary.steps = state["step"]
    summary.stopped_early = stop and state["step"] < total_steps
    summary.seconds = prior_seconds + time.perf_counter() - started
    summary.tokens_per_second = summary.tokens_seen / max(summary.seconds, 1e-9)
    summary.peak_memory_mb = max(context.gather(peak_memory_mb(device)))  # the fullest device
    save_last()
    summary.seconds = prior_seconds + time.perf_counter() - started  # the final snapshot included
    return summary


def _resume(engine: Engine, optimizer, scheduler, path: Path) -> tuple[dict, TrainSummary]:
    """Restore model, optimizer, scheduler, cursor and RNG from a last.pt; a file that does not fit is one error."""
    from xlpt.errors import RunFileError

    state, saved_summary = snapshot.load(engine, optimizer, scheduler, path)
    try:
        summary = TrainSummary(**saved_summary)
    except TypeError as err:
        raise RunFileError(path, f"does not fit this run ({err}); delete it to train from the start") from None
    summary.resumed_from_step = state["step"]
    return state, summary


def _write(handle, record: dict) -> None:
    """One JSON line; non-finite numbers are refused (bare NaN is not JSON), so callers check first."""
    handle.write(json.dumps(record, allow_nan=False) + "\n")
    handle.flush()
