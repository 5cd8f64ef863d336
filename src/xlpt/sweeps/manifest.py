"""A sweep's plan on disk: `<out>/sweep-<name>.json`, written atomically by the process that starts the sweep.

It lists every planned run (position, id, folder relative to the manifest, config), so the results
store can show runs that have no directory yet as pending and give every run its sweep and position,
without any database write by the sweep itself. Two sweeps of the same file on one folder write the
same manifest; the last write wins and says the same thing.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from xlpt.atomic_files import write_json_atomic
from xlpt.run_dir import now

PATTERN = "sweep-*.json"
_NAME = re.compile(r"^sweep-(.+)\.json$")


def manifest_path(out: Path, sweep: str) -> Path:
    return Path(out) / f"sweep-{sweep}.json"


def write_manifest(out: Path, sweep: str, plan, source: str | None = None) -> Path:
    """`plan`: the sweep's PlannedRuns (all of them, not only those selected with --only)."""
    path = manifest_path(out, sweep)
    write_json_atomic(path, {
        "sweep": sweep, "source": source, "written": now(),
        "runs": [{"position": run.position, "id": run.id, "dir": run.id, "config": run.cfg.to_dict()}
                 for run in plan],
    })
    return path


def read_manifest(path: Path) -> tuple[dict | None, str]:
    """(manifest, "") or (None, why it cannot be used). A damaged manifest only loses pending rows."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        return None, f"{path}: unreadable sweep manifest ({type(err).__name__}); rerun the sweep to rewrite it"
    runs = data.get("runs") if isinstance(data, dict) else None
    if not isinstance(runs, list) or not isinstance(data.get("sweep"), str) or not all(
            isinstance(r, dict) and isinstance(r.get("id"), str) and isinstance(r.get("dir"), str)
            and isinstance(r.get("config"), dict) for r in runs):
        return None, f"{path}: not a sweep manifest (needs sweep and runs[id, dir, config]); rerun the sweep to rewrite it"
    return data, ""
