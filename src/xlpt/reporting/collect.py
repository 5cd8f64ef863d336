"""Find run directories under a folder and read their `results*.json` into typed records.

A report must account for every run it was pointed at: a run whose results file is missing,
unreadable or malformed is *listed* (as incomplete or skipped, with the reason) instead of being
dropped silently or crashing the whole report.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

# Files or folders that mark a directory as a run even when it has no results yet (a run that failed,
# was killed or is still going). `config.json` is deliberately absent: model checkpoints carry one too.
RUN_MARKERS = (
    "predictions", "checkpoint", "config.yaml", "config.yml", "run_config.json", "run.log",
    "train_log.jsonl", "train_summary.json", "status.json", "error.txt", "FAILED",
)

PROMPT_METHODS = ("prompt_tuning", "prefix_tuning")


@dataclass(frozen=True, order=True)
class System:
    """What one table column stands for: the same model, method and configuration over several seeds."""

    model: str
    method: str
    prompt_length: int | None = None
    prompt_init: str | None = None
    learning_rate: float | None = None
    formulation: str | None = None
    """Pair tasks: "verbalizer" or "linear_head" (how the class is read out)."""


@dataclass
class RunRecord:
    """One run's evaluation on one split, with the headline metric per language as a fraction."""

    path: Path
    task: str
    method: str
    model: str
    metric: str
    split: str
    seed: int | None
    run_id: str | None
    prompt_length: int | None
    prompt_init: str | None
    learning_rate: float | None
    formulation: str | None
    trainable_params: int | None
    total_params: int | None
    trainable_fraction: float | None
    scores: dict[str, float]
    lang_split: dict[str, str]
    lang_n: dict[str, int | None]

    @property
    def system(self) -> System:
        return System(self.model, self.method, self.prompt_length, self.prompt_init, self.learning_rate,
                      self.formulation)

    def predictions_file(self, lang: str) -> Path | None:
        """The language's predictions, looked up under its own split first (a dev-only language)."""
        for split in dict.fromkeys((self.lang_split.get(lang, self.split), self.split)):
            path = self.path / "predictions" / split / f"{lang}.jsonl"
            if path.is_file():
                return path
        return None


@dataclass(frozen=True)
class ProblemRun:
    """A run directory that contributes no numbers, and why."""

    path: Path
    reason: str


@dataclass
class Collection:
    runs: list[RunRecord] = field(default_factory=list)
    skipped: list[ProblemRun] = field(default_factory=list)
    """Runs with a results file that could not be used (corrupt, malformed, duplicate)."""
    incomplete: list[ProblemRun] = field(default_factory=list)
    """Run directories without a results file for the requested split (failed or unfinished)."""


class RunFormatError(ValueError):
    """A results file is readable JSON but does not follow the contract; the message says where."""


def relative_path(path: Path, root: Path) -> str:
    """A run's path as shown in reports: relative to the --runs folder when it lies inside it."""
    try:
        return str(path.relative_to(root)) or "."
    except ValueError:
        return str(path)


def results_filename(split: str) -> str:
    return "results.json" if split == "test" else f"results-{split}.json"


def find_run_dirs(root: Path) -> list[Path]:
    """Every directory below `root` that looks like a run; a run's own subfolders are not searched."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        names = set(filenames) | set(dirnames)
        has_results = any(n == "results.json" or (n.startswith("results-") and n.endswith(".json")) for n in filenames)
        if has_results or names & set(RUN_MARKERS):
            found.append(Path(dirpath))
            dirnames[:] = []
        else:
            dirnames.sort()
    return sorted(found)


def collect_runs(root: Path, split: str = "test") -> Collection:
    """Read every run under `root` for `split`; duplicates (same system, task and seed) keep the first path."""
    collection = Collection()
    seen: dict[tuple, Path] = {}
    for run_dir in find_run_dirs(root):
        results_path = run_dir / results_filename(split)
        if not results_path.is_file():
            collection.incomplete.append(ProblemRun(run_dir, _incomplete_reason(run_dir, split)))
            continue
        try:
            record = parse_results(json.loads(results_path.read_text(encoding="utf-8")), run_dir, split)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, RunFormatError) as err:
            collection.skipped.append(ProblemRun(run_dir, f"{results_path.name}: {_describe(err)}"))
            continue
        key = (record.task, record.system, record.seed)
        if key in seen:
            reason = f"duplicate of {seen[key]} (same task, method, configuration and seed {record.seed})"
            collection.skipped.append(ProblemRun(run_dir, reason))
            continue
        seen[key] = run_dir
        collection.runs.append(record)
    return collection


def _describe(err: Exception) -> str:
    if isinstance(err, json.JSONDecodeError):
        return f"not valid JSON (line {err.lineno}, column {err.colno}: {err.msg})"
    return str(err)


def _incomplete_reason(run_dir: Path, split: str) -> str:
    """Say what is there instead of results, and the run's own error message when it left one."""
    reason = f"no {results_filename(split)}"
    others = sorted(p.name for p in run_dir.glob("results*.json"))
    if others:
        reason += f" (has {', '.join(others)})"
    status = run_dir / "status.json"
    if status.is_file():
        try:
            info = json.loads(status.read_text(encoding="utf-8"))
            detail = info.get("error") or info.get("status") if isinstance(info, dict) else None
            if detail:
                reason += f"; status: {str(detail)[:200]}"
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            reason += "; status.json unreadable"
    return reason + "; failed or not finished"


def parse_results(data: object, run_dir: Path, split: str) -> RunRecord:
    """Validate one results document against the trainer's contract and turn it into a record."""
    if not isinstance(data, dict):
        raise RunFormatError(f"top level is {type(data).__name__}, expected an object")
    task = _required_str(data, "task")
    method = _required_str(data, "method")
    metric = _required_str(data, "metric")
    file_split = data.get("split", split)
    if file_split != split:
        raise RunFormatError(f"results are for split {file_split!r}, not the requested {split!r}")
    languages = data.get("languages")
    if not isinstance(languages, dict) or not languages:
        raise RunFormatError("'languages' is missing or empty")
    scores, lang_split, lang_n = {}, {}, {}
    for lang, entry in languages.items():
        scores[lang] = _metric_value(entry, lang, metric)
        lang_split[lang] = str(entry.get("split") or split)
        lang_n[lang] = entry.get("n") if isinstance(entry.get("n"), int) else None
    return RunRecord(
        path=run_dir, task=task, method=method, metric=metric, split=split,
        model=str(data.get("model") or "unknown-model"),
        seed=_optional(data, "seed", int), run_id=_optional(data, "run_id", str),
        prompt_length=_optional(data, "prompt_length", int), prompt_init=_optional(data, "prompt_init", str),
        learning_rate=_optional(data, "learning_rate", float), formulation=_optional(data, "formulation", str),
        trainable_params=_optional(data, "trainable_params", int), total_params=_optional(data, "total_params", int),
        trainable_fraction=_optional(data, "trainable_fraction", float),
        scores=scores, lang_split=lang_split, lang_n=lang_n,
    )


def _required_str(data: dict, key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise RunFormatError(f"'{key}' is missing or not a string")
    return value


def _optional(data: dict, key: str, kind: type):
    """A nullable scalar field; a value of the wrong type is an error, not a silent None."""
    value = data.get(key)
    if value is None:
        return None
    if kind is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if kind is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind is str and isinstance(value, (str, int)):
        return str(value)
    raise RunFormatError(f"'{key}' is {value!r}, expected {kind.__name__} or null")


def _metric_value(entry: object, lang: str, metric: str) -> float:
    if not isinstance(entry, dict):
        raise RunFormatError(f"languages.{lang} is not an object")
    value = entry.get(metric)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise RunFormatError(f"languages.{lang}.{metric} is {value!r}, expected a number")
    if not 0.0 <= value <= 1.0:
        raise RunFormatError(f"languages.{lang}.{metric} = {value} is outside [0, 1] (fractions expected)")
    return float(value)
