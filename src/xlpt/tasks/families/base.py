"""What a task family implements (see families/__init__.py for the registry).

A family turns a task's examples into model inputs and back into scores. Everything task-specific it
needs comes from the `TaskSpec` (labels, metric, templates); everything run-specific from the run
config; the method changes the model after `build_model` (methods/). Implementations import torch.
"""

from __future__ import annotations

from typing import Protocol


class Family(Protocol):
    info: object
    """The family's FamilyInfo record."""

    def build_model(self, task, cfg, backbone, tokenizer):
        """The task model (models.task_model.TaskModel subclass) with its head, before the method applies."""

    def objective(self, task, cfg, tokenizer, train_examples, dev_examples, log):
        """The training.loop.Objective: batches, loss, and the dev score used for checkpoint selection."""

    def evaluate(self, task, model, tokenizer, cfg, examples, progress, desc, predictions_path=None):
        """(metrics, records) for one language: metrics carry the task metric and `n`; records are one
        {"id", "gold", "pred"} per example in file order. May also write `predictions_path` in the data's
        own format (tagging: token<TAB>tag)."""
