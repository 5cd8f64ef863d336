"""Batched inference: class predictions for encoded pairs, in input order."""

from __future__ import annotations

import torch
from tqdm.auto import tqdm

from xlpt.training.batching import collate_pairs, sorted_batches


@torch.no_grad()
def predict_pairs(model, items, pad_id: int, batch_size: int, progress: bool = True, desc: str = "predict") -> list[int]:
    model.eval()
    device = next(model.parameters()).device
    predictions = [None] * len(items)
    lengths = [len(item.input_ids) for item in items]
    batches = list(sorted_batches(lengths, batch_size))
    for indices in tqdm(batches, desc=desc, unit="batch", disable=not progress, leave=False):
        batch = collate_pairs(items, indices, pad_id)
        logits = model(batch["input_ids"].to(device), batch["attention_mask"].to(device), batch["last_index"].to(device))
        for index, pred in zip(indices, logits.argmax(dim=-1).tolist()):
            predictions[index] = pred
    return predictions
