"""`xlpt runs reindex --out DIR`: migrate old run folders, then rebuild DIR's results store from the files.

The store is only an index (see store.py), so a rebuild loses nothing: every directory is read again
(`RunStore.sync(full=True)`), rows without a directory are dropped, and a store that cannot be opened
(damaged, or an older schema such as xlpt <= 0.1's) is moved aside, never deleted.

Migration of xlpt <= 0.1 run folders. Their config.yaml has the old flat `method` section, so the
current id of the same run (`run_id` of the migrated config) differs from the one their files carry.
Such a run is recognised as done by its results file's own recorded config (rundir.results_belong),
and its finish time is the results file's. A sweep looks for a run in `<out>/<id>/`, so a folder named
after the old id is renamed to the current id (under the run's lock; not when that name is taken),
and status.json records `legacy_id`. config.yaml is left as it was written: every reader migrates it.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from xlpt.errors import ConfigError, RunFileError, XlptError
from xlpt.run_dir import RunDir, now, run_id
from xlpt.sweeps.store import STORE_NAME, RunStore, UnusableStore, discover, move_aside


@dataclass
class ReindexReport:
    indexed: dict[str, int] = field(default_factory=dict)
    """Status -> number of runs."""
    dropped: int = 0
    skipped: list[str] = field(default_factory=list)
    """Directories with a config.yaml that could not be indexed, with why."""
    migrated: list[str] = field(default_factory=list)
    """Old-layout run folders brought up to date, one line each."""
    moved_aside: str | None = None


def _open(path: Path) -> RunStore:
    """The store at `path`; one line when SQLite cannot open or create it (a folder in its place, no
    permission): unlike `runs list`, reindex exists to write it, so a temporary index would not do."""
    try:
        return RunStore(path)
    except sqlite3.OperationalError as err:
        raise ConfigError(f"cannot open or create the runs index {path} ({err}); the run directories are "
                          "unchanged: check that path (a folder there? permissions?)") from None


def reindex(out: str | Path) -> ReindexReport:
    out = Path(out)
    if not out.is_dir():
        raise ConfigError(f"{out} is not a folder")
    report = ReindexReport()
    for run_dir in discover(out)[0]:
        line = migrate_folder(run_dir)
        if line:
            report.migrated.append(line)
    path = out / STORE_NAME
    try:
        store = _open(path)
    except UnusableStore:
        report.moved_aside = str(move_aside(path))
        store = _open(path)
    with store:
        synced = store.sync(full=True)
    report.indexed, report.dropped, report.skipped = synced.indexed, synced.dropped, synced.skipped
    return report


def migrate_folder(run_dir: Path) -> str | None:
    """Bring one old-layout run folder up to date (see the module docstring); None when it needs nothing."""
    from xlpt.config import migrate_legacy

    run = RunDir(run_dir)
    try:
        tree = run.read_config_tree()
        if migrate_legacy(tree) == tree:
            return None
        cfg = run.read_config()
    except XlptError:
        return None  # reported by the sync that follows
    new_id = run_id(cfg)
    old_ids = {legacy_id(tree)}
    for results_path in run.path.glob("results*.json"):
        try:
            old_ids.add((run.read_json(results_path) or {}).get("run_id"))
        except RunFileError:
            pass
    old_ids.discard(new_id)
    old_ids.discard(None)
    recorded = sorted(old_ids)[0] if old_ids else None
    noted = run.read_status().get("legacy_id") == recorded
    if not noted:
        run.write_status(legacy_id=recorded, migrated=now())
    if run.path.name not in old_ids:
        return None if noted else f"{run.path}: old config layout, run {new_id} (folder name kept)"
    target = run.path.with_name(new_id)
    if target.exists():
        return f"{run.path}: old config layout, run {new_id}; not renamed, {target} exists"
    lock = run.lock()
    if not lock.acquire():
        return f"{run.path}: old config layout, run {new_id}; not renamed while a process works on it"
    try:
        os.replace(run.path, target)
    finally:
        lock.release()
    return f"{run.path} -> {target.name}: old config layout, renamed to its current run id"


def legacy_id(tree: dict) -> str:
    """The id xlpt <= 0.1 gave a run: the same hash, over the config as it then was (the flat layout)."""
    return hashlib.sha256(json.dumps(tree, sort_keys=True).encode()).hexdigest()[:12]
