"""The lab's method − FT gaps, tested by the ordinary report's own function (`reporting.gaps`).

The study's runs are ordinary run directories (results.json, predictions/), so the lab reads them the way
`xlpt report` does and calls the same `gap_comparisons` with the same defaults (resamples, seed, Holm,
alpha): the same runs get the same verdicts in `xlpt lab` and `xlpt report`. Each (task, method, model)
comparison is one family over the target languages (the base language, the runs' source, is outside it);
with at least 2 seeds per method the test resamples seeds and examples (`reporting.seed_bootstrap`).
"""

from __future__ import annotations

from pathlib import Path

from xlpt.reporting.aggregate import build_task_tables
from xlpt.reporting.collect import collect_runs
from xlpt.reporting.gaps import FT_METHOD, GapComparison, GapRow, PredictionStore, gap_comparisons
from xlpt.reporting.multiplicity import METHODS
from xlpt.reporting.stats import DEFAULT_SEED, PAIRED_RESAMPLES

CORRECTION, ALPHA = "holm", 0.05
"""The ordinary report's defaults (reporting.ReportOptions), which `Study.ordinary_report` uses too."""

TEST = "hierarchical bootstrap over seeds and examples, with Welch's t over the runs"


def study_gaps(study: dict) -> dict[tuple[str, str, str, str], dict]:
    """(task, language, method, model role) -> the gap entry (see `gap_entry`) of every method against
    full fine-tuning, for the study's runs that have results; empty without a runs folder."""
    runs_dir = study.get("runs_dir")
    if not runs_dir or not Path(runs_dir).is_dir():
        return {}
    roles = {run["id"]: run["model"] for run in study["runs"] if run["scores"] is not None}
    records = [record for record in collect_runs(Path(runs_dir)).runs if record.run_id in roles]
    store, found = PredictionStore(), {}
    for table in build_task_tables(records):
        for method in sorted({s.method for s in table.systems} - {FT_METHOD}):
            for comparison in gap_comparisons(table, store, PAIRED_RESAMPLES, DEFAULT_SEED, CORRECTION, ALPHA,
                                              method=method):
                role = roles[table.runs[comparison.pt][0].run_id]
                for row in comparison.rows:
                    found[(table.task, row.lang, method, role)] = gap_entry(comparison, row)
    return found


def gap_entry(comparison: GapComparison, row: GapRow) -> dict:
    """One gap as the lab report keeps it: the difference, its bootstrap CI, raw and adjusted p, and
    whether it is significant (adjusted p < alpha of a seed-aware test), with what that rests on."""
    test = row.test
    entry = {"difference": row.gap, "low": None, "high": None, "n": [0, 0], "p": None, "p_adjusted": row.p_adjusted,
             "significant": comparison.significant(row), "seed_aware": False, "source": comparison.is_source(row.lang),
             "family": len(comparison.family()), "correction": METHODS[comparison.correction], "note": row.note}
    if test is not None:
        entry.update(low=test.ci[0], high=test.ci[1], n=list(test.seeds), p=test.p_value, seed_aware=test.seed_aware,
                     examples=test.units, resamples=test.resamples,
                     test=TEST if test.seed_aware else "bootstrap over examples only (seed variance unmeasured)")
    return entry


def gap_verdict(entry: dict) -> str | None:
    """'above' / 'below' (significant after correction), 'overlaps 0' (tested, not significant), or None
    (no claim: untested, example-only, or the training language)."""
    if not entry.get("seed_aware") or entry.get("source") or entry.get("p_adjusted") is None:
        return None
    if not entry["significant"]:
        return "overlaps 0"
    return "above" if entry["difference"] > 0 else "below"


def why_no_claim(entry: dict | None) -> str:
    if entry is None or entry.get("low") is None:
        return "no predictions to test it" + (f" ({entry['note']})" if entry and entry.get("note") else "")
    if entry.get("source"):
        return "the training language (outside the family)"
    return (f"fewer than 2 seeds per method ({entry['n'][0]} and {entry['n'][1]}): seed variance unmeasured, "
            "the example-only test decides nothing")
