"""Write the whole report: `report.md`, `report.html`, PNG figures, and CSV/LaTeX tables under `tables/`.

Pipeline: collect runs → per-task tables → PT − FT gaps (seed-aware bootstrap on predictions) →
correlations with tokenization features → files. Everything is seeded, so the same runs give the
same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from xlpt.errors import ConfigError
from xlpt.reporting import banner, builders, exports, plots
from xlpt.reporting.aggregate import TaskTable, build_task_tables, prompt_curves, best_system
from xlpt.reporting.collect import Collection, collect_runs, find_run_dirs, results_filename
from xlpt.reporting.correlations import MIN_LANGUAGES, VARIABLES, CorrelationAnalysis, analyse
from xlpt.reporting.audit import Risk, audit_collections
from xlpt.reporting.coverage import task_notes
from xlpt.reporting.document import (
    Banner, Block, Bullets, Heading, Image, Paragraph, TableBlock, render_html, render_markdown,
)
from xlpt.reporting.gaps import FT_METHOD, GapComparison, PredictionStore, gap_comparisons
from xlpt.reporting.language_features import load_feature_files
from xlpt.reporting.multiplicity import CONTROLS, METHODS
from xlpt.reporting.correlation_views import correlation_table, figure_caption, gap_scatter, write_correlation_csvs
from xlpt.reporting.significance_tables import gap_table
from xlpt.reporting.stats import CORRELATION_RESAMPLES, DEFAULT_SEED, PAIRED_RESAMPLES
from xlpt.reporting.tables import to_latex


@dataclass(frozen=True)
class ReportOptions:
    split: str = "test"
    decimals: int = 1
    paired_resamples: int = PAIRED_RESAMPLES
    correlation_resamples: int = CORRELATION_RESAMPLES
    seed: int = DEFAULT_SEED
    correction: str = "holm"
    """Multiple-comparison correction of the per-language PT − FT tests: "holm" (family-wise error
    rate) or "bh" (Benjamini–Hochberg, false discovery rate). Uncorrected marking is not offered."""
    alpha: float = 0.05
    """Adjusted p below which a gap is marked (bold)."""
    min_correlation_languages: int = MIN_LANGUAGES
    """Fewest distinct languages for a gap correlation to be computed and shown as a result."""

    def validate(self) -> None:
        if self.correction not in METHODS:
            raise ConfigError(f"correction {self.correction!r} is not one of {', '.join(METHODS)}")
        if not 0 < self.alpha < 1:
            raise ConfigError(f"alpha must be between 0 and 1, got {self.alpha}")
        if self.min_correlation_languages < 3:
            raise ConfigError(f"min_correlation_languages must be at least 3, got {self.min_correlation_languages}")


@dataclass
class Report:
    """What was written, plus the computed pieces (handy for callers and tests)."""

    out_dir: Path
    collection: Collection
    tables: list[TaskTable]
    comparisons: list[GapComparison]
    analyses: list[CorrelationAnalysis]
    files: list[Path] = field(default_factory=list)
    risks: list[Risk] = field(default_factory=list)
    """The study's protocol risks (`xlpt audit`'s list)."""

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
    options.validate()
    if not runs_dir.is_dir():
        raise ConfigError(f"--runs {runs_dir} is not a directory")
    if not find_run_dirs(runs_dir):
        raise ConfigError(f"no run directories under {runs_dir} (looked for results.json and run markers)")
    features = load_feature_files(list(tokenization))
    collection = collect_runs(runs_dir, options.split)
    tables = build_task_tables(collection.runs)
    store = PredictionStore()
    comparisons = [c for t in tables for c in gap_comparisons(
        t, store, options.paired_resamples, options.seed, options.correction, options.alpha)]
    analyses = analyse(comparisons, features, options.correlation_resamples, options.seed,
                       options.min_correlation_languages, options.correction, tables)
    report = Report(out_dir, collection, tables, comparisons, analyses)
    report.risks = audit_collections([(runs_dir, collection)], options.split).risks
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
            latex += "\n" + to_latex(gap_table(table.task, gaps, table.coverage, options.decimals),
                                      label=f"tab:{table.task}-gap")
        (tables_dir / f"{table.task}.tex").write_text(latex, encoding="utf-8")
        report.files += [tables_dir / f"{table.task}.csv", tables_dir / f"{table.task}.tex"]
    params = to_latex(builders.params_table(report.tables), "tab:params")
    (tables_dir / "params.tex").write_text(params, encoding="utf-8")
    exports.write_long_csv(report.out_dir / "results_long.csv", report.collection.runs, runs_dir)
    exports.write_gaps_csv(tables_dir / "gaps.csv", report.comparisons)
    report.files += [tables_dir / "params.tex", report.out_dir / "results_long.csv", tables_dir / "gaps.csv"]
    if report.analyses:
        write_correlation_csvs(tables_dir, report.analyses)
        table = correlation_table(report.analyses, options.min_correlation_languages, _any_pipeline_check(report))
        (tables_dir / "correlations.tex").write_text(to_latex(table, "tab:correlations"), encoding="utf-8")
        report.files += [tables_dir / n for n in ("correlations.csv", "correlation_points.csv", "correlations.tex")]


def _any_pipeline_check(report: Report) -> bool:
    return any(run.pipeline_check for run in report.collection.runs)


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
                curves, report.out_dir / f"prompt_length_{table.task}.png", references, table.pipeline_check,
                plots.baselines(table))
    checks = _any_pipeline_check(report)
    for variable in VARIABLES:
        path = gap_scatter(report.analyses, variable, report.out_dir / f"gap_vs_{variable}.png", checks)
        if path:
            figures[f"scatter:{variable}"] = path
    report.files += list(figures.values())
    return figures


def _ft_references(table: TaskTable) -> dict[str, float]:
    """The best full fine-tuning average without the source language per model, drawn as a dashed line."""
    references = {}
    for model in dict.fromkeys(s.model for s in table.systems):
        ft = best_system(table, FT_METHOD, model)
        summary = table.averages.get(("without_source", ft)) if ft else None
        if summary:
            references[f"{table.labels[ft]} {table.average_label('without_source').lower()}"] = summary.mean
    return references


def _blocks(report: Report, runs_dir: Path, options: ReportOptions, figures: dict[str, Path]) -> list[Block]:
    c = report.collection
    blocks: list[Block] = [Heading("xlpt report", 1)]
    lines = banner.banner_lines(c.runs, runs_dir)
    if lines:
        blocks.append(Banner(banner.banner_title(c.runs), tuple(lines)))
    blocks += [
        Paragraph(f"{len(c.runs)} runs from `{runs_dir}` ({_results_file(options.split)}); "
                  f"{len(c.skipped)} skipped, {len(c.incomplete)} incomplete"
                  + (f", {len(c.unfinished)} evaluated unfinished (--allow-unfinished: not in any table)"
                     if c.unfinished else "") + " (listed at the end). "
                  "The split each language was scored on is in every table (Split column)."),
    ]
    coverage = [note for table in report.tables for note in task_notes(table.task, _all_runs(table), options.split)]
    if coverage:
        blocks += [Paragraph("Evaluation coverage:"), Bullets(tuple(coverage))]
    blocks.append(Bullets(_method_notes(report, options)))
    blocks += _risk_blocks(report)
    if report.tables:
        blocks += [Heading("Runs"), TableBlock(builders.runs_table(report.tables))]
    for table in report.tables:
        blocks += [Heading(f"Results: {table.task}"), TableBlock(builders.results_table(table, options.decimals)),
                   Image(figures[f"bars:{table.task}"], f"{table.task} per-language bars")]
        if f"curves:{table.task}" in figures:
            blocks.append(Image(figures[f"curves:{table.task}"], f"{table.task} prompt length curves"))
    blocks += _gap_blocks(report, options)
    blocks += _correlation_blocks(report, options, figures)
    if report.tables:
        blocks += [Heading("Trainable parameters"), TableBlock(builders.params_table(report.tables))]
    if c.skipped or c.incomplete or c.unfinished:
        blocks += [Heading("Skipped and incomplete runs"), TableBlock(builders.problems_table(c, runs_dir))]
    return blocks


def _risk_blocks(report: Report) -> list[Block]:
    """The same lines as `xlpt audit` on the same folder."""
    if not report.risks:
        return [Heading("Protocol risks"), Paragraph("None found by `xlpt audit`.")]
    return [Heading("Protocol risks"), Paragraph(f"{len(report.risks)} found by `xlpt audit` (one per line, with "
            "the runs concerned; `xlpt audit --json` lists every run):"), Bullets(tuple(r.line() for r in report.risks))]


def _results_file(split: str) -> str:
    return f"{results_filename(split)}: evaluations requested on the {split} split"


def _all_runs(table: TaskTable):
    return [run for runs in table.runs.values() for run in runs]


def _method_notes(report: Report, options: ReportOptions) -> tuple[str, ...]:
    max_seeds = max((t.max_seeds for t in report.tables), default=0)
    if max_seeds >= 2:
        cells = ("Cells: mean over seeds, in percent, ± sample standard deviation (ddof=1) where a cell has at "
                 "least 2 seeds; n = number of seeds.")
        averages = ("Averages: each run's mean over the languages it has (with / without its source language, "
                    "the one it was trained on), then over seeds.")
    else:
        cells = "Cells: one seed per system, in percent; no standard deviation (it needs at least 2 seeds)."
        averages = ("Averages: each run's mean over the languages it has (with / without its source language, "
                    "the one it was trained on).")
    method = METHODS[options.correction]
    return (
        cells + " Bold: best mean in the row at the shown precision.",
        averages,
        "PT − FT gap: difference of the seed means from results.json. 95% CI and p: with at least 2 seeds per "
        "method, a hierarchical bootstrap (each resample draws each method's seeds with replacement and the "
        "evaluated examples — sentences for tagging — with replacement, the same rows for both methods; the "
        "seed level is scaled by sqrt(n/(n−1)) against the bootstrap's shrinkage), "
        f"{options.paired_resamples} resamples, seed {options.seed}, percentile CI and two-sided p = "
        "2 (1 + #{Δ* on the far side of 0}) / (1 + resamples), together with Welch's t-test over the runs' "
        "scores (a few seeds understate a large seed variance in a bootstrap): p is the larger of the two, the "
        "CI the hull of both intervals. With 1 seed of a method, the examples only (CI marked \"ex\"). NER F1 "
        "is recomputed from strict IOB2 entity counts per sentence.",
        f"Significance: p-values are {method}-adjusted ({CONTROLS[options.correction]}) within each comparison "
        "(all target languages of one task, model and PT-vs-FT configuration pair); a gap is bold only when its "
        f"adjusted p < {options.alpha:g} of a seed-aware test (at least 2 seeds per method). The training "
        "language is outside every family and never marked. With 1 seed of a method seed variance is unmeasured "
        "and nothing is marked; each comparison's note says how many seeds and examples its tests rest on.",
        "Tokenization analysis: per task, the best prompt-tuning vs best full-fine-tuning configuration (by average "
        "without the source language); the runs' source language and languages without the variable are left out; "
        f"fewer than {options.min_correlation_languages} languages: not interpretable, no r shown. "
        f"Correlation CIs: bootstrap over languages, {options.correlation_resamples} resamples, seed {options.seed}, "
        "percentile; p-values from scipy.stats pearsonr / spearmanr, then adjusted "
        f"({method}) over the family of every correlation shown (variables × coefficients × scopes, stated "
        "under the table and figures); line: least squares.",
    )


def _gap_blocks(report: Report, options: ReportOptions) -> list[Block]:
    blocks: list[Block] = [Heading("Prompt tuning − full fine-tuning")]
    if not report.comparisons:
        return blocks + [Paragraph("n/a: no task has both prompt-tuning and full-fine-tuning runs.")]
    for table in report.tables:
        comparisons = _task_comparisons(report, table.task)
        if comparisons:
            blocks.append(TableBlock(gap_table(table.task, comparisons, table.coverage, options.decimals)))
    return blocks


def _correlation_blocks(report: Report, options: ReportOptions, figures: dict[str, Path]) -> list[Block]:
    blocks: list[Block] = [Heading("Gap vs tokenization and pretraining share")]
    if not report.analyses:
        reason = "no `--tokenization` file given" if report.comparisons else "no PT − FT gap to explain"
        return blocks + [Paragraph(f"n/a: {reason}.")]
    primaries = [f"{c.task}: {c.label}" for c in report.comparisons if c.primary]
    table = correlation_table(report.analyses, options.min_correlation_languages, _any_pipeline_check(report))
    blocks += [
        Paragraph("Gaps used (best configuration of each method per task and model):"),
        Bullets(tuple(primaries)),
        TableBlock(table),
    ]
    for variable, label in VARIABLES.items():
        if f"scatter:{variable}" in figures:
            blocks += [Image(figures[f"scatter:{variable}"], f"PT − FT gap against {label}"),
                       Paragraph(figure_caption(report.analyses, variable))]
    return blocks
