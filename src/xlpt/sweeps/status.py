"""`xlpt sweep --config F --status`: what each run of a sweep is doing now, read from disk (no training).

Each run's status comes from its directory (rundir.read_state). For runs handed to a scheduler it is
refined with what the scheduler says about the job in job.json: a `submitted` run whose job is gone
never started (back to pending, with the job's log named), and an `interrupted` run whose job is still
alive is running (another machine's lock may not be visible here). The results store is synced too.
"""

from __future__ import annotations

from pathlib import Path

from xlpt.errors import ConfigError, RunFileError
from xlpt.sweeps.executors import job_alive, slurm_live_jobs
from xlpt.sweeps.grid import PlannedRun
from xlpt.run_dir import RunDir
from xlpt.sweeps.rundir import read_state
from xlpt.sweeps.runner import sync_index


def sweep_status(runs: list[PlannedRun], out: Path, say=print) -> list[dict]:
    """One dict per run: position, id, task, method, settings, status, job, error, finished."""
    out = Path(out)
    if out.is_dir():
        sync_index(out, say)
    states = {}
    for run in runs:
        run_dir = out / run.id
        try:
            states[run.id] = read_state(run_dir) if RunDir(run_dir).config_path.exists() else None
        except (RunFileError, ConfigError) as err:
            states[run.id] = err
    slurm = any(getattr(s, "job", None) and s.job.get("executor") == "slurm" for s in states.values())
    live = slurm_live_jobs() if slurm else None
    rows = []
    for run in runs:
        state = states[run.id]
        row = {"position": run.position, "id": run.id, "task": run.task, "method": run.method,
               "settings": run.settings, "status": "pending", "job": None, "error": None, "finished": None}
        if isinstance(state, Exception):
            row.update(status="unreadable", error=str(state))
        elif state is not None:
            row.update(status=state.status, job=state.job_id, error=state.error, finished=state.finished)
            if state.id != run.id:
                row.update(status="other", error=f"{out / run.id} holds run {state.id}")
            elif state.job:
                _refine(row, state.job, live)
        rows.append(row)
    return rows


def _refine(row: dict, job: dict, live: set[str] | None) -> None:
    if row["status"] not in ("submitted", "interrupted"):
        return
    alive = job_alive(job, live)
    if row["status"] == "submitted" and alive is False:
        row.update(status="pending", error=f"job {job.get('job_id')} ended before starting the run "
                   f"(log {job.get('log')})")
    elif row["status"] == "interrupted" and alive:
        row["status"] = "running"

