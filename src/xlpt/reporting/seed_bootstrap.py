"""The PT − FT test: a hierarchical bootstrap over seeds and examples (seed-aware), or over examples only.

A gap between two methods varies with the training seed as much as with the test examples: the lab's
greek PT − FT gap is −4.6 pp [−6.6, −2.7] by a bootstrap over examples with seeds averaged (the report's
former test), while its 3-seed interval is −0.046 [−0.133, +0.041]. So with at least 2 seeds per method the
test resamples both levels, in every resample r:

1. examples: one draw of the N test rows with replacement, the same rows for every run of both methods
   (all runs are scored on the same test set, so that set's sampling error is shared, not independent);
2. seeds: each method's runs with replacement (n_PT of the PT runs, n_FT of the FT runs);
3. the metric of each drawn run on the drawn rows (from summed unit counts, so entity F1 is exact), the
   method's mean over its drawn runs, and gap*_r = mean PT − mean FT.

The seed level is corrected for the bootstrap's known shrinkage: the mean of n values drawn with
replacement varies (n − 1)/n times as much as a fresh mean of n seeds would, so each method's resampled
mean is moved away from that method's all-seed mean (on the same drawn rows) by sqrt(n / (n − 1)).
A bootstrap over 2-5 seeds cannot pin a large seed variance down: alone, it gave p < 0.05 in 13.25 % of
simulated nulls with 3 seeds per method when the seed variance dominates (10.25 % with 2 seeds). So the
seed-aware verdict also requires Welch's t-test over the runs' own scores (one score per seed: the seed
variance with t's small-sample quantiles): p = max(bootstrap p, Welch p), and the CI is the hull of the two
95% intervals, so "p < 0.05" and "the CI excludes 0" still agree. Each component is kept in the result.
Calibration (tests/reporting/test_seed_bootstrap.py, simulated nulls, 200 examples, 3 seeds per method):
p < 0.05 in at most 5 % ± 3 % of cases whether the seed variance is absent, comparable to the example
noise or dominant. The report states the seeds every test rests on.

CI: the 2.5 and 97.5 percentiles of gap*. Two-sided p for gap = 0, the percentile interval's own dual:
p = min(1, 2 (1 + min(#{r: gap*_r <= 0}, #{r: gap*_r >= 0})) / (1 + R)), so p < 0.05 exactly when 0 lies
outside the 95% interval (up to the +1s that keep p above 0); its floor is 2 / (1 + R). Identical methods
give gap 0 and p = 1. (A p from the shifted distribution, |gap* − gap| >= |gap|, can disagree with the
percentile CI when gap* is skewed, as a seed level of 3 runs makes it.)

With 1 seed for either method there is no seed level to resample: the same draws of examples give an
example-only CI and p (`seed_aware` False). Seed variance is then unmeasured, and the report marks
nothing on such a test (see gaps.GapComparison.family).

Everything is vectorised over resamples: a resample's per-run counts are one (R, N) x (N, runs * k)
product of draw counts and unit counts. Measured on one loaded core: 199 SIB-200 languages x (3 + 3) seeds
x 204 examples x 1,000 resamples, about 1 s of bootstrap; through `gap_comparisons`, reading the 1,194
prediction files included, 2.1 s (2.4 s at 8,000 resamples, the files already read).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import numpy as np

from xlpt.reporting.stats import DEFAULT_SEED, PAIRED_RESAMPLES


@dataclass(frozen=True)
class GapTest:
    delta: float
    """mean over PT seeds of the metric − mean over FT seeds, from the prediction files."""
    ci: tuple[float, float]
    p_value: float
    seeds: tuple[int, int]
    """(PT runs, FT runs) with predictions for this language."""
    units: int
    resamples: int
    seed_aware: bool
    """True: seeds and examples resampled (>= 2 seeds per method); False: examples only (seed variance
    unmeasured: never a basis for "significant")."""
    bootstrap_ci: tuple[float, float] | None = None
    bootstrap_p: float | None = None
    """The hierarchical (or example-only) bootstrap's own interval and p."""
    seed_t_ci: tuple[float, float] | None = None
    seed_t_p: float | None = None
    """Welch's t-test over the runs' scores (seed-aware tests only); `ci`/`p_value` combine both."""


def gap_test(
    counts_a: list[np.ndarray],
    counts_b: list[np.ndarray],
    metric: Callable[[np.ndarray], np.ndarray],
    resamples: int = PAIRED_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> GapTest:
    """Test mean metric(A runs) − mean metric(B runs) = 0.

    `counts_a[i]` is run i of method A as a (units, k) count matrix, rows aligned on the same units for
    every run of both methods; `metric` maps counts summed over units (..., k) to the metric (...)."""
    runs = np.stack(list(counts_a) + list(counts_b))  # (runs, units, k)
    n_a, n_b = len(counts_a), len(counts_b)
    n_runs, units, k = runs.shape
    observed = metric(runs.sum(axis=1))  # (runs,)
    delta = float(observed[:n_a].mean() - observed[n_a:].mean())
    weights = _example_weights(units, resamples, seed)  # (R, units)
    boot = metric((weights @ runs.transpose(1, 0, 2).reshape(units, n_runs * k)).reshape(resamples, n_runs, k))
    seed_aware = n_a >= 2 and n_b >= 2
    if not seed_aware:
        deltas = boot[:, :n_a].mean(axis=1) - boot[:, n_a:].mean(axis=1)
        ci, p = _percentile_ci(deltas), two_sided_p(deltas)
        return GapTest(delta, ci, p, (n_a, n_b), units, resamples, False, ci, p)
    picks_a, picks_b = seed_draws(n_a, n_b, resamples, seed)
    deltas = _seed_mean(boot[:, :n_a], picks_a) - _seed_mean(boot[:, n_a:], picks_b)
    ci, p = _percentile_ci(deltas), two_sided_p(deltas)
    t_ci, t_p = welch_test(observed[:n_a], observed[n_a:])
    return GapTest(delta, (min(ci[0], t_ci[0]), max(ci[1], t_ci[1])), max(p, t_p), (n_a, n_b), units, resamples,
                   True, ci, p, t_ci, t_p)


def welch_test(a: np.ndarray, b: np.ndarray, level: float = 0.95) -> tuple[tuple[float, float], float]:
    """(CI, two-sided p) of mean(a) − mean(b) by Welch's t-test (scipy). Runs that agree exactly within each
    method have no spread to test against: the gap is then certain (p 0) unless it is 0 (p 1)."""
    import warnings

    from scipy import stats

    delta = float(np.mean(a) - np.mean(b))
    if np.var(a) == 0 and np.var(b) == 0:
        return (delta, delta), (1.0 if delta == 0 else 0.0)
    with warnings.catch_warnings():  # nearly equal scores: scipy warns about precision, the result stands
        warnings.simplefilter("ignore", RuntimeWarning)
        result = stats.ttest_ind(a, b, equal_var=False)
    interval = result.confidence_interval(level)
    return (float(interval.low), float(interval.high)), float(result.pvalue)


def two_sided_p(deltas: np.ndarray) -> float:
    """Twice the smaller share of resampled gaps on either side of 0 (each count + 1), capped at 1."""
    tail = min(int((deltas <= 1e-12).sum()), int((deltas >= -1e-12).sum()))
    return min(1.0, 2 * (1 + tail) / (1 + deltas.size))


def p_floor(resamples: int) -> float:
    """The smallest p `two_sided_p` can give: no resample on the far side of 0."""
    return 2 / (1 + resamples)


def _seed_mean(boot: np.ndarray, picks: np.ndarray) -> np.ndarray:
    """Per resample: the mean over the drawn runs, its deviation from the all-run mean scaled by
    sqrt(n / (n - 1)) (the bootstrap's variance shrinkage of a mean of n undone)."""
    n = boot.shape[1]
    centre = boot.mean(axis=1)
    drawn = np.take_along_axis(boot, picks, axis=1).mean(axis=1)
    return centre + math.sqrt(n / (n - 1)) * (drawn - centre)


def example_draws(units: int, resamples: int, seed: int) -> np.ndarray:
    """The drawn row indices, (resamples, units): `numpy.random.default_rng(seed)`, one draw shared by
    every run of both methods (exposed so that tests can recompute the statistic by hand)."""
    return np.random.default_rng(seed).integers(0, units, size=(resamples, units))


def seed_draws(n_a: int, n_b: int, resamples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The drawn run indices of each method, (resamples, n_a) and (resamples, n_b), from a stream of
    their own (`default_rng([seed, 1])`), so the example draws match the example-only test's."""
    rng = np.random.default_rng([seed, 1])
    return rng.integers(0, n_a, size=(resamples, n_a)), rng.integers(0, n_b, size=(resamples, n_b))


@lru_cache(maxsize=2)
def _example_weights(units: int, resamples: int, seed: int) -> np.ndarray:
    """How often each unit is drawn in each resample, as a (resamples, units) matrix.

    Cached: every language of a task with the same test size reuses one draw, which keeps a report
    over hundreds of languages fast (the draw, not the arithmetic, dominates)."""
    idx = example_draws(units, resamples, seed)
    offsets = (np.arange(resamples) * units)[:, None]
    counts = np.bincount((idx + offsets).ravel(), minlength=resamples * units)
    weights = counts.reshape(resamples, units).astype(np.float64)
    weights.flags.writeable = False
    return weights


def _percentile_ci(samples: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(samples, [tail, 100 - tail])
    return float(low), float(high)
