"""Soft prompt tuning (Lester et al., 2021): the model is frozen; only `prompt_length` input vectors (and a
task head, if any) train. Implementation in `soft_prompt.py`."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from xlpt.methods.base import (Method, PlannerTerms, SoftPromptSettings, adapter_start, prompt_positions,
                               soft_prompt_fields)


class PromptTuningConfig(SoftPromptSettings):
    name: Literal["prompt_tuning"] = "prompt_tuning"
    prompt_position: Literal["after_bos", "start"] = "after_bos"
    """after_bos: after the start tokens the tokenizer puts before every text, if any (XGLM: `</s> P1..Pn
    text`, as in pretraining; GPT-2/BLOOM add none, so the prompt comes first) | start: P1..Pn before
    everything (PEFT's placement)."""
    init_from: str | None = Field(None, min_length=1, exclude_if=lambda value: value is None)
    """A PEFT adapter folder (a PROMPT_TUNING adapter_config.json + adapter_model.safetensors, e.g. written by `xlpt
    export`) to start from instead of `prompt_init`; its sizes must match this section's. A task head saved beside it by
    `xlpt export` (xlpt_head.safetensors) starts the head. Checked and logged (with its SHA-256) when training
    starts; left out of config.yaml when empty."""


def prepare(task_model, cfg, tokenizer) -> None:
    from xlpt.methods.prompt_tuning.soft_prompt import SoftPrompt, initial_vectors

    task_model.backbone.requires_grad_(False)
    vectors = initial_vectors(task_model.backbone, tokenizer, cfg.method.prompt_length, cfg.method.prompt_init,
                              cfg.method.init_text, seed=cfg.train.seed)
    task_model.prompt = SoftPrompt(vectors)
    task_model.prompt_position = cfg.method.prompt_position


def result_fields(method_cfg) -> dict:
    return {**soft_prompt_fields(method_cfg), "prompt_position": method_cfg.prompt_position}


def planner_terms(method_cfg, shape) -> PlannerTerms:
    """n vectors of the model's width; gradients flow back through every layer to the input."""
    return PlannerTerms(added=method_cfg.prompt_length * shape.d_model, backprop=True, prompt=method_cfg.prompt_length)


METHOD = Method(
    name="prompt_tuning", display_name="Prompt tuning", config=PromptTuningConfig, prepare=prepare,
    default_learning_rate=3e-2,
    summary="n soft prompt vectors in the input (+ the task head, if any); model frozen", uses_input_prompt=True,
    trained_parts="soft prompt vectors (+ the task head, if any)", input_positions=prompt_positions,
    start_from=adapter_start, result_fields=result_fields, peft="xlpt.methods.prompt_tuning.peft",
    planner_terms=planner_terms,
)
