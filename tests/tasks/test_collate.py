"""Evaluation batches: longest first, every item once, rows and (optionally) padded tokens bounded."""

import random

import pytest
import torch

from xlpt.tasks.collate import pad_right, sorted_batches


def _lengths(n=500, seed=0):
    rng = random.Random(seed)
    return [rng.randint(3, 300) for _ in range(n)]


def test_row_batches_are_the_descending_sort_cut_every_batch_size():
    lengths = _lengths()
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    expected = [order[i:i + 32] for i in range(0, len(order), 32)]
    assert list(sorted_batches(lengths, 32)) == expected


@pytest.mark.parametrize("budget,extra", [(2048, 0), (2048, 20), (100, 0)])
def test_token_budget_bounds_padded_positions_and_keeps_every_item_once(budget, extra):
    lengths = _lengths()
    batches = list(sorted_batches(lengths, 64, max_tokens=budget, extra=extra))
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    flat = [lengths[i] for b in batches for i in b]
    assert flat == sorted(flat, reverse=True)  # still longest first
    for batch in batches:
        padded = len(batch) * (max(lengths[i] for i in batch) + extra)
        assert len(batch) <= 64
        assert padded <= budget or len(batch) == 1  # an over-long row is alone
    # short rows really share bigger batches than long ones
    assert len(batches[-1]) > len(batches[0])


def test_pad_right_keeps_real_tokens_first():
    ids, mask = pad_right([[5, 6, 7], [8]], pad_id=1)
    assert ids.tolist() == [[5, 6, 7], [8, 1, 1]]
    assert mask.tolist() == [[1, 1, 1], [1, 0, 0]]
    ids, mask = pad_right([(4,), [], [9, 9]], pad_id=-1)  # tuples, an empty row, a negative pad value
    assert ids.tolist() == [[4, -1], [-1, -1], [9, 9]] and ids.dtype == torch.long
    assert mask.tolist() == [[1, 0], [0, 0], [1, 1]] and mask.dtype == torch.long
