"""Multiple-comparison corrections: Holm against its defining step-down rule and a worked example,
Benjamini–Hochberg (scipy) against its step-up rule, and the bootstrap-resolution bound."""

from __future__ import annotations

import numpy as np
import pytest

from xlpt.reporting.multiplicity import adjust, holm, smallest_adjusted


def _holm_rejects(p: np.ndarray, alpha: float) -> np.ndarray:
    """Holm's procedure as defined: walk the sorted p-values and reject H_(k) while p_(k) <= alpha / (m - k + 1)."""
    m = p.size
    rejected = np.zeros(m, dtype=bool)
    for k, index in enumerate(np.argsort(p, kind="stable"), start=1):
        if p[index] > alpha / (m - k + 1):
            break
        rejected[index] = True
    return rejected


def _bh_rejects(p: np.ndarray, alpha: float) -> np.ndarray:
    """Benjamini–Hochberg as defined: reject the k smallest, k the largest rank with p_(k) <= k alpha / m."""
    m = p.size
    ordered = np.sort(p)
    passing = [k for k in range(1, m + 1) if ordered[k - 1] <= k * alpha / m]
    if not passing:
        return np.zeros(m, dtype=bool)
    return p <= ordered[max(passing) - 1]


@pytest.mark.parametrize("seed", range(20))
def test_holm_adjusted_p_rejects_exactly_what_the_step_down_rule_rejects(seed):
    rng = np.random.default_rng(seed)
    m = int(rng.integers(1, 40))
    # A mix of true effects (tiny p) and nulls, rounded so that ties occur like bootstrap p-values do.
    p = np.round(np.where(rng.random(m) < 0.3, rng.random(m) * 0.01, rng.random(m)), 3)
    adjusted = holm(p)
    assert np.all((adjusted >= p) & (adjusted <= 1))
    for alpha in (0.001, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5):
        np.testing.assert_array_equal(adjusted <= alpha, _holm_rejects(p, alpha), err_msg=f"alpha={alpha}")


@pytest.mark.parametrize("seed", range(20))
def test_benjamini_hochberg_rejects_exactly_what_the_step_up_rule_rejects(seed):
    rng = np.random.default_rng(100 + seed)
    m = int(rng.integers(1, 40))
    p = np.round(np.where(rng.random(m) < 0.3, rng.random(m) * 0.01, rng.random(m)), 3)
    adjusted = adjust(p, "bh")
    for alpha in (0.001, 0.01, 0.05, 0.1, 0.2):
        np.testing.assert_array_equal(adjusted <= alpha, _bh_rejects(p, alpha), err_msg=f"alpha={alpha}")


def test_worked_example():
    # Sorted 0.005, 0.01, 0.03, 0.04 -> 4*0.005, 3*0.01, 2*0.03, 1*0.04 = 0.02, 0.03, 0.06, 0.04 -> running max.
    np.testing.assert_allclose(holm([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02])
    # BH: 0.005*4/1, 0.01*4/2, 0.03*4/3, 0.04*4/4 = 0.02, 0.02, 0.04, 0.04 (already monotone).
    np.testing.assert_allclose(adjust([0.01, 0.04, 0.03, 0.005], "bh"), [0.02, 0.04, 0.04, 0.02])
    np.testing.assert_allclose(holm([0.6, 0.9]), [1.0, 1.0])  # capped at 1
    np.testing.assert_allclose(holm([0.03]), [0.03])  # a family of one is not adjusted


def test_unknown_method_and_empty_family():
    with pytest.raises(ValueError, match="holm, bh"):
        adjust([0.1], "bonferroni")
    assert adjust([], "holm").size == 0 and adjust([], "bh").size == 0


def test_smallest_reachable_adjusted_p():
    # 198 target languages (SIB-200 without English), 1000 resamples: Holm can get no lower than 198/1001.
    assert smallest_adjusted(198, 1 / 1001, "holm") == pytest.approx(198 / 1001)
    assert smallest_adjusted(198, 1 / 1001, "bh") == pytest.approx(1 / 1001)
    assert smallest_adjusted(0, 0.001, "holm") == 1.0
