"""Encoded items -> padded tensors, shared by training and evaluation.

Right padding everywhere: XGLM's position ids ignore padding (they default to 0..T-1), so pads go last
and every real token keeps its true position.
"""

from __future__ import annotations

from typing import Iterator, Sequence

import torch

from xlpt.tasks.word_alignment import IGNORE, Window


def pad_right(sequences: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(ids, attention_mask), right padded: one tensor built from the padded lists (a tensor and a copy
    per row cost the tiny model's XNLI evaluation over a second)."""
    lengths = [len(s) for s in sequences]
    width = max(lengths)
    ids = torch.tensor([[*seq, *[pad_id] * (width - length)] for seq, length in zip(sequences, lengths)],
                       dtype=torch.long)
    mask = (torch.arange(width).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)).long()
    return ids, mask


def sorted_batches(lengths: Sequence[int], batch_size: int, max_tokens: int | None = None,
                   extra: int = 0) -> Iterator[list[int]]:
    """Evaluation batches by descending length (the first batch shows peak memory at once), cut by
    `packed_batches`: with `max_tokens` (`extra`: positions added to every row, such as a soft prompt),
    short inputs go in more rows per batch and long ones in fewer, so memory stays bounded by the budget."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    yield from packed_batches(order, lengths, batch_size, max_tokens, extra)


def packed_batches(order: Sequence[int], lengths: Sequence[int], batch_size: int, max_tokens: int | None = None,
                   extra: int = 0) -> Iterator[list[int]]:
    """Cut `order` (indices into `lengths`) into consecutive batches of at most `batch_size` rows and, with
    `max_tokens`, at most that many padded positions (rows x (longest row + `extra`)); a row longer than the
    budget gets a batch of its own. Shared by evaluation (longest first) and training buckets (shortest first)."""
    batch: list[int] = []
    longest = 0
    for index in order:
        if batch and (len(batch) == batch_size or (
                max_tokens is not None and (len(batch) + 1) * (max(longest, lengths[index]) + extra) > max_tokens)):
            yield batch
            batch, longest = [], 0
        batch.append(index)
        longest = max(longest, lengths[index])
    if batch:
        yield batch


def collate_classification(encoded, indices: list[int], pad_id: int) -> dict[str, torch.Tensor]:
    items = [encoded[i] for i in indices]
    ids, mask = pad_right([item.input_ids for item in items], pad_id)
    return {
        "input_ids": ids,
        "attention_mask": mask,
        "last_index": mask.sum(dim=1) - 1,
        "labels": torch.tensor([item.label for item in items], dtype=torch.long),
    }


def collate_windows(windows: list[Window], indices: list[int], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-padded ids plus (B, W) word spans and labels; empty word slots point at position 0 with
    label IGNORE (a valid index to read, never scored)."""
    items = [windows[i] for i in indices]
    ids, mask = pad_right([w.input_ids for w in items], pad_id)
    width = max(1, max(len(w.words) for w in items))
    start = torch.zeros((len(items), width), dtype=torch.long)
    end = torch.ones((len(items), width), dtype=torch.long)
    labels = torch.full((len(items), width), IGNORE, dtype=torch.long)
    for row, window in enumerate(items):
        n = len(window.words)
        if n:
            spans = torch.tensor(window.spans, dtype=torch.long)
            start[row, :n], end[row, :n] = spans[:, 0], spans[:, 1]
            labels[row, :n] = torch.tensor(window.labels, dtype=torch.long)
    return {"input_ids": ids, "attention_mask": mask, "word_start": start, "word_end": end, "labels": labels}
