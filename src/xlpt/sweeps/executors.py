"""Run a sweep's runs as submitit jobs: one job (a job-array task on Slurm) per run.

    submitit-local  submitit's LocalExecutor: each job is a process on this machine (what the tests use);
                    at most --max-parallel at a time (default 1)
    slurm           submitit's Slurm executor: one job array per group of runs asking for the same
                    resources (resources.job_resources), --max-parallel array tasks at a time

The driver (this module, one process) decides what needs work from the run directories (a run that
is done, diverged, running, or queued in a live job is left alone), claims each run's directory
(config.yaml + task.yaml, which the job reads), submits, and records the job in the run's job.json.
Then it waits for the jobs (unless --no-wait) and reports each run from its files. Jobs write only
their run's files (see jobs.RunJob); the results store is synced from those files by the driver and
by every reader, so nothing needs SQLite on a shared file system.

Rerunning the sweep resubmits what is not finished: a killed job's run resumes from its snapshot.
Whether a recorded job still lives is asked of the scheduler (`squeue`, which needs no accounting
database) or, for submitit-local jobs, of this machine's process table.
"""

from __future__ import annotations

import getpass
import itertools
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from xlpt.errors import ConfigError
from xlpt.sweeps.grid import PlannedRun
from xlpt.sweeps.resources import JobResources, job_resources
from xlpt.run_dir import RunDir, now
from xlpt.sweeps.rundir import read_state, write_status
from xlpt.sweeps.runner import SweepOutcome, format_seconds, prepare, run_label, sync_index

EXECUTORS = ("local", "submitit-local", "slurm")
SUBMITIT_FOLDER = ".submitit"
LIVE_SLURM_STATES = {"PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED",
                     "RESIZING", "SUSPENDED", "SIGNALING", "STAGE_OUT", "PREEMPTED"}


@dataclass
class ClusterOptions:
    executor: str
    """submitit-local | slurm."""
    requested: dict = field(default_factory=dict)
    """Resources from the command line (None = not given), see resources.job_resources."""
    partition: str | None = None
    account: str | None = None
    max_parallel: int | None = None
    wait: bool = True
    poll_seconds: float | None = None
    """How often to look at the jobs (default 1 s locally, 15 s on Slurm)."""

    def check_values(self) -> None:
        """What --dry-run checks too (it needs neither Slurm nor submitit's jobs)."""
        if self.executor not in EXECUTORS[1:]:
            raise ConfigError(f"--executor {self.executor!r}: use one of {', '.join(EXECUTORS)}")
        if self.max_parallel is not None and self.max_parallel < 1:
            raise ConfigError(f"--max-parallel {self.max_parallel} must be 1 or more")

    def check(self) -> None:
        self.check_values()
        if self.executor == "slurm" and shutil.which("sbatch") is None:
            raise ConfigError("--executor slurm needs Slurm's sbatch on PATH (run the sweep from a login node), "
                              "or use --executor local / submitit-local")
        try:
            import submitit  # noqa: F401 - only checks that it is installed
        except ImportError:
            raise ConfigError(f"--executor {self.executor} needs submitit: pip install 'submitit>=1.5'") from None


# ----------------------------------------------------------------------------------------- the driver


@dataclass
class _Active:
    run: PlannedRun
    label: str
    job: object
    started: float
    absent_polls: int = 0


def submit_sweep(plan: list[PlannedRun], out: Path, sweep: str, selected: list[PlannedRun], options: ClusterOptions,
                 say=print, source: str | None = None) -> SweepOutcome:
    options.check()
    out = Path(out)
    prepare(plan, out, sweep, source)
    outcome = SweepOutcome()
    todo = []
    slurm_live = slurm_live_jobs() if options.executor == "slurm" else None  # one squeue for all runs
    for k, run in enumerate(selected, 1):
        label = run_label(run, k, len(selected))
        verdict = _needs_work(run, out / run.id, label, slurm_live, say)
        if verdict is None:
            todo.append((run, label))
        else:
            getattr(outcome, verdict).append(run.id)
    try:
        if todo:
            _submit_and_wait(todo, out, sweep, options, outcome, say)
    finally:
        sync_index(out, say)
    say(outcome.summary(sweep, out), flush=True)
    if outcome.submitted:
        say(f"follow them with: xlpt sweep --config {source or '<sweep file>'} --out {out} --status", flush=True)
    return outcome


def _needs_work(run: PlannedRun, run_dir: Path, label: str, slurm_live: set[str] | None, say) -> str | None:
    """None when the run needs a job; else the SweepOutcome field it counts in."""
    if not RunDir(run_dir).config_path.exists():
        return None
    state = read_state(run_dir)
    if state.id != run.id:
        raise ConfigError(f"{run_dir} holds run {state.id}, not {run.id}; move it away")
    if state.status == "done":
        say(f"{label} done (skipped)", flush=True)
        return "skipped"
    if state.status == "diverged":
        say(f"{label} diverged before (not retried; delete {run_dir} to try again): {state.error}", flush=True)
        return "diverged"
    alive = job_alive(state.job, slurm_live) if state.job else False
    if state.status == "running" or alive is not False:
        doing = "running" if state.status == "running" else "queued" if alive else "maybe queued (squeue did not answer)"
        say(f"{label} {doing} in job {state.job_id or state.owner} (skipped)", flush=True)
        return "busy"
    return None


def _submit_and_wait(todo, out: Path, sweep: str, options: ClusterOptions, outcome: SweepOutcome, say) -> None:
    for run, _ in todo:  # the job reads config.yaml and task.yaml from the run directory
        RunDir(out / run.id).claim(run.cfg, run.task_spec)
    local = options.executor == "submitit-local"
    limit = (options.max_parallel or 1) if local and options.wait else None
    poll = options.poll_seconds or (1.0 if local else 15.0)
    queue = list(todo)
    active: dict[str, _Active] = {}
    if not local:  # all at once: Slurm throttles arrays itself (--max-parallel)
        active.update(_submit(queue, out, sweep, options, say))
        queue = []
    while queue or active:
        while queue and (limit is None or len(active) < limit):
            active.update(_submit([queue.pop(0)], out, sweep, options, say))
        if not options.wait:
            outcome.submitted += list(active)
            return
        time.sleep(poll)
        alive = None if local else slurm_live_jobs()
        for rid, entry in list(active.items()):
            if _job_finished(entry, local, alive):
                del active[rid]
                getattr(outcome, _report(entry, out / rid, say)).append(rid)


def _submit(batch, out: Path, sweep: str, options: ClusterOptions, say) -> dict[str, _Active]:
    """Submit `batch` [(run, label)], one job array per group of equal resources; record job.json."""
    active = {}
    labels = {run.id: label for run, label in batch}
    for resources, runs in resource_groups([run for run, _ in batch], options.requested):
        group = [(run, labels[run.id]) for run in runs]
        executor = make_executor(out / SUBMITIT_FOLDER, options, resources, sweep)
        jobs = _submit_group(executor, group, out, sweep)
        for (run, label), job in zip(group, jobs):
            RunDir(out / run.id).write_job(executor=options.executor, job_id=str(job.job_id), submitted=now(),
                                           host=socket.gethostname(), sweep=sweep, log=str(job.paths.stdout),
                                           resources=resources.__dict__)
            say(f"{label} submitted as job {job.job_id} ({resources.describe()})", flush=True)
            active[run.id] = _Active(run, label, job, time.monotonic())
    return active


def _submit_group(executor, group, out: Path, sweep: str) -> list:
    from submitit.core.utils import FailedJobError

    from xlpt.sweeps.jobs import RunJob

    # absolute: a Slurm job may start in another working directory
    functions = [RunJob(str((out / run.id).resolve()), run.id, sweep, label) for run, label in group]
    try:
        if len(functions) == 1:
            return [executor.submit(functions[0])]
        with executor.batch():
            jobs = [executor.submit(function) for function in functions]
    except FailedJobError as err:  # the scheduler refused (unknown partition or account, too much asked)
        lines = [line for line in str(err).splitlines() if line.strip()]
        raise ConfigError(f"the scheduler refused the jobs: {' / '.join(lines)[:500]}") from None
    return jobs


def make_executor(folder: Path, options: ClusterOptions, resources: JobResources, sweep: str):
    import submitit

    cluster = "local" if options.executor == "submitit-local" else "slurm"
    executor = submitit.AutoExecutor(folder=folder, cluster=cluster)
    executor.update_parameters(**executor_parameters(options, resources, sweep))
    return executor


def executor_parameters(options: ClusterOptions, resources: JobResources, sweep: str) -> dict:
    """submitit's parameters for one group of runs (the same for a submission and its --dry-run)."""
    parameters = {"name": f"xlpt-{sweep}", "timeout_min": resources.timeout_min, "gpus_per_node": resources.gpus,
                  "cpus_per_task": resources.cpus, "mem_gb": resources.mem_gb, "nodes": 1, "tasks_per_node": 1}
    if options.executor == "slurm":
        parameters.update({key: value for key, value in (("slurm_partition", options.partition),
                                                         ("slurm_account", options.account),
                                                         ("slurm_array_parallelism", options.max_parallel))
                           if value is not None})
    return parameters


def resource_groups(runs: list[PlannedRun], requested: dict) -> list[tuple[JobResources, list[PlannedRun]]]:
    """The runs grouped by the resources their jobs ask for: one job array per group."""
    keyed = sorted(((job_resources(run.cfg, requested), run) for run in runs), key=lambda item: _resource_key(item[0]))
    return [(resources, [run for _, run in group])
            for resources, group in itertools.groupby(keyed, key=lambda item: item[0])]


def slurm_plan(runs: list[PlannedRun], out: Path, sweep: str, options: ClusterOptions) -> list[dict]:
    """What `--executor slurm` would submit for `runs`, without submitting or writing anything: per job array
    its runs, resources, partition/account, concurrency and the sbatch script submitit would write."""
    from unittest import mock

    import submitit

    plan = []
    for resources, group in resource_groups(runs, options.requested):
        # AutoExecutor(cluster="slurm") neither calls Slurm nor creates its folder until a job is submitted; it
        # only refuses to be built where `srun` is not on PATH, which a preview (a laptop, a login node without
        # Slurm's client) does not need: that check is lifted for this construction alone.
        with mock.patch.object(submitit.SlurmExecutor, "affinity", classmethod(lambda cls: 1)):
            executor = submitit.AutoExecutor(folder=(out / SUBMITIT_FOLDER).resolve(), cluster="slurm")
        executor.update_parameters(**executor_parameters(options, resources, sweep))
        slurm = executor._executor  # noqa: SLF001 - submitit's own script writer: the dry run shows its exact text
        if len(group) > 1:  # what submitit does for a batch: one array of len(group) tasks
            slurm.parameters["map_count"] = len(group)
        script = slurm._make_submission_file_text(slurm._submitit_command_str, "%j")  # noqa: SLF001
        plan.append({"size": len(group), "array": len(group) > 1, "runs": [run.id for run in group],
                     "resources": resources.__dict__, "partition": options.partition, "account": options.account,
                     "parallelism": slurm.parameters.get("array_parallelism") if len(group) > 1 else None,
                     "script": script})
    return plan


def _resource_key(resources: JobResources) -> tuple:
    return (resources.gpus, resources.cpus, resources.mem_gb, resources.timeout_min)


def _job_finished(entry: _Active, local: bool, alive: set[str] | None) -> bool:
    """Local jobs: the process ended. Slurm: the job wrote its result, or left squeue (in two answers in a
    row, to ride out a job that squeue does not list yet); `alive` None: squeue did not answer."""
    job = entry.job
    if local:
        return job.done()
    if job.paths.result_pickle.exists():
        return True
    if alive is None:
        return False
    entry.absent_polls = 0 if str(job.job_id) in alive else entry.absent_polls + 1
    return entry.absent_polls >= 2


def _report(entry: _Active, run_dir: Path, say) -> str:
    """Say how the job's run ended, from the run's files. Returns the SweepOutcome field."""
    result, error = job_result(entry.job)
    state = read_state(run_dir)
    elapsed = format_seconds(time.monotonic() - entry.started)
    if isinstance(result, dict) and result.get("status") == "busy":
        say(f"{entry.label} was running in another process (skipped)", flush=True)
        return "busy"
    if state.status == "done":
        results = state.results
        say(f"{entry.label} done by job {entry.job.job_id} after {elapsed}: average {results['metric']} "
            f"{100 * results['average']:.2f} over {len(results['languages'])} languages", flush=True)
        return "done"
    if state.status == "diverged":
        say(f"{entry.label} DIVERGED in job {entry.job.job_id}: {state.error}", flush=True)
        return "diverged"
    if state.status == "failed":
        say(f"{entry.label} FAILED in job {entry.job.job_id} after {elapsed}: {state.error}", flush=True)
        return "failed"
    if error is not None and state.status in ("submitted", "pending"):
        # the job died before the run could record anything (e.g. an import error on the node)
        write_status(run_dir, status="failed", error=f"job {entry.job.job_id}: {error}", finished=now(),
                     job_id=str(entry.job.job_id))
        say(f"{entry.label} FAILED: job {entry.job.job_id} ended before starting the run: {error} "
            f"(log {entry.job.paths.stderr})", flush=True)
        return "failed"
    say(f"{entry.label} INTERRUPTED: job {entry.job.job_id} ended without finishing the run ({state.status}"
        f"{'; ' + error if error else ''}); the next sweep resumes it from its last checkpoint "
        f"(log {entry.job.paths.stderr})", flush=True)
    return "interrupted"


def job_result(job) -> tuple[object, str | None]:
    """(the job's return value, None) or (None, the last line of its error / why there is none)."""
    from submitit.core.utils import UncompletedJobError

    try:
        return job.result(), None
    except UncompletedJobError:
        return None, f"the job ended without a result (killed?), scheduler state {job.state}"
    except Exception as err:  # the job raised: submitit re-raises it here with the job's traceback
        lines = [line for line in str(err).strip().splitlines() if line.strip()]
        return None, (lines[-1] if lines else type(err).__name__)[:300]


# --------------------------------------------------------------------------------------- job liveness


def job_alive(job: dict, slurm_live: set[str] | None = None) -> bool | None:
    """Whether the job recorded in a run's job.json is still queued or running (None: Slurm did not say).
    `slurm_live`: an answer of slurm_live_jobs() to reuse (asked here when not given)."""
    if job.get("executor") == "slurm":
        live = slurm_live if slurm_live is not None else slurm_live_jobs()
        return None if live is None else str(job.get("job_id")) in live
    if job.get("executor") == "submitit-local":
        return job.get("host") == socket.gethostname() and _local_job_alive(str(job.get("job_id")))
    return False


def _local_job_alive(pid: str) -> bool:
    """A submitit-local job id is the pid of its controller process (`python -m submitit.local._local`)."""
    try:
        cmdline = Path(f"/proc/{int(pid)}/cmdline").read_bytes()
    except (OSError, ValueError):
        return False
    return b"submitit" in cmdline


def slurm_live_jobs() -> set[str] | None:
    """Ids of this user's queued or running Slurm jobs and array tasks (`squeue`, one call); None when
    squeue is missing or fails."""
    try:
        listing = subprocess.run(["squeue", "-h", "-r", "-u", getpass.getuser(), "-o", "%i|%T"], capture_output=True,
                                 text=True, timeout=60, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return {job for job, _, state in (line.partition("|") for line in listing.splitlines())
            if state.strip().upper() in LIVE_SLURM_STATES}

