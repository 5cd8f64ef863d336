"""Group runs into per-task tables: one column per system (model, method, configuration), seeds pooled.

Numbers stay fractions here; formatting (percentages, bold, footnotes) is the table builders' job.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from xlpt.methods import METHODS
from xlpt.reporting.collect import RunRecord, System, variant_text
from xlpt.reporting.coverage import LanguageCoverage, language_coverage
from xlpt.reporting.source import LEGACY_SOURCE, without_source_label
from xlpt.reporting.stats import SeedSummary, summarize

METHOD_ORDER = tuple(METHODS)  # the registry's order: baselines, then by trained parameters
METHOD_LABELS = {name: record.display_name for name, record in METHODS.items()}
AVERAGE_ROWS = {"all": "Average", "without_source": "Average w/o source"}
"""Generic names; a table's own label for "without_source" names its source (`TaskTable.average_label`)."""


@dataclass
class TaskTable:
    task: str
    metric: str
    languages: list[str]
    """The source language(s) first, then alphabetical."""
    systems: list[System]
    labels: dict[System, str]
    runs: dict[System, list[RunRecord]]
    cells: dict[tuple[str, System], SeedSummary] = field(default_factory=dict)
    averages: dict[tuple[str, System], SeedSummary] = field(default_factory=dict)
    """Keyed by ("all" | "without_source", system): per-run mean over languages (without_source: without the
    run's own training language), then mean over seeds."""
    average_coverage: dict[tuple[str, System], tuple[int, int]] = field(default_factory=dict)
    """(languages every run of the system has, languages in the average's row set)."""
    substitute_splits: dict[str, str] = field(default_factory=dict)
    """Language -> the split(s) used instead of the report's split (e.g. "dev"), in at least one run."""
    coverage: dict[str, LanguageCoverage] = field(default_factory=dict)
    """Language -> split(s) and example counts it was scored on, over all runs of the task."""
    sources: frozenset[str] = frozenset({LEGACY_SOURCE})
    """The training language(s) of the task's runs (one, unless runs trained on different languages)."""

    @property
    def varies(self) -> list[str]:
        """The config keys that tell apart columns of the same method and model (the labels' legend)."""
        return varying_keys(self.systems)

    def average_languages(self, which: str) -> list[str]:
        return [lang for lang in self.languages if which == "all" or lang not in self.sources]

    def is_source(self, lang: str) -> bool:
        return lang in self.sources

    def average_label(self, which: str) -> str:
        """'Average' / 'Average w/o source (eng_Latn)'."""
        return without_source_label(self.sources) if which == "without_source" else AVERAGE_ROWS[which]

    @property
    def pipeline_check(self) -> bool:
        """True when any run of the task used a pipeline-check model."""
        return any(run.pipeline_check for runs in self.runs.values() for run in runs)

    @property
    def max_seeds(self) -> int:
        """The most seeds any cell or average rests on (1: no std anywhere in the table)."""
        return max((s.n for s in list(self.cells.values()) + list(self.averages.values())), default=0)

    @property
    def min_seeds(self) -> int:
        return min((s.n for s in list(self.cells.values()) + list(self.averages.values())), default=0)


def source_languages(table: TaskTable) -> frozenset[str]:
    """The training language(s) of a table's runs: what every average, family and correlation leaves out."""
    return table.sources


def is_source_language(lang: str, sources=frozenset({LEGACY_SOURCE})) -> bool:
    """Whether `lang` is one of `sources` (pass the table's or comparison's `sources`; the default, en, is
    only right for results older than `source_language`)."""
    return lang in sources


def method_label(method: str) -> str:
    return METHOD_LABELS.get(method, method)


def build_task_tables(runs: list[RunRecord]) -> list[TaskTable]:
    by_task: dict[str, list[RunRecord]] = defaultdict(list)
    for run in runs:
        by_task[run.task].append(run)
    return [_task_table(task, by_task[task]) for task in sorted(by_task)]


def _task_table(task: str, runs: list[RunRecord]) -> TaskTable:
    by_system: dict[System, list[RunRecord]] = defaultdict(list)
    for run in runs:
        by_system[run.system].append(run)
    systems = sorted(by_system, key=system_sort_key)
    sources = frozenset(run.source_language for run in runs)
    languages = sorted({lang for run in runs for lang in run.scores}, key=lambda l: (l not in sources, l))
    metrics = sorted({run.metric for run in runs})
    table = TaskTable(
        task=task, metric="/".join(metrics), languages=languages, systems=systems,
        labels=system_labels(systems), runs={s: sorted(by_system[s], key=_seed_key) for s in systems},
        substitute_splits=_substitute_splits(runs), coverage=language_coverage(runs), sources=sources,
    )
    for system in systems:
        _fill_system(table, system)
    return table


def _substitute_splits(runs: list[RunRecord]) -> dict[str, str]:
    found: dict[str, set[str]] = defaultdict(set)
    for run in runs:
        for lang, split in run.lang_split.items():
            if split != run.split:
                found[lang].add(split)
    return {lang: ", ".join(sorted(found[lang])) for lang in sorted(found)}


def _fill_system(table: TaskTable, system: System) -> None:
    system_runs = table.runs[system]
    for lang in table.languages:
        values = [run.scores[lang] for run in system_runs if lang in run.scores]
        if values:
            table.cells[(lang, system)] = summarize(values)
    for which in AVERAGE_ROWS:
        row_set = table.average_languages(which)
        per_run = [_run_average(run, row_set if which == "all" else
                                [lang for lang in row_set if lang != run.source_language]) for run in system_runs]
        per_run = [value for value in per_run if value is not None]
        if per_run:
            table.averages[(which, system)] = summarize(per_run)
            covered = min(sum(lang in run.scores for lang in row_set) for run in system_runs)
            table.average_coverage[(which, system)] = (covered, len(row_set))


def _run_average(run: RunRecord, languages: list[str]) -> float | None:
    values = [run.scores[lang] for lang in languages if lang in run.scores]
    return sum(values) / len(values) if values else None


def _seed_key(run: RunRecord):
    return (run.seed is None, run.seed or 0, str(run.path))


def system_sort_key(system: System):
    method_rank = METHOD_ORDER.index(system.method) if system.method in METHOD_ORDER else len(METHOD_ORDER)
    return (
        system.model, method_rank, system.method, system.prompt_length or 0,
        system.prompt_init or "", system.learning_rate or 0.0, system.formulation or "", system.source_language or "",
        system.variant,
    )


# Config keys the labels already show in their own words (L=, init=, the formulation, lr=, src=, the model).
# The formulation is `head.formulation`; results written before the `head:` section have `method.formulation`.
_LABELLED_KEYS = frozenset({"method.prompt_length", "method.prompt_init", "head.formulation", "method.formulation",
                            "data.train_lang", "train.learning_rate", "model.name", "method.name", "data.task"})


def _siblings(systems: list[System], system: System) -> list[System]:
    return [s for s in systems if (s.model, s.method) == (system.model, system.method)]


def _differing(systems: list[System]) -> list[str]:
    """Config keys whose value (or presence) is not the same in every one of `systems`."""
    configs = [dict(s.variant) for s in systems]
    keys = sorted({key for config in configs for key in config})
    return [key for key in keys if len({config.get(key) for config in configs}) > 1]


def varying_keys(systems: list[System]) -> list[str]:
    """Every config key that differs between two columns of the same method and model."""
    found: dict[str, None] = {}
    for system in systems:
        found.update(dict.fromkeys(_differing(_siblings(systems, system))))
    return sorted(found)


def system_labels(systems: list[System]) -> dict[System, str]:
    """Method name plus only the settings that tell columns apart (model, L=, init=, lr=, then any other
    config key in which columns of the same method and model differ, e.g. lora_r=8)."""
    several_models = len({s.model for s in systems}) > 1
    labels = {}
    for system in systems:
        siblings = _siblings(systems, system)
        details = []
        if len({s.prompt_length for s in siblings}) > 1 and system.prompt_length is not None:
            details.append(f"L={system.prompt_length}")
        if len({s.prompt_init for s in siblings}) > 1:
            details.append(f"init={system.prompt_init}")
        if len({s.formulation for s in siblings}) > 1:
            details.append(str(system.formulation))
        if len({s.source_language for s in siblings}) > 1:
            details.append(f"src={system.source_language}")
        if len({s.learning_rate for s in siblings}) > 1:
            details.append(f"lr={system.learning_rate:g}" if system.learning_rate is not None else "lr=?")
        config = dict(system.variant)
        details += [variant_text(key, config[key]) if key in config else f"{key.rsplit('.', 1)[-1]}=—"
                    for key in _differing(siblings) if key not in _LABELLED_KEYS]
        if several_models:
            details.append(short_model(system.model))
        label = method_label(system.method)
        labels[system] = f"{label} ({', '.join(details)})" if details else label
    return labels


def short_model(model: str) -> str:
    return model.rstrip("/").rsplit("/", 1)[-1]


def best_system(table: TaskTable, method: str, model: str) -> System | None:
    """The configuration of `method` with the highest average without the source language (then with it).

    Used to choose one prompt-tuning and one fine-tuning column for the tokenization analysis; with a
    single configuration per method (the usual case) there is no choice to make."""
    candidates = [s for s in table.systems if s.method == method and s.model == model]

    def score(system: System):
        summary = table.averages.get(("without_source", system)) or table.averages.get(("all", system))
        return summary.mean if summary else float("-inf")

    return max(candidates, key=score, default=None)


@dataclass
class PromptCurve:
    """Metric against prompt length for one (model, method, init, lr), from the task table's cells."""

    task: str
    label: str
    lengths: list[int]
    series: dict[str, list[float | None]]
    """Row name (a language or the table's average labels) -> mean over seeds per prompt length."""
    sources: frozenset[str] = frozenset()
    """The training language(s), drawn highlighted."""


def prompt_curves(table: TaskTable) -> list[PromptCurve]:
    """One curve per configuration family that was run with at least two prompt lengths."""
    families: dict[tuple, list[System]] = defaultdict(list)
    for system in table.systems:
        if system.prompt_length is not None:
            rest = tuple(item for item in system.variant if item[0] != "method.prompt_length")
            families[(system.model, system.method, system.prompt_init, system.learning_rate,
                      system.formulation, system.source_language, rest)].append(system)
    curves = []
    for (model, method, init, lr, formulation, _, _), members in families.items():
        if len(members) < 2:
            continue
        members.sort(key=lambda s: s.prompt_length)
        series = {lang: [_mean(table.cells.get((lang, s))) for s in members] for lang in table.languages}
        for which in AVERAGE_ROWS:
            series[table.average_label(which)] = [_mean(table.averages.get((which, s))) for s in members]
        label = table.labels[members[0]].split(" (")[0]
        extras = [short_model(model)] + ([f"init={init}"] if init else []) + ([f"lr={lr:g}"] if lr else [])
        extras += [formulation] if formulation else []
        lengths = [s.prompt_length for s in members]
        curves.append(PromptCurve(table.task, f"{label} ({', '.join(extras)})", lengths, series, table.sources))
    return curves


def _mean(summary: SeedSummary | None) -> float | None:
    return summary.mean if summary else None
