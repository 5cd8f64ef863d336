"""The compute side of a cluster sweep: `RunJob`, the callable submitit pickles and runs for one run.

A job runs `runner.run_one` on its run directory, so it writes only that run's files (status.json,
checkpoints, results) and never the results store. The config is read from the run directory, which
the submitting sweep claimed (config.yaml + task.yaml), so user tasks from --include-path work on the
compute node too, and the id is checked against the one submitted.

Preemption and time limits. submitit asks Slurm to send SIGUSR2 shortly before the time limit (and
clusters configured with PreemptParameters=send_user_signal send it on preemption); submitit's handler
then calls `checkpoint()` and requeues the job, which starts again with the same id. A handler that
stopped training at an arbitrary instruction would lose up to train.checkpoint_every steps, so RunJob
routes the signal through the training loop first: while training, it asks the loop to stop exactly
as on SIGTERM (the loop writes checkpoint/last.pt at the next step and raises TrainingInterrupted);
otherwise (loading, evaluating) the phase is abandoned (its files are written atomically). Then
submitit checkpoints (a fresh RunJob for the same run) and requeues, and the requeued job resumes
from last.pt. A plain SIGTERM (scancel, or preemption without the user signal) also stops training
with a snapshot; the job then ends and Slurm requeues it if the cluster preempts by requeueing.
A SIGKILL leaves the last periodic snapshot; the next `xlpt sweep` resubmits and resumes the run.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import submitit

from xlpt.errors import ConfigError, TrainingInterrupted


class Preempted(TrainingInterrupted):
    """The scheduler's preemption/time-limit signal arrived outside training."""


class RunJob(submitit.helpers.Checkpointable):
    """One run as a submitit job: `RunJob(run_dir, run_id, sweep, label)()` -> {"id", "status"}."""

    def __init__(self, run_dir: str, run_id: str, sweep: str, label: str, progress: bool = False):
        self.run_dir, self.run_id, self.sweep, self.label, self.progress = str(run_dir), run_id, sweep, label, progress
        self._preempted = False

    def __call__(self) -> dict:
        from xlpt.sweeps.grid import PlannedRun
        from xlpt.run_dir import RunDir, run_id
        from xlpt.sweeps.runner import run_one

        cfg = RunDir(self.run_dir).read_config()
        if run_id(cfg) != self.run_id:
            raise ConfigError(f"{self.run_dir}/config.yaml is run {run_id(cfg)}, but run {self.run_id} was submitted")
        env = submitit.JobEnvironment()
        usr = env._usr_sig()
        submitit_handler = signal.getsignal(usr)
        signal.signal(usr, self._on_preemption_signal)
        self._preempted = False
        try:
            status = run_one(PlannedRun(self.run_id, cfg, 0), Path(self.run_dir), self.sweep, self.label,
                             self.progress, echo=True, job_id=env.job_id)
        except (TrainingInterrupted, KeyboardInterrupt):
            if not self._preempted or not callable(submitit_handler):
                raise
            # The run saved what it could: submitit checkpoints this job and requeues it (this exits).
            signal.signal(usr, submitit_handler)
            submitit_handler(usr, None)
            raise
        finally:
            signal.signal(usr, submitit_handler)  # a signal after the run: submitit's own handling
        return {"id": self.run_id, "status": status}

    def _on_preemption_signal(self, signum, frame) -> None:
        if self._preempted:
            return  # already stopping
        self._preempted = True
        if _ask_training_to_stop(frame):
            return  # the loop snapshots at the next step, then raises TrainingInterrupted
        raise Preempted(f"{self.run_dir}: preempted outside training (signal {signal.Signals(signum).name})")

    def checkpoint(self, *args, **kwargs) -> submitit.helpers.DelayedSubmission:
        """What submitit requeues: a fresh job for the same run (all progress is in the run directory)."""
        return submitit.helpers.DelayedSubmission(RunJob(self.run_dir, self.run_id, self.sweep, self.label,
                                                         self.progress))

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_preempted"] = False
        return state


def _ask_training_to_stop(frame) -> bool:
    """True when a training loop runs (its SIGTERM handler is installed); it is then asked to stop cleanly."""
    loop = sys.modules.get("xlpt.training.loop")
    handler = signal.getsignal(signal.SIGTERM)
    owner = getattr(handler, "__self__", None)
    if loop is None or not isinstance(owner, loop.StopRequest):
        return False
    if owner.signal is None:  # not stopping yet
        handler(signal.SIGTERM, frame)
    return True
