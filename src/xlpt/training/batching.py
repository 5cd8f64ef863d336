"""Training batches: shuffled, then length-bucketed so a batch holds similar lengths (less padding)."""

from __future__ import annotations

import random
from typing import Sequence


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
        if max_tokens is None:
            batches += [part[i : i + batch_size] for i in range(0, len(part), batch_size)]
        else:
            batches += _within_budget(part, lengths, batch_size, max_tokens)
    rng.shuffle(batches)
    return batches


def _within_budget(ascending: list[int], lengths: Sequence[int], batch_size: int, max_tokens: int) -> list[list[int]]:
    """Consecutive batches of indices sorted by ascending length: each ends at `batch_size` rows or when
    the next row would push rows x longest (the next row's length) over `max_tokens`."""
    batches, batch = [], []
    for index in ascending:
        if batch and (len(batch) == batch_size or (len(batch) + 1) * lengths[index] > max_tokens):
            batches.append(batch)
            batch = []
        batch.append(index)
    if batch:
        batches.append(batch)
    return batches
