"""Seed intervals against scipy's own t-test intervals (an independent implementation)."""

import math

import pytest
from scipy import stats

from xlpt.lab.intervals import binomial_halfwidth, mean_interval, shifted, verdict, welch_interval

SAMPLES = [[0.752, 0.762, 0.767], [0.71, 0.69, 0.74, 0.70, 0.73], [0.30, 0.28]]


@pytest.mark.parametrize("values", SAMPLES)
def test_mean_interval_is_scipys_one_sample_t_interval(values):
    ours = mean_interval(values)
    theirs = stats.ttest_1samp(values, 0.0).confidence_interval(0.95)
    assert ours["low"] == pytest.approx(theirs.low, abs=1e-12) and ours["high"] == pytest.approx(theirs.high, abs=1e-12)
    assert ours["n"] == len(values) and ours["mean"] == pytest.approx(sum(values) / len(values))


@pytest.mark.parametrize("a, b", [(SAMPLES[0], SAMPLES[1]), (SAMPLES[1], SAMPLES[2]), (SAMPLES[2], SAMPLES[0])])
def test_welch_interval_is_scipys_unequal_variance_interval(a, b):
    ours = welch_interval(a, b)
    theirs = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert ours["low"] == pytest.approx(theirs.low, abs=1e-12) and ours["high"] == pytest.approx(theirs.high, abs=1e-12)
    assert ours["n"] == [len(a), len(b)]


def test_fewer_than_two_seeds_give_no_interval_and_no_verdict():
    assert mean_interval([0.7])["low"] is None and verdict(None, None) is None
    assert welch_interval([0.7], [0.3, 0.4])["high"] is None
    assert mean_interval([])["mean"] is None


def test_no_spread_gives_a_zero_width_interval_and_one_spread_set_uses_its_own_degrees_of_freedom():
    assert mean_interval([0.25, 0.25, 0.25])["low"] == 0.25 == mean_interval([0.25] * 3)["high"]
    both = welch_interval([0.8, 0.8], [0.25, 0.25, 0.25])
    assert both["low"] == both["high"] == pytest.approx(0.55)
    one = welch_interval([0.7, 0.8, 0.75], [0.25, 0.25])
    assert one["df"] == pytest.approx(2.0)
    assert one["low"] == pytest.approx(mean_interval([0.7, 0.8, 0.75])["low"] - 0.25)


def test_verdicts_and_shifts():
    assert verdict(0.01, 0.2) == "above" and verdict(-0.3, -0.01) == "below" and verdict(-0.1, 0.1) == "overlaps 0"
    moved = shifted(mean_interval([0.5, 0.6, 0.7]), 0.25)
    assert moved["mean"] == pytest.approx(0.35) and moved["low"] == pytest.approx(mean_interval([0.5, 0.6, 0.7])["low"] - 0.25)
    assert binomial_halfwidth(400) == pytest.approx(1.959964 * math.sqrt(0.25 / 400))
