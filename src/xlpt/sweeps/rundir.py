"""What a sweep keeps in each run directory besides the trainer's files, and how it decides a run is done.

    <out>/<run_id>/status.json   {"status", "sweep", "owner", "started", "finished", "attempts", "error", ...}
                                 written atomically at each transition; the report generator shows its
                                 error for unfinished runs, and `xlpt runs reindex` rebuilds the store from it
    <out>/<run_id>/.lock         held with flock(2) while a process works on the run

A run is done only when its results file (results.json for the test split) exists, parses, and
belongs to this run (its run_id and config match). Everything else (status.json, the store) is an
index that can be wrong after a crash; the results file cannot be half-written (evaluate_run writes
it to a temporary file and renames it).

The lock is an advisory `flock` on `.lock`: the kernel releases it when its process exits, however it
exits (SIGKILL included), so a crashed sweep never leaves a run locked. flock is per machine; on NFS
it may not be honoured across machines, so run concurrent sweeps on one machine or local disk.
"""

from __future__ import annotations

import json
import os
import socket
from datetime import datetime, timezone
from pathlib import Path

from xlpt.evaluation.evaluate import results_path

try:
    import fcntl
except ImportError:  # Windows: no flock; concurrent sweeps on one folder are then unsupported.
    fcntl = None


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class RunLock:
    """Non-blocking exclusive lock on a run directory. `acquire()` returns False if someone holds it."""

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / ".lock"
        self._handle = None

    def acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")
        if fcntl is not None:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.close()
                return False
        self._handle = handle
        return True

    def release(self) -> None:
        if self._handle is not None:
            if fcntl is not None:
                fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


def is_locked(run_dir: Path) -> bool:
    """True when another process holds the run's lock (i.e. is working on it right now)."""
    if fcntl is None or not (Path(run_dir) / ".lock").exists():
        return False
    lock = RunLock(run_dir)
    if lock.acquire():
        lock.release()
        return False
    return True


def write_status(run_dir: Path, **fields) -> dict:
    """Merge `fields` into status.json (atomic replace)."""
    path = Path(run_dir) / "status.json"
    status = read_status(run_dir)
    status.update(fields)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"status.json.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(status, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, path)
    return status


def read_status(run_dir: Path) -> dict:
    try:
        data = json.loads((Path(run_dir) / "status.json").read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def read_results(run_dir: Path, split: str, expected_id: str | None = None) -> tuple[dict | None, str]:
    """(results, "") when the run's results file is valid; (None, why not) otherwise."""
    path = results_path(Path(run_dir), split)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, f"no {path.name}"
    except (OSError, ValueError) as err:
        return None, f"{path.name} unreadable: {err}"
    if not isinstance(data, dict):
        return None, f"{path.name} is not a JSON object"
    languages = data.get("languages")
    if not isinstance(languages, dict) or not languages:
        return None, f"{path.name} has no per-language results"
    if not isinstance(data.get("average"), (int, float)) or not isinstance(data.get("config"), dict):
        return None, f"{path.name} lacks average or config"
    if expected_id is not None and data.get("run_id") != expected_id:
        return None, f"{path.name} belongs to run {data.get('run_id')!r}, not {expected_id!r}"
    return data, ""


def disk_status(run_dir: Path, split: str, expected_id: str | None = None) -> str:
    """A run's status from its directory alone (no store): done | running | failed | interrupted | pending.

    `interrupted` means work was saved (a checkpoint or a finished training) but no process holds the run;
    the next sweep resumes it."""
    run_dir = Path(run_dir)
    if read_results(run_dir, split, expected_id)[0] is not None:
        return "done"
    if is_locked(run_dir):
        return "running"
    if read_status(run_dir).get("status") == "failed":
        return "failed"
    if (run_dir / "checkpoint" / "last.pt").exists() or (run_dir / "train_summary.json").exists():
        return "interrupted"
    return "pending"
