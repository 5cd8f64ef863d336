"""Does the PT − FT gap follow tokenization quality or pretraining share? Points, exclusions, correlations.

One point per target language of the primary comparison of each (task, model) (see
`gaps.GapComparison.primary`). The runs' source language (`GapComparison.sources`, from results.json
`source_language`; see `reporting.source`) is left out: its gap measures in-language learning, not transfer.
Points without the explanatory variable are left out and listed with the reason, so the reader can see
how much of the data a correlation rests on. A pooled scope combines all tasks' points; they are not
independent (the same language appears once per task).

Two pretraining shares are set against the gap, named so they cannot be confused: the *natural share*
(the language's tokens over all pretraining tokens) and the *sampled share* (its share of the training
mixture after XGLM's low-resource upsampling, which is what the model was actually trained on).

A correlation over a handful of languages says next to nothing (with n = 4 a 95 % CI of r spans most
of [-1, 1]), so below `min_languages` distinct languages (default 8) no r, CI or line is computed:
the analysis keeps its points and says "not interpretable (n = 4 < 8)".

Every correlation shown is one hypothesis test: with 3 variables × 2 coefficients × several scopes a
noise-only study finds a raw p < 0.05 more often than not. All shown p-values are therefore adjusted
together, as one family (`CorrelationFamily`, Holm by default, Benjamini–Hochberg on request), and the
family is stated wherever the p-values are.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from xlpt.reporting.aggregate import TaskTable, short_model
from xlpt.reporting.gaps import GapComparison
from xlpt.reporting.language_features import FeatureFile, features_for
from xlpt.reporting.multiplicity import METHODS, adjust
from xlpt.reporting.source import LEGACY_SOURCE
from xlpt.reporting.stats import CORRELATION_RESAMPLES, DEFAULT_SEED, Correlation, correlate, correlation_problem

VARIABLES = {
    "fertility": "Fertility (subwords per word)",
    "log_share": "log10 natural share (pretraining tokens)",
    "log_sampled_share": "log10 sampled share (training mixture, upsampled)",
}
COEFFICIENTS = {"pearson": "Pearson r", "spearman": "Spearman ρ"}
MIN_LANGUAGES = 8
"""Fewest distinct languages for a correlation to be shown as a result (ReportOptions can change it)."""


@dataclass(frozen=True)
class CorrelationFamily:
    """The correlations whose p-values are adjusted together: every one the report shows with an r."""

    method: str
    """"holm" or "bh" (see `multiplicity`)."""
    members: tuple[tuple[str, str, str], ...]
    """(scope, variable, coefficient) of each test, in the order adjusted."""

    @property
    def size(self) -> int:
        return len(self.members)

    def describe(self) -> str:
        """'Holm over 12 correlations: 3 variables × 2 coefficients × 2 scopes (xnli, pawsx)'."""
        head = f"{METHODS[self.method]} over {self.size} correlation{'s' if self.size != 1 else ''}"
        if not self.members:
            return head + " (no correlation computed)"
        scopes = list(dict.fromkeys(m[0] for m in self.members))
        variables = list(dict.fromkeys(m[1] for m in self.members))
        coefficients = list(dict.fromkeys(m[2] for m in self.members))
        coefficient_text = f"{len(coefficients)} coefficients ({', '.join(COEFFICIENTS[c] for c in coefficients)})"
        if len(scopes) * len(variables) * len(coefficients) == self.size:
            return (f"{head}: {len(variables)} variable{'s' if len(variables) != 1 else ''} "
                    f"({', '.join(variables)}) × {coefficient_text} × {len(scopes)} scope"
                    f"{'s' if len(scopes) != 1 else ''} ({', '.join(scopes)})")
        pairs = list(dict.fromkeys((m[0], m[1]) for m in self.members))
        listed = "; ".join(f"{scope}: {variable}" for scope, variable in pairs)
        return f"{head}: {len(pairs)} computed (scope, variable) pairs × {coefficient_text} ({listed})"


@dataclass
class CorrelationAnalysis:
    scope: str
    variable: str
    points: list[tuple[str, float, float]] = field(default_factory=list)
    """(language label, x, gap in percentage points)."""
    left_out: list[tuple[str, str]] = field(default_factory=list)
    """(language label, reason)."""
    result: Correlation | None = None
    problem: str | None = None
    source: Path | None = None
    interpretable: bool = False
    """False when there are too few languages (or no computable correlation): points only, no r."""
    p_adjusted: dict[str, float] = field(default_factory=dict)
    """Coefficient ("pearson", "spearman") -> p adjusted over `family`; empty when not computed."""
    family: CorrelationFamily | None = None

    def languages(self) -> list[str]:
        """Distinct languages among the points (a pooled scope has one point per task and language)."""
        return list(dict.fromkeys(label.rsplit(":", 1)[-1] for label, _, _ in self.points))

    def caption(self) -> str:
        """'n = 14 points, 14 languages: ar, bg, ...' — what the correlation rests on."""
        langs = self.languages()
        return f"n = {len(self.points)} points, {len(langs)} languages: {', '.join(langs) or 'none'}"


def analyse(
    comparisons: list[GapComparison], files: list[FeatureFile],
    resamples: int = CORRELATION_RESAMPLES, seed: int = DEFAULT_SEED, min_languages: int = MIN_LANGUAGES,
    correction: str = "holm", tables: list[TaskTable] | None = None,
) -> list[CorrelationAnalysis]:
    """Per (task, model) and pooled analyses for each variable, their p-values adjusted as one family;
    empty when no tokenization file was given. The comparisons' source languages are never points
    (`tables`, the comparisons' task tables, are only needed for comparisons that do not record them)."""
    if not files:
        return []
    primaries = [c for c in comparisons if c.primary]
    analyses = []
    several_models = len({c.pt.model for c in primaries}) > 1
    for variable in VARIABLES:
        scoped = []
        for comparison in primaries:
            scope = comparison.task + (f" · {short_model(comparison.pt.model)}" if several_models else "")
            sources = source_languages(comparison, tables)
            scoped.append(_scope_points(comparison, files, variable, scope, sources))
        if len(scoped) > 1:
            scoped.append(_pooled(scoped, variable))
        analyses.extend(scoped)
    for analysis in analyses:
        _correlate(analysis, resamples, seed, min_languages)
    adjust_family(analyses, correction)
    return analyses


def source_languages(comparison: GapComparison, tables: list[TaskTable] | None) -> frozenset[str]:
    """The source (training) language(s) of the runs behind a comparison: the comparison's own record,
    else its task table's runs (`RunRecord.source_language`)."""
    sources = getattr(comparison, "sources", None)
    if sources:
        return frozenset(sources)
    table = next((t for t in tables or [] if t.task == comparison.task), None)
    runs = (table.runs.get(comparison.pt, []) + table.runs.get(comparison.ft, [])) if table else []
    return frozenset(run.source_language for run in runs) or frozenset({LEGACY_SOURCE})


def adjust_family(analyses: list[CorrelationAnalysis], correction: str) -> CorrelationFamily:
    """Adjust every computed correlation's Pearson and Spearman p-values together; record the family."""
    computed = [a for a in analyses if a.result is not None]
    members, raw = [], []
    for analysis in computed:
        for coefficient in COEFFICIENTS:
            members.append((analysis.scope, analysis.variable, coefficient))
            raw.append(getattr(analysis.result, f"{coefficient}_p"))
    family = CorrelationFamily(correction, tuple(members))
    adjusted = iter(adjust(raw, correction))
    for analysis in computed:
        analysis.p_adjusted = {coefficient: float(next(adjusted)) for coefficient in COEFFICIENTS}
    for analysis in analyses:
        analysis.family = family
    return family


def _scope_points(comparison: GapComparison, files, variable: str, scope: str,
                  sources: frozenset[str]) -> CorrelationAnalysis:
    analysis = CorrelationAnalysis(scope, variable)
    source = features_for(files, comparison.task, comparison.pt.model)
    analysis.source = source.path if source else None
    for row in comparison.rows:
        if row.lang in sources:
            analysis.left_out.append((row.lang, "training language"))
            continue
        if source is None:
            analysis.left_out.append((row.lang, "no tokenization file for this task"))
            continue
        x, reason = _x_value(source, row.lang, variable)
        if reason:
            analysis.left_out.append((row.lang, reason))
        else:
            analysis.points.append((row.lang, x, 100 * row.gap))
    return analysis


def _x_value(source: FeatureFile, lang: str, variable: str) -> tuple[float | None, str | None]:
    features = source.languages.get(lang)
    if features is None:
        return None, "not in the tokenization file"
    if variable == "fertility":
        if features.fertility is None:
            return None, "no fertility: not whitespace-segmented"
        return features.fertility, None
    if features.in_pretraining is False:
        return None, "unseen in pretraining: no share"
    if variable == "log_sampled_share":
        share, name = features.sampled_share, "sampled share"
    else:
        share, name = features.pretraining_share, "natural share"
    if share is None:
        return None, f"no {name} in the tokenization file"
    if share <= 0:
        return None, f"{name} is 0: log undefined"
    return math.log10(share), None


def _pooled(scoped: list[CorrelationAnalysis], variable: str) -> CorrelationAnalysis:
    pooled = CorrelationAnalysis("all tasks (pooled)", variable)
    for analysis in scoped:
        pooled.points += [(f"{analysis.scope}:{label}", x, y) for label, x, y in analysis.points]
        pooled.left_out += [(f"{analysis.scope}:{label}", reason) for label, reason in analysis.left_out]
    return pooled


def _correlate(analysis: CorrelationAnalysis, resamples: int, seed: int, min_languages: int) -> None:
    xs = [x for _, x, _ in analysis.points]
    ys = [y for _, _, y in analysis.points]
    n_languages = len(analysis.languages())
    if n_languages < min_languages:
        analysis.problem = not_interpretable(n_languages, min_languages)
        return
    problem = correlation_problem(xs, ys)
    if problem:
        analysis.problem = f"not computed: {problem}"
        return
    analysis.result = correlate(xs, ys, resamples, seed)
    analysis.interpretable = True


def not_interpretable(n_languages: int, min_languages: int) -> str:
    return f"not interpretable (n = {n_languages} < {min_languages} languages)"


def summarize_left_out(left_out: list[tuple[str, str]]) -> str:
    """'3 left out: th, zh (fertility is null ...); en (training language)' — grouped by reason."""
    if not left_out:
        return "none left out"
    by_reason: dict[str, list[str]] = {}
    for label, reason in left_out:
        by_reason.setdefault(reason, []).append(label)
    parts = [f"{', '.join(labels)} ({reason})" for reason, labels in by_reason.items()]
    return f"{len(left_out)} left out: " + "; ".join(parts)
