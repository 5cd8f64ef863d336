"""Experiment tracking: the records of train_log.jsonl, also sent to TensorBoard or Weights & Biases.

`train.report_to` picks the tracker: none (default) | tensorboard | wandb. Both go through accelerate's
tracker integrations (`accelerate.tracking.TensorBoardTracker`, `WandBTracker`: what `Accelerator(log_with=..)`
uses), so xlpt has no logging format of its own to maintain.

What is logged. Every record the training loop writes to train_log.jsonl reaches the tracker through the
loop's `on_log` hook and becomes one scalar per numeric key, under the same name, at the record's step:
loss, lr, grad_norm, tokens_per_s, peak_memory_mb (and tflops, mfu where known) every `train.log_every`
steps; dev_score and best at every dev evaluation. A null (the value at a diverged step) is not logged; a
flag (`diverged: true`) is logged as 1. The resolved run config goes in once, as hyper-parameters.

Offline by default. TensorBoard writes event files under <run>/tensorboard/ (view them with `tensorboard
--logdir <run>/tensorboard`); W&B runs in offline mode under <run>/wandb/ unless the environment sets
WANDB_MODE (upload later with `wandb sync`). A resumed run appends to the same folder: steps logged
after the last snapshot and before the interruption then appear twice, exactly as in train_log.jsonl.
"""

from __future__ import annotations

import importlib.util
import os
from contextlib import contextmanager

from xlpt.errors import ConfigError

PACKAGES = {"tensorboard": "tensorboard", "wandb": "wandb"}
"""The package each tracker needs (accelerate itself is a dependency of xlpt)."""


def check_tracker(cfg) -> None:
    """Fail in one line, before any data or model is loaded, when the tracker's package is missing."""
    name = cfg.train.report_to
    if name != "none" and importlib.util.find_spec(PACKAGES[name]) is None:
        raise ConfigError(f"train.report_to={name} needs the {PACKAGES[name]} package: pip install "
                          f"{PACKAGES[name]} (or pip install 'xlpt[track]'), or set train.report_to=none")


@contextmanager
def tracking(cfg, run, enabled: bool = True):
    """The `on_log(record)` function for `training.loop.train` (None with train.report_to=none, and in
    every process but the main one of a distributed run); the tracker is closed (its files flushed) when
    the block ends, however it ends."""
    if cfg.train.report_to == "none" or not enabled:
        yield None
        return
    check_tracker(cfg)
    tracker = open_tracker(cfg, run)
    try:
        tracker.store_init_configuration(hyperparameters(cfg.to_dict()))
        yield lambda record: tracker.log(scalars(record), step=record.get("step"))
    finally:
        tracker.finish()


def open_tracker(cfg, run):
    """A started accelerate tracker writing into the run directory."""
    from accelerate.tracking import TensorBoardTracker, WandBTracker

    name = cfg.train.report_to
    folder = run.tracker_dir(name)
    folder.mkdir(parents=True, exist_ok=True)
    if name == "tensorboard":
        tracker = TensorBoardTracker(run_name="", logging_dir=folder)
    else:
        # An explicit mode wins over the environment in wandb.init, so pass the environment's own choice.
        tracker = WandBTracker(os.environ.get("WANDB_PROJECT", "xlpt"), name=run.path.name, dir=str(folder),
                               mode=os.environ.get("WANDB_MODE", "offline"))
    tracker.start()
    return tracker


def scalars(record: dict) -> dict[str, float]:
    """The numeric values of a train_log record, keyed as in train_log.jsonl (the step is the x axis)."""
    return {key: float(value) for key, value in record.items()
            if key != "step" and isinstance(value, (int, float))}


def hyperparameters(tree: dict, prefix: str = "") -> dict[str, str | int | float | bool]:
    """The config as flat `section.key` values of the types trackers accept (lists and empty values as text)."""
    flat = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(hyperparameters(value, f"{prefix}{key}."))
        elif isinstance(value, (str, int, float, bool)):
            flat[f"{prefix}{key}"] = value
        else:
            flat[f"{prefix}{key}"] = "null" if value is None else str(value)
    return flat
