"""Where the training loop keeps a run: the `Checkpointer` (best weights, resumable snapshot, training log).

It lives in the training layer, above the storage primitives it uses (xlpt.checkpoints: safetensors writes,
the background writer; xlpt.distributed.snapshot: the resumable state) and the run folder's layout
(xlpt.run_dir), so none of those has to import back up.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from xlpt.checkpoints import BackgroundWriter
from xlpt.distributed import snapshot
from xlpt.run_dir import RunDir


class Checkpointer:
    """What the training loop keeps of a run, and where: the best trainable weights (safetensors, written in
    the background), the resumable snapshot, and the training log (one JSON record a line).

    The loop only calls these methods and never names a file: `for_run` takes the paths from `RunDir`, the one
    place that knows a run folder's layout; another layout (the lab, a test) is another Checkpointer.
    `metadata`: entries every best-weights file carries besides its step and score (the base model's identity,
    `identity_metadata`), so a later export or predict on another base is refused."""

    def __init__(self, best: str | os.PathLike, last: str | os.PathLike, train_log: str | os.PathLike,
                 metadata: dict[str, str] | None = None):
        self.best, self.last, self.train_log = Path(best), Path(last), Path(train_log)
        self.metadata = dict(metadata or {})
        self._writer = BackgroundWriter()

    @classmethod
    def for_run(cls, run, metadata: dict[str, str] | None = None) -> "Checkpointer":
        """The standard layout of `run` (a RunDir, or a run folder's path)."""
        run = run if isinstance(run, RunDir) else RunDir(run)
        return cls(run.best_weights_path, run.last_checkpoint, run.train_log_path, metadata)

    def open_log(self):
        """The training log, opened for appending (a resumed run continues the same file)."""
        self.train_log.parent.mkdir(parents=True, exist_ok=True)
        return open(self.train_log, "a", encoding="utf-8")

    def save_best(self, weights: dict[str, torch.Tensor], step: int, score: float) -> None:
        """Hand the best weights so far to the background writer (training goes on while the disk works)."""
        self._writer.submit(weights, self.best, {**self.metadata, "step": str(step), "dev_score": repr(score)})

    def save_last(self, engine, optimizer, scheduler, state: dict, summary: dict) -> None:
        """Write the resumable snapshot (collective under torchrun: every process calls it at the same step)."""
        self.wait()  # the snapshot names the best step: its weights must be on disk first
        snapshot.save(engine, optimizer, scheduler, state, summary, self.last)

    def resume_state(self, engine, optimizer, scheduler) -> tuple[dict, dict] | None:
        """(cursor state, summary fields) restored from the snapshot into model, optimizer, scheduler and RNG;
        None when there is no snapshot (training starts from the beginning)."""
        if not self.last.exists():
            return None
        return snapshot.load(engine, optimizer, scheduler, self.last)

    def wait(self) -> None:
        """Until the best weights handed over are on disk (a failed write is raised here)."""
        self._writer.wait()
