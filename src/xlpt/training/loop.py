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
import os
import random
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from typing import Protocol

import torch
from torch import nn
from xlpt.progress import progress_bar

from xlpt.config import TrainConfig
from xlpt.distributed.context import Context
from xlpt.distributed.engine import Engine
from xlpt.errors import RunFileError, TrainingDiverged, TrainingInterrupted
from xlpt.training.batching import bucketed_batches
from xlpt.training.checkpointer import Checkpointer
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


def train(model: nn.Module, objective: Objective, cfg: TrainConfig, lr: float,
          checkpointer: Checkpointer | str | os.PathLike, device: torch.device, log=print,
          progress: bool = True, flops_per_token: float | None = None, on_log=None, context: Context | None = None,
          settings: str | None = None) -> TrainSummary:
    """Train `model` on `objective`; returns the summary.

    `checkpointer` keeps the best weights, the resumable snapshot and the training log; the loop never names a
    file (a run folder's path is read as `Checkpointer.for_run(path)`, the standard layout of `xlpt.run_dir`).
    `on_log(record)` receives every record of the training log (experiment trackers hook in here). `context`:
    this process's place among those torchrun started (xlpt.distributed.setup); None = one process.
    `settings`: what the caller's user set that bears on divergence, in their own key names (`xlpt train`:
    method, train.learning_rate, ...), for the divergence message; None says only the learning rate (callers
    without those keys, e.g. the lab)."""
    if not isinstance(checkpointer, Checkpointer):
        checkpointer = Checkpointer.for_run(checkpointer)
    training = _Training(model, objective, cfg, lr, checkpointer, device, context or Context(device=device),
                         log, on_log, settings or f"learning rate {lr:g}")
    training.resume()
    return training.run(progress, flops_per_token)


class _Training:
    """One call of `train`: what it works with, and where it stands (the cursor `state`, the summary, the clocks).

    Methods in the order a step meets them: `run` walks the epochs; each micro-batch is `accumulate`d; every
    `grad_accum` of them make one `optimizer_step`, after which come `log_progress`, `evaluate_and_select` and
    `snapshot_if_due`; `finish` writes the final snapshot."""

    def __init__(self, model, objective, cfg: TrainConfig, lr: float, files: Checkpointer,
                 device: torch.device, context: Context, log, on_log, settings: str):
        self.model, self.objective, self.cfg, self.files = model, objective, cfg, files
        self.device, self.context, self.log, self.on_log, self.settings = device, context, log, on_log, settings
        self.lengths = objective.train_lengths()
        batches_per_epoch = math.ceil(len(self.lengths) / cfg.batch_size)
        self.total_steps = cfg.max_steps or max(1, math.ceil(cfg.epochs * batches_per_epoch / cfg.grad_accum))
        self.engine = Engine(model, cfg, context, compute_dtype=autocast_dtype(cfg.autocast, device))
        self.optimizer = make_optimizer(model, lr, cfg.weight_decay, cfg.head_learning_rate)
        self.scheduler = warmup_linear(self.optimizer, int(cfg.warmup_ratio * self.total_steps), self.total_steps)
        self.params = [p for group in self.optimizer.param_groups for p in group["params"]]
        self.summary, self.state = TrainSummary(), {"step": 0, "epoch": 0, "batch": 0, "bad_evals": 0}
        self.metrics_log = None  # the training log's handle while `run` runs (rank 0 only)
        if context.distributed:
            log(f"training {self.engine.describe()}: each micro-batch of {cfg.batch_size} examples is split over "
                f"{context.world_size} processes")

    # ------------------------------------------------------------------------------------ start and end
    def resume(self) -> None:
        """Continue exactly where the last snapshot left off (model, optimizer, scheduler, cursor, RNG)."""
        restored = self.files.resume_state(self.engine, self.optimizer, self.scheduler)
        if restored is None:
            return
        self.state, saved_summary = restored
        try:
            self.summary = TrainSummary(**saved_summary)
        except TypeError as err:  # written by a version whose summary had other fields
            raise RunFileError(self.files.last, f"does not fit this run ({err}); delete it to train from the "
                               "start") from None
        self.summary.resumed_from_step = self.state["step"]
        self.log(f"resumed from step {self.state['step']} (epoch {self.state['epoch']}, batch {self.state['batch']})")

    def run(self, progress: bool, flops_per_token: float | None) -> TrainSummary:
        cfg, state = self.cfg, self.state
        # A resumed run adds its time to the time the snapshot recorded.
        self.prior_seconds, self.started = self.summary.seconds, time.perf_counter()
        self.last_snapshot = time.perf_counter()
        self.flops_per_token = flops_per_token
        self.device_flops = (peak_flops(self.device) or 0) * self.context.world_size
        self.window_tokens, self.window_start = 0, time.perf_counter()  # throughput since the last log record
        self.metrics_log = self.files.open_log() if self.context.is_main else None
        train_mode(self.model, cfg.dropout)
        self.bar = progress_bar(total=self.total_steps, initial=state["step"], desc="train", unit="step",
                                disable=not (progress and self.context.is_main), leave=False)
        stop_request, micro, stop = StopRequest(), 0, False
        try:
            with stop_request:
                while state["step"] < self.total_steps and not stop:
                    # The order of an epoch depends only on the seed and the epoch: a resumed run skips the
                    # batches it already took and sees the same ones after them.
                    epoch_rng = random.Random(cfg.seed * 1000 + state["epoch"])
                    order = bucketed_batches(self.lengths, cfg.batch_size, epoch_rng)
                    for batch_indices in order[state["batch"]:]:
                        micro += 1
                        loss = self.accumulate(batch_indices, sync=micro % cfg.grad_accum == 0)
                        if micro % cfg.grad_accum:
                            continue
                        grad_norm = self.optimizer_step()
                        if state["step"] % cfg.log_every == 0:
                            self.log_progress(loss, grad_norm)
                        last_step = state["step"] >= self.total_steps
                        if state["step"] % cfg.eval_every == 0 or last_step:
                            stop = self.evaluate_and_select()
                        self.snapshot_if_due(stop_request, final=stop or last_step)
                        if stop or last_step:
                            break
                    else:
                        state["epoch"] += 1
                        state["batch"] = 0
        finally:
            self.bar.close()
            if self.metrics_log is not None:
                self.metrics_log.close()
        return self.finish(stopped=stop)

    def finish(self, stopped: bool) -> TrainSummary:
        summary = self.summary
        summary.steps = self.state["step"]
        summary.stopped_early = stopped and self.state["step"] < self.total_steps
        summary.seconds = self.elapsed()
        summary.tokens_per_second = summary.tokens_seen / max(summary.seconds, 1e-9)
        summary.peak_memory_mb = max(self.context.gather(peak_memory_mb(self.device)))  # the fullest device
        self.save_last()
        summary.seconds = self.elapsed()  # the final snapshot included
        return summary

    # ------------------------------------------------------------------------------------ one step
    def accumulate(self, batch_indices: list[int], sync: bool) -> torch.Tensor:
        """Forward and backward of one micro-batch (gradients are reduced across processes only when `sync`:
        on the last micro-batch of an optimizer step). Returns its loss."""
        state = self.state
        with self.engine.accumulating(sync=sync):
            loss, n_tokens, to_backprop = self.engine.forward(self.objective, batch_indices, self.device,
                                                              autocast_context(self.cfg.autocast, self.device))
            if not torch.isfinite(loss):
                self.emit({"step": state["step"], "loss": None, "diverged": True})
                raise self.diverged("loss", loss.item(), state["step"] + 1)
            self.engine.backward(to_backprop, self.cfg.grad_accum)
        self.window_tokens += n_tokens
        self.summary.tokens_seen += n_tokens
        state["batch"] += 1
        return loss

    def optimizer_step(self) -> torch.Tensor:
        """Clip, step, schedule; a non-finite gradient norm stops training before the weights take it."""
        grad_norm = self.engine.clip_gradients(self.params, self.cfg.max_grad_norm)
        if not torch.isfinite(grad_norm):
            self.emit({"step": self.state["step"], "grad_norm": None, "diverged": True})
            raise self.diverged("gradient norm", float(grad_norm), self.state["step"] + 1)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.state["step"] += 1
        self.bar.update(1)
        return grad_norm

    def log_progress(self, loss: torch.Tensor, grad_norm: torch.Tensor) -> None:
        """One training-log record: loss, learning rate, gradient norm, throughput and memory since the last."""
        elapsed = time.perf_counter() - self.window_start
        record = {"step": self.state["step"], "loss": loss.item(), "lr": self.scheduler.get_last_lr()[0],
                  "grad_norm": float(grad_norm), "tokens_per_s": self.window_tokens / max(elapsed, 1e-9),
                  "peak_memory_mb": peak_memory_mb(self.device)}
        if self.flops_per_token:
            record["tflops"] = record["tokens_per_s"] * self.flops_per_token / 1e12
            if self.device_flops:
                record["mfu"] = record["tflops"] * 1e12 / self.device_flops
        self.emit(record)
        self.bar.set_postfix(loss=f"{record['loss']:.4f}", tok_s=f"{record['tokens_per_s']:.0f}")
        self.window_tokens, self.window_start = 0, time.perf_counter()

    def evaluate_and_select(self) -> bool:
        """Dev evaluation; keeps the best trainable state. Returns True when training should stop."""
        state, summary = self.state, self.summary
        score = self.context.broadcast(self.objective.dev_score(self.model))  # rank 0's score decides for all
        train_mode(self.model, self.cfg.dropout)
        if not math.isfinite(score):
            raise self.diverged("dev score", score, state["step"])
        summary.dev_history.append({"step": state["step"], "dev_score": score})
        if score > summary.best_dev_score:
            summary.best_dev_score, summary.best_step = score, state["step"]
            handed = time.perf_counter()
            weights = self.engine.trainable_state()  # rank 0 only (all processes gather when sharded)
            if weights is not None:
                self.files.save_best(weights, state["step"], score)
            summary.checkpoint_seconds += time.perf_counter() - handed
            state["bad_evals"] = 0
        else:
            state["bad_evals"] += 1
        self.emit({"step": state["step"], "dev_score": score, "best": summary.best_dev_score})
        self.log(f"step {state['step']}: dev score {score:.4f} (best {summary.best_dev_score:.4f} at step "
                 f"{summary.best_step})")
        return self.cfg.patience is not None and state["bad_evals"] >= self.cfg.patience

    def snapshot_if_due(self, stop_request: StopRequest, final: bool) -> None:
        """A resumable snapshot on a signal (then stop), every checkpoint_every steps or checkpoint_minutes
        (not on the `final` step: `finish` writes that one)."""
        cfg = self.cfg
        # Taken together: one process stopping (or snapshotting) alone would leave the others waiting.
        signalled, time_due = self.context.any(stop_request.signal is not None,
                                               time.perf_counter() - self.last_snapshot >= 60 * cfg.checkpoint_minutes)
        if signalled:
            self.save_last()
            cause = f"signal {stop_request.signal}" if stop_request.signal is not None else "a signal"
            raise TrainingInterrupted(f"stopped by {cause} at step {self.state['step']}; the snapshot is saved: run "
                                      "the same command to resume")
        by_steps = cfg.checkpoint_every is not None and self.state["step"] % cfg.checkpoint_every == 0
        if not final and (by_steps or time_due):
            self.save_last()

    # ------------------------------------------------------------------------------------ helpers
    def save_last(self) -> None:
        waited = time.perf_counter()
        self.files.wait()  # before the clock is read: the snapshot's time includes the best weights' write
        self.summary.seconds = self.elapsed()
        self.files.save_last(self.engine, self.optimizer, self.scheduler, self.state, asdict(self.summary))
        self.last_snapshot = time.perf_counter()
        self.summary.checkpoint_seconds += self.last_snapshot - waited

    def elapsed(self) -> float:
        return self.prior_seconds + time.perf_counter() - self.started

    def emit(self, record: dict) -> None:
        """A training-log record (rank 0 only), also handed to `on_log`."""
        if self.metrics_log is None:
            return
        _write(self.metrics_log, record)
        if self.on_log is not None:
            self.on_log(record)

    def diverged(self, what: str, value, step: int) -> TrainingDiverged:
        # Name what the run used and where it stopped; which setting to change is the user's call (a too high
        # learning rate is the usual cause, but fp16 overflow or missing clipping diverge the same way).
        best = self.summary.best_step
        kept = (f"the best checkpoint so far (step {best}) is kept" if best else
                "no checkpoint was kept (no dev evaluation finished before it)")
        return TrainingDiverged(f"the {what} became {value} at step {step} (scheduled learning rate "
                                f"{self.scheduler.get_last_lr()[0]:.3g} there; the run used {self.settings}); {kept}, "
                                "nothing diverged was saved")


def _write(handle, record: dict) -> None:
    """One JSON line; non-finite numbers are refused (bare NaN is not JSON), so callers check first."""
    handle.write(json.dumps(record, allow_nan=False) + "\n")
    handle.flush()
