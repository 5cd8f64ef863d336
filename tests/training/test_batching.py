"""Training batches: seeded, length-bucketed, unchanged without a token budget, bounded with one."""

import random

from xlpt.training.batching import bucketed_batches


def _lengths(n=1000, seed=1):
    rng = random.Random(seed)
    return [rng.randint(5, 250) for _ in range(n)]


def _previous_version(lengths, batch_size, rng, bucket_factor=50):
    """The algorithm before token budgets existed, written out independently."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    batches = []
    for start in range(0, len(order), batch_size * bucket_factor):
        part = sorted(order[start:start + batch_size * bucket_factor], key=lambda i: lengths[i])
        batches.extend(part[i:i + batch_size] for i in range(0, len(part), batch_size))
    rng.shuffle(batches)
    return batches


def test_without_budget_the_batches_of_a_seed_are_unchanged():
    lengths = _lengths()
    assert bucketed_batches(lengths, 8, random.Random(7)) == _previous_version(lengths, 8, random.Random(7))


def test_token_budget_bounds_rows_times_longest_and_covers_the_epoch():
    lengths = _lengths()
    batches = bucketed_batches(lengths, 16, random.Random(3), max_tokens=1024)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for batch in batches:
        assert len(batch) <= 16
        assert len(batch) * max(lengths[i] for i in batch) <= 1024 or len(batch) == 1
    sizes = {len(b) for b in batches}
    assert max(sizes) == 16 and min(sizes) < 8  # short rows fill batches, long ones get fewer rows
    assert batches == bucketed_batches(lengths, 16, random.Random(3), max_tokens=1024)  # seeded
    assert batches != bucketed_batches(lengths, 16, random.Random(4), max_tokens=1024)
