"""Head only: a sanity baseline. The model is frozen and only the task head trains.

With the verbalizer formulation there is no head, so this method needs method.formulation=linear_head
for classification (tagging always has a linear head)."""

from xlpt.errors import ConfigError


def prepare(task_model, cfg, tokenizer) -> None:
    task_model.backbone.requires_grad_(False)
    if not any(p.requires_grad for p in task_model.head.parameters()):
        raise ConfigError("head_only needs a trainable head: set method.formulation=linear_head")
