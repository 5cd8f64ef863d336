"""Reports over finished runs: per-language tables, PT − FT gaps with significance, tokenization correlations.

Entry point: `build_report(runs_dir, out_dir, tokenization_files, ReportOptions(...))`, also available
as `xlpt report`. Modules, in pipeline order: collect (find and validate runs) → aggregate (per-task
tables; + coverage: split and examples per language) → gaps (+ predictions, seed_bootstrap: seeds and examples;
multiplicity: Holm / Benjamini–Hochberg per comparison) → correlations (+ language_features) →
builders/significance_tables/tables/exports/plots/document (output formats; banner: the pipeline-check
warning) → report (writes everything). console prints single runs in the terminal with the same rules.

Honesty rules every output follows: runs on a pipeline-check model (`xlpt model tiny`, `xlpt lab`)
open with a banner; significance is marked on the multiple-comparison-adjusted p of a seed-aware test
only (>= 2 seeds per method; never with 1 seed) and always states examples, seeds and the correction;
the runs' own training language leaves every average "without source", family and correlation; "± std" needs at least 2 seeds; a correlation over fewer than
`min_correlation_languages` languages is "not interpretable"; every per-language table has the split
each language used and marks capped evaluations.
"""

__all__ = ["Report", "ReportOptions", "build_report"]


def __getattr__(name: str):
    """The report's entry points load on first use: they bring matplotlib and scipy (seconds), which
    importing any other part of the package (reporting.console, for `xlpt evaluate`'s table) must not."""
    if name in __all__:
        from xlpt.reporting import report

        return getattr(report, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
