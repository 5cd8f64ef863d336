"""Soft prompt tuning: the model is frozen; only the prompt (and a task head, if any) train."""

from xlpt.methods.prompt_tuning.soft_prompt import SoftPrompt, initial_vectors


def prepare(task_model, cfg, tokenizer) -> None:
    task_model.backbone.requires_grad_(False)
    vectors = initial_vectors(task_model.backbone, tokenizer, cfg.method.prompt_length, cfg.method.prompt_init,
                              cfg.method.init_text, seed=cfg.train.seed)
    task_model.prompt = SoftPrompt(vectors)


__all__ = ["SoftPrompt", "initial_vectors", "prepare"]
