"""Soft prompt tuning (Lester et al., 2021): the model is frozen; only `prompt_length` input vectors (and a
task head, if any) train. Implementation in `soft_prompt.py`."""

from __future__ import annotations

from typing import Literal

from xlpt.methods.base import Method, SoftPromptSettings, lazy


class PromptTuningConfig(SoftPromptSettings):
    name: Literal["prompt_tuning"] = "prompt_tuning"
    prompt_position: Literal["after_bos", "start"] = "after_bos"
    """after_bos: after the start tokens the tokenizer puts before every text, if any (XGLM: `</s> P1..Pn
    text`, as in pretraining; GPT-2/BLOOM add none, so the prompt comes first) | start: P1..Pn before
    everything (PEFT's placement)."""


def prepare(task_model, cfg, tokenizer) -> None:
    from xlpt.methods.prompt_tuning.soft_prompt import SoftPrompt, initial_vectors

    task_model.backbone.requires_grad_(False)
    vectors = initial_vectors(task_model.backbone, tokenizer, cfg.method.prompt_length, cfg.method.prompt_init,
                              cfg.method.init_text, seed=cfg.train.seed)
    task_model.prompt = SoftPrompt(vectors)
    task_model.prompt_position = cfg.method.prompt_position


METHOD = Method(
    name="prompt_tuning", display_name="Prompt tuning", config=PromptTuningConfig, prepare=prepare,
    default_learning_rate=3e-2,
    summary="n soft prompt vectors in the input (+ the task head, if any); model frozen", uses_input_prompt=True,
)
