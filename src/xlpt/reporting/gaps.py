"""The prompt-tuning minus full-fine-tuning gap per language, with paired-bootstrap significance.

The gap itself is mean(PT over seeds) - mean(FT over seeds) from `results.json`, so it matches the
results tables. The CI and p-value come from the prediction files of the seeds both methods ran
(PT seed s paired with FT seed s on the same examples; see `stats.paired_bootstrap`). When those
files are missing or unusable the gap is still shown and the test says "n/a" with the reason.

Significance is never read off a raw p-value: the target languages of one comparison form one family
and their p-values are adjusted together (`multiplicity`, Holm by default). The training language is
tested too but stays outside the family (its gap is in-language learning, not transfer) and is never
marked. Every statement about significance says how many examples and seed pairs it rests on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from xlpt.reporting.aggregate import TaskTable, best_system, is_source_language
from xlpt.reporting.collect import RunRecord, System
from xlpt.reporting.multiplicity import METHODS, adjust, smallest_adjusted
from xlpt.reporting.predictions import PredictionError, UnitCounts, align, metric_from_sums, read_unit_counts
from xlpt.reporting.stats import DEFAULT_SEED, PAIRED_RESAMPLES, PairedTest, paired_bootstrap

PT_METHOD = "prompt_tuning"
FT_METHOD = "full_finetune"
MISMATCH_TOLERANCE = 0.005
"""Largest |gap from predictions - gap from results.json| (as a fraction) accepted without a note."""


@dataclass
class GapRow:
    lang: str
    gap: float
    test: PairedTest | None
    note: str | None = None
    p_adjusted: float | None = None
    """The p-value adjusted within the comparison's family; None outside it (training language, no test)."""


@dataclass
class GapComparison:
    task: str
    pt: System
    ft: System
    label: str
    primary: bool
    """The pair (best PT vs best FT configuration of the model) used for the tokenization analysis."""
    rows: list[GapRow] = field(default_factory=list)
    averages: dict[str, float] = field(default_factory=dict)
    """"all" / "without_en": difference of the two systems' average rows."""
    correction: str = "holm"
    alpha: float = 0.05
    pipeline_check: bool = False
    """Some run of either system used a pipeline-check model."""

    @property
    def method_name(self) -> str:
        return METHODS[self.correction]

    def family(self) -> list[GapRow]:
        """The target-language rows with a test: the hypotheses corrected together."""
        return [row for row in target_rows(self) if row.test is not None]

    def significant(self, row: GapRow) -> bool:
        return row.p_adjusted is not None and row.p_adjusted < self.alpha

    def seed_pairs(self) -> list[int]:
        return sorted({row.test.pairs for row in self.family()})

    def units(self) -> tuple[int, int] | None:
        counts = [row.test.units for row in self.family()]
        return (min(counts), max(counts)) if counts else None

    def resolution_problem(self) -> str | None:
        """Why no language can reach significance whatever the data (too few resamples for the family)."""
        family = self.family()
        if not family:
            return None
        resamples = min(row.test.resamples for row in family)
        best = smallest_adjusted(len(family), 1 / (resamples + 1), self.correction)
        if best < self.alpha:
            return None
        needed = _resamples_needed(len(family), self.alpha, self.correction)
        return (f"with {resamples:,} resamples the smallest possible p is 1/{resamples + 1:,}, so no language of a "
                f"{len(family)}-language family can reach {self.method_name}-adjusted p < {self.alpha:g}; "
                f"rerun with --resamples {needed:,} or more")


class PredictionStore:
    """Reads each predictions file once, however many comparisons it takes part in."""

    def __init__(self):
        self._cache: dict[tuple[Path, str], UnitCounts | PredictionError] = {}

    def get(self, path: Path, metric: str) -> UnitCounts:
        key = (path, metric)
        if key not in self._cache:
            try:
                self._cache[key] = read_unit_counts(path, metric)
            except (OSError, UnicodeDecodeError, PredictionError) as err:
                self._cache[key] = PredictionError(str(err))
        found = self._cache[key]
        if isinstance(found, PredictionError):
            raise found
        return found


def _resamples_needed(family_size: int, alpha: float, method: str) -> int:
    """The fewest resamples at which an all-at-the-floor family reaches adjusted p < alpha."""
    def reaches(resamples: int) -> bool:
        return smallest_adjusted(family_size, 1 / (resamples + 1), method) < alpha

    low, high = 1, 2
    while not reaches(high):
        low, high = high, 2 * high
    while high - low > 1:  # reaches(high) and not reaches(low)
        middle = (low + high) // 2
        low, high = (low, middle) if reaches(middle) else (middle, high)
    return high


def gap_comparisons(
    table: TaskTable, store: PredictionStore, resamples: int = PAIRED_RESAMPLES, seed: int = DEFAULT_SEED,
    correction: str = "holm", alpha: float = 0.05,
) -> list[GapComparison]:
    """Every PT configuration against every FT configuration of the same model, each corrected as a family."""
    comparisons = []
    for model in dict.fromkeys(s.model for s in table.systems):
        pts = [s for s in table.systems if s.method == PT_METHOD and s.model == model]
        fts = [s for s in table.systems if s.method == FT_METHOD and s.model == model]
        primary = (best_system(table, PT_METHOD, model), best_system(table, FT_METHOD, model))
        for pt in pts:
            for ft in fts:
                label = f"{table.labels[pt]} − {table.labels[ft]}"
                checks = any(run.pipeline_check for run in table.runs[pt] + table.runs[ft])
                comparison = GapComparison(table.task, pt, ft, label, (pt, ft) == primary,
                                           correction=correction, alpha=alpha, pipeline_check=checks)
                _fill(comparison, table, store, resamples, seed)
                _correct(comparison)
                comparisons.append(comparison)
    return comparisons


def _fill(comparison: GapComparison, table: TaskTable, store, resamples: int, seed: int) -> None:
    pt, ft = comparison.pt, comparison.ft
    for lang in table.languages:
        a, b = table.cells.get((lang, pt)), table.cells.get((lang, ft))
        if a is None or b is None:
            continue
        row = GapRow(lang, a.mean - b.mean, None)
        try:
            row.test = _paired_test(table.runs[pt], table.runs[ft], lang, store, resamples, seed)
        except PredictionError as err:
            row.note = f"n/a: {err}"
        mismatch = row.test is not None and abs(row.test.delta - row.gap) > MISMATCH_TOLERANCE
        if mismatch and _all_seeds_paired(table, pt, ft, row):
            row.note = (f"predictions give {100 * row.test.delta:+.2f} pp vs {100 * row.gap:+.2f} pp in results.json "
                        "(metric computed differently?)")
        comparison.rows.append(row)
    for which in ("all", "without_en"):
        a, b = table.averages.get((which, pt)), table.averages.get((which, ft))
        if a and b:
            comparison.averages[which] = a.mean - b.mean


def _correct(comparison: GapComparison) -> None:
    family = comparison.family()
    adjusted = adjust([row.test.p_value for row in family], comparison.correction)
    for row, p in zip(family, adjusted):
        row.p_adjusted = float(p)


def _all_seeds_paired(table: TaskTable, pt: System, ft: System, row: GapRow) -> bool:
    return row.test.pairs == table.cells[(row.lang, pt)].n == table.cells[(row.lang, ft)].n


def _paired_test(pt_runs: list[RunRecord], ft_runs: list[RunRecord], lang: str, store, resamples, seed) -> PairedTest:
    """Pair runs by seed, load their predictions for `lang`, and bootstrap the difference."""
    ft_by_seed = {run.seed: run for run in ft_runs if lang in run.scores}
    pairs = [(run, ft_by_seed[run.seed]) for run in pt_runs if lang in run.scores and run.seed in ft_by_seed]
    if not pairs:
        raise PredictionError("no seed shared by both methods")
    files = []
    for pt_run, ft_run in pairs:
        paths = (pt_run.predictions_file(lang), ft_run.predictions_file(lang))
        if None in paths:
            continue
        files.append(tuple(store.get(path, run.metric) for path, run in zip(paths, (pt_run, ft_run))))
    if not files:
        raise PredictionError("no predictions for a shared seed")
    kinds = {f.kind for pair in files for f in pair}
    if len(kinds) != 1:
        raise PredictionError("prediction files disagree on the task type")
    aligned = align([f for pair in files for f in pair])
    metric = partial(metric_from_sums, kind=kinds.pop())
    return paired_bootstrap(aligned[0::2], aligned[1::2], metric, resamples, seed)


def target_rows(comparison: GapComparison) -> list[GapRow]:
    """The rows that measure cross-lingual transfer (everything but the training language)."""
    return [row for row in comparison.rows if not is_source_language(row.lang)]
