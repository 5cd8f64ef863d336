"""Sentence-pair classification objective: cross-entropy on the class scores at the answer slot.

Only the last real position is read, so padding and prompt positions can never enter the loss."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from xlpt.training.batching import collate_pairs


class PairObjective:
    def __init__(self, train_items, dev_items, pad_id: int, eval_batch_size: int, progress: bool = False):
        self.train_items, self.dev_items = train_items, dev_items
        self.pad_id, self.eval_batch_size, self.progress = pad_id, eval_batch_size, progress

    def train_lengths(self) -> list[int]:
        return [len(item.input_ids) for item in self.train_items]

    def batch(self, indices: list[int], device: torch.device) -> dict[str, torch.Tensor]:
        return {k: v.to(device) for k, v in collate_pairs(self.train_items, indices, self.pad_id).items()}

    def loss(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
        logits = model(batch["input_ids"], batch["attention_mask"], batch["last_index"])
        return F.cross_entropy(logits.float(), batch["labels"]), int(batch["attention_mask"].sum())

    def dev_score(self, model: nn.Module) -> float:
        from xlpt.evaluation.predict import predict_pairs

        predictions = predict_pairs(model, self.dev_items, self.pad_id, self.eval_batch_size, progress=False)
        gold = [item.label for item in self.dev_items]
        return sum(p == g for p, g in zip(predictions, gold)) / max(1, len(gold))
