"""Prefix tuning: the model is frozen; per-layer key/value prefixes (and a task head, if any) train.

The prefix goes before the whole text (XGLM's leading `</s>` included): `method.prompt_position` only
places input-level soft prompts and does not apply here. Its length is `method.prompt_length`; its
starting point follows `method.prompt_init` (see deep_prefix)."""

from xlpt.methods.prefix_tuning.deep_prefix import DeepPrefix, initial_key_values
from xlpt.methods.prompt_tuning.soft_prompt import initial_vectors


def prepare(task_model, cfg, tokenizer) -> None:
    task_model.backbone.requires_grad_(False)
    vectors = initial_vectors(task_model.backbone, tokenizer, cfg.method.prompt_length, cfg.method.prompt_init,
                              cfg.method.init_text, seed=cfg.train.seed)
    task_model.prefix = DeepPrefix(*initial_key_values(task_model.backbone, vectors))


__all__ = ["DeepPrefix", "initial_key_values", "prepare"]
