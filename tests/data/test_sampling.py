"""Caps draw seeded, stratified samples (data/sampling.py), never the first N rows."""

from __future__ import annotations

from collections import Counter

import pytest

from xlpt.data.loading import load_split
from xlpt.data.sampling import draw
from xlpt.tasks import get_task


def test_a_stratified_sample_keeps_each_labels_share_within_one_row():
    strata = ["a"] * 600 + ["b"] * 300 + ["c"] * 100  # sorted by label, like XNLI's English train file
    sample = draw(range(1000), 97, seed=3, strata=strata)
    counts = Counter(strata[i] for i in sample.indices)
    assert sum(counts.values()) == 97 and sample.indices == sorted(sample.indices) and len(set(sample.indices)) == 97
    for label, share in (("a", 0.6), ("b", 0.3), ("c", 0.1)):
        assert abs(counts[label] - 97 * share) < 1, (label, counts)


def test_the_draw_is_seeded_and_recorded():
    strata = [i % 3 for i in range(500)]
    first, again, other = (draw(range(500), 50, seed, strata) for seed in (7, 7, 8))
    assert first.indices == again.indices and first.indices != other.indices
    ids = [f"row-{i}" for i in range(500)]
    record = first.record("train", ids)
    assert record == {"split": "train", "seed": 7, "n": 50, "of": 500, "hash": again.record("train", ids)["hash"],
                      "stratified_by": "label"}
    assert record["hash"] != other.record("train", ids)["hash"]


def test_a_rare_label_is_not_rounded_away_and_unit_sampling_ignores_labels():
    strata = ["common"] * 995 + ["rare"] * 5
    assert "rare" in {strata[i] for i in draw(range(1000), 10, 0, strata).indices}
    sample = draw(range(40), 10, seed=1)  # tagging: whole sentences, no labels
    assert len(sample.indices) == 10 and not sample.stratified and sample.record("dev")["stratified_by"] == "sentence"


def test_no_cap_or_a_cap_above_the_rows_keeps_everything_in_order():
    assert draw([5, 2, 9], None, 0).indices == [5, 2, 9]
    assert draw([1, 2, 3], 10, 0, ["x"] * 4).indices == [1, 2, 3]


def test_a_sample_draws_only_from_the_rows_given():
    strata = ["a", "b"] * 50
    rows = list(range(0, 100, 2)) + [1, 3, 5]  # all "a" rows and three "b" rows
    sample = draw(rows, 20, 0, strata)
    assert set(sample.indices) <= set(rows)
    assert Counter(strata[i] for i in sample.indices) == {"a": 19, "b": 1}  # 50:3 of 20, largest remainder


def test_the_real_xnli_train_prefix_is_one_label_and_the_sample_is_not(data_dir):
    """The trap behind the rule: XNLI's English train file is sorted by label."""
    examples = load_split(get_task("xnli"), "en", "train", data_dir).examples
    assert {e.label for e in examples[:2000]} == {"entailment"}
    sample = draw(range(len(examples)), 2000, 0, [e.label for e in examples])
    counts = Counter(examples[i].label for i in sample.indices)
    full = Counter(e.label for e in examples)
    assert set(counts) == set(full) and all(abs(counts[k] - 2000 * full[k] / len(examples)) < 1 for k in full)


@pytest.mark.parametrize("cap", [1, 2, 3])
def test_tiny_caps_take_as_many_labels_as_they_can(cap):
    strata = ["a"] * 90 + ["b"] * 9 + ["c"] * 1
    counts = Counter(strata[i] for i in draw(range(100), cap, 0, strata).indices)
    assert sum(counts.values()) == cap and len(counts) == cap
