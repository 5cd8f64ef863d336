"""The run directory: the one module that knows where a run's files are and how they are written.

    config.yaml           resolved configuration (written first; see `RunDir.claim`)
    task.yaml             the task's definition as used (a user task stays evaluable without its folder)
    run.log               human-readable log (data read, truncations, notes, selection)
    train_log.jsonl       loss / lr / grad norm / tokens/s / memory / dev scores (valid JSON, one per line)
    train_summary.json    parameters, best step, throughput, data, status (done | diverged), and the config as
                          trained (`config`: `xlpt evaluate` refuses a config.yaml edited afterwards)
    checkpoint/best.safetensors  trainable weights at the best source-language dev step
    checkpoint/last.pt    resumable snapshot (trainable state + optimizer + scheduler + cursor + RNG),
                          every train.checkpoint_every steps / checkpoint_minutes, at the end, on SIGTERM
    results.json          evaluation of data.eval_split on all languages (see `evaluation_key`); `unfinished`
                          is {state, checkpoint_step, reason} when `evaluate --allow-unfinished` scored a run whose
                          training did not finish (null otherwise)
    results-<key>.json    any other evaluation (another split, a language subset, a --limit)
    predictions/<key>/<lang>.jsonl
    tensorboard/, wandb/  experiment-tracker files when train.report_to asks for them (xlpt.tracking)
    status.json, .lock    lifecycle: pending | running | done | failed | diverged, and who works on it. `xlpt train`
                          and `xlpt evaluate` hold .lock (flock) while they work (`RunDir.hold`): a second
                          process is refused with one line naming the holder (host:pid, command, since)
    job.json              the cluster job a sweep submitted for the run (written by the submitting process only)

Every write is atomic (temporary file + rename). Every read of a damaged file is one `RunFileError`
naming the file and what to do. Nothing here imports torch.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import socket
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from xlpt.atomic_files import write_json_atomic, write_text_atomic
from xlpt.errors import ConfigError, RunFileError

try:
    import fcntl
except ImportError:  # Windows: no flock; concurrent sweeps on one folder are then unsupported.
    fcntl = None


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def run_id(cfg) -> str:
    """Stable id: hash of the resolved config (same config -> same id, on any machine)."""
    blob = json.dumps(cfg.to_dict(), sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


def evaluation_key(split: str, languages: list[str] | None, limit: int | None, default_split: str) -> str:
    """Name of one evaluation's results: `test` (or `dev`) for the run's own evaluation (its config's
    languages and cap), else a key that spells out the split, the language subset and the cap, so a
    partial evaluation never overwrites a fuller one. `languages`/`limit`: None = the run's own."""
    if languages is None and limit is None:
        return split
    parts = [split]
    if languages is not None:
        joined = "+".join(sorted(languages))
        parts.append(f"langs-{joined}" if len(joined) <= 60 else
                     f"langs{len(languages)}-{hashlib.sha256(joined.encode()).hexdigest()[:8]}")
    if limit is not None:
        parts.append(f"limit{limit}")
    return "-".join(parts)


def safetensors_metadata(path: str | os.PathLike) -> dict[str, str]:
    """The `__metadata__` of a safetensors file (step, score, base-model identity: checkpoints.py writes it),
    read from its header without torch; {} when unreadable."""
    try:
        with open(path, "rb") as handle:
            size = int.from_bytes(handle.read(8), "little")
            header = json.loads(handle.read(size)) if 0 < size < 100_000_000 else {}
    except (OSError, ValueError):
        return {}
    metadata = header.get("__metadata__") if isinstance(header, dict) else None
    return metadata if isinstance(metadata, dict) else {}


def finite_or_none(value):
    """For logs: a float that is not finite is written as null (and the record says so elsewhere)."""
    return None if isinstance(value, float) and not math.isfinite(value) else value


class RunDir:
    """One run's folder. Cheap to construct; touches the disk only when asked."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    # ------------------------------------------------------------------------------------ layout
    @property
    def config_path(self) -> Path:
        return self.path / "config.yaml"

    @property
    def task_path(self) -> Path:
        return self.path / "task.yaml"

    @property
    def log_path(self) -> Path:
        return self.path / "run.log"

    @property
    def train_log_path(self) -> Path:
        return self.path / "train_log.jsonl"

    @property
    def summary_path(self) -> Path:
        return self.path / "train_summary.json"

    @property
    def checkpoint_dir(self) -> Path:
        return self.path / "checkpoint"

    @property
    def best_weights_path(self) -> Path:
        """Where training writes the best weights (`best_checkpoint` is where readers look for them)."""
        return self.checkpoint_dir / "best.safetensors"

    @property
    def best_checkpoint(self) -> Path:
        """best.safetensors; runs of xlpt <= 0.1 have best.pt instead (still read)."""
        legacy = self.checkpoint_dir / "best.pt"
        return legacy if legacy.exists() and not self.best_weights_path.exists() else self.best_weights_path

    @property
    def last_checkpoint(self) -> Path:
        return self.checkpoint_dir / "last.pt"

    @property
    def status_path(self) -> Path:
        return self.path / "status.json"

    @property
    def job_path(self) -> Path:
        return self.path / "job.json"

    def results_path(self, key: str) -> Path:
        return self.path / ("results.json" if key == "test" else f"results-{key}.json")

    def predictions_dir(self, key: str) -> Path:
        return self.path / "predictions" / key

    def tracker_dir(self, tracker: str) -> Path:
        """Files of an experiment tracker (train.report_to: tensorboard, wandb)."""
        return self.path / tracker

    def has_progress(self) -> bool:
        """True once training saved anything (a checkpoint, a summary) or an evaluation wrote results."""
        return (self.last_checkpoint.exists() or self.best_checkpoint.exists() or self.summary_path.exists()
                or any(self.path.glob("results*.json")))

    # ------------------------------------------------------------------------------------ config
    def claim(self, cfg, task, log=None) -> None:
        """Create the folder and write config.yaml + task.yaml. A folder holding a *different* config is
        refused once it has progress; one whose run failed before saving anything is taken over (logged)."""
        import yaml

        if self.path.exists() and not self.path.is_dir():
            raise ConfigError(f"--out {self.path} is a file, not a run directory")
        self.path.mkdir(parents=True, exist_ok=True)
        resolved = cfg.to_dict()
        if self.config_path.exists():
            previous = self._comparable(self._read_yaml(self.config_path))
            if self.legacy_caps() and self.has_progress() and self.read_summary() is None:
                raise ConfigError(f"{self.path} holds an unfinished run of an older xlpt whose caps kept the first N "
                                  "rows; this version draws seeded samples, so resuming would change its training "
                                  "rows mid-run: use a new --out directory")
            if previous != resolved:
                if self.has_progress():
                    changed = _differences(previous, resolved)
                    raise ConfigError(f"{self.path} already holds a run with a different config (differs in: "
                                      f"{', '.join(changed) or 'layout'}); use a new --out directory")
                if log is not None:
                    log(f"NOTE: {self.config_path} held another config from a run that saved nothing; replaced")
            else:
                return
        write_text_atomic(self.config_path, yaml.safe_dump(resolved, sort_keys=False, allow_unicode=True))
        write_text_atomic(self.task_path, yaml.safe_dump(task.model_dump(mode="json", by_alias=True),
                                                         sort_keys=False, allow_unicode=True))

    @staticmethod
    def _comparable(tree: dict) -> dict:
        """A stored config as this version resolves it (new keys at their defaults, the old flat method
        section migrated), so a run written before a key was added is still recognised as the same run."""
        from xlpt.config import config_from_dict, migrate_legacy

        try:
            return config_from_dict(tree).to_dict()
        except Exception:  # not valid any more: compare as written (it will differ, and say where)
            return migrate_legacy(tree)

    def read_config(self):
        """The run's RunConfig; its task is registered from task.yaml when it is not built in."""
        from pydantic import ValidationError

        from xlpt.config import config_from_dict
        from xlpt.tasks.registry import parse_task, register

        if not self.config_path.exists():
            raise ConfigError(f"{self.path} is not a run directory (no config.yaml)")
        tree = self._read_yaml(self.config_path)
        if self.task_path.exists():
            register(parse_task(self._read_text(self.task_path), str(self.task_path)))
        try:
            return config_from_dict(tree, str(self.config_path))
        except (ConfigError, ValidationError) as err:
            raise RunFileError(self.config_path, f"is not a valid run config ({err})") from None

    @staticmethod
    def _read_text(path: Path) -> str:
        try:
            return path.read_text(encoding="utf-8")
        except UnicodeDecodeError as err:
            raise RunFileError(path, f"is not UTF-8 text (byte {err.start}); restore it, or start a new run "
                               "directory") from None
        except OSError as err:
            raise RunFileError(path, f"cannot be read ({err.strerror or err})") from None

    def check_recorded_config(self) -> None:
        """config.yaml against the copy training recorded in train_summary.json (`config`): a hand-edited
        config.yaml would evaluate settings the checkpoint was never trained with. `xlpt train` refuses the
        same edit (`claim`); runs trained before the copy was recorded have nothing to compare with."""
        recorded = (self.read_summary() or {}).get("config")
        if not isinstance(recorded, dict):
            return
        changed = _differences(self._comparable(recorded), self._comparable(self._read_yaml(self.config_path)))
        if changed:
            raise RunFileError(self.config_path, f"was edited after training: it differs from the config recorded in "
                               f"{self.summary_path.name} in {', '.join(changed)}; restore it (the recorded values "
                               "are in train_summary.json), or train a new run with the new settings")

    def legacy_caps(self) -> bool:
        """Whether an older xlpt wrote this run: its config has no data.sample_seed, so its caps kept the first
        N rows (data.plan.Use.prefix) rather than a seeded sample."""
        data = self.read_config_tree().get("data") if self.config_path.exists() else None
        return isinstance(data, dict) and "sample_seed" not in data

    def read_config_tree(self) -> dict:
        """config.yaml as written (not migrated, not validated): to tell an xlpt <= 0.1 layout apart."""
        return self._read_yaml(self.config_path)

    def _read_yaml(self, path: Path) -> dict:
        from xlpt.schema import load_yaml

        try:
            tree = load_yaml(path.read_text(encoding="utf-8"), str(path))
        except (OSError, UnicodeDecodeError) as err:
            raise RunFileError(path, f"cannot be read ({err})") from None
        except ConfigError as err:
            raise RunFileError(path, f"is damaged ({err}); restore it or start a new run directory") from None
        if not isinstance(tree, dict):
            raise RunFileError(path, "is damaged (not a mapping); restore it or start a new run directory")
        return tree

    # ------------------------------------------------------------------------------------ logs
    def log(self, message: str, echo: bool = True) -> None:
        line = f"[{datetime.now().strftime('%H:%M:%S')}] {message}"
        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
        if echo:
            print(line, flush=True)

    def logger(self, echo: bool = True):
        return lambda message: self.log(message, echo)

    # ------------------------------------------------------------------------------------ JSON files
    def read_json(self, path: Path, missing_ok: bool = False) -> dict | None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            if missing_ok:
                return None
            raise RunFileError(path, "is missing") from None
        except (OSError, ValueError) as err:
            raise RunFileError(path, f"is damaged ({type(err).__name__}: {str(err)[:100]}); delete it to "
                               "recompute it (training resumes from checkpoint/last.pt)") from None
        if not isinstance(data, dict):
            raise RunFileError(path, "is damaged (not a JSON object); delete it to recompute it")
        return data

    def read_summary(self) -> dict | None:
        return self.read_json(self.summary_path, missing_ok=True)

    def write_summary(self, summary: dict) -> None:
        write_json_atomic(self.summary_path, summary)

    def write_results(self, key: str, results: dict) -> Path:
        path = self.results_path(key)
        write_json_atomic(path, results)
        return path

    def read_results(self, key: str) -> dict | None:
        return self.read_json(self.results_path(key), missing_ok=True)

    # ------------------------------------------------------------------------------------ lifecycle
    def training_state(self) -> tuple[str, str | None]:
        """("finished", None) when training ended normally (train_summary.json says done), else (state, why):
        diverged | failed | interrupted | unfinished (no record of an end: killed, or never trained)."""
        summary = self.read_summary()
        if summary is not None:
            status = summary.get("status", "done")
            if status == "done":
                return "finished", None
            if status == "diverged":
                return "diverged", summary.get("error")
            return "unfinished", f"{self.summary_path.name} says status {status!r}, not done"
        info = self.read_status()
        recorded = info.get("status")
        if recorded in ("failed", "interrupted", "diverged"):
            return recorded, info.get("error")
        said = f"status.json says {recorded!r}" if isinstance(recorded, str) else "no status.json"
        return "unfinished", f"no {self.summary_path.name} and {said} (killed, or not trained yet)"

    def checkpoint_step(self) -> int | None:
        """The step of checkpoint/best.safetensors, from its metadata (read without torch); None if unknown."""
        try:
            return int(safetensors_metadata(self.best_checkpoint).get("step"))
        except (ValueError, TypeError):
            return None

    def write_status(self, **fields) -> dict:
        if self.status_path.is_dir():  # read_status ignores it; writing over it would name a temporary file
            raise RunFileError(self.status_path, "is a folder, not the run's status file; remove it")
        status = self.read_status()
        status.update(fields)
        write_json_atomic(self.status_path, status)
        return status

    def read_status(self) -> dict:
        try:
            data = json.loads(self.status_path.read_text(encoding="utf-8"))
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}  # status.json is an index: a damaged one is rebuilt, never trusted

    @contextmanager
    def lifecycle(self, status: str, done: str):
        """status.json says `status` while the block runs, then `done` (with the finish time), or failed /
        interrupted / diverged (with the error) if it raises. Every command that works on a run uses this,
        so `xlpt runs` sees runs made by `xlpt train` exactly as those made by `xlpt sweep`."""
        from xlpt.errors import TrainingDiverged, TrainingInterrupted

        started = now()
        # first_started: when work on the run first began (`started` is the current phase's start)
        self.write_status(status=status, owner=owner(), started=started, finished=None, error=None,
                          first_started=self.read_status().get("first_started") or started)
        try:
            yield
        except TrainingDiverged:
            raise  # recorded where it is detected, with the step
        except (KeyboardInterrupt, TrainingInterrupted) as err:
            self.write_status(status="interrupted", error=str(err) or "interrupted", finished=None)
            raise
        except BaseException as err:
            self.write_status(status="failed", error=f"{type(err).__name__}: {err}"[:2000], finished=now())
            raise
        self.write_status(status=done, finished=now(), error=None)

    def read_job(self) -> dict | None:
        """job.json, or None when there is none or it is unreadable (it is a record of a submission, not a result)."""
        try:
            data = json.loads(self.job_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def write_job(self, **fields) -> None:
        write_json_atomic(self.job_path, fields)

    def lock(self) -> "RunLock":
        return RunLock(self.path)

    def is_locked(self) -> bool:
        """Whether a process (this one included) holds the run's lock."""
        return RunLock(self.path).held()

    def holder(self) -> str:
        """Who holds the lock, as its holder wrote it in .lock (host:pid, command, since), with what
        status.json says it does; "another process" when neither says."""
        try:
            written = (self.path / ".lock").read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            written = ""
        info = self.read_status()
        doing = f"status {info['status']}" if isinstance(info.get("status"), str) else ""
        if isinstance(info.get("sweep"), str):
            doing += f" in sweep {info['sweep']}"
        who = written or (info.get("owner") if isinstance(info.get("owner"), str) else "") or "another process"
        return f"{who}{f' ({doing.strip()})' if doing.strip() else ''}"

    @contextmanager
    def hold(self, doing: str):
        """Work on the run with its lock held; another process holding it is one RunFileError naming it.
        Within one process the lock is shared: a sweep that holds it may run `train` on the run in-process."""
        if self.path.exists() and not self.path.is_dir():
            raise ConfigError(f"--out {self.path} is a file, not a run directory")
        lock = RunLock(self.path, doing)
        try:
            acquired = lock.acquire()
        except OSError as err:
            raise RunFileError(lock.path, f"cannot be opened to lock the run ({err.strerror or err}); the run "
                               "directory and its .lock file must be writable (copy a read-only run elsewhere)") from None
        if not acquired:
            raise RunFileError(self.path, f"is in use by {self.holder()}; wait for it to finish (or stop it), "
                               "or use another directory")
        try:
            yield
        finally:
            lock.release()


_HELD: dict[tuple[int, str], list] = {}
"""Locks this process holds: (pid, real path of .lock) -> [open handle, holders]. flock conflicts between two
handles of one process too, so a second holder in the same process shares the first one's handle."""


class RunLock:
    """Non-blocking exclusive flock on `<run>/.lock`; the kernel releases it however its process ends.
    The holder writes who it is into the file (host:pid, what it does, since when) for the refusal line."""

    def __init__(self, run_dir: Path, doing: str = "works on it"):
        self.path = Path(run_dir) / ".lock"
        self.doing = doing
        self._key = None

    def _held_key(self) -> tuple[int, str]:
        return os.getpid(), os.path.realpath(self.path)

    def acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        key = self._held_key()
        if key in _HELD:  # this process holds it already (a sweep running train/evaluate in-process)
            _HELD[key][1] += 1
            self._key = key
            return True
        handle = open(self.path, "a+", encoding="utf-8")
        if fcntl is not None:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.close()
                return False
        try:
            handle.truncate(0)
            handle.write(f"{owner()} {self.doing} since {now()}\n")
            handle.flush()
        except OSError:
            pass  # who holds it is a courtesy; the flock is the lock
        _HELD[key] = [handle, 1]
        self._key = key
        return True

    def release(self) -> None:
        if self._key is None:
            return
        entry = _HELD[self._key]
        entry[1] -= 1
        if entry[1] == 0:
            del _HELD[self._key]
            if fcntl is not None:
                fcntl.flock(entry[0], fcntl.LOCK_UN)
            entry[0].close()
        self._key = None

    def held(self) -> bool:
        """Whether any process, this one included, holds the lock (probed without writing anything)."""
        if fcntl is None or not self.path.exists():
            return False
        if self._held_key() in _HELD:
            return True
        try:
            handle = open(self.path, "r")
        except OSError:
            return False
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        finally:
            handle.close()  # closing drops the probe's own lock
        return False


def _differences(old: dict, new: dict, prefix: str = "") -> list[str]:
    keys = sorted(set(old) | set(new))
    changed = []
    for key in keys:
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            changed += _differences(a, b, f"{prefix}{key}.")
        elif a != b:
            changed.append(f"{prefix}{key}")
    return changed
