"""Find run directories under a folder and read their `results*.json` into typed records.

A report must account for every run it was pointed at: a run whose results file is missing,
unreadable or malformed is *listed* (as incomplete or skipped, with the reason) instead of being
dropped silently or crashing the whole report.

Besides the numbers, a record keeps what a reader must know before trusting them: whether the model
is a pipeline check (`pipeline_check`, `notices`), how the evaluation was scoped (`evaluation`: split,
languages, per-language cap) and, per language, the split used and how many examples were scored out
of how many available. Results files written before those fields existed are read as before; their
pipeline-check status is then taken from the model folder's own `xlpt_origin` record when the folder
is there, and their cap from the stored config (`config.data.max_eval_examples`).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from xlpt.models.origin import pipeline_notice, read_origin
from xlpt.reporting.source import source_language as _source_language

# Files or folders that mark a directory as a run even when it has no results yet (a run that failed,
# was killed or is still going). `config.json` is deliberately absent: model checkpoints carry one too.
RUN_MARKERS = (
    "predictions", "checkpoint", "config.yaml", "config.yml", "run_config.json", "run.log",
    "train_log.jsonl", "train_summary.json", "status.json", "error.txt", "FAILED",
)

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
    source_language: str | None = None
    """The training language: runs trained on different languages are different systems, never seeds."""
    variant: tuple[tuple[str, str], ...] = ()
    """The run's whole resolved config less the seed (`identity_config`), as sorted (dotted key, JSON value)
    pairs: runs that differ in any setting (LoRA rank, steps, max length, ...) are different systems."""


@dataclass(frozen=True)
class EvaluationScope:
    """How a run was evaluated: results.json's `evaluation` object (or what the stored config implies)."""

    split: str
    languages: str | tuple[str, ...]
    """"all", or the languages the user asked for."""
    limit: int | None
    """At most this many examples per language (None: every example)."""
    key: str | None = None
    inferred: bool = False
    """True when read from the stored config because results.json has no `evaluation` object."""


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
    lang_n_available: dict[str, int | None] = field(default_factory=dict)
    """Examples in the language's split before any cap; None when results.json does not say."""
    lang_capped: dict[str, bool | None] = field(default_factory=dict)
    """True: scored on a capped subset; None: may be (a limit was set but the split size is unknown)."""
    pipeline_check: bool = False
    notices: tuple[str, ...] = ()
    """Banner sentences to show verbatim (a pipeline-check model's notice)."""
    pipeline_check_source: str = "results.json"
    """Where `pipeline_check` came from: "results.json" or "model folder" (older results files)."""
    evaluation: EvaluationScope | None = None
    skipped_languages: dict[str, str] = field(default_factory=dict)
    """Languages the user asked to skip, with the reason."""
    source_language: str = "en"
    """The training language (reporting.source: results, else config data.train_lang, else en)."""
    variant: tuple[tuple[str, str], ...] = ()
    """`identity_config` of results.json's `config` (empty for results files without one)."""
    label_counts: dict[str, int] | None = None
    """Training label counts (results.json `training.train_label_counts`), when recorded: the chance and
    majority-class lines of the plots."""
    unfinished: dict | None = None
    """results.json's `unfinished` object: evaluated with --allow-unfinished (a checkpoint of a run that did
    not finish: diverged, failed or still training), so never a normal result."""

    @property
    def system(self) -> System:
        return System(self.model, self.method, self.prompt_length, self.prompt_init, self.learning_rate,
                      self.formulation, self.source_language, self.variant)

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
    full_text: Path | None = None
    """The file with the full message when `reason` holds only its first line (a multi-line error)."""


@dataclass
class Collection:
    runs: list[RunRecord] = field(default_factory=list)
    skipped: list[ProblemRun] = field(default_factory=list)
    """Runs with a results file that could not be used (corrupt, malformed, duplicate)."""
    incomplete: list[ProblemRun] = field(default_factory=list)
    """Run directories without a results file for the requested split (failed or unfinished)."""
    unfinished: list[RunRecord] = field(default_factory=list)
    """Runs whose results were evaluated with --allow-unfinished (a checkpoint of a run that did not finish):
    listed apart, never in a table of results."""


NOT_IDENTITY = frozenset({"train.seed", "train.log_every", "train.checkpoint_every", "train.checkpoint_minutes"})
"""Config keys that never make two runs different systems: the seed (runs that differ only in it are the
seeds of one system) and how often the trainer writes its log and snapshots (bookkeeping, not computation).
Every other key, present or future, is part of a run's identity: an exclusion list, never a chosen few."""


def identity_config(config: object) -> tuple[tuple[str, str], ...]:
    """A results file's `config` flattened to sorted (dotted key, JSON value) pairs, less NOT_IDENTITY."""
    if config is None:
        return ()
    if not isinstance(config, dict):
        raise RunFormatError(f"'config' is {type(config).__name__}, expected an object")
    flat: dict[str, str] = {}

    def walk(tree: dict, prefix: str) -> None:
        for key, value in tree.items():
            dotted = f"{prefix}{key}"
            if isinstance(value, dict) and value:
                walk(value, dotted + ".")
            elif dotted not in NOT_IDENTITY:
                flat[dotted] = json.dumps(value, sort_keys=True, ensure_ascii=False)

    walk(config, "")
    return tuple(sorted(flat.items()))


def variant_text(key: str, value: str) -> str:
    """'method.lora_r', '8' -> 'lora_r=8': the key's last part, the value as JSON (strings unquoted)."""
    shown = json.loads(value)
    return f"{key.rsplit('.', 1)[-1]}={shown if isinstance(shown, str) else value}"


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
        # names, not only files: a results.json that is not a file still marks a run (listed as incomplete)
        has_results = any(n == "results.json" or (n.startswith("results-") and n.endswith(".json")) for n in names)
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
            collection.incomplete.append(_incomplete(run_dir, split))
            continue
        try:
            record = parse_results(json.loads(results_path.read_text(encoding="utf-8")), run_dir, split)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, RunFormatError) as err:
            collection.skipped.append(ProblemRun(run_dir, f"{results_path.name}: {_describe(err)}"))
            continue
        if record.unfinished is not None:
            collection.unfinished.append(record)
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


def _incomplete(run_dir: Path, split: str) -> ProblemRun:
    """Say what is there instead of results, and the first line of the run's own error when it left one
    (a multi-line error is pointed to in status.json, never pasted: it would break every table and list)."""
    from xlpt.reporting.tables import cell_text

    reason, full_text = f"no {results_filename(split)}", None
    others = sorted(p.name for p in run_dir.glob("results*.json"))
    if others:
        reason += f" (has {', '.join(others)})"
    status = run_dir / "status.json"
    if status.is_file():
        try:
            info = json.loads(status.read_text(encoding="utf-8"))
            detail = info.get("error") or info.get("status") if isinstance(info, dict) else None
            if detail:
                shown = cell_text(detail, 120)
                reason += f"; status: {shown}"
                full_text = status if shown != str(detail).strip() else None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            reason += "; status.json unreadable"
    return ProblemRun(run_dir, reason + "; failed or not finished", full_text)


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
    model = str(data.get("model") or "unknown-model")
    evaluation = _evaluation(data, split)
    limit = evaluation.limit if evaluation else None
    scores, lang_split, lang_n, available, capped = {}, {}, {}, {}, {}
    for lang, entry in languages.items():
        scores[lang] = _metric_value(entry, lang, metric)
        lang_split[lang] = str(entry.get("split") or split)
        lang_n[lang] = entry.get("n") if isinstance(entry.get("n"), int) else None
        available[lang] = _count(entry, f"languages.{lang}.n_available")
        capped[lang] = _capped(entry, lang, lang_n[lang], available[lang], limit)
    pipeline_check, notices, check_source = _pipeline_check(data, model)
    return RunRecord(
        path=run_dir, task=task, method=method, metric=metric, split=split,
        model=model,
        seed=_optional(data, "seed", int), run_id=_optional(data, "run_id", str),
        prompt_length=_optional(data, "prompt_length", int), prompt_init=_optional(data, "prompt_init", str),
        learning_rate=_optional(data, "learning_rate", float), formulation=_optional(data, "formulation", str),
        trainable_params=_optional(data, "trainable_params", int), total_params=_optional(data, "total_params", int),
        trainable_fraction=_optional(data, "trainable_fraction", float),
        scores=scores, lang_split=lang_split, lang_n=lang_n, lang_n_available=available, lang_capped=capped,
        pipeline_check=pipeline_check, notices=notices, pipeline_check_source=check_source,
        evaluation=evaluation, skipped_languages=_skipped_languages(data), source_language=_source_language(data),
        variant=identity_config(data.get("config")), unfinished=_unfinished(data), label_counts=_label_counts(data),
    )


def _label_counts(data: dict) -> dict[str, int] | None:
    """training.train_label_counts when it is a non-empty object of non-negative integers, else None (older or
    hand-written results say nothing, which the plots respect by drawing no majority line)."""
    training = data.get("training")
    counts = training.get("train_label_counts") if isinstance(training, dict) else None
    if not isinstance(counts, dict) or not counts:
        return None
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in counts.values()):
        return None
    return {str(k): v for k, v in counts.items()} if sum(counts.values()) else None


def unfinished_text(record: RunRecord) -> str:
    """'evaluated with --allow-unfinished: run diverged, checkpoint step 120; not a normal result'."""
    info = record.unfinished or {}
    state = info.get("state") or info.get("status") or "not finished"
    step = info.get("checkpoint_step")
    where = f", checkpoint step {step}" if step is not None else ""
    return f"evaluated with --allow-unfinished: run {state}{where}; not a normal result"


def _unfinished(data: dict) -> dict | None:
    """results.json's `unfinished` (written by `xlpt evaluate --allow-unfinished`), read defensively."""
    value = data.get("unfinished")
    if value in (None, False):
        return None
    return value if isinstance(value, dict) else {"state": str(value)}


def _pipeline_check(data: dict, model: str) -> tuple[bool, tuple[str, ...], str]:
    """(pipeline_check, notices, where it came from). Absent field: ask the model folder (older files)."""
    notices = data.get("notices", [])
    if not isinstance(notices, list) or not all(isinstance(n, str) for n in notices):
        raise RunFormatError(f"'notices' is {notices!r}, expected a list of strings")
    notices = tuple(dict.fromkeys(n.strip() for n in notices if n.strip()))
    if "pipeline_check" in data:
        flag = data["pipeline_check"]
        if not isinstance(flag, bool):
            raise RunFormatError(f"'pipeline_check' is {flag!r}, expected true or false")
        source = "results.json"
    else:
        origin = read_origin(model)
        flag, source = bool(origin.get("pipeline_check")), "model folder"
        notices = notices or tuple(filter(None, [pipeline_notice(model, origin)]))
    if flag and not notices:  # a flag without its sentence still gets a banner
        notices = (pipeline_notice(model, {"pipeline_check": True}),)
    return flag, notices, source


def _evaluation(data: dict, split: str) -> EvaluationScope | None:
    """results.json's `evaluation` object; for older files, the scope the stored config implies."""
    value = data.get("evaluation")
    if value is None:
        cfg = data.get("config")
        cfg_data = cfg.get("data") if isinstance(cfg, dict) else None
        if not isinstance(cfg_data, dict):
            return None
        limit = cfg_data.get("max_eval_examples")
        languages = cfg_data.get("eval_languages", "all")
        return EvaluationScope(split, _languages(languages, "config.data.eval_languages"),
                               limit if isinstance(limit, int) and limit > 0 else None, inferred=True)
    if not isinstance(value, dict):
        raise RunFormatError(f"'evaluation' is {value!r}, expected an object")
    limit = value.get("limit")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise RunFormatError(f"'evaluation.limit' is {limit!r}, expected a positive integer or null")
    key = value.get("key")
    return EvaluationScope(str(value.get("split") or split), _languages(value.get("languages", "all"),
                           "evaluation.languages"), limit, None if key is None else str(key))


def _languages(value, where: str) -> str | tuple[str, ...]:
    if value in (None, "", "all"):
        return "all"
    if isinstance(value, str):  # the config's comma-separated form
        return tuple(x.strip() for x in value.split(",") if x.strip())
    if isinstance(value, list) and all(isinstance(x, str) for x in value):
        return tuple(value)
    raise RunFormatError(f"'{where}' is {value!r}, expected \"all\" or a list of language codes")


def _count(entry: dict, where: str) -> int | None:
    value = entry.get(where.rsplit(".", 1)[1])
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RunFormatError(f"{where} is {value!r}, expected a non-negative integer")
    return value


def _capped(entry: dict, lang: str, n: int | None, available: int | None, limit: int | None) -> bool | None:
    """Whether the language was scored on fewer examples than its split has (None: cannot tell)."""
    flag = entry.get("capped")
    if flag is not None and not isinstance(flag, bool):
        raise RunFormatError(f"languages.{lang}.capped is {flag!r}, expected true or false")
    if n is not None and available is not None:
        if n > available:
            raise RunFormatError(f"languages.{lang}: n = {n} is more than n_available = {available}")
        return n < available  # the counts are the facts; the flag only matters without them
    if flag is not None:
        return flag
    if limit is not None and n is not None and n >= limit:
        return None  # a limit was set and reached, but the split's size is unknown
    return False


def _skipped_languages(data: dict) -> dict[str, str]:
    value = data.get("skipped_languages", {})
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise RunFormatError(f"'skipped_languages' is {value!r}, expected an object of language -> reason")
    return {str(lang): reason for lang, reason in value.items()}


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
