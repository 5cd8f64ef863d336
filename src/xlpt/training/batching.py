"""Right-padded batches, length-bucketed so a batch holds similar lengths (less padding, faster)."""

from __future__ import annotations

import random
from typing import Iterator, Sequence

import torch


def pad_right(sequences: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(ids, attention_mask), right padded: XGLM's position ids ignore padding, so pads go last."""
    width = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, seq in enumerate(sequences):
        ids[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
        mask[row, : len(seq)] = 1
    return ids, mask


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


def sorted_batches(lengths: Sequence[int], batch_size: int) -> Iterator[list[int]]:
    """Evaluation batches by descending length (the first batch shows peak memory at once)."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    for start in range(0, len(order), batch_size):
        yield order[start : start + batch_size]


def collate_pairs(encoded, indices: list[int], pad_id: int) -> dict[str, torch.Tensor]:
    items = [encoded[i] for i in indices]
    ids, mask = pad_right([item.input_ids for item in items], pad_id)
    return {
        "input_ids": ids,
        "attention_mask": mask,
        "last_index": mask.sum(dim=1) - 1,
        "labels": torch.tensor([item.label for item in items], dtype=torch.long),
    }
