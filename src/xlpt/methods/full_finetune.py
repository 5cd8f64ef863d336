"""Full fine-tuning: every weight of the model (and the head, if any) trains."""

from __future__ import annotations

from typing import Literal

from xlpt.methods.base import HeadSettings, Method


class FullFinetuneConfig(HeadSettings):
    name: Literal["full_finetune"] = "full_finetune"


def prepare(task_model, cfg, tokenizer) -> None:
    task_model.backbone.requires_grad_(True)


METHOD = Method(
    name="full_finetune", display_name="Full FT", config=FullFinetuneConfig, prepare=prepare,
    default_learning_rate=1e-5,
                summary="every weight (+ the task head, if any)", updates_all_weights=True)
