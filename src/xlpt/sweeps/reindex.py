"""Rebuild `<out>/runs.sqlite` from the run directories (`xlpt runs reindex --out DIR`).

The files are the source of truth: each `<out>/<dir>/config.yaml` is a run (its id is recomputed from
the config), its status comes from the directory (rundir.disk_status: a valid results file means done),
its sweep name, timestamps and error from status.json, its metrics from the results file. Rows whose
run directory is gone are dropped, except runs still pending (registered by a sweep, never started).
A store that cannot be opened (corrupt, or another schema version) is moved aside, not deleted.
Safe to run while a sweep runs: every row is written in its own transaction, like the sweep's.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from xlpt.errors import ConfigError, XlptError
from xlpt.sweeps.rundir import disk_status, now, read_results, read_status
from xlpt.sweeps.store import STORE_NAME, RunStore
from xlpt.run_dir import RunDir, run_id

# disk_status -> stored status (`interrupted` is not stored: such a run is pending until a sweep resumes it).
STORED = {"done": "done", "running": "running", "failed": "failed", "diverged": "failed", "interrupted": "pending",
          "pending": "pending"}


@dataclass
class ReindexReport:
    indexed: dict[str, int] = field(default_factory=dict)
    """Stored status -> number of runs."""
    dropped: int = 0
    skipped: list[str] = field(default_factory=list)
    """Directories with a config.yaml that could not be indexed, with why."""
    moved_aside: str | None = None


def open_or_replace(out: Path, report: ReindexReport) -> RunStore:
    path = out / STORE_NAME
    try:
        return RunStore(path)
    except ConfigError:
        if not path.exists():
            raise
        aside = path.with_name(f"{STORE_NAME}.broken-{now().replace(':', '')}")
        os.replace(path, aside)
        for suffix in ("-wal", "-shm"):
            if Path(str(path) + suffix).exists():
                os.replace(str(path) + suffix, str(aside) + suffix)
        report.moved_aside = str(aside)
        return RunStore(path)


def reindex(out: str | Path) -> ReindexReport:
    out = Path(out)
    if not out.is_dir():
        raise ConfigError(f"{out} is not a folder")
    report = ReindexReport()
    with open_or_replace(out, report) as store:
        known = {row["id"]: dict(row) for row in store.db.execute("SELECT id, sweep, position, created, status FROM runs")}
        seen: set[str] = set()
        for config_path in sorted(out.glob("*/config.yaml")):
            run_dir = config_path.parent
            try:
                cfg = RunDir(run_dir).read_config()
            except XlptError as err:
                report.skipped.append(f"{run_dir}: {err}")
                continue
            rid = run_id(cfg)
            if rid in seen:
                report.skipped.append(f"{run_dir}: same config (run {rid}) as another directory")
                continue
            seen.add(rid)
            status = STORED[disk_status(run_dir, cfg.data.eval_split, rid)]
            info, previous = read_status(run_dir), known.get(rid, {})
            store.upsert({
                "id": rid, "sweep": info.get("sweep") or previous.get("sweep"), "position": previous.get("position"),
                "task": cfg.data.task, "method": cfg.method.name, "model": cfg.model.name, "seed": cfg.train.seed,
                "config_json": json.dumps(cfg.to_dict(), sort_keys=True), "run_dir": store.relative(run_dir),
                "status": status, "created": previous.get("created") or info.get("started") or now(),
                "started": info.get("started"), "finished": info.get("finished") if status in ("done", "failed") else None,
                "elapsed_s": info.get("elapsed_s"), "attempts": int(info.get("attempts", 0)),
                "error": info.get("error") if status != "done" else None, "owner": info.get("owner"),
                "eval_split": cfg.data.eval_split,
            })
            if status == "done":
                results, _ = read_results(run_dir, cfg.data.eval_split, rid)
                store.record_results(rid, results, info.get("elapsed_s"), info.get("finished"))
            else:
                with store.transaction() as db:
                    db.execute("DELETE FROM metrics WHERE run_id = ?", (rid,))
                    db.execute("UPDATE runs SET average = NULL, average_without_en = NULL, metric = NULL, "
                               "provenance_json = NULL WHERE id = ?", (rid,))
            report.indexed[status] = report.indexed.get(status, 0) + 1
        gone = [rid for rid, row in known.items() if rid not in seen and row["status"] != "pending"]
        store.delete(gone)
        report.dropped = len(gone)
    return report
