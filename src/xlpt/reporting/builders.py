"""Turn aggregates into display `Table`s: percentages, mean ± std, bold best, footnote markers.

Formatting rules (shared by Markdown, LaTeX, HTML):
* metric values are percentages with `decimals` decimals; std is the sample std over seeds (ddof=1);
* the number of seeds goes into the column header when it is the same for the whole column, else
  into each cell as "(n=k)";
* the best mean per row is bold; ties at the displayed precision are all bold;
* † marks a language evaluated on another split (dev: it has no labeled test split);
* ‡ marks an average that covers fewer languages than the row set (the system lacks some).
"""

from __future__ import annotations

from pathlib import Path

from xlpt.reporting.aggregate import AVERAGE_ROWS, TaskTable, short_model
from xlpt.reporting.collect import Collection, System, relative_path
from xlpt.reporting.correlations import VARIABLES, CorrelationAnalysis, summarize_left_out
from xlpt.reporting.gaps import GapComparison
from xlpt.reporting.stats import SeedSummary
from xlpt.reporting.tables import Cell, Table

DEV_MARK, PARTIAL_MARK = "†", "‡"
PARTIAL_NOTE = f"{PARTIAL_MARK} average over fewer languages than the row set: the system lacks some languages."


def pct(value: float, decimals: int, signed: bool = False) -> str:
    return f"{100 * value:{'+' if signed else ''}.{decimals}f}"


def results_table(table: TaskTable, decimals: int = 1) -> Table:
    """Languages × systems, then the two average rows."""
    column_n = {s: _uniform_n(table, s) for s in table.systems}
    header = ["Language"] + [_with_n(table.labels[s], column_n[s]) for s in table.systems]
    out = Table(f"{table.task}: {table.metric} (%) per language, mean ± std over seeds", header)
    for lang in table.languages:
        label = lang + (DEV_MARK if lang in table.substitute_splits else "")
        summaries = [table.cells.get((lang, s)) for s in table.systems]
        out.add_row([label] + _row_cells(summaries, column_n, table, decimals))
    partial = False
    for index, (which, name) in enumerate(AVERAGE_ROWS.items()):
        summaries = [table.averages.get((which, s)) for s in table.systems]
        if not any(summaries):
            continue
        cells = _row_cells(summaries, column_n, table, decimals)
        for i, system in enumerate(table.systems):
            covered, total = table.average_coverage.get((which, system), (0, 0))
            if summaries[i] and covered < total:
                cells[i] = Cell(cells[i].text + PARTIAL_MARK, cells[i].bold)
                partial = True
        out.add_row([name] + cells, rule=index == 0)
    out.footnotes = ([_dev_note(table)] if table.substitute_splits else []) + ([PARTIAL_NOTE] if partial else [])
    return out


def _dev_note(table: TaskTable) -> str:
    used = "; ".join(f"{lang}: {splits}" for lang, splits in table.substitute_splits.items())
    return f"{DEV_MARK} no labeled {_report_split(table)} split for this language, evaluated on another split ({used})."


def _report_split(table: TaskTable) -> str:
    return next(iter(table.runs.values()))[0].split


def _with_n(label: str, n: int | None) -> str:
    """'Prompt tuning (L=20)' + n=3 -> 'Prompt tuning (L=20, n=3)'."""
    if n is None:
        return label
    return f"{label[:-1]}, n={n})" if label.endswith(")") else f"{label} (n={n})"


def _uniform_n(table: TaskTable, system: System) -> int | None:
    counts = {summary.n for (_, s), summary in list(table.cells.items()) + list(table.averages.items()) if s == system}
    return counts.pop() if len(counts) == 1 else None


def _row_cells(summaries: list[SeedSummary | None], column_n: dict, table: TaskTable, decimals: int) -> list[Cell]:
    shown = [round(100 * s.mean, decimals) if s else None for s in summaries]
    present = [v for v in shown if v is not None]
    best = max(present) if len(present) > 1 else None
    cells = []
    for system, summary, value in zip(table.systems, summaries, shown):
        if summary is None:
            cells.append(Cell("—"))
            continue
        text = pct(summary.mean, decimals)
        if summary.std is not None:
            text += f" ± {pct(summary.std, decimals)}"
        if column_n[system] is None:
            text += f" (n={summary.n})"
        cells.append(Cell(text, bold=value == best))
    return cells


def format_p(p: float) -> str:
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def gap_table(task: str, comparisons: list[GapComparison], decimals: int = 1) -> Table:
    """Per language: Δ (pp) and, when predictions allow, the paired-bootstrap 95% CI and p per comparison."""
    header = ["Language"]
    for comparison in comparisons:
        header += [f"Δ {comparison.label} (pp)", "95% CI", "p"]
    out = Table(f"{task}: prompt tuning − full fine-tuning, percentage points", header)
    languages = list(dict.fromkeys(row.lang for c in comparisons for row in c.rows))
    notes: dict[str, list[str]] = {}
    for lang in languages:
        cells: list[Cell | str] = [lang]
        for comparison in comparisons:
            row = next((r for r in comparison.rows if r.lang == lang), None)
            cells += _gap_cells(row, decimals)
            if row is not None and row.note:
                notes.setdefault(row.note, []).append(lang)
        out.add_row(cells)
    for index, (which, name) in enumerate(AVERAGE_ROWS.items()):
        cells = [name]
        for comparison in comparisons:
            value = comparison.averages.get(which)
            cells += [pct(value, decimals, signed=True) if value is not None else "—", "", ""]
        out.add_row(cells, rule=index == 0)
    out.footnotes = ["Bold: p < 0.05 (two-sided paired bootstrap over test examples, seeds paired)."]
    out.footnotes += [f"{', '.join(langs)}: {note}" for note, langs in notes.items()]
    return out


def _gap_cells(row, decimals: int) -> list[Cell]:
    if row is None:
        return [Cell("—"), Cell(""), Cell("")]
    gap = pct(row.gap, decimals, signed=True)
    if row.test is None:
        return [Cell(gap), Cell("n/a"), Cell("n/a")]
    low, high = row.test.ci
    ci = f"[{pct(low, decimals, signed=True)}, {pct(high, decimals, signed=True)}]"
    return [Cell(gap, bold=row.test.p_value < 0.05), Cell(ci), Cell(format_p(row.test.p_value))]


def params_table(tables: list[TaskTable]) -> Table:
    out = Table("Trainable parameters per method", ["Task", "Method", "Model", "Trainable", "Total", "Trainable (%)"])
    for table in tables:
        for system in table.systems:
            runs = table.runs[system]
            trainable = _distinct(r.trainable_params for r in runs)
            total = _distinct(r.total_params for r in runs)
            fractions = _distinct(_fraction(r) for r in runs)
            out.add_row([
                table.task, table.labels[system], short_model(system.model),
                _join(f"{v:,}" for v in trainable), _join(f"{v:,}" for v in total),
                _join(f"{100 * v:.3g}" for v in fractions),
            ])
    return out


def _fraction(run) -> float | None:
    if run.trainable_fraction is not None:
        return run.trainable_fraction
    if run.trainable_params is not None and run.total_params:
        return run.trainable_params / run.total_params
    return None


def _distinct(values) -> list:
    return sorted({v for v in values if v is not None})


def _join(texts) -> str:
    texts = list(texts)
    return " / ".join(texts) if texts else "—"


def correlation_table(analyses: list[CorrelationAnalysis]) -> Table:
    header = ["Scope", "x", "n", "Pearson r", "r 95% CI", "Pearson p", "Spearman ρ", "ρ 95% CI", "Spearman p",
              "Slope (pp per unit x)", "Left out"]
    out = Table("PT − FT gap (pp) against tokenization and pretraining share", header)
    for a in analyses:
        r = a.result
        numbers = ["—"] * 7 if r is None else [
            f"{r.pearson_r:.3f}", _ci(r.pearson_ci), format_p(r.pearson_p),
            f"{r.spearman_rho:.3f}", _ci(r.spearman_ci), format_p(r.spearman_p), f"{r.slope:.2f}",
        ]
        left = summarize_left_out(a.left_out) + (f"; not computed: {a.problem}" if a.problem else "")
        out.add_row([a.scope, VARIABLES[a.variable], str(len(a.points))] + numbers + [left])
    return out


def _ci(ci: tuple[float, float]) -> str:
    return f"[{ci[0]:.3f}, {ci[1]:.3f}]"


def runs_table(tables: list[TaskTable]) -> Table:
    out = Table("Runs per task and method", ["Task", "Method", "Model", "Seeds", "Runs"])
    for table in tables:
        for system in table.systems:
            runs = table.runs[system]
            seeds = ", ".join(str(r.seed) for r in runs if r.seed is not None) or "—"
            out.add_row([table.task, table.labels[system], short_model(system.model), seeds, str(len(runs))])
    return out


def problems_table(collection: Collection, root: Path) -> Table:
    out = Table("Runs not in the tables", ["Status", "Run", "Reason"])
    for status, problems in (("skipped", collection.skipped), ("incomplete", collection.incomplete)):
        for problem in problems:
            out.add_row([status, relative_path(problem.path, root), problem.reason])
    return out
