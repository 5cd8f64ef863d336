"""Training batches: shuffled, then length-bucketed so a batch holds similar lengths (less padding)."""

from __future__ import annotations

import random
from typing import Sequence


def bucketed_batches(lengths: Sequence[int], batch_size: int, rng: random.Random,
                     bucket_factor: int = 50) -> list[list[int]]:
    """Shuffle, then sort within chunks of `batch_size * bucket_factor`, then shuffle the batches.

    Keeps randomness across the epoch while batches hold similar lengths."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    chunk = batch_size * bucket_factor
    batches = []
    for start in range(0, len(order), chunk):
        part = sorted(order[start : start + chunk], key=lambda i: lengths[i])
        batches += [part[i : i + batch_size] for i in range(0, len(part), batch_size)]
    rng.shuffle(batches)
    return batches
