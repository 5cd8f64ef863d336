"""Display tables and sentences for the statistical claims: PT − FT gaps with corrected tests, and
gap-vs-tokenization correlations.

Rules, so that no claim goes out unqualified:
* a gap is marked (bold) only on its multiple-comparison-adjusted p, never on the raw p;
* only a seed-aware test (seeds and examples resampled, >= 2 seeds per method) can mark a gap; with
  1 seed the statement says seed variance is unmeasured, marks nothing, and labels the CI example-only;
* every statement of significance says what it rests on: examples per language, seeds per method,
  resamples, the correction and the family size;
* a correlation over too few languages shows "not interpretable (n = 4 < 8 languages)" instead of r;
* numbers from a pipeline-check model carry that note first.
"""

from __future__ import annotations

from xlpt.reporting import banner
from xlpt.reporting.aggregate import AVERAGE_ROWS
from xlpt.reporting.builders import pct
from xlpt.reporting.coverage import LanguageCoverage
from xlpt.reporting.gaps import GapComparison, GapRow
from xlpt.reporting.multiplicity import CONTROLS
from xlpt.reporting.source import without_source_label
from xlpt.reporting.tables import Cell, Table

SINGLE_SEED = ("seed variance is unmeasured (1 seed of a method), so nothing is marked significant; the CI and p "
               "shown are example-only (bootstrap over examples)")
SEED_AWARE = "two-sided hierarchical bootstrap over seeds and examples, with Welch's t over the runs"
EXAMPLE_ONLY_MARK = "ex"
"""Beside a CI that covers example sampling only (1 seed of a method)."""


def format_p(p: float) -> str:
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _span(values: tuple[int, int] | list[int]) -> str:
    low, high = min(values), max(values)
    return f"{low:,}" if low == high else f"{low:,}–{high:,}"


def _seeds_text(counts: list[tuple[int, int]]) -> str:
    """'3 PT and 3 FT seeds' (or spans when languages differ)."""
    return (f"{_span([pt for pt, _ in counts])} PT and {_span([ft for _, ft in counts])} FT seed(s)")


def significance_statement(comparison: GapComparison) -> str:
    """One sentence: how many target languages differ, and everything that claim rests on."""
    family, example_only = comparison.family(), comparison.example_only()
    head = f"{comparison.task} · {comparison.label}: "
    if not family and not example_only:
        return head + "no target language has a test (no usable predictions), so nothing is claimed."
    if not family:
        text = (head + f"{SINGLE_SEED}: {len(example_only)} target languages, "
                f"{_seeds_text(comparison.seed_counts(example_only))}, {_span(comparison.units(example_only))} "
                f"examples per language, {example_only[0].test.resamples:,} resamples")
        return ("PIPELINE CHECK, NOT A FINDING — " if comparison.pipeline_check else "") + text + "."
    significant = [row.lang for row in family if comparison.significant(row)]
    verdict = (f"{len(significant)} of {len(family)} target languages differ at {comparison.method_name}-adjusted "
               f"p < {comparison.alpha:g}" + (f" ({', '.join(significant)})" if significant else ""))
    basis = (f"{SEED_AWARE} ({_seeds_text(comparison.seed_counts(family))}, {_span(comparison.units(family))} "
             f"examples per language, {family[0].test.resamples:,} resamples); {comparison.method_name} "
             f"correction over the family of {len(family)} target languages ({CONTROLS[comparison.correction]})")
    text = head + verdict + "; " + basis
    if example_only:
        text += (f"; {', '.join(row.lang for row in example_only)}: 1 seed of a method, seed variance unmeasured, "
                 "outside the family and never marked")
    problem = comparison.resolution_problem()
    if problem:
        text += "; " + problem
    if comparison.pipeline_check:
        text = "PIPELINE CHECK, NOT A FINDING — " + text
    return text + "."


def gap_table(task: str, comparisons: list[GapComparison], coverage: dict[str, LanguageCoverage],
              decimals: int = 1) -> Table:
    """Per language: split, then per comparison Δ (pp), bootstrap 95% CI, raw p and adjusted p."""
    method = comparisons[0].method_name
    header = ["Language", "Split"]
    for comparison in comparisons:
        header += [f"Δ {comparison.label} (pp)", "95% CI", "p (raw)", f"p ({method})"]
    out = Table(f"{task}: prompt tuning − full fine-tuning, percentage points", header)
    languages = list(dict.fromkeys(row.lang for c in comparisons for row in c.rows))
    notes: dict[str, list[str]] = {}
    for lang in languages:
        cells: list[Cell | str] = [lang, coverage[lang].split_text if lang in coverage else "?"]
        for comparison in comparisons:
            row = next((r for r in comparison.rows if r.lang == lang), None)
            cells += _gap_cells(comparison, row, decimals)
            if row is not None and row.note:
                notes.setdefault(row.note, []).append(lang)
        out.add_row(cells)
    sources = frozenset().union(*(c.sources for c in comparisons))
    for index, which in enumerate(AVERAGE_ROWS):
        cells = [without_source_label(sources) if which == "without_source" else AVERAGE_ROWS[which], ""]
        for comparison in comparisons:
            value = comparison.averages.get(which)
            cells += [pct(value, decimals, signed=True) if value is not None else "—", "", "", ""]
        out.add_row(cells, rule=index == 0)
    out.footnotes = _gap_notes(comparisons, languages, sources)
    out.footnotes += [f"{', '.join(langs)}: {note}" for note, langs in notes.items()]
    return out


def _gap_notes(comparisons: list[GapComparison], languages: list[str], sources: frozenset[str]) -> list[str]:
    first = comparisons[0]
    notes = [banner.SHORT] if any(c.pipeline_check for c in comparisons) else []
    notes.append(
        f"Bold: {first.method_name}-adjusted p < {first.alpha:g} of a seed-aware test; each comparison's target "
        "languages with such a test form one family "
        f"({CONTROLS[first.correction]} controlled within it, not across comparisons or tasks). The raw p is shown "
        "for reference and never used for marking. Tests: with >= 2 seeds per method, a two-sided hierarchical "
        "bootstrap (each method's seeds resampled, then the evaluated examples — sentences for tagging — the same "
        "rows for both methods); with 1 seed of a method, examples only: its CI is marked "
        f"\"{EXAMPLE_ONLY_MARK}\", seed variance is unmeasured and nothing is marked.")
    notes += [significance_statement(c) for c in comparisons]
    shown = [lang for lang in languages if lang in sources]
    if shown:
        notes.append(f"{', '.join(shown)}: training language; tested, but outside the family and never marked.")
    return notes


def _gap_cells(comparison: GapComparison, row: GapRow | None, decimals: int) -> list[Cell]:
    if row is None:
        return [Cell("—"), Cell(""), Cell(""), Cell("")]
    gap = pct(row.gap, decimals, signed=True)
    if row.test is None:
        return [Cell(gap), Cell("n/a"), Cell("n/a"), Cell("n/a")]
    low, high = row.test.ci
    ci = f"[{pct(low, decimals, signed=True)}, {pct(high, decimals, signed=True)}]"
    ci += "" if row.test.seed_aware else f" {EXAMPLE_ONLY_MARK}"
    adjusted = format_p(row.p_adjusted) if row.p_adjusted is not None else "—"
    return [Cell(gap, bold=comparison.significant(row)), Cell(ci), Cell(format_p(row.test.p_value)), Cell(adjusted)]


def _ci(ci: tuple[float, float]) -> str:
    return f"[{ci[0]:.3f}, {ci[1]:.3f}]"
