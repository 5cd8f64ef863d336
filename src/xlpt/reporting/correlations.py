"""Does the PT − FT gap follow tokenization quality or pretraining share? Points, exclusions, correlations.

One point per target language of the primary comparison of each (task, model) (see
`gaps.GapComparison.primary`). English is left out: it is the training language, so its gap measures
in-language learning, not transfer. Points without the explanatory variable are left out and listed
with the reason, so the reader can see how much of the data a correlation rests on. A pooled scope
combines all tasks' points; they are not independent (the same language appears once per task).

A correlation over a handful of languages says next to nothing (with n = 4 a 95 % CI of r spans most
of [-1, 1]), so below `min_languages` distinct languages (default 8) no r, CI or line is computed:
the analysis keeps its points and says "not interpretable (n = 4 < 8)".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from xlpt.reporting.aggregate import is_source_language, short_model
from xlpt.reporting.gaps import GapComparison
from xlpt.reporting.language_features import FeatureFile, features_for
from xlpt.reporting.stats import CORRELATION_RESAMPLES, DEFAULT_SEED, Correlation, correlate, correlation_problem

VARIABLES = {
    "fertility": "Fertility (subwords per word)",
    "log_share": "log10 pretraining share",
}
MIN_LANGUAGES = 8
"""Fewest distinct languages for a correlation to be shown as a result (ReportOptions can change it)."""


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

    def languages(self) -> list[str]:
        """Distinct languages among the points (a pooled scope has one point per task and language)."""
        return list(dict.fromkeys(label.rsplit(":", 1)[-1] for label, _, _ in self.points))


def analyse(
    comparisons: list[GapComparison], files: list[FeatureFile],
    resamples: int = CORRELATION_RESAMPLES, seed: int = DEFAULT_SEED, min_languages: int = MIN_LANGUAGES,
) -> list[CorrelationAnalysis]:
    """Per (task, model) and pooled analyses for each variable; empty when no tokenization file was given."""
    if not files:
        return []
    primaries = [c for c in comparisons if c.primary]
    analyses = []
    several_models = len({c.pt.model for c in primaries}) > 1
    for variable in VARIABLES:
        scoped = []
        for comparison in primaries:
            scope = comparison.task + (f" · {short_model(comparison.pt.model)}" if several_models else "")
            scoped.append(_scope_points(comparison, files, variable, scope))
        if len(scoped) > 1:
            scoped.append(_pooled(scoped, variable))
        analyses.extend(scoped)
    for analysis in analyses:
        _correlate(analysis, resamples, seed, min_languages)
    return analyses


def _scope_points(comparison: GapComparison, files, variable: str, scope: str) -> CorrelationAnalysis:
    analysis = CorrelationAnalysis(scope, variable)
    source = features_for(files, comparison.task, comparison.pt.model)
    analysis.source = source.path if source else None
    for row in comparison.rows:
        if is_source_language(row.lang):
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
    share = features.pretraining_share
    if features.in_pretraining is False:
        return None, "unseen in pretraining: no share"
    if share is None or share <= 0:
        return None, "no pretraining share: null or zero, log undefined"
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
