"""Statistics against scipy and seqeval, and the gap test's behaviour at the extremes (1 seed: example-only)."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest
from scipy import stats as sps
from seqeval.metrics import f1_score
from seqeval.scheme import IOB2

from xlpt.reporting.predictions import entity_counts, iob2_entities, metric_from_sums
from xlpt.reporting.seed_bootstrap import gap_test
from xlpt.reporting.stats import correlate, correlation_problem, summarize

ratio = partial(metric_from_sums, kind="ratio")


def test_summarize_uses_sample_std_and_no_std_for_one_seed():
    summary = summarize([0.5, 0.6, 0.7])
    assert summary.mean == pytest.approx(0.6)
    assert summary.std == pytest.approx(0.1)  # ddof=1; population std would be 0.0816
    assert summary.n == 3
    assert summarize([0.4]).std is None


def test_correlation_matches_scipy_and_is_seeded():
    rng = np.random.default_rng(3)
    x = rng.normal(size=15)
    y = 0.7 * x + rng.normal(scale=0.5, size=15)
    result = correlate(x, y, resamples=500, seed=1)
    assert result.pearson_r == pytest.approx(sps.pearsonr(x, y).statistic, abs=1e-12)
    assert result.pearson_p == pytest.approx(sps.pearsonr(x, y).pvalue, rel=1e-9)
    assert result.spearman_rho == pytest.approx(sps.spearmanr(x, y).statistic, abs=1e-12)
    assert result.spearman_p == pytest.approx(sps.spearmanr(x, y).pvalue, rel=1e-9)
    slope, intercept = np.polyfit(x, y, 1)
    assert (result.slope, result.intercept) == pytest.approx((slope, intercept))
    low, high = result.pearson_ci
    assert -1 <= low < result.pearson_r < high <= 1
    assert result.spearman_ci[0] < result.spearman_rho < result.spearman_ci[1]
    assert correlate(x, y, resamples=500, seed=1) == result
    assert correlate(x, y, resamples=500, seed=2).pearson_ci != result.pearson_ci


def test_correlation_problems_are_named():
    assert "at least 3" in correlation_problem([1.0, 2.0], [1.0, 2.0])
    assert "constant" in correlation_problem([1.0, 1.0, 1.0], [1.0, 2.0, 3.0])
    assert correlation_problem([1.0, 2.0, 3.0], [3.0, 1.0, 2.0]) is None


def _classification_counts(correct: np.ndarray) -> np.ndarray:
    return np.column_stack([correct.astype(float), np.ones(correct.size)])


def test_identical_systems_have_zero_gap_and_p_one():
    correct = np.random.default_rng(0).random(300) < 0.6
    counts = _classification_counts(correct)
    test = gap_test([counts], [counts.copy()], ratio, resamples=400, seed=0)
    assert test.delta == 0.0
    assert test.ci == (0.0, 0.0)
    assert test.p_value == pytest.approx(1.0)


def test_clearly_better_system_has_small_p_and_ci_above_zero():
    rng = np.random.default_rng(1)
    a = _classification_counts(rng.random(400) < 0.8)
    b = _classification_counts(rng.random(400) < 0.5)
    test = gap_test([a], [b], ratio, resamples=1000, seed=0)
    assert test.delta == pytest.approx(a[:, 0].mean() - b[:, 0].mean())
    assert test.p_value < 0.01
    assert 0 < test.ci[0] < test.delta < test.ci[1]


def test_small_noise_difference_is_not_significant():
    rng = np.random.default_rng(2)
    base = rng.random(300) < 0.6
    flipped = base.copy()
    flipped[:3] = ~flipped[:3]  # three examples differ
    test = gap_test([_classification_counts(base)], [_classification_counts(flipped)], ratio, 1000, 0)
    assert test.p_value > 0.2
    assert test.ci[0] <= 0 <= test.ci[1] or abs(test.delta) < 0.02


def test_the_gap_is_the_difference_of_the_seed_means():
    rng = np.random.default_rng(4)
    a1, a2, b1, b2, b3 = (_classification_counts(rng.random(200) < p) for p in (0.7, 0.6, 0.5, 0.5, 0.4))
    test = gap_test([a1, a2], [b1, b2, b3], ratio, resamples=200, seed=0)  # seeds need not pair up
    expected = (a1[:, 0].mean() + a2[:, 0].mean()) / 2 - (b1[:, 0].mean() + b2[:, 0].mean() + b3[:, 0].mean()) / 3
    assert test.delta == pytest.approx(expected)
    assert test.seeds == (2, 3) and test.units == 200 and test.seed_aware


@pytest.mark.parametrize(
    "gold, pred",
    [
        (["B-PER", "I-PER", "O", "I-LOC"], ["B-PER", "I-PER", "O", "B-LOC"]),
        (["B-PER", "I-LOC", "B-ORG"], ["B-PER", "I-PER", "B-ORG"]),
        (["O", "B-LOC", "I-LOC", "I-LOC"], ["O", "B-LOC", "I-LOC", "O"]),
        (["I-PER", "I-PER", "O"], ["B-PER", "I-PER", "O"]),
    ],
)
def test_entity_f1_matches_seqeval_strict_iob2(gold, pred):
    tp, fp, fn = entity_counts(gold, pred)
    ours = metric_from_sums(np.array([tp, fp, fn], dtype=float), "f1")
    assert float(ours) == pytest.approx(f1_score([gold], [pred], mode="strict", scheme=IOB2))


def test_iob2_spans_and_summed_f1_over_sentences():
    assert iob2_entities(["B-PER", "I-PER", "B-PER", "O", "I-LOC"]) == {("PER", 0, 2), ("PER", 2, 3)}
    golds = [["B-PER", "I-PER", "O"], ["B-LOC", "O"], ["O", "O"]]
    preds = [["B-PER", "I-PER", "O"], ["B-PER", "O"], ["B-LOC", "O"]]
    sums = np.array([entity_counts(g, p) for g, p in zip(golds, preds)], dtype=float).sum(axis=0)
    assert float(metric_from_sums(sums, "f1")) == pytest.approx(f1_score(golds, preds, mode="strict", scheme=IOB2))
