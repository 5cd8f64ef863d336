"""What a run directory says about its run, read from its own files (xlpt.run_dir owns the files).

Every process that works on a run writes only that run's files, each atomically: status.json (the
lifecycle: running, trained, evaluated, failed, interrupted, diverged; with start and finish times),
train_summary.json (done | diverged), results*.json, and job.json (written by the sweep that submitted a
cluster job for it). Nothing a compute job does touches a shared database, so runs may finish on
different machines over a shared file system. `read_state` turns those files into one status:

    done         the results file of the run's data.eval_split is valid and belongs to the run
    diverged     training stopped on a non-finite loss/gradient (final: a sweep does not retry it)
    running      a process holds the run's lock
    submitted    job.json names a cluster job that has not started the run yet
    failed       the last attempt raised (the next sweep retries it)
    interrupted  work was saved but nothing works on it now (the next sweep resumes it)
    trained      training finished, the run's own evaluation has not (e.g. `xlpt train` without --evaluate)
    pending      nothing saved yet

The order matters: a valid results file wins over everything (status.json may be stale after a crash;
the results file cannot be half-written). The lock is an advisory `flock` on `<run>/.lock`, released by
the kernel however its process ends (SIGKILL included). Linux maps flock to POSIX locks on NFS, so other
machines see it there too; where they do not, the sweep driver also asks the scheduler (see executors).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from xlpt.errors import ConfigError, RunFileError
from xlpt.run_dir import RunDir, run_id

STATUSES = ("pending", "submitted", "running", "interrupted", "trained", "done", "failed", "diverged")
FINAL = ("done", "diverged")
"""Statuses a sweep leaves alone; every other one gets (more) work."""


def is_locked(run_dir: Path) -> bool:
    return RunDir(run_dir).is_locked()


def write_status(run_dir: Path, **fields) -> dict:
    return RunDir(run_dir).write_status(**fields)


def read_status(run_dir: Path) -> dict:
    return RunDir(run_dir).read_status()


def read_results(run_dir: Path, split: str, expected_id: str | None = None) -> tuple[dict | None, str]:
    """(results, "") when the run's results file for `split` is valid; (None, why not) otherwise.

    Results of xlpt <= 0.1 carry the run id of the old flat config layout: they are accepted when their
    own recorded config migrates to this run's config (`results_belong`), never on the id alone."""
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
    if data.get("unfinished"):  # `xlpt evaluate --allow-unfinished`: a look at a checkpoint, never the run's result
        info = data["unfinished"] if isinstance(data["unfinished"], dict) else {}
        return None, (f"{path.name} scores the checkpoint of step {info.get('checkpoint_step')} of a run whose "
                      f"training {info.get('state', 'did not finish')} (evaluate --allow-unfinished): not the run's result")
    if expected_id is not None and not results_belong(data, expected_id):
        return None, f"{path.name} belongs to run {data.get('run_id')!r}, not {expected_id!r}"
    return data, ""


def results_belong(results: dict, expected_id: str) -> bool:
    if results.get("run_id") == expected_id:
        return True
    from pydantic import ValidationError

    from xlpt.config import config_from_dict

    try:  # an old-layout config recorded in the results: migrate it and compare the resolved configs
        return run_id(config_from_dict(results["config"])) == expected_id
    except (ConfigError, ValidationError, TypeError, KeyError):
        return False


@dataclass
class RunState:
    """One run as its directory describes it (see the module docstring for `status`)."""

    path: Path
    cfg: object
    id: str
    status: str
    started: str | None = None
    finished: str | None = None
    elapsed_s: float | None = None
    attempts: int | None = 0
    """Attempts a sweep made at the run; None when none counted them (a run made by `xlpt train`)."""
    error: str | None = None
    owner: str | None = None
    sweep: str | None = None
    job: dict | None = None
    """job.json: the cluster job submitted for the run, if any."""
    results: dict | None = None
    """The valid results of the run's data.eval_split (status done)."""
    legacy_id: str | None = None
    """The id an xlpt <= 0.1 results file carries when it differs from the run's (migrated) id."""
    notes: list[str] = field(default_factory=list)

    @property
    def job_id(self) -> str | None:
        return str(self.job["job_id"]) if self.job and self.job.get("job_id") is not None else None


def read_state(run_dir: str | Path, cfg=None) -> RunState:
    """The run's state from its files alone. Raises RunFileError/ConfigError when config.yaml is unusable."""
    run = RunDir(run_dir)
    cfg = cfg if cfg is not None else run.read_config()
    rid = run_id(cfg)
    info = run.read_status()
    state = RunState(path=run.path, cfg=cfg, id=rid, status="pending", owner=info.get("owner"),
                     sweep=info.get("sweep"), job=run.read_job(), attempts=_attempts(info),
                     started=info.get("first_started") or info.get("started"), elapsed_s=_float(info.get("elapsed_s")))
    try:
        summary = run.read_summary()
    except RunFileError as err:
        summary, state.notes = None, [str(err)]
    results, problem = read_results(run.path, cfg.data.eval_split, rid)
    if results is None and run.results_path(cfg.data.eval_split).exists():
        state.notes.append(problem)  # damaged or someone else's: the run is not done, and says why
    recorded = info.get("status")
    if results is not None:
        state.status, state.results = "done", results
        state.finished = (results.get("provenance") or {}).get("created") or _mtime(run.results_path(cfg.data.eval_split))
        if results.get("run_id") != rid:
            state.legacy_id = results.get("run_id")
    elif (summary or {}).get("status") == "diverged" or recorded == "diverged":
        state.status = "diverged"
        state.finished = (summary or {}).get("finished") or info.get("finished")
        state.error = (summary or {}).get("error") or info.get("error")
    elif run.is_locked():
        state.status = "running"
    elif _waiting_for_job(run, state.job_id, info):
        state.status = "submitted"
    elif recorded == "failed":
        state.status, state.finished, state.error = "failed", info.get("finished"), info.get("error")
    elif recorded in ("running", "evaluating", "interrupted"):
        state.status, state.error = "interrupted", info.get("error")
    elif summary is not None:
        state.status = "trained"
        state.finished = summary.get("finished") or _mtime(run.summary_path)
    elif run.last_checkpoint.exists():
        state.status = "interrupted"
    if state.notes and state.status not in ("done", "failed", "diverged"):
        state.error = "; ".join(state.notes)
    if state.elapsed_s is None and summary is not None:
        state.elapsed_s = _float(summary.get("seconds"))
    return state


def _waiting_for_job(run: RunDir, job_id: str | None, info: dict) -> bool:
    """job.json names a job that has not written status.json yet: a different job id there, and job.json is
    the newer file (both times come from the same file server, so no two machines' clocks are compared)."""
    if job_id is None or str(info.get("job_id")) == job_id:
        return False
    try:
        return run.job_path.stat().st_mtime_ns > run.status_path.stat().st_mtime_ns
    except FileNotFoundError:
        return True  # no status.json: nothing has started the run


def disk_status(run_dir: Path, split: str, expected_id: str | None = None) -> str:
    """A run's status from its directory alone; `pending` when there is no usable run directory yet."""
    run = RunDir(run_dir)
    if not run.config_path.exists():
        return "pending"
    try:
        state = read_state(run.path)
    except (RunFileError, ConfigError):
        return "pending"
    if expected_id is not None and state.id != expected_id:
        return "pending"
    return state.status


def _mtime(path: Path) -> str | None:
    from datetime import datetime, timezone

    try:
        return datetime.fromtimestamp(path.stat().st_mtime, timezone.utc).isoformat(timespec="seconds")
    except OSError:
        return None


def _attempts(info: dict) -> int | None:
    """status.json `attempts` (written by the sweep runner); None when the run was not started by a sweep."""
    value = info.get("attempts")
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _int(value) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _float(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
