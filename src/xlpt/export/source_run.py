"""The run an output comes from, as `xlpt predict` and `xlpt export` name it on the console and in their files.

A prediction file or an exported folder leaves its run directory; taken out of context it must still say
which checkpoint made it (the training step of checkpoint/best.safetensors), in which state the run was
(done, diverged, failed, interrupted, still running) and, for a pipeline-check model (`xlpt model tiny`),
that its numbers are not findings (the same notice train, evaluate and report carry). A run whose training
did not finish is refused unless the user asks for its checkpoint (`--allow-unfinished`, as for
`xlpt evaluate`); the output then says so. Nothing here imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from xlpt.errors import ConfigError
from xlpt.models.origin import pipeline_notice, read_origin
from xlpt.run_dir import RunDir

UNFINISHED_FLAG = "--allow-unfinished"


@dataclass
class SourceRun:
    path: Path
    state: str
    """done | diverged | failed | interrupted | running | unfinished (killed, or never trained) | untrained
    (a method that trains nothing: no checkpoint)."""
    why: str | None = None
    step: int | None = None
    notices: list[str] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        return self.state in ("done", "untrained")

    @property
    def pipeline_check(self) -> bool:
        return any(notice.startswith("PIPELINE CHECK") for notice in self.notices)

    def checkpoint(self) -> str:
        if self.state == "untrained":
            return "no checkpoint (the method trains nothing)"
        return f"checkpoint/best.safetensors of step {self.step if self.step is not None else '(unknown)'}"

    def describe(self) -> str:
        """One console line: the run, its state and the checkpoint used."""
        state = {"done": "training done", "untrained": "nothing trained", "running": "training still running"}
        said = state.get(self.state, f"training {self.state}")
        return f"run {self.path}: {said}; {self.checkpoint()}"

    def unfinished_notice(self) -> str | None:
        if self.finished:
            return None
        return (f"UNFINISHED RUN: training {self.state_words()} ({self.why}); the {self.checkpoint()} was used on "
                f"request ({UNFINISHED_FLAG}): it is not the run's result")

    def record(self) -> dict:
        """The run as a file records it (export manifests, prediction lines)."""
        return {"state": self.state, "reason": self.why, "checkpoint_step": self.step}

    def state_words(self) -> str:
        return "still running" if self.state == "running" else "did not finish" if self.state == "unfinished" \
            else self.state


def read_source_run(run: RunDir, cfg, model_name: str, allow_unfinished: bool = False) -> SourceRun:
    """The run's state and checkpoint, and its model's notices; ConfigError (one line) for an unfinished run
    unless `allow_unfinished`. `model_name`: where the base model is now (base_model.resolve_base_model)."""
    notice = pipeline_notice(model_name, read_origin(model_name))
    source = SourceRun(run.path, *training_state(run, cfg), notices=[notice] if notice else [])
    if cfg.method_record.trains:
        source.step = run.checkpoint_step()
    if not source.finished and not allow_unfinished:
        at = f"step {source.step}" if source.step is not None else "no known step"
        then = "wait for it to finish" if source.state == "running" else "its training will not finish" \
            if source.state == "diverged" else "rerun the same `xlpt train` command to finish it"
        raise ConfigError(f"{run.path}: training {source.state_words()} ({source.why}); its best checkpoint ({at}) is "
                          f"not the run's result: {then}, or pass {UNFINISHED_FLAG} to use that checkpoint anyway "
                          "(the output then says so)")
    return source


def training_state(run: RunDir, cfg) -> tuple[str, str | None]:
    """(state, why) as SourceRun.state names it, from train_summary.json, status.json and the run's lock."""
    if not cfg.method_record.trains:
        return "untrained", None
    state, why = run.training_state()
    if state == "finished":
        return "done", None
    if state in ("unfinished", "interrupted") and run.is_locked():  # a live process holds the run: training
        return "running", f"held by {run.holder()}"
    return state, why


@dataclass
class OpenedRun:
    """A run made ready for a command that reads its checkpoint: config, where its base model is, its state."""

    run: RunDir
    cfg: object
    model: str
    """The base model to load (the recorded model.name, resolved; see base_model.py)."""
    model_note: str | None
    source: SourceRun

    def lines(self) -> list[str]:
        """What the console shows: the notices first (a pipeline check's banner), then where the base model
        was found (when not as recorded), then the run and its checkpoint."""
        return [*self.notices(), *([self.model_note] if self.model_note else []), self.source.describe()]

    def notices(self) -> list[str]:
        """What every file written from this run carries: the model's notices, and the unfinished run's."""
        unfinished = self.source.unfinished_notice()
        return [*self.source.notices, *([unfinished] if unfinished else [])]


def open_run(run_dir, model: str | None = None, allow_unfinished: bool = False, refuse=None) -> OpenedRun:
    """Read the run (before torch is imported): config, recorded-config check, base model, state.
    `refuse(cfg, run)`: the command's own refusals, made before the run's state is judged."""
    from xlpt.export.base_model import resolve_base_model

    run = RunDir(run_dir)
    cfg = run.read_config()  # a missing or damaged run fails here
    run.check_recorded_config()  # a hand-edited config.yaml would load settings the checkpoint never had
    if refuse is not None:
        refuse(cfg, run)
    name, note = resolve_base_model(run, cfg.model.name, model)
    return OpenedRun(run, cfg, name, note, read_source_run(run, cfg, name, allow_unfinished))
