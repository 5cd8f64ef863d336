"""Head only: a sanity baseline. The model is frozen and only the task head trains.

With the verbalizer formulation a classification task has no head, so this method needs
method.formulation=linear_head there (tagging always has a linear head)."""

from __future__ import annotations

from typing import Literal

from xlpt.errors import ConfigError
from xlpt.methods.base import HeadSettings, Method


class HeadOnlyConfig(HeadSettings):
    name: Literal["head_only"] = "head_only"


def check(cfg, task) -> None:
    if task.family_info.has_verbalizer and cfg.method.formulation == "verbalizer":
        raise ConfigError("method.name=head_only trains only a task head, and the verbalizer formulation has none: "
                          "set method.formulation=linear_head")


def prepare(task_model, cfg, tokenizer) -> None:
    task_model.backbone.requires_grad_(False)


METHOD = Method(
    name="head_only", display_name="Head only", config=HeadOnlyConfig, prepare=prepare, default_learning_rate=1e-3,
                summary="the task head only; model frozen (sanity baseline)", check=check)
