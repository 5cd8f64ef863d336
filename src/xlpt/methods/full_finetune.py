"""Full fine-tuning: every weight of the model (and the head, if any) trains."""

from __future__ import annotations

from typing import Literal

from xlpt.methods.base import Method, MethodConfig, PlannerTerms


class FullFinetuneConfig(MethodConfig):
    name: Literal["full_finetune"] = "full_finetune"


def prepare(task_model, cfg, tokenizer) -> None:
    task_model.backbone.requires_grad_(True)


def planner_terms(method_cfg, shape) -> PlannerTerms:
    return PlannerTerms(all_weights=True, backprop=True, adapted=tuple(name for name, *_ in shape.linear_shapes))


METHOD = Method(
    name="full_finetune", display_name="Full FT", config=FullFinetuneConfig, prepare=prepare,
    default_learning_rate=1e-5, summary="every weight (+ the task head, if any)",
    trained_parts="every weight of the model (+ the task head, if any)", updates_all_weights=True,
    planner_terms=planner_terms,
)
