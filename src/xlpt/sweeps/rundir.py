"""How a sweep decides a run is done, on top of the run directory (xlpt.run_dir owns the files).

A run is done only when its results file (results.json for the test split) exists, parses, and
belongs to this run (its run_id matches). Everything else (status.json, the store) is an index that can
be wrong after a crash; the results file cannot be half-written (it is written atomically).

The lock is an advisory `flock` on `<run>/.lock`: the kernel releases it when its process exits,
however it exits (SIGKILL included), so a crashed sweep never leaves a run locked. flock is per
machine; on NFS it may not be honoured across machines.
"""

from __future__ import annotations

from pathlib import Path

from xlpt.errors import RunFileError
from xlpt.run_dir import RunDir, RunLock, now, owner  # noqa: F401 - re-exported for the runner and store


def is_locked(run_dir: Path) -> bool:
    return RunDir(run_dir).is_locked()


def write_status(run_dir: Path, **fields) -> dict:
    return RunDir(run_dir).write_status(**fields)


def read_status(run_dir: Path) -> dict:
    return RunDir(run_dir).read_status()


def read_results(run_dir: Path, split: str, expected_id: str | None = None) -> tuple[dict | None, str]:
    """(results, "") when the run's results file for `split` is valid; (None, why not) otherwise."""
    run = RunDir(run_dir)
    path = run.results_path(split)
    try:
        data = run.read_results(split)
    except RunFileError as err:
        return None, str(err)
    if data is None:
        return None, f"no {path.name}"
    languages = data.get("languages")
    if not isinstance(languages, dict) or not languages:
        return None, f"{path.name} has no per-language results"
    if not isinstance(data.get("average"), (int, float)) or not isinstance(data.get("config"), dict):
        return None, f"{path.name} lacks average or config"
    if expected_id is not None and data.get("run_id") != expected_id:
        return None, f"{path.name} belongs to run {data.get('run_id')!r}, not {expected_id!r}"
    return data, ""


def disk_status(run_dir: Path, split: str, expected_id: str | None = None) -> str:
    """A run's status from its directory alone (no store): done | running | failed | diverged |
    interrupted | pending. `interrupted`: work was saved but no process holds the run; the next sweep
    resumes it."""
    run = RunDir(run_dir)
    if read_results(run.path, split, expected_id)[0] is not None:
        return "done"
    if run.is_locked():
        return "running"
    status = run.read_status().get("status")
    if status in ("failed", "diverged"):
        return status
    if run.last_checkpoint.exists() or run.summary_path.exists():
        return "interrupted"
    return "pending"
