"""The seed-aware PT − FT test (reporting.seed_bootstrap) against a plain-Python recomputation with the
same draws, its calibration under simulated nulls, and the lab's greek case, where an example-only
bootstrap with seeds averaged calls a gap significant that three seeds per method cannot separate from 0."""

from __future__ import annotations

import math
import time
from functools import partial

import numpy as np
import pytest

from xlpt.reporting.predictions import entity_counts, metric_from_sums
from xlpt.reporting.seed_bootstrap import example_draws, gap_test, seed_draws

ratio = partial(metric_from_sums, kind="ratio")
f1 = partial(metric_from_sums, kind="f1")


def _accuracy_counts(correct) -> np.ndarray:
    correct = np.asarray(correct, dtype=float)
    return np.column_stack([correct, np.ones_like(correct)])


def _reference(counts_a, counts_b, kind: str, resamples: int, seed: int):
    """The statistic of every resample, written out with Python loops over the same draws."""
    def metric(rows):  # rows: list of per-unit count tuples
        sums = [sum(column) for column in zip(*rows)]
        if kind == "f1":
            tp, fp, fn = sums
            return 2 * tp / (2 * tp + fp + fn) if 2 * tp + fp + fn else 0.0
        return sums[0] / sums[1] if sums[1] else 0.0

    rows_of = [[tuple(row) for row in counts.tolist()] for counts in list(counts_a) + list(counts_b)]
    n_a, n_b = len(counts_a), len(counts_b)
    observed = [metric(rows) for rows in rows_of]
    delta = sum(observed[:n_a]) / n_a - sum(observed[n_a:]) / n_b
    examples = example_draws(len(rows_of[0]), resamples, seed)
    picks_a, picks_b = seed_draws(n_a, n_b, resamples, seed)
    deltas = []
    for r in range(resamples):
        on_drawn = [metric([rows[i] for i in examples[r]]) for rows in rows_of]
        means = []
        for runs, picks, n in ((on_drawn[:n_a], picks_a[r], n_a), (on_drawn[n_a:], picks_b[r], n_b)):
            centre = sum(runs) / n
            drawn = sum(runs[j] for j in picks) / n
            means.append(centre + math.sqrt(n / (n - 1)) * (drawn - centre))
        deltas.append(means[0] - means[1])
    tail = min(sum(d <= 0 for d in deltas), sum(d >= 0 for d in deltas))
    return delta, deltas, min(1.0, 2 * (1 + tail) / (1 + resamples))


def test_accuracy_matches_a_plain_python_loop_over_the_same_draws():
    rng = np.random.default_rng(11)
    pt = [_accuracy_counts(rng.random(15) < p) for p in (0.8, 0.6, 0.7)]
    ft = [_accuracy_counts(rng.random(15) < p) for p in (0.5, 0.6)]
    test = gap_test(pt, ft, ratio, resamples=60, seed=5)
    delta, deltas, p = _reference(pt, ft, "ratio", 60, 5)
    assert test.seed_aware and test.seeds == (3, 2) and test.units == 15
    assert test.delta == pytest.approx(delta, abs=1e-12)
    assert test.bootstrap_p == pytest.approx(p, abs=1e-12)
    assert test.bootstrap_ci == pytest.approx(tuple(np.percentile(deltas, [2.5, 97.5])), abs=1e-12)
    _check_combined(test)


def _sentence(rng) -> tuple[list[str], list[str]]:
    length = int(rng.integers(3, 8))
    gold = ["O"] * length
    start = int(rng.integers(0, length - 1))
    gold[start], gold[start + 1] = "B-PER", "I-PER"
    pred = list(gold)
    if rng.random() < 0.4:
        pred[start] = "O" if rng.random() < 0.5 else "B-LOC"
    return gold, pred


def test_entity_f1_matches_the_loop_with_summed_unit_counts():
    """F1 is not a mean over sentences: each resample must sum tp, fp, fn over the drawn sentences first."""
    rng = np.random.default_rng(3)
    runs = [np.array([entity_counts(*_sentence(rng)) for _ in range(12)], dtype=float) for _ in range(4)]
    test = gap_test(runs[:2], runs[2:], f1, resamples=40, seed=2)
    delta, deltas, p = _reference(runs[:2], runs[2:], "f1", 40, 2)
    assert test.delta == pytest.approx(delta, abs=1e-12)
    assert test.bootstrap_p == pytest.approx(p, abs=1e-12)
    assert test.bootstrap_ci == pytest.approx(tuple(np.percentile(deltas, [2.5, 97.5])), abs=1e-12)
    _check_combined(test)


def _check_combined(test) -> None:
    """The verdict needs both the bootstrap and Welch's t over the runs' scores: max p, hull of the CIs."""
    assert test.p_value == max(test.bootstrap_p, test.seed_t_p)
    assert test.ci == (min(test.bootstrap_ci[0], test.seed_t_ci[0]), max(test.bootstrap_ci[1], test.seed_t_ci[1]))


def test_the_seed_level_t_test_is_welchs_computed_by_hand():
    from scipy.stats import t as t_distribution

    from xlpt.reporting.seed_bootstrap import welch_test

    a, b = np.array([0.68, 0.715, 0.75]), np.array([0.753, 0.761, 0.769])
    va, vb = a.var(ddof=1) / 3, b.var(ddof=1) / 3
    df = (va + vb) ** 2 / (va ** 2 / 2 + vb ** 2 / 2)
    half = t_distribution.ppf(0.975, df) * math.sqrt(va + vb)
    delta = a.mean() - b.mean()
    (low, high), p = welch_test(a, b)
    assert (low, high) == pytest.approx((delta - half, delta + half), abs=1e-12)
    assert p == pytest.approx(2 * t_distribution.sf(abs(delta) / math.sqrt(va + vb), df), abs=1e-12)
    assert low < 0 < high  # the greek gap: three seeds cannot separate it from 0
    assert welch_test(np.array([0.5, 0.5]), np.array([0.5, 0.5])) == ((0.0, 0.0), 1.0)


def test_one_seed_of_a_method_is_example_only():
    rng = np.random.default_rng(4)
    a1, a2, b = (_accuracy_counts(rng.random(300) < p) for p in (0.7, 0.65, 0.5))
    single = gap_test([a1], [b], ratio, resamples=300, seed=1)
    mixed = gap_test([a1, a2], [b], ratio, resamples=300, seed=1)
    assert not single.seed_aware and not mixed.seed_aware and mixed.seeds == (2, 1)
    # example-only: the drawn rows alone, seeds averaged; computed here from the same row draws
    draws = example_draws(300, 300, 1)
    deltas = [a1[rows, 0].mean() - b[rows, 0].mean() for rows in draws]
    assert single.ci == pytest.approx(tuple(np.percentile(deltas, [2.5, 97.5])), abs=1e-12)
    assert single.seed_t_p is None and single.p_value == single.bootstrap_p


def _null_rate(simulations: int, seeds: int, seed_sd: float, examples: int = 200, resamples: int = 400) -> float:
    """Share of p < 0.05 when PT and FT are one distribution: per-example difficulty shared by all runs,
    each run's skill N(0, seed_sd) on the logit scale, each answer a Bernoulli draw."""
    rng = np.random.default_rng(2024)
    hits = 0
    for sim in range(simulations):
        difficulty = rng.normal(0.5, 1.5, examples)

        def runs():
            skill = rng.normal(0, seed_sd, (seeds, 1))
            return [_accuracy_counts(row) for row in rng.random((seeds, examples)) < 1 / (1 + np.exp(-(difficulty + skill)))]

        hits += gap_test(runs(), runs(), ratio, resamples, seed=sim).p_value < 0.05
    return hits / simulations


def test_calibration_under_the_null():
    """400 simulated nulls with 3 seeds per method and seed variance comparable to the example noise
    (logit sd 0.6: run accuracies spread about ±4 pp): p < 0.05 in 5 % ± 3 % of them (measured 6.75 %;
    the binomial standard error of 400 cases is 1.1 %). Without seed variance the test is conservative
    (measured 0.25 %): the drawn rows vary each run's answers a second time. Measured and not asserted, the
    test's known limit: with seed variance far above the example noise (logit sd 1.2) 13.25 % at 3 seeds and
    6.0 % at 5 seeds; at logit sd 0.6, 10.25 % at 2 seeds — a few seeds cannot pin a large seed variance
    down (a t interval over seeds is wider; see docs/lab.md)."""
    assert _null_rate(400, 3, 0.6) <= 0.08
    assert _null_rate(200, 3, 0.0) <= 0.05
    assert _null_rate(400, 3, 1.2) <= 0.08  # seed variance dominant: the bootstrap alone gave 13.25 %
    assert _null_rate(200, 2, 0.6) <= 0.08  # two seeds: the bootstrap alone gave 10.25 %


def _ranked_runs(accuracies, order: np.ndarray, rng, swaps: int = 8) -> list[np.ndarray]:
    """Runs that get exactly round(accuracy * N) examples right: the easiest by a ranking shared by every
    run, with `swaps` examples swapped across the boundary per run. Strongly correlated answers, as two
    methods fine-tuned on one model give, so an example-only test is sharp."""
    runs = []
    for accuracy in accuracies:
        k = round(accuracy * order.size)
        right = np.zeros(order.size, dtype=bool)
        right[order[:k]] = True
        right[rng.choice(order[k:], swaps, replace=False)] = True
        right[rng.choice(order[:k], swaps, replace=False)] = False
        runs.append(_accuracy_counts(right))
    return runs


def test_large_seed_variance_example_only_significant_seed_aware_not():
    """The lab's greek case (docs/lab.md, tiny preset, 400 test sentences): PT 0.680 / 0.715 / 0.750 (seed sd
    0.035), FT 0.753 / 0.761 / 0.769; gap −0.046, 3-seed Welch interval [−0.133, +0.041]. The example-only
    bootstrap with seeds averaged (the report's former test) gives what the issue quotes, −4.6 pp
    [−6.6, −2.6]; the seed-aware test does not separate the gap from 0."""
    rng = np.random.default_rng(0)
    order = rng.permutation(400)
    pt = _ranked_runs((0.680, 0.715, 0.750), order, rng)
    ft = _ranked_runs((0.753, 0.761, 0.769), order, rng)
    averaged = gap_test([np.mean(pt, axis=0)], [np.mean(ft, axis=0)], ratio, 2000, 0)  # the former test
    aware = gap_test(pt, ft, ratio, 2000, 0)
    assert aware.delta == pytest.approx(averaged.delta) == pytest.approx(-0.0458, abs=1e-3)
    assert averaged.p_value < 0.005 and averaged.ci[1] < -0.02  # measured [−0.066, −0.026]
    assert aware.p_value > 0.05 and aware.ci[0] < 0 < aware.ci[1]  # measured p 0.061, [−0.097, +0.001]
    assert aware.ci[1] - aware.ci[0] > 2 * (averaged.ci[1] - averaged.ci[0])


def test_identical_runs_give_p_one_even_with_seeds():
    rng = np.random.default_rng(0)
    runs = [_accuracy_counts(rng.random(100) < 0.6) for _ in range(3)]
    test = gap_test(runs, [r.copy() for r in runs], ratio, resamples=200, seed=0)
    assert test.delta == 0.0 and test.p_value == pytest.approx(1.0)


def test_a_199_language_report_stays_fast():
    """SIB-200's size: 199 languages x (3 PT + 3 FT seeds) x 204 examples x 1,000 resamples."""
    rng = np.random.default_rng(1)
    languages = [[_accuracy_counts(rng.random(204) < 0.6) for _ in range(6)] for _ in range(199)]
    started = time.perf_counter()
    tests = [gap_test(runs[:3], runs[3:], ratio, 1000, 0) for runs in languages]
    elapsed = time.perf_counter() - started
    assert all(t.seed_aware for t in tests)
    assert elapsed < 10, f"{elapsed:.1f} s"  # measured about 1 s on one loaded core
