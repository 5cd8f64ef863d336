"""Reports over finished runs: per-language tables, PT − FT gaps with significance, tokenization correlations.

Entry point: `build_report(runs_dir, out_dir, tokenization_files, ReportOptions(...))`, also available
as `xlpt report`. Modules, in pipeline order: collect (find and validate runs) → aggregate (per-task
tables) → gaps (+ predictions, stats: paired bootstrap) → correlations (+ language_features) →
builders/tables/exports/plots/document (output formats) → report (writes everything).
"""

from xlpt.reporting.report import Report, ReportOptions, build_report

__all__ = ["Report", "ReportOptions", "build_report"]
