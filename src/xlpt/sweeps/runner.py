"""Bring runs to done: the work one run needs (`run_one`), and the in-process executor (`run_sweep`).

Each run lives in `<out>/<run_id>/` (the run directory, see xlpt.run_dir). `run_one`:

1. If its results file is valid (see rundir.read_results), it is done: skip. If it diverged, skip too:
   a diverged run is a result of its config (a too high learning rate, say), not bad luck, and is
   reported, never retried (delete its folder to try again).
2. Take the run's lock; if another process holds it (a second sweep on the same folder, a cluster job),
   skip it: that process is running it. Two sweeps on one folder share the work instead of colliding.
3. `train_run` (returns at once if train_summary.json exists; resumes from checkpoint/last.pt otherwise),
   then `evaluate_run`, which writes the results file atomically; status.json follows along.

`run_one` writes only the run's own files, so it runs the same in this process (`--executor local`)
or in a cluster job on another machine (jobs.RunJob). Killed at any moment, the next sweep reconciles:
a results file that made it to disk counts as done, a half-trained run resumes from its last checkpoint,
and the results store (store.py) is rebuilt from the files by whoever reads it.
"""

from __future__ import annotations

import gc
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from xlpt.errors import TrainingDiverged, TrainingInterrupted, XlptError
from xlpt.sweeps.grid import PlannedRun, short_settings
from xlpt.sweeps.manifest import write_manifest
from xlpt.run_dir import RunDir, RunLock, now, owner
from xlpt.sweeps.rundir import read_results, read_status, write_status
from xlpt.sweeps.store import STORE_NAME, StoreWriteError, open_index


@dataclass
class SweepOutcome:
    done: list[str] = field(default_factory=list)
    """Runs finished by this invocation."""
    skipped: list[str] = field(default_factory=list)
    """Runs that were already done."""
    busy: list[str] = field(default_factory=list)
    """Runs another process was working on."""
    failed: list[str] = field(default_factory=list)
    diverged: list[str] = field(default_factory=list)
    """Runs whose training diverged (now or before): not retried."""
    interrupted: list[str] = field(default_factory=list)
    """Runs a job left unfinished (killed, preempted without requeue): the next sweep resumes them."""
    submitted: list[str] = field(default_factory=list)
    """Runs handed to a scheduler and not waited for (--no-wait)."""

    @property
    def ok(self) -> bool:
        return not (self.failed or self.diverged or self.interrupted)

    def summary(self, sweep: str, out: Path) -> str:
        parts = [f"{len(self.done)} done now", f"{len(self.skipped)} already done"]
        parts += [f"{len(self.busy)} running elsewhere"] if self.busy else []
        parts += [f"{len(self.submitted)} submitted"] if self.submitted else []
        for name in ("interrupted", "failed", "diverged"):
            ids = getattr(self, name)
            parts += [f"{len(ids)} {name.upper()} ({', '.join(ids)})"] if ids else []
        return f"sweep {sweep}: {', '.join(parts)}; store {out / STORE_NAME}"


def prepare(plan: list[PlannedRun], out: Path, sweep: str, source: str | None = None) -> None:
    """Write the sweep's manifest and index the folder (so `xlpt runs list` shows every planned run)."""
    out.mkdir(parents=True, exist_ok=True)
    write_manifest(out, sweep, plan, source)
    sync_index(out)


def sync_index(out: Path, say=None) -> None:
    """Update <out>/runs.sqlite. It is only an index: when it cannot be written (disk full) the sweep's
    outcome still stands, so that is a note, not the sweep's error."""
    store, notes = open_index(out)
    try:
        with store:
            report = store.sync()
    except StoreWriteError as err:
        if say:
            say(f"note: {err}", flush=True)
        return
    for line in (notes + report.skipped) if say else []:
        say(f"note: {line}", flush=True)


def run_sweep(plan: list[PlannedRun], out: str | Path, sweep: str, selected: list[PlannedRun] | None = None,
              progress: bool = True, echo: bool = True, say=print, source: str | None = None) -> SweepOutcome:
    """Run `selected` (default: all of `plan`) in order in this process, then index `out`."""
    out = Path(out)
    selected = plan if selected is None else selected
    prepare(plan, out, sweep, source)
    outcome = SweepOutcome()
    try:
        for k, run in enumerate(selected, 1):
            status = run_one(run, out / run.id, sweep, run_label(run, k, len(selected)), progress, echo, say)
            getattr(outcome, status).append(run.id)
    finally:
        sync_index(out, say)
    say(outcome.summary(sweep, out), flush=True)
    return outcome


def run_label(run: PlannedRun, k: int, total: int) -> str:
    return f"[{k}/{total}] {run.id} {run.task} {run.method} {short_settings(run.settings)}".rstrip()


def run_one(run: PlannedRun, run_dir: Path, sweep: str, label: str, progress: bool, echo: bool, say=print,
            job_id: str | None = None) -> str:
    """Bring one run to done. Returns done | skipped | busy | failed | diverged (a SweepOutcome field).
    Raises TrainingInterrupted / KeyboardInterrupt after the run saved what it could (status interrupted)."""
    final = _final(run, run_dir, label, say)
    if final:
        return final
    lock = RunLock(run_dir)
    if not lock.acquire():
        say(f"{label} running in another process (skipped)", flush=True)
        return "busy"
    try:
        final = _final(run, run_dir, label, say)  # finished by another process between the check and the lock
        if final:
            return final
        resuming = RunDir(run_dir).has_progress()
        say(f"{label} {'resuming' if resuming else 'starting'}", flush=True)
        info = read_status(run_dir)
        started_at = now()
        write_status(run_dir, status="running", sweep=sweep, owner=owner(), started=started_at,
                     first_started=info.get("first_started") or started_at, finished=None,
                     attempts=int(info.get("attempts", 0)) + 1, error=None, job_id=job_id)
        started = time.perf_counter()
        try:
            results = _train_and_evaluate(run, run_dir, progress, echo)
        except TrainingDiverged as err:  # train_run recorded it (status.json and train_summary.json)
            write_status(run_dir, elapsed_s=round(time.perf_counter() - started, 1))
            say(f"{label} DIVERGED: {err}", flush=True)
            return "diverged"
        except (KeyboardInterrupt, TrainingInterrupted):
            raise  # the lifecycle recorded `interrupted`; the next sweep resumes from the snapshot
        except Exception as err:  # any failure of one run is recorded; the sweep goes on with the next
            elapsed = time.perf_counter() - started
            message = f"{type(err).__name__}: {err}" if not isinstance(err, XlptError) else str(err)
            write_status(run_dir, status="failed", error=message, finished=now(), elapsed_s=round(elapsed, 1),
                         traceback=traceback.format_exc()[-4000:])
            say(f"{label} FAILED after {format_seconds(elapsed)}: {message}", flush=True)
            return "failed"
        finally:
            _free_memory()
        elapsed = time.perf_counter() - started
        write_status(run_dir, status="done", finished=now(), elapsed_s=round(elapsed, 1), error=None)
        say(f"{label} done in {format_seconds(elapsed)}: average {results['metric']} "
            f"{100 * results['average']:.2f} over {len(results['languages'])} languages", flush=True)
        return "done"
    finally:
        lock.release()


def _train_and_evaluate(run: PlannedRun, run_dir: Path, progress: bool, echo: bool) -> dict:
    from xlpt.evaluation.evaluate import evaluate_run
    from xlpt.training.run import train_run

    train_run(run.cfg, run_dir, progress=progress, echo=echo)
    evaluate_run(run_dir, run.cfg.data.eval_split, progress=progress, echo=echo)
    results, problem = read_results(run_dir, run.cfg.data.eval_split, run.id)
    if results is None:
        raise XlptError(f"evaluation finished but its results are not usable: {problem}")
    return results


def _final(run: PlannedRun, run_dir: Path, label: str, say) -> str | None:
    """"skipped" when the run is done, "diverged" when it diverged before, else None."""
    if read_results(run_dir, run.cfg.data.eval_split, run.id)[0] is not None:
        say(f"{label} done (skipped)", flush=True)
        return "skipped"
    run_files = RunDir(run_dir)
    try:
        summary = run_files.read_summary()
    except XlptError:
        summary = None  # damaged: train_run reports it
    if (summary or {}).get("status") == "diverged":
        say(f"{label} diverged before (not retried; delete {run_dir} to try again): {summary.get('error')}",
            flush=True)
        return "diverged"
    return None


def _free_memory() -> None:
    """Drop the finished run's model before loading the next (a sweep loads one model per run)."""
    gc.collect()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:
        pass


def format_seconds(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
