"""CSV exports with full-precision numbers (the display tables round; these are for re-analysis).

* `tables/<task>.csv`: the results table, wide: one row per language (then the average rows), the
  split(s) and example counts it was scored on, then three columns per system: `<label> mean (%)`,
  `<label> std (%)` (empty with one seed), `<label> n` (seeds).
* `results_long.csv`: tidy, one row per (run, language), metric as a fraction, with the examples
  scored / available, whether capped, and whether the model is a pipeline check.
* `gaps.csv`, `correlations.csv`, `correlation_points.csv`: the numbers behind the gap and
  tokenization sections (adjusted p and family per gap; correlations below the language minimum
  have no r and `interpretable` = False).
"""

from __future__ import annotations

import csv
from pathlib import Path

from xlpt.reporting.aggregate import AVERAGE_ROWS, TaskTable
from xlpt.reporting.collect import RunRecord, relative_path
from xlpt.reporting.gaps import GapComparison
from xlpt.reporting.stats import SeedSummary

LONG_COLUMNS = [
    "task", "model", "method", "prompt_length", "prompt_init", "learning_rate", "seed", "run_id",
    "language", "split", "metric", "value", "n", "trainable_params", "total_params", "run_dir",
    "n_available", "capped", "pipeline_check",
]


def write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(["" if v is None else v for v in row] for row in rows)


def write_task_csv(path: Path, table: TaskTable) -> None:
    header = ["language", "substitute_split", "split", "examples"]
    for system in table.systems:
        label = table.labels[system]
        header += [f"{label} mean (%)", f"{label} std (%)", f"{label} n"]
    rows = []
    for lang in table.languages:
        cells = _summary_columns(table, lambda s: table.cells.get((lang, s)))
        coverage = table.coverage[lang]
        rows.append([lang, table.substitute_splits.get(lang), coverage.split_text, coverage.examples_text()] + cells)
    for which in AVERAGE_ROWS:
        rows.append([table.average_label(which), "", "", ""]
                    + _summary_columns(table, lambda s: table.averages.get((which, s))))
    write_csv(path, header, rows)


def _summary_columns(table: TaskTable, lookup) -> list:
    columns = []
    for system in table.systems:
        summary: SeedSummary | None = lookup(system)
        if summary is None:
            columns += [None, None, None]
        else:
            columns += [100 * summary.mean, None if summary.std is None else 100 * summary.std, summary.n]
    return columns


def write_long_csv(path: Path, runs: list[RunRecord], root: Path) -> None:
    rows = []
    for run in sorted(runs, key=lambda r: (r.task, r.system, r.seed is None, r.seed or 0)):
        for lang, value in run.scores.items():
            rows.append([
                run.task, run.model, run.method, run.prompt_length, run.prompt_init, run.learning_rate, run.seed,
                run.run_id, lang, run.lang_split.get(lang), run.metric, value, run.lang_n.get(lang),
                run.trainable_params, run.total_params, relative_path(run.path, root),
                run.lang_n_available.get(lang), _flag(run.lang_capped.get(lang, False)), run.pipeline_check,
            ])
    write_csv(path, LONG_COLUMNS, rows)


def _flag(value: bool | None) -> str:
    """CSV text of a yes/no/unknown flag: True, False, or "unknown"."""
    return "unknown" if value is None else str(value)


def write_gaps_csv(path: Path, comparisons: list[GapComparison]) -> None:
    header = ["task", "comparison", "primary", "language", "gap_pp", "ci_low_pp", "ci_high_pp", "p_value",
              "pt_seeds", "ft_seeds", "seed_aware", "units", "note", "p_adjusted", "correction", "family_size",
              "significant", "pipeline_check", "is_source"]
    rows = []
    for c in comparisons:
        family_size = len(c.family())
        for row in c.rows:
            test = row.test
            stats = [None] * 7 if test is None else [
                100 * test.ci[0], 100 * test.ci[1], test.p_value, *test.seeds, test.seed_aware, test.units]
            in_family = row.p_adjusted is not None
            rows.append([c.task, c.label, c.primary, row.lang, 100 * row.gap] + stats + [
                row.note, row.p_adjusted, c.correction if in_family else None, family_size if in_family else None,
                c.significant(row), c.pipeline_check, c.is_source(row.lang)])
    write_csv(path, header, rows)


