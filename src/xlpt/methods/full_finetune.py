"""Full fine-tuning: every weight of the model (and the head, if any) trains."""


def prepare(task_model, cfg, tokenizer) -> None:
    task_model.backbone.requires_grad_(True)
