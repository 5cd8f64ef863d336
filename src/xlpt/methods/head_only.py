"""Head only: a sanity baseline. The model is frozen and only the task head trains.

A task scored without a head of its own (a classification task with the verbalizer formulation, a
multiple-choice task whose choices the LM head scores) has nothing for this method to train: the
family says so (`head_parameters(...) == 0`) and the run is refused before anything loads."""

from __future__ import annotations

from typing import Literal

from xlpt.errors import ConfigError
from xlpt.methods.base import Method, MethodConfig


class HeadOnlyConfig(MethodConfig):
    name: Literal["head_only"] = "head_only"


def check(cfg, task) -> None:
    family = task.family_record
    if family.head_parameters(task, cfg, 1) == 0:  # any hidden size: zero means no head at all
        raise ConfigError(f"method.name=head_only trains only a task head, and task {task.name} has none "
                          f"({family.head_reads(task, cfg)}); use another method")


def prepare(task_model, cfg, tokenizer) -> None:
    task_model.backbone.requires_grad_(False)


METHOD = Method(
    name="head_only", display_name="Head only", config=HeadOnlyConfig, prepare=prepare, default_learning_rate=1e-3,
    summary="the task head only; model frozen (sanity baseline)", trained_parts="the task head only", check=check,
)
