"""Turn aggregates into display `Table`s: percentages, mean ± std, bold best, footnote markers.

Formatting rules (shared by Markdown, LaTeX, HTML):
* metric values are percentages with `decimals` decimals; std is the sample std over seeds (ddof=1),
  shown only for cells with at least 2 seeds, and titles say "± std" only when some cell has one;
* the number of seeds goes into the column header when it is the same for the whole column, else
  into each cell as "(n=k)";
* the best mean per row is bold; ties at the displayed precision are all bold;
* every per-language table has a Split column; † marks a language evaluated on another split than the
  report's (dev: it has no labeled test split); capped evaluations show "n of n_available (capped)";
* ‡ marks an average that covers fewer languages than the row set (the system lacks some);
* a table with numbers from a pipeline-check model says so in its first note (and so in its caption).
The gap and correlation tables live in `significance_tables`.
"""

from __future__ import annotations

from pathlib import Path

from xlpt.reporting import banner
from xlpt.reporting.aggregate import AVERAGE_ROWS, TaskTable, short_model
from xlpt.reporting.collect import Collection, EvaluationScope, System, relative_path, unfinished_text
from xlpt.reporting.split_mix import table_average_label
from xlpt.reporting.stats import SeedSummary
from xlpt.reporting.tables import ERROR_LIMIT, Cell, Table, cell_text

DEV_MARK, PARTIAL_MARK = "†", "‡"
PARTIAL_NOTE = f"{PARTIAL_MARK} average over fewer languages than the row set: the system lacks some languages."
CAPPED_NOTE = ("Examples: capped evaluations show n of n_available: the language was scored on a subset of its "
               "split only, so its numbers are not comparable to a full evaluation.")


def pct(value: float, decimals: int, signed: bool = False) -> str:
    return f"{100 * value:{'+' if signed else ''}.{decimals}f}"


def seed_phrase(min_seeds: int, max_seeds: int) -> str:
    """What the numbers are over seeds; "± std" only where at least 2 seeds exist."""
    if max_seeds <= 1:
        return "1 seed per system (no std)"
    if min_seeds >= 2:
        return "mean ± std over seeds"
    return "mean over seeds, ± std where n ≥ 2"


def results_table(table: TaskTable, decimals: int = 1) -> Table:
    """Languages × (split, examples, systems), then the two average rows."""
    column_n = {s: _uniform_n(table, s) for s in table.systems}
    header = ["Language", "Split", "Examples"] + [_with_n(table.labels[s], column_n[s]) for s in table.systems]
    title = f"{table.task}: {table.metric} (%) per language, {seed_phrase(table.min_seeds, table.max_seeds)}"
    out = Table(title, header)
    for lang in table.languages:
        label = lang + (DEV_MARK if lang in table.substitute_splits else "")
        coverage = table.coverage[lang]
        summaries = [table.cells.get((lang, s)) for s in table.systems]
        out.add_row([label, coverage.split_text, coverage.examples_text()]
                    + _row_cells(summaries, column_n, table, decimals))
    partial = False
    for index, which in enumerate(AVERAGE_ROWS):
        name = table_average_label(table, which)  # names a dev/test mix (split_mix)
        summaries = [table.averages.get((which, s)) for s in table.systems]
        if not any(summaries):
            continue
        cells = _row_cells(summaries, column_n, table, decimals)
        for i, system in enumerate(table.systems):
            covered, total = table.average_coverage.get((which, system), (0, 0))
            if summaries[i] and covered < total:
                cells[i] = Cell(cells[i].text + PARTIAL_MARK, cells[i].bold)
                partial = True
        out.add_row([name, "", ""] + cells, rule=index == 0)
    out.footnotes = [banner.SHORT] if table.pipeline_check else []
    out.footnotes += [_dev_note(table)] if table.substitute_splits else []
    out.footnotes += [PARTIAL_NOTE] if partial else []
    out.footnotes += [CAPPED_NOTE] if any(c.capped is not False for c in table.coverage.values()) else []
    out.footnotes += [varies_note(table)] if table.varies else []
    return out


def varies_note(table: TaskTable) -> str:
    """The labels' legend: which config keys tell columns of the same method and model apart."""
    return (f"varies: {', '.join(table.varies)} (columns of the same method and model differ in these config keys; "
            "every other key but the seed is the same)")


def _dev_note(table: TaskTable) -> str:
    used = "; ".join(f"{lang}: {splits}" for lang, splits in table.substitute_splits.items())
    return f"{DEV_MARK} no labeled {report_split(table)} split for this language, evaluated on another split ({used})."


def report_split(table: TaskTable) -> str:
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


def runs_table(tables: list[TaskTable]) -> Table:
    out = Table("Runs per task and method", ["Task", "Method", "Model", "Seeds", "Runs", "Evaluation"])
    checks = False
    for table in tables:
        for system in table.systems:
            runs = table.runs[system]
            seeds = ", ".join(str(r.seed) for r in runs if r.seed is not None) or "—"
            model = short_model(system.model)
            if any(r.pipeline_check for r in runs):
                model, checks = model + " (pipeline check)", True
            scopes = " / ".join(dict.fromkeys(evaluation_text(r.evaluation) for r in runs))
            out.add_row([table.task, table.labels[system], model, seeds, str(len(runs)), scopes])
    out.footnotes = [banner.SHORT] if checks else []
    return out


def evaluation_text(scope: EvaluationScope | None) -> str:
    """'test, all languages, every example' / 'test, 2 languages (de, fr), at most 200 per language'."""
    if scope is None:
        return "not recorded"
    if scope.languages == "all":
        langs = "all languages"
    else:
        langs = f"{len(scope.languages)} languages ({', '.join(scope.languages[:6])}" \
                f"{', ...' if len(scope.languages) > 6 else ''})"
    cap = f"at most {scope.limit:,} per language" if scope.limit else "every example"
    return f"{scope.split}, {langs}, {cap}" + (" (from the stored config)" if scope.inferred else "")


def problems_table(collection: Collection, root: Path) -> Table:
    out = Table("Runs not in the tables", ["Status", "Run", "Reason"])
    for status, problems in (("skipped", collection.skipped), ("incomplete", collection.incomplete)):
        for problem in problems:
            reason = problem.reason
            if problem.full_text is not None:  # the cell keeps one line: say where the rest is
                reason = f"see {relative_path(problem.full_text, root)} for the full error; {reason}"
            out.add_row([status, relative_path(problem.path, root), cell_text(reason, ERROR_LIMIT)])
    for record in collection.unfinished:
        out.add_row(["unfinished", relative_path(record.path, root), unfinished_text(record)])
    return out
