"""The run folders an audit reads: results, config, training summary and status of each run, leniently.

A file that is missing gives an empty record (old runs lack files and fields; the checks then say the thing
is not recorded); a file that cannot be read is kept as (file, problem) in `RunFiles.problems`, never
raised here, so one damaged run does not hide the other runs' risks (`xlpt audit` turns it into an error).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from xlpt.reporting.collect import RunRecord, results_filename


@dataclass
class RunFiles:
    """One run folder as the audit reads it; `record` is None for a run without results (failed, unfinished)."""

    name: str
    path: Path
    record: RunRecord | None
    results: dict = field(default_factory=dict)
    config: dict = field(default_factory=dict)
    """results.json `config` (the resolved config, as JSON), else config.yaml."""
    summary: dict = field(default_factory=dict)
    """train_summary.json, else results.json `training` (the keys evaluation copies)."""
    status: dict = field(default_factory=dict)
    problems: list[tuple[Path, str]] = field(default_factory=list)
    """(file, problem) for each file that exists but cannot be read."""

    @property
    def data(self) -> dict:
        return as_dict(self.config.get("data"))

    @property
    def trains(self) -> bool:
        """Whether the run's method trains (a zero-shot run has no training set, seed or leakage to audit)."""
        from xlpt.methods import METHODS

        method = METHODS.get(self.record.method if self.record else "")
        return method.trains if method is not None else True

    @cached_property
    def task_spec(self):
        """The run's task definition: its own task.yaml first (the one it used), else the registry; None
        for a task known to neither (its label and language sets are then not checked)."""
        from xlpt.errors import ConfigError
        from xlpt.tasks.registry import get_task

        own = self.path / "task.yaml"
        try:
            if own.is_file():
                return _parse_task(own.read_text(encoding="utf-8"), str(own))
            return get_task(self.record.task) if self.record else None
        except (ConfigError, OSError, UnicodeDecodeError):
            return None


_TASKS: dict[str, object] = {}


def _parse_task(text: str, source: str):
    """A sweep's runs share one task.yaml text: parse it once (YAML parsing dominates an audit's time)."""
    from xlpt.tasks.registry import parse_task

    if text not in _TASKS:
        _TASKS[text] = parse_task(text, source)
    return _TASKS[text]


def read_run(name: str, path: Path, record: RunRecord | None, split: str) -> RunFiles:
    run = RunFiles(name, path, record)
    run.results = _read_json(path / results_filename(split), run.problems) if record else {}
    # results.json's config is JSON (fast); YAML parsing of 100 config.yaml files would dominate the audit
    run.config = as_dict(run.results.get("config")) or _read_config(path / "config.yaml", run.problems)
    run.summary = _read_json(path / "train_summary.json", run.problems) or as_dict(run.results.get("training"))
    run.status = _read_json(path / "status.json", run.problems)
    return run


def _read_json(path: Path, problems: list) -> dict:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        problems.append((path, f"not valid JSON (line {err.lineno}, column {err.colno}: {err.msg})"))
        return {}
    except (OSError, UnicodeDecodeError) as err:
        problems.append((path, f"cannot be read ({err})"))
        return {}
    if not isinstance(data, dict):
        problems.append((path, f"top level is {type(data).__name__}, expected an object"))
        return {}
    return data


def _read_config(path: Path, problems: list) -> dict:
    from xlpt.errors import ConfigError
    from xlpt.schema import load_yaml

    if not path.is_file():
        return {}
    try:
        tree = load_yaml(path.read_text(encoding="utf-8"), "")
    except ConfigError as err:
        problems.append((path, str(err).lstrip(":0123456789 ")))  # load_yaml prefixes "<where>:<line>: "
        return {}
    except (OSError, UnicodeDecodeError) as err:
        problems.append((path, f"cannot be read ({err})"))
        return {}
    if not isinstance(tree, dict):
        problems.append((path, "not a YAML mapping"))
        return {}
    return tree


def as_dict(value) -> dict:
    return value if isinstance(value, dict) else {}
