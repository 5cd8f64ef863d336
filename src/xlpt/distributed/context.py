"""Which process this is, among how many, and the few collectives xlpt needs.

torchrun starts N copies of a command and tells each, in its environment, its RANK (0..N-1 over all
machines), LOCAL_RANK (0..n-1 on this machine) and WORLD_SIZE (N). `setup` reads them: with WORLD_SIZE > 1
it joins the process group (NCCL between GPUs, gloo on CPU) and gives each process its own GPU
(cuda:LOCAL_RANK). Without them, or with WORLD_SIZE=1, there is one process and nothing communicates.
"""

from __future__ import annotations

import atexit
import os
from dataclasses import dataclass, field

import torch

from xlpt.distributed.launcher_env import launched_world_size
from xlpt.errors import ConfigError


@dataclass(frozen=True)
class Context:
    """This process's place in the run. The default is the single process."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str | None = None
    """nccl | gloo; None for a single process."""
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that writes files and logs."""
        return self.rank == 0

    @property
    def _comm_device(self) -> torch.device:
        return self.device if self.backend == "nccl" else torch.device("cpu")

    # ------------------------------------------------------------------------------------ collectives
    def barrier(self) -> None:
        if self.distributed:
            torch.distributed.barrier()

    def all_sum(self, values: list[float]) -> list[float]:
        """Element-wise sums over all processes (float64: exact for counts, tight for loss sums)."""
        if not self.distributed:
            return list(values)
        tensor = torch.tensor(values, dtype=torch.float64, device=self._comm_device)
        torch.distributed.all_reduce(tensor, op=torch.distributed.ReduceOp.SUM)
        return tensor.tolist()

    def any(self, *flags: bool) -> tuple[bool, ...]:
        """Element-wise OR over all processes: a decision (stop, snapshot now) every process takes together."""
        if not self.distributed:
            return tuple(bool(f) for f in flags)
        tensor = torch.tensor([1 if f else 0 for f in flags], dtype=torch.int64, device=self._comm_device)
        torch.distributed.all_reduce(tensor, op=torch.distributed.ReduceOp.MAX)
        return tuple(bool(v) for v in tensor.tolist())

    def broadcast(self, obj):
        """Rank 0's `obj` on every process."""
        if not self.distributed:
            return obj
        box = [obj]
        torch.distributed.broadcast_object_list(box, src=0, device=self._comm_device)
        return box[0]

    def gather(self, obj) -> list:
        """Every process's `obj`, in rank order, on every process."""
        if not self.distributed:
            return [obj]
        out = [None] * self.world_size
        torch.distributed.all_gather_object(out, obj)
        return out

    def describe(self) -> dict:
        """world_size, backend and every process's device, for train_summary.json and results.json
        (collective: every process must call it)."""
        return {"world_size": self.world_size, "backend": self.backend, "devices": self.gather(device_name(self.device))}


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return str(device)


_CONTEXT: Context | None = None


def setup(device: str = "auto") -> Context:
    """This process's Context, joining the process group on first call when launched with WORLD_SIZE > 1.

    `device` is model.device: auto/cuda put each process on cuda:LOCAL_RANK (CPU with gloo when there is
    no GPU), cpu keeps every process on the CPU. Once joined, later calls return the same Context."""
    global _CONTEXT
    from xlpt.models.loading import resolve_device

    if _CONTEXT is not None:
        return _CONTEXT
    if launched_world_size() == 1 and not torch.distributed.is_initialized():
        return Context(device=resolve_device(device))  # one process: nothing to join, nothing to remember
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device.startswith("cuda:") or device == "mps":
        raise ConfigError(f"model.device={device} would put every process on the same device; under torchrun use "
                          "model.device=auto (or cuda): process i then uses cuda:LOCAL_RANK")
    use_cuda = device in ("auto", "cuda") and torch.cuda.is_available()
    if device == "cuda" and not use_cuda:
        raise ConfigError("model.device=cuda requested but CUDA is not available")
    if use_cuda:
        if local_rank >= torch.cuda.device_count():
            raise ConfigError(f"LOCAL_RANK={local_rank} but this machine has {torch.cuda.device_count()} GPUs; "
                              "start at most one process per GPU (torchrun --nproc-per-node)")
        placed = torch.device("cuda", local_rank)
        torch.cuda.set_device(placed)
    else:
        placed = torch.device("cpu")
    backend = "nccl" if use_cuda else "gloo"
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group(backend, device_id=placed if use_cuda else None)
        atexit.register(_close)
    _CONTEXT = Context(torch.distributed.get_rank(), torch.distributed.get_world_size(), local_rank,
                       torch.distributed.get_backend(), placed)
    return _CONTEXT


def finish() -> None:
    """Leave the process group after a command that succeeded on this process: first wait for every
    process, then close. Without the wait, a process with less left to do (rank 1 returns right after
    rank 0's results arrive, while rank 0 still writes them) tears down its gloo connections while its
    peer still uses them, and an exiting worker can abort (SIGABRT, "terminate called without an active
    exception"), failing a run whose results were already right."""
    global _CONTEXT
    if torch.distributed.is_initialized():
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()
    _CONTEXT = None


def _close() -> None:
    # At exit after a failure: close without waiting (the launcher stops the other processes).
    if torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
