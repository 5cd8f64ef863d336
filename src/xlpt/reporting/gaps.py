"""The prompt-tuning minus full-fine-tuning gap per language, with a seed-aware significance test.

The gap itself is mean(PT over seeds) - mean(FT over seeds) from `results.json`, so it matches the
results tables. The CI and p-value come from the prediction files of every seed of both methods
(`seed_bootstrap.gap_test`: seeds and examples resampled; seeds need not match between methods). When
those files are missing or unusable the gap is still shown and the test says "n/a" with the reason.

Significance is never read off a raw p-value, nor off a test that leaves seed variance out: the target
languages of one comparison whose test is seed-aware (>= 2 seeds per method) form one family and their
p-values are adjusted together (`multiplicity`, Holm by default). With 1 seed a test is example-only:
shown, labelled so, never in the family, never marked. The training language (the runs' own source,
`TaskTable.sources`) is tested too but stays outside the family (its gap is in-language learning, not
transfer) and is never marked. Every statement about significance says how many examples and seeds it
rests on. `xlpt lab` calls `gap_comparisons` on its study's runs too, so both give the same verdicts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from xlpt.reporting.aggregate import AVERAGE_ROWS, TaskTable, best_system, method_label
from xlpt.reporting.collect import RunRecord, System
from xlpt.reporting.multiplicity import METHODS, adjust, smallest_adjusted
from xlpt.reporting.predictions import PredictionError, UnitCounts, align, metric_from_sums, read_unit_counts
from xlpt.reporting.seed_bootstrap import GapTest, gap_test, p_floor
from xlpt.reporting.stats import DEFAULT_SEED, PAIRED_RESAMPLES

PT_METHOD = "prompt_tuning"
FT_METHOD = "full_finetune"
MISMATCH_TOLERANCE = 0.005
"""Largest |gap from predictions - gap from results.json| (as a fraction) accepted without a note."""


@dataclass
class GapRow:
    lang: str
    gap: float
    test: GapTest | None
    note: str | None = None
    p_adjusted: float | None = None
    """The p-value adjusted within the comparison's family; None outside it (training language, no test,
    example-only test)."""


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
    """"all" / "without_source": difference of the two systems' average rows."""
    correction: str = "holm"
    alpha: float = 0.05
    pipeline_check: bool = False
    """Some run of either system used a pipeline-check model."""
    sources: frozenset[str] = frozenset({"en"})
    """The training language(s) of the runs: outside the family, never marked, out of every correlation."""

    @property
    def method_name(self) -> str:
        return METHODS[self.correction]

    def is_source(self, lang: str) -> bool:
        return lang in self.sources

    def tested(self) -> list[GapRow]:
        """The target-language rows with any test (seed-aware or example-only)."""
        return [row for row in target_rows(self) if row.test is not None]

    def family(self) -> list[GapRow]:
        """The target-language rows with a seed-aware test: the hypotheses corrected together."""
        return [row for row in self.tested() if row.test.seed_aware]

    def example_only(self) -> list[GapRow]:
        """Target-language rows whose test covers examples only (1 seed of a method): never marked."""
        return [row for row in self.tested() if not row.test.seed_aware]

    def significant(self, row: GapRow) -> bool:
        return row.p_adjusted is not None and row.p_adjusted < self.alpha

    def seed_counts(self, rows: list[GapRow] | None = None) -> list[tuple[int, int]]:
        """The distinct (PT seeds, FT seeds) the tests of `rows` (default: the tested targets) rest on."""
        return sorted({row.test.seeds for row in (self.tested() if rows is None else rows)})

    def units(self, rows: list[GapRow] | None = None) -> tuple[int, int] | None:
        counts = [row.test.units for row in (self.tested() if rows is None else rows)]
        return (min(counts), max(counts)) if counts else None

    def resolution_problem(self) -> str | None:
        """Why no language can reach significance whatever the data (too few resamples for the family)."""
        family = self.family()
        if not family:
            return None
        resamples = min(row.test.resamples for row in family)
        best = smallest_adjusted(len(family), p_floor(resamples), self.correction)
        if best < self.alpha:
            return None
        needed = _resamples_needed(len(family), self.alpha, self.correction)
        return (f"with {resamples:,} resamples the smallest possible p is 2/{resamples + 1:,}, so no language of a "
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
        return smallest_adjusted(family_size, p_floor(resamples), method) < alpha

    low, high = 1, 2
    while not reaches(high):
        low, high = high, 2 * high
    while high - low > 1:  # reaches(high) and not reaches(low)
        middle = (low + high) // 2
        low, high = (low, middle) if reaches(middle) else (middle, high)
    return high


def gap_comparisons(
    table: TaskTable, store: PredictionStore, resamples: int = PAIRED_RESAMPLES, seed: int = DEFAULT_SEED,
    correction: str = "holm", alpha: float = 0.05, method: str = PT_METHOD,
) -> list[GapComparison]:
    """Every PT configuration against every FT configuration of the same model (and training language),
    each corrected as a family. `method` replaces prompt tuning (the lab tests every method against FT)."""
    comparisons = []
    for model in dict.fromkeys(s.model for s in table.systems):
        pts = [s for s in table.systems if s.method == method and s.model == model]
        fts = [s for s in table.systems if s.method == FT_METHOD and s.model == model]
        primary = (best_system(table, method, model), best_system(table, FT_METHOD, model))
        for pt in pts:
            for ft in fts:
                if pt.source_language != ft.source_language:
                    continue  # trained on different languages: not a PT − FT comparison
                label = f"{table.labels[pt]} − {table.labels[ft]}"
                checks = any(run.pipeline_check for run in table.runs[pt] + table.runs[ft])
                sources = frozenset(run.source_language for run in table.runs[pt] + table.runs[ft])
                comparison = GapComparison(table.task, pt, ft, label, (pt, ft) == primary,
                                           correction=correction, alpha=alpha, pipeline_check=checks, sources=sources)
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
            row.test = _gap_test(table.runs[pt], table.runs[ft], lang, store, resamples, seed)
        except PredictionError as err:
            row.note = f"n/a: {err}"
        mismatch = row.test is not None and abs(row.test.delta - row.gap) > MISMATCH_TOLERANCE
        if mismatch and _all_seeds_tested(table, pt, ft, row):
            row.note = (f"predictions give {100 * row.test.delta:+.2f} pp vs {100 * row.gap:+.2f} pp in results.json "
                        "(metric computed differently?)")
        comparison.rows.append(row)
    for which in AVERAGE_ROWS:
        a, b = table.averages.get((which, pt)), table.averages.get((which, ft))
        if a and b:
            comparison.averages[which] = a.mean - b.mean


def _correct(comparison: GapComparison) -> None:
    family = comparison.family()
    adjusted = adjust([row.test.p_value for row in family], comparison.correction)
    for row, p in zip(family, adjusted):
        row.p_adjusted = float(p)


def _all_seeds_tested(table: TaskTable, pt: System, ft: System, row: GapRow) -> bool:
    return row.test.seeds == (table.cells[(row.lang, pt)].n, table.cells[(row.lang, ft)].n)


def _gap_test(pt_runs: list[RunRecord], ft_runs: list[RunRecord], lang: str, store, resamples, seed) -> GapTest:
    """Load every run's predictions for `lang` (runs without them are left out) and test the gap."""
    files = []
    for runs in (pt_runs, ft_runs):
        found = [(run.predictions_file(lang), run) for run in runs if lang in run.scores]
        found = [store.get(path, run.metric) for path, run in found if path is not None]
        if not found:
            raise PredictionError(f"no predictions for {method_label(runs[0].method)}")
        files.append(found)
    kinds = {f.kind for group in files for f in group}
    if len(kinds) != 1:
        raise PredictionError("prediction files disagree on the task type")
    aligned = align(files[0] + files[1])
    metric = partial(metric_from_sums, kind=kinds.pop())
    return gap_test(aligned[: len(files[0])], aligned[len(files[0]):], metric, resamples, seed)


def target_rows(comparison: GapComparison) -> list[GapRow]:
    """The rows that measure cross-lingual transfer (everything but the runs' training language)."""
    return [row for row in comparison.rows if not comparison.is_source(row.lang)]
