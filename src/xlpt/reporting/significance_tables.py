"""Display tables and sentences for the statistical claims: PT − FT gaps with corrected tests, and
gap-vs-tokenization correlations.

Rules, so that no claim goes out unqualified:
* a gap is marked (bold) only on its multiple-comparison-adjusted p, never on the raw p;
* every statement of significance says what it rests on: examples per language, seed pairs,
  resamples, the correction and the family size; with one seed it says that seed-to-seed variance
  is not accounted for;
* a correlation over too few languages shows "not interpretable (n = 4 < 8 languages)" instead of r;
* numbers from a pipeline-check model carry that note first.
"""

from __future__ import annotations

from xlpt.reporting import banner
from xlpt.reporting.aggregate import AVERAGE_ROWS, is_source_language
from xlpt.reporting.builders import pct
from xlpt.reporting.correlations import VARIABLES, CorrelationAnalysis, summarize_left_out
from xlpt.reporting.coverage import LanguageCoverage
from xlpt.reporting.gaps import GapComparison, GapRow
from xlpt.reporting.multiplicity import CONTROLS
from xlpt.reporting.tables import Cell, Table

SINGLE_SEED = "1 seed: seed-to-seed variance is not accounted for (the test covers example sampling only)"
SEVERAL_SEEDS = "seeds are averaged inside each resample, not resampled: seed-to-seed variance is not part of the test"


def format_p(p: float) -> str:
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _span(values: tuple[int, int] | list[int]) -> str:
    low, high = min(values), max(values)
    return f"{low:,}" if low == high else f"{low:,}–{high:,}"


def significance_statement(comparison: GapComparison) -> str:
    """One sentence: how many target languages differ, and everything that claim rests on."""
    family = comparison.family()
    head = f"{comparison.task} · {comparison.label}: "
    if not family:
        return head + "no target language has a paired test (no usable predictions), so nothing is claimed."
    significant = [row.lang for row in family if comparison.significant(row)]
    pairs = comparison.seed_pairs()
    verdict = (f"{len(significant)} of {len(family)} target languages differ at {comparison.method_name}-adjusted "
               f"p < {comparison.alpha:g}" + (f" ({', '.join(significant)})" if significant else ""))
    basis = (f"two-sided paired bootstrap over {_span(comparison.units())} examples per language, "
             f"{_span(pairs)} seed pair(s), {family[0].test.resamples:,} resamples; {comparison.method_name} "
             f"correction over the family of {len(family)} target languages ({CONTROLS[comparison.correction]})")
    text = head + verdict + "; " + basis
    text += "; " + (SINGLE_SEED if max(pairs) == 1 else SEVERAL_SEEDS)
    problem = comparison.resolution_problem()
    if problem:
        text += "; " + problem
    if comparison.pipeline_check:
        text = "PIPELINE CHECK, NOT A FINDING — " + text
    return text + "."


def gap_table(task: str, comparisons: list[GapComparison], coverage: dict[str, LanguageCoverage],
              decimals: int = 1) -> Table:
    """Per language: split, then per comparison Δ (pp), paired-bootstrap 95% CI, raw p and adjusted p."""
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
    for index, (which, name) in enumerate(AVERAGE_ROWS.items()):
        cells = [name, ""]
        for comparison in comparisons:
            value = comparison.averages.get(which)
            cells += [pct(value, decimals, signed=True) if value is not None else "—", "", "", ""]
        out.add_row(cells, rule=index == 0)
    out.footnotes = _gap_notes(comparisons, languages)
    out.footnotes += [f"{', '.join(langs)}: {note}" for note, langs in notes.items()]
    return out


def _gap_notes(comparisons: list[GapComparison], languages: list[str]) -> list[str]:
    first = comparisons[0]
    notes = [banner.SHORT] if any(c.pipeline_check for c in comparisons) else []
    notes.append(
        f"Bold: {first.method_name}-adjusted p < {first.alpha:g}; each comparison's target languages with a test "
        f"form one family ({CONTROLS[first.correction]} controlled within it, not across comparisons or tasks). "
        "The raw p is shown for reference and never used for marking. Tests: two-sided paired bootstrap over the "
        "evaluated examples (sentences for tagging), runs paired by seed.")
    notes += [significance_statement(c) for c in comparisons]
    sources = [lang for lang in languages if is_source_language(lang)]
    if sources:
        notes.append(f"{', '.join(sources)}: training language; tested, but outside the family and never marked.")
    return notes


def _gap_cells(comparison: GapComparison, row: GapRow | None, decimals: int) -> list[Cell]:
    if row is None:
        return [Cell("—"), Cell(""), Cell(""), Cell("")]
    gap = pct(row.gap, decimals, signed=True)
    if row.test is None:
        return [Cell(gap), Cell("n/a"), Cell("n/a"), Cell("n/a")]
    low, high = row.test.ci
    ci = f"[{pct(low, decimals, signed=True)}, {pct(high, decimals, signed=True)}]"
    adjusted = format_p(row.p_adjusted) if row.p_adjusted is not None else "—"
    return [Cell(gap, bold=comparison.significant(row)), Cell(ci), Cell(format_p(row.test.p_value)), Cell(adjusted)]


def correlation_table(analyses: list[CorrelationAnalysis], min_languages: int, pipeline_check: bool = False) -> Table:
    header = ["Scope", "x", "n", "Pearson r", "r 95% CI", "Pearson p", "Spearman ρ", "ρ 95% CI", "Spearman p",
              "Slope (pp per unit x)", "Left out"]
    out = Table("PT − FT gap (pp) against tokenization and pretraining share", header)
    for a in analyses:
        r = a.result
        if r is None:
            numbers = [a.problem or "not computed"] + ["—"] * 6
        else:
            numbers = [f"{r.pearson_r:.3f}", _ci(r.pearson_ci), format_p(r.pearson_p),
                       f"{r.spearman_rho:.3f}", _ci(r.spearman_ci), format_p(r.spearman_p), f"{r.slope:.2f}"]
        n = str(len(a.points))
        if len(a.languages()) != len(a.points):
            n += f" ({len(a.languages())} languages)"
        out.add_row([a.scope, VARIABLES[a.variable], n] + numbers + [summarize_left_out(a.left_out)])
    out.footnotes = [banner.SHORT] if pipeline_check else []
    out.footnotes.append(f"Correlations over fewer than {min_languages} distinct languages are not interpretable and "
                         "not computed; their points are still listed (correlation_points.csv, figures).")
    if any(len(a.languages()) != len(a.points) for a in analyses):
        out.footnotes.append("Pooled scopes count each language once per task: the points are not independent.")
    return out


def _ci(ci: tuple[float, float]) -> str:
    return f"[{ci[0]:.3f}, {ci[1]:.3f}]"
