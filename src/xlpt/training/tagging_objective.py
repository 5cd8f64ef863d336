"""Word tagging objective: cross-entropy over the words each window predicts.

A batch lists, per window, only the words predicted there (context words of later windows are not
listed); word slots beyond a window's own words are padding with label IGNORE. So the loss sees exactly
one position per predicted word, never a padding, prompt or non-chosen subword position.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from xlpt.distributed.devices import to_device
from xlpt.tasks.collate import collate_windows
from xlpt.tasks.word_alignment import IGNORE, Window, encode_tagged


def tagging_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over the labeled word slots (IGNORE slots excluded)."""
    return F.cross_entropy(logits.float().flatten(0, 1), labels.flatten(), ignore_index=IGNORE)


class TaggingObjective:
    def __init__(self, task, train_windows: list[Window], dev_sentences: list, dev_windows: list[Window],
                 pad_id: int, eval_batch_size: int):
        self.train_windows, self.dev_sentences, self.dev_windows = train_windows, dev_sentences, dev_windows
        self.task, self.pad_id, self.eval_batch_size = task, pad_id, eval_batch_size

    @classmethod
    def from_examples(cls, task, cfg, tokenizer, train_examples, dev_examples, log=print) -> "TaggingObjective":
        train_windows, report = encode_tagged(train_examples, tokenizer, task.labels, cfg.data.max_length)
        dev_windows, dev_report = encode_tagged(dev_examples, tokenizer, task.labels, cfg.data.max_length)
        log(f"train: {report.describe(cfg.data.max_length)}")
        log(f"dev: {dev_report.describe(cfg.data.max_length)}")
        return cls(task, train_windows, list(dev_examples), dev_windows, tokenizer.pad_token_id,
                   cfg.train.eval_batch_size)

    def train_lengths(self) -> list[int]:
        return [len(w.input_ids) for w in self.train_windows]

    def batch(self, indices: list[int], device: torch.device) -> dict[str, torch.Tensor]:
        return to_device(collate_windows(self.train_windows, indices, self.pad_id), device)

    def loss(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
        logits = model(batch["input_ids"], batch["attention_mask"], batch["word_start"], batch["word_end"])
        return tagging_loss(logits, batch["labels"]), int(batch["attention_mask"].sum())

    def loss_terms(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int, int]:
        """(summed loss, labeled words, real tokens): what several processes add up (xlpt.distributed.engine).
        A share without labeled words sums to 0 (where the mean would be 0/0)."""
        logits = model(batch["input_ids"], batch["attention_mask"], batch["word_start"], batch["word_end"])
        labels = batch["labels"]
        total = F.cross_entropy(logits.float().flatten(0, 1), labels.flatten(), ignore_index=IGNORE, reduction="sum")
        return total, int((labels != IGNORE).sum()), int(batch["attention_mask"].sum())

    def dev_score(self, model: nn.Module) -> float:
        """The task's headline metric on the dev sentences (word accuracy for UDPOS, entity F1 for PAN-X)."""
        from xlpt.evaluation.tagging import predict_windows, score_tags

        predicted = predict_windows(model, self.dev_windows, [len(s.words) for s in self.dev_sentences],
                                    self.pad_id, self.eval_batch_size, progress=False)
        pred = [[self.task.labels[i] for i in tags] for tags in predicted]
        gold = [list(s.tags) for s in self.dev_sentences]
        return score_tags(self.task, gold, pred)[self.task.metric]
