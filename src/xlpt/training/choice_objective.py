"""Multiple-choice objective: cross-entropy over each example's choice log-likelihoods.

The N choices of an example are scored as in evaluation (summed continuation log-probabilities, the
context read once: tasks/families/multiple_choice/model.py) and the gold choice's share of the softmax
over them is maximised. Every method trains this way (soft prompt, prefix, LoRA, full fine-tuning): the
scores come from the LM head itself, so there is no task head (head_only has nothing to train and is
refused by its method record). Checkpoints are selected on the task metric over the dev examples.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from xlpt.distributed.devices import to_device
from xlpt.tasks.families.multiple_choice.batch import collate_choices, real_tokens


class ChoiceObjective:
    def __init__(self, task, train_items, dev_items, pad_id: int, eval_batch_size: int):
        self.task, self.train_items, self.dev_items = task, train_items, dev_items
        self.pad_id, self.eval_batch_size = pad_id, eval_batch_size
        self.choices = len(task.labels)

    def train_lengths(self) -> list[int]:
        return [item.length for item in self.train_items]

    def batch(self, indices: list[int], device: torch.device) -> dict[str, torch.Tensor]:
        return to_device(collate_choices(self.train_items, indices, self.pad_id), device)

    def _logits(self, model: nn.Module, batch) -> torch.Tensor:
        return model(batch).view(-1, self.choices)

    def loss(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
        return F.cross_entropy(self._logits(model, batch), batch["labels"]), real_tokens(batch)

    def loss_terms(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int, int]:
        """(summed loss, examples, real tokens): what several processes add up (xlpt.distributed.engine)."""
        total = F.cross_entropy(self._logits(model, batch), batch["labels"], reduction="sum")
        return total, int(batch["labels"].numel()), real_tokens(batch)

    def dev_score(self, model: nn.Module) -> float:
        """The task's headline metric (accuracy, acc_norm, ...) on the selection examples."""
        from xlpt.evaluation.multiple_choice import choice_logliks, predictions

        scores = choice_logliks(model, self.dev_items, self.pad_id, self.eval_batch_size)
        hits = [predictions(item, row)[self.task.metric] == item.label for item, row in zip(self.dev_items, scores)]
        return sum(hits) / max(len(hits), 1)
