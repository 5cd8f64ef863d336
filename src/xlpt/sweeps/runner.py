"""Run a sweep's runs in order: train, evaluate, record; skip what is done, resume what was interrupted.

Each run lives in `<out>/<run_id>/` (the trainer's run directory, see training.run). For each run:

1. If its results file is valid (see rundir.read_results), it is done: make sure the store says so, skip.
2. Take the run's lock; if another process holds it (a second sweep on the same folder), skip it: that
   process is running it. Two sweeps on one folder therefore share the work instead of colliding.
3. `train_run` (returns at once if train_summary.json exists; resumes from checkpoint/last.pt otherwise),
   then `evaluate_run`, which writes the results file atomically. Then status.json, then the store.

Killed at any moment, the next sweep reconciles: a results file that made it to disk counts as done
even if the store never heard of it, and a half-trained run resumes from its last checkpoint. A run
that raises is recorded as failed (error in the store and in status.json) and the sweep goes on;
failed runs are tried again by the next sweep.
"""

from __future__ import annotations

import gc
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from xlpt.errors import TrainingInterrupted, XlptError
from xlpt.sweeps.grid import PlannedRun, short_settings
from xlpt.sweeps.rundir import RunLock, now, owner, read_results, read_status, write_status
from xlpt.sweeps.store import RunStore


@dataclass
class SweepOutcome:
    done: list[str] = field(default_factory=list)
    """Runs finished by this invocation."""
    skipped: list[str] = field(default_factory=list)
    """Runs that were already done."""
    busy: list[str] = field(default_factory=list)
    """Runs another process was working on."""
    failed: list[str] = field(default_factory=list)


def run_sweep(plan: list[PlannedRun], out: str | Path, sweep: str, selected: list[PlannedRun] | None = None,
              progress: bool = True, echo: bool = True, say=print) -> SweepOutcome:
    """Register every run of `plan` in `<out>/runs.sqlite`, then run `selected` (default: all) in order."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    selected = plan if selected is None else selected
    outcome = SweepOutcome()
    with RunStore.for_out(out) as store:
        store.register([(run.id, run.cfg, out / run.id, run.position) for run in plan], sweep)
        for k, run in enumerate(selected, 1):
            label = f"[{k}/{len(selected)}] {run.id} {run.task} {run.method} {short_settings(run.settings)}".rstrip()
            status = run_one(run, out / run.id, store, sweep, label, progress, echo, say)
            getattr(outcome, status).append(run.id)
    parts = [f"{len(outcome.done)} done now", f"{len(outcome.skipped)} already done"]
    parts += [f"{len(outcome.busy)} running elsewhere"] if outcome.busy else []
    parts += [f"{len(outcome.failed)} FAILED ({', '.join(outcome.failed)})"] if outcome.failed else []
    say(f"sweep {sweep}: {', '.join(parts)}; store {out / 'runs.sqlite'}", flush=True)
    return outcome


def run_one(run: PlannedRun, run_dir: Path, store: RunStore, sweep: str, label: str, progress: bool,
            echo: bool, say=print) -> str:
    """Bring one run to done. Returns done | skipped | busy | failed (the SweepOutcome field)."""
    if _already_done(run, run_dir, store):
        say(f"{label} done (skipped)", flush=True)
        return "skipped"
    lock = RunLock(run_dir)
    if not lock.acquire():
        say(f"{label} running in another process (skipped)", flush=True)
        return "busy"
    try:
        if _already_done(run, run_dir, store):  # finished by another process between the check and the lock
            say(f"{label} done (skipped)", flush=True)
            return "skipped"
        resuming = (run_dir / "checkpoint" / "last.pt").exists() or (run_dir / "train_summary.json").exists()
        say(f"{label} {'resuming' if resuming else 'starting'}", flush=True)
        attempts = int(read_status(run_dir).get("attempts", 0)) + 1
        write_status(run_dir, status="running", sweep=sweep, owner=owner(), started=now(), finished=None,
                     attempts=attempts, error=None)
        store.mark_running(run.id, owner())
        started = time.perf_counter()
        try:
            results = _train_and_evaluate(run, run_dir, progress, echo)
        except (KeyboardInterrupt, TrainingInterrupted):
            write_status(run_dir, status="pending", error="interrupted")
            store.mark_pending(run.id, "interrupted")
            raise
        except Exception as err:  # any failure of one run is recorded; the sweep goes on with the next
            elapsed = time.perf_counter() - started
            message = f"{type(err).__name__}: {err}" if not isinstance(err, XlptError) else str(err)
            write_status(run_dir, status="failed", error=message, finished=now(), elapsed_s=round(elapsed, 1),
                         traceback=traceback.format_exc()[-4000:])
            store.mark_failed(run.id, message, elapsed)
            say(f"{label} FAILED after {format_seconds(elapsed)}: {message}", flush=True)
            return "failed"
        finally:
            _free_memory()
        elapsed = time.perf_counter() - started
        write_status(run_dir, status="done", finished=now(), elapsed_s=round(elapsed, 1), error=None)
        store.record_results(run.id, results, elapsed)
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


def _already_done(run: PlannedRun, run_dir: Path, store: RunStore) -> bool:
    """True when the results file is valid; then the store and status.json are brought up to date."""
    results, _ = read_results(run_dir, run.cfg.data.eval_split, run.id)
    if results is None:
        return False
    status = read_status(run_dir)
    if store.status(run.id) != "done":  # e.g. killed after evaluate_run wrote results, before the store update
        store.record_results(run.id, results, status.get("elapsed_s"), status.get("finished"))
    if status.get("status") != "done":
        write_status(run_dir, status="done", finished=status.get("finished") or now(), error=None)
    return True


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
