"""Checks that need no torch, run before any heavy import, so bad input fails in a second, not after
loading a model: the output folder, the model folder, the data folder and the splits a run reads."""

from __future__ import annotations

from pathlib import Path

from xlpt.errors import ConfigError


def check_out_dir(out: str | Path) -> None:
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file, not a run directory")
    parent = out if out.exists() else next((p for p in out.parents if p.exists()), Path("."))
    if not parent.is_dir():
        raise ConfigError(f"--out {out}: {parent} is not a folder")


def check_model(name: str) -> None:
    """A folder must hold a model; a hub id must be reachable or cached (one line within seconds, not
    minutes of retries offline: models.hub_access)."""
    from xlpt.models.hub_access import model_access

    path = Path(name).expanduser()
    if model_access(name) == "local" and not (path / "config.json").exists():
        raise ConfigError(f"model folder {name} has no config.json (not a Hugging Face model folder)")


def preflight(cfg, out: str | Path | None = None):
    """Validate what a run will read; returns the TaskData (files discovered once)."""
    from xlpt.data.plan import plan_training
    from xlpt.data.sources import TaskData
    from xlpt.tasks import get_task

    if out is not None:
        check_out_dir(out)
    check_model(cfg.model.name)
    task = get_task(cfg.data.task)
    data = TaskData(task, cfg.data.data_dir)
    if cfg.method_record.trains:
        plan_training(cfg, data.labeled_splits(cfg.data.train_lang))
    return data
