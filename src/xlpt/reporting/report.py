"""Write the whole report: `report.md`, `report.html`, PNG figures, and CSV/LaTeX tables under `tables/`.

Pipeline: collect runs → per-task tables → PT − FT gaps (paired bootstrap on predictions) →
correlations with tokenization features → files. Everything is seeded, so the same runs give the
same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from xlpt.errors import ConfigError
from xlpt.reporting import builders, exports, plots
from xlpt.reporting.aggregate import AVERAGE_ROWS, TaskTable, build_task_tables, prompt_curves, best_system
from xlpt.reporting.collect import Collection, collect_runs, find_run_dirs
from xlpt.reporting.correlations import VARIABLES, CorrelationAnalysis, analyse
from xlpt.reporting.document import Block, Bullets, Heading, Image, Paragraph, TableBlock, render_html, render_markdown
from xlpt.reporting.gaps import FT_METHOD, GapComparison, PredictionStore, gap_comparisons
from xlpt.reporting.language_features import load_feature_files
from xlpt.reporting.stats import CORRELATION_RESAMPLES, DEFAULT_SEED, PAIRED_RESAMPLES
from xlpt.reporting.tables import to_latex


@dataclass(frozen=True)
class ReportOptions:
    split: str = "test"
    decimals: int = 1
    paired_resamples: int = PAIRED_RESAMPLES
    correlation_resamples: int = CORRELATION_RESAMPLES
    seed: int = DEFAULT_SEED


@dataclass
class Report:
    """What was written, plus the computed pieces (handy for callers and tests)."""

    out_dir: Path
    collection: Collection
    tables: list[TaskTable]
    comparisons: list[GapComparison]
    analyses: list[CorrelationAnalysis]
    files: list[Path] = field(default_factory=list)

    @property
    def markdown_path(self) -> Path:
        return self.out_dir / "report.md"

    @property
    def html_path(self) -> Path:
        return self.out_dir / "report.html"


def build_report(
    runs_dir: Path, out_dir: Path, tokenization: list[Path] = (), options: ReportOptions = ReportOptions()
) -> Report:
    """Collect the runs under `runs_dir`, analyse them and write every output file into `out_dir`.

    Raises ConfigError for user errors (no such folder, no runs at all, unreadable --tokenization file);
    individual bad runs never raise, they are listed in the report."""
    runs_dir, out_dir = Path(runs_dir), Path(out_dir)
    if not runs_dir.is_dir():
        raise ConfigError(f"--runs {runs_dir} is not a directory")
    if not find_run_dirs(runs_dir):
        raise ConfigError(f"no run directories under {runs_dir} (looked for results.json and run markers)")
    features = load_feature_files(list(tokenization))
    collection = collect_runs(runs_dir, options.split)
    tables = build_task_tables(collection.runs)
    store = PredictionStore()
    comparisons = [c for t in tables for c in gap_comparisons(t, store, options.paired_resamples, options.seed)]
    analyses = analyse(comparisons, features, options.correlation_resamples, options.seed)
    report = Report(out_dir, collection, tables, comparisons, analyses)
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_tables(report, runs_dir, options)
    blocks = _blocks(report, runs_dir, options, _write_figures(report))
    report.markdown_path.write_text(render_markdown(blocks), encoding="utf-8")
    report.html_path.write_text(render_html(blocks, "xlpt report"), encoding="utf-8")
    report.files += [report.markdown_path, report.html_path]
    return report


def _write_tables(report: Report, runs_dir: Path, options: ReportOptions) -> None:
    tables_dir = report.out_dir / "tables"
    tables_dir.mkdir(exist_ok=True)
    for table in report.tables:
        exports.write_task_csv(tables_dir / f"{table.task}.csv", table)
        latex = to_latex(builders.results_table(table, options.decimals), label=f"tab:{table.task}")
        gaps = _task_comparisons(report, table.task)
        if gaps:
            gap_table = builders.gap_table(table.task, gaps, options.decimals)
            latex += "\n" + to_latex(gap_table, label=f"tab:{table.task}-gap")
        (tables_dir / f"{table.task}.tex").write_text(latex, encoding="utf-8")
        report.files += [tables_dir / f"{table.task}.csv", tables_dir / f"{table.task}.tex"]
    params = to_latex(builders.params_table(report.tables), "tab:params")
    (tables_dir / "params.tex").write_text(params, encoding="utf-8")
    exports.write_long_csv(report.out_dir / "results_long.csv", report.collection.runs, runs_dir)
    exports.write_gaps_csv(tables_dir / "gaps.csv", report.comparisons)
    report.files += [tables_dir / "params.tex", report.out_dir / "results_long.csv", tables_dir / "gaps.csv"]
    if report.analyses:
        exports.write_correlation_csvs(tables_dir, report.analyses)
        (tables_dir / "correlations.tex").write_text(
            to_latex(builders.correlation_table(report.analyses), "tab:correlations"), encoding="utf-8")
        report.files += [tables_dir / n for n in ("correlations.csv", "correlation_points.csv", "correlations.tex")]


def _task_comparisons(report: Report, task: str) -> list[GapComparison]:
    return [c for c in report.comparisons if c.task == task]


def _write_figures(report: Report) -> dict[str, Path]:
    """Draw every figure; keys say where each belongs in the document."""
    figures = {}
    for table in report.tables:
        figures[f"bars:{table.task}"] = plots.language_bars(table, report.out_dir / f"bars_{table.task}.png")
        curves = prompt_curves(table)
        if curves:
            references = _ft_references(table)
            figures[f"curves:{table.task}"] = plots.prompt_length_curves(
                curves, report.out_dir / f"prompt_length_{table.task}.png", references)
    for variable in VARIABLES:
        path = plots.gap_scatter(report.analyses, variable, report.out_dir / f"gap_vs_{variable}.png")
        if path:
            figures[f"scatter:{variable}"] = path
    report.files += list(figures.values())
    return figures


def _ft_references(table: TaskTable) -> dict[str, float]:
    """The best full fine-tuning average without English per model, drawn as a dashed line."""
    references = {}
    for model in dict.fromkeys(s.model for s in table.systems):
        ft = best_system(table, FT_METHOD, model)
        summary = table.averages.get(("without_en", ft)) if ft else None
        if summary:
            references[f"{table.labels[ft]} {AVERAGE_ROWS['without_en'].lower()}"] = summary.mean
    return references


def _blocks(report: Report, runs_dir: Path, options: ReportOptions, figures: dict[str, Path]) -> list[Block]:
    c = report.collection
    blocks: list[Block] = [
        Heading("xlpt report", 1),
        Paragraph(f"{len(c.runs)} runs from `{runs_dir}` (split: {options.split}); "
                  f"{len(c.skipped)} skipped, {len(c.incomplete)} incomplete (listed at the end)."),
        Bullets(_method_notes(options)),
    ]
    if report.tables:
        blocks += [Heading("Runs"), TableBlock(builders.runs_table(report.tables))]
    for table in report.tables:
        blocks += [Heading(f"Results: {table.task}"), TableBlock(builders.results_table(table, options.decimals)),
                   Image(figures[f"bars:{table.task}"], f"{table.task} per-language bars")]
        if f"curves:{table.task}" in figures:
            blocks.append(Image(figures[f"curves:{table.task}"], f"{table.task} prompt length curves"))
    blocks += _gap_blocks(report, options)
    blocks += _correlation_blocks(report, figures)
    if report.tables:
        blocks += [Heading("Trainable parameters"), TableBlock(builders.params_table(report.tables))]
    if c.skipped or c.incomplete:
        blocks += [Heading("Skipped and incomplete runs"), TableBlock(builders.problems_table(c, runs_dir))]
    return blocks


def _method_notes(options: ReportOptions) -> tuple[str, ...]:
    return (
        "Cells: mean ± sample standard deviation (ddof=1) over seeds, in percent; n = number of seeds. "
        "Bold: best mean in the row at the shown precision.",
        "Averages: each run's mean over the languages it has (with / without English), then mean ± std over seeds.",
        "PT − FT gap: difference of the seed means from results.json. 95% CI and p: paired bootstrap over test "
        f"examples (sentences for tagging), {options.paired_resamples} resamples, seed {options.seed}, runs paired "
        "by seed; percentile CI; two-sided p from the shifted bootstrap distribution. NER F1 is recomputed from "
        "strict IOB2 entity counts per sentence.",
        "Tokenization analysis: per task, the best prompt-tuning vs best full-fine-tuning configuration (by average "
        "without English); English (training language) and languages without the variable are left out. "
        f"Correlation CIs: bootstrap over languages, {options.correlation_resamples} resamples, seed {options.seed}, "
        "percentile; p-values from scipy.stats pearsonr / spearmanr; line: least squares.",
    )


def _gap_blocks(report: Report, options: ReportOptions) -> list[Block]:
    blocks: list[Block] = [Heading("Prompt tuning − full fine-tuning")]
    if not report.comparisons:
        return blocks + [Paragraph("n/a: no task has both prompt-tuning and full-fine-tuning runs.")]
    for table in report.tables:
        comparisons = _task_comparisons(report, table.task)
        if comparisons:
            blocks.append(TableBlock(builders.gap_table(table.task, comparisons, options.decimals)))
    return blocks


def _correlation_blocks(report: Report, figures: dict[str, Path]) -> list[Block]:
    blocks: list[Block] = [Heading("Gap vs tokenization and pretraining share")]
    if not report.analyses:
        reason = "no `--tokenization` file given" if report.comparisons else "no PT − FT gap to explain"
        return blocks + [Paragraph(f"n/a: {reason}.")]
    primaries = [f"{c.task}: {c.label}" for c in report.comparisons if c.primary]
    blocks += [
        Paragraph("Gaps used (best configuration of each method per task and model):"),
        Bullets(tuple(primaries)),
        TableBlock(builders.correlation_table(report.analyses)),
    ]
    for variable, label in VARIABLES.items():
        if f"scatter:{variable}" in figures:
            blocks.append(Image(figures[f"scatter:{variable}"], f"PT − FT gap against {label}"))
    return blocks
