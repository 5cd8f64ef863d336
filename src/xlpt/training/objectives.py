"""Classification objective: cross-entropy on the class scores at the answer slot.

Only the last real position (and, for multi-token label words, the word's own positions) is read, so
padding and prompt positions can never enter the loss."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from xlpt.distributed.devices import to_device
from xlpt.tasks.collate import collate_classification


class ClassificationObjective:
    def __init__(self, task, train_items, dev_items, pad_id: int, eval_batch_size: int):
        self.task, self.train_items, self.dev_items = task, train_items, dev_items
        self.pad_id, self.eval_batch_size = pad_id, eval_batch_size

    def train_lengths(self) -> list[int]:
        return [len(item.input_ids) for item in self.train_items]

    def batch(self, indices: list[int], device: torch.device) -> dict[str, torch.Tensor]:
        return to_device(collate_classification(self.train_items, indices, self.pad_id), device)

    def loss(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
        logits = model(batch["input_ids"], batch["attention_mask"], batch["last_index"])
        return F.cross_entropy(logits.float(), batch["labels"]), int(batch["attention_mask"].sum())

    def loss_terms(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int, int]:
        """(summed loss, examples, real tokens): what several processes add up (xlpt.distributed.engine)."""
        logits = model(batch["input_ids"], batch["attention_mask"], batch["last_index"])
        total = F.cross_entropy(logits.float(), batch["labels"], reduction="sum")
        return total, int(batch["labels"].numel()), int(batch["attention_mask"].sum())

    def dev_score(self, model: nn.Module) -> float:
        """The task's headline metric (accuracy or macro-F1) on the selection examples."""
        from xlpt.evaluation.classification import predict_classes
        from xlpt.evaluation.metrics import classification_scores

        predictions = predict_classes(model, self.dev_items, self.pad_id, self.eval_batch_size, progress=False)
        labels = self.task.labels
        gold = [labels[item.label] for item in self.dev_items]
        return classification_scores(gold, [labels[p] for p in predictions], labels)[self.task.metric]


PairObjective = ClassificationObjective  # the name used before text classification existed
