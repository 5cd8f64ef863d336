"""Training batches: shuffled, then length-bucketed so a batch holds similar lengths (less padding)."""

from __future__ import annotations

import random
from typing import Sequence

from xlpt.tasks.collate import packed_batches


def bucketed_batches(lengths: Sequence[int], batch_size: int, rng: random.Random,
                     bucket_factor: int = 50, max_tokens: int | None = None) -> list[list[int]]:
    """Shuffle, then sort within chunks of `batch_size * bucket_factor`, then shuffle the batches.

    Keeps randomness across the epoch while batches hold similar lengths. With `max_tokens`, a batch also
    stops before its padded size (rows x longest row) would exceed the budget, so batches of long inputs
    hold fewer rows (memory bounded by the budget; a row longer than it trains alone). Without it the
    batches are exactly those of earlier versions (same seed, same batches)."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    chunk = batch_size * bucket_factor
    batches = []
    for start in range(0, len(order), chunk):
        part = sorted(order[start : start + chunk], key=lambda i: lengths[i])
        batches += packed_batches(part, lengths, batch_size, max_tokens)
    rng.shuffle(batches)
    return batches
