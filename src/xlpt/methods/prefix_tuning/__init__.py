"""Prefix tuning (Li & Liang, 2021): the model is frozen; per-layer key/value prefixes (and a task head, if
any) train. Implementation in `deep_prefix.py`.

The prefix goes before the whole text (XGLM's leading `</s>` included). Its length is `prompt_length`;
its starting point follows `prompt_init` (see deep_prefix)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from xlpt.methods.base import (Method, PlannerTerms, SoftPromptSettings, adapter_start, prompt_positions,
                               soft_prompt_fields)


class PrefixTuningConfig(SoftPromptSettings):
    name: Literal["prefix_tuning"] = "prefix_tuning"
    init_from: str | None = Field(None, min_length=1, exclude_if=lambda value: value is None)
    """A PEFT adapter folder (a PREFIX_TUNING adapter_config.json + adapter_model.safetensors, e.g. written by `xlpt
    export`) to start from instead of `prompt_init`; its sizes must match this section's. A task head saved beside it by
    `xlpt export` (xlpt_head.safetensors) starts the head. Checked and logged (with its SHA-256) when training
    starts; left out of config.yaml when empty."""


def prepare(task_model, cfg, tokenizer) -> None:
    from xlpt.methods.prefix_tuning.deep_prefix import DeepPrefix, initial_key_values
    from xlpt.methods.prompt_tuning.soft_prompt import initial_vectors

    task_model.backbone.requires_grad_(False)
    vectors = initial_vectors(task_model.backbone, tokenizer, cfg.method.prompt_length, cfg.method.prompt_init,
                              cfg.method.init_text, seed=cfg.train.seed)
    task_model.prefix = DeepPrefix(*initial_key_values(task_model.backbone, vectors))


def planner_terms(method_cfg, shape) -> PlannerTerms:
    """Keys and values of n positions for every layer."""
    n = method_cfg.prompt_length
    return PlannerTerms(added=2 * shape.layers * n * shape.d_model, backprop=True, prefix=n)


METHOD = Method(
    name="prefix_tuning", display_name="Prefix tuning", config=PrefixTuningConfig, prepare=prepare,
    default_learning_rate=1e-2,
    summary="per-layer key/value prefixes (deep prompts, + the task head, if any); model frozen",
    trained_parts="per-layer key/value prefixes (+ the task head, if any)", input_positions=prompt_positions,
    start_from=adapter_start, result_fields=soft_prompt_fields, peft="xlpt.methods.prefix_tuning.peft",
    planner_terms=planner_terms,
)
