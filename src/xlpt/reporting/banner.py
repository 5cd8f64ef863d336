"""The pipeline-check banner: numbers from a model xlpt built itself (`xlpt model tiny`, `xlpt lab`) test
that the pipeline works and say nothing about the research question, so every output that shows them
(console, report.md, report.html, table captions) says so first, and names the runs and models it
concerns. The sentences come from results.json's `notices` (see `xlpt.models.origin.pipeline_notice`)
and are shown verbatim; notices of other runs, if any, are shown in the same banner.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from xlpt.reporting.collect import RunRecord, relative_path

TITLE = "PIPELINE CHECK, NOT A FINDING"
NOTICES_TITLE = "NOTICES FROM THE RUNS"
SHORT = "PIPELINE CHECK, NOT A FINDING: these numbers come from a pipeline-check model (see the banner)."
MAX_LISTED_RUNS = 8


def pipeline_runs(runs: list[RunRecord]) -> list[RunRecord]:
    return [run for run in runs if run.pipeline_check]


def notices(runs: list[RunRecord]) -> list[str]:
    """Every distinct notice of the runs, in first-seen order (pipeline-check runs first)."""
    ordered = pipeline_runs(runs) + [run for run in runs if not run.pipeline_check]
    return list(dict.fromkeys(n for run in ordered for n in run.notices))


def banner_title(runs: list[RunRecord]) -> str:
    return TITLE if pipeline_runs(runs) else NOTICES_TITLE


def banner_lines(runs: list[RunRecord], root: Path | None = None) -> list[str]:
    """The notices verbatim, then which runs (grouped by model) are pipeline checks; [] when there is
    neither a notice nor a pipeline check."""
    checks = pipeline_runs(runs)
    if not checks:
        return notices(runs)
    by_model: dict[str, list[RunRecord]] = defaultdict(list)
    for run in checks:
        by_model[run.model].append(run)
    lines = notices(runs)
    for model, model_runs in by_model.items():
        names = [relative_path(run.path, root) if root else str(run.path) for run in model_runs]
        shown = ", ".join(names[:MAX_LISTED_RUNS])
        more = f" and {len(names) - MAX_LISTED_RUNS} more" if len(names) > MAX_LISTED_RUNS else ""
        source = " (from the model folder; results.json predates the pipeline_check field)" \
            if any(run.pipeline_check_source == "model folder" for run in model_runs) else ""
        lines.append(f"Pipeline-check model {model}: {len(model_runs)} run(s): {shown}{more}{source}.")
    others = len(runs) - len(checks)
    if others:
        lines.append(f"The other {others} run(s) in this report are not pipeline checks; tables that mix both "
                     "say so in their notes.")
    return lines
