"""Zero-shot in-context baseline: nothing is trained (scoring lives in evaluation.zero_shot)."""


def prepare(task_model, cfg, tokenizer) -> None:
    task_model.requires_grad_(False)
