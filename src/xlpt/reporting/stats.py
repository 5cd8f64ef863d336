"""Statistics for the report: seed summaries and correlations with bootstrap CIs (the PT − FT test is
`seed_bootstrap`).

All resampling is seeded (`numpy.random.default_rng(seed)`), so a report is reproducible byte for byte.
Confidence intervals are percentile intervals of the bootstrap distribution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

CORRELATION_RESAMPLES = 2000
PAIRED_RESAMPLES = 1000
"""Resamples of the PT − FT test (seed_bootstrap)."""
DEFAULT_SEED = 0


@dataclass(frozen=True)
class SeedSummary:
    mean: float
    std: float | None
    """Sample standard deviation (ddof=1); None for a single seed, where it is undefined."""
    n: int


def summarize(values: list[float]) -> SeedSummary:
    arr = np.asarray(values, dtype=float)
    std = float(arr.std(ddof=1)) if arr.size > 1 else None
    return SeedSummary(float(arr.mean()), std, int(arr.size))


@dataclass(frozen=True)
class Correlation:
    n: int
    pearson_r: float
    pearson_p: float
    pearson_ci: tuple[float, float]
    spearman_rho: float
    spearman_p: float
    spearman_ci: tuple[float, float]
    slope: float
    intercept: float
    resamples: int
    degenerate_resamples: int
    """Resamples whose x or y was constant (correlation undefined); left out of the CIs."""


def correlate(x, y, resamples: int = CORRELATION_RESAMPLES, seed: int = DEFAULT_SEED) -> Correlation:
    """Pearson and Spearman correlation (scipy p-values) with point-resampling bootstrap CIs, plus an OLS line.

    Needs at least 3 points and non-constant x and y; the caller checks that (see `correlation_problem`)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    pearson, spearman = sps.pearsonr(x, y), sps.spearmanr(x, y)
    slope, intercept = np.polyfit(x, y, 1)
    idx = np.random.default_rng(seed).integers(0, x.size, size=(resamples, x.size))
    xs, ys = x[idx], y[idx]
    boot_pearson = _rowwise_pearson(xs, ys)
    boot_spearman = _rowwise_pearson(sps.rankdata(xs, axis=1), sps.rankdata(ys, axis=1))
    return Correlation(
        n=int(x.size),
        pearson_r=float(pearson.statistic), pearson_p=float(pearson.pvalue), pearson_ci=_percentile_ci(boot_pearson),
        spearman_rho=float(spearman.statistic), spearman_p=float(spearman.pvalue),
        spearman_ci=_percentile_ci(boot_spearman),
        slope=float(slope), intercept=float(intercept),
        resamples=resamples, degenerate_resamples=int(np.isnan(boot_pearson).sum()),
    )


def correlation_problem(x, y) -> str | None:
    """Why a correlation cannot be computed on these points, or None when it can."""
    if len(x) < 3:
        return f"only {len(x)} point(s); at least 3 are needed"
    if np.ptp(np.asarray(x, dtype=float)) == 0 or np.ptp(np.asarray(y, dtype=float)) == 0:
        return "x or y is constant"
    return None


def _rowwise_pearson(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    xc = xs - xs.mean(axis=1, keepdims=True)
    yc = ys - ys.mean(axis=1, keepdims=True)
    denom = np.sqrt((xc**2).sum(axis=1) * (yc**2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (xc * yc).sum(axis=1) / denom
    r[denom < 1e-12] = np.nan
    return np.clip(r, -1.0, 1.0)


def _percentile_ci(samples: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    finite = samples[np.isfinite(samples)]
    if finite.size == 0:
        return (math.nan, math.nan)
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(finite, [tail, 100 - tail])
    return float(low), float(high)
