"""Assemble the task model of a run: backbone + the task family's head + the method's changes."""

from __future__ import annotations

from xlpt.models.backbone import Backbone


def build_task_model(cfg, task, lm, tokenizer):
    """The task model with the method applied (parameters frozen/added as the method says)."""
    model = task.family_record.load().build_model(task, cfg, Backbone(lm), tokenizer)
    cfg.method_record.prepare(model, cfg, tokenizer)
    model.backbone.use_attention(cfg.model.attention)  # swaps classes only: LoRA layers inside stay
    if cfg.model.compile:
        mode = "default" if cfg.model.compile is True else cfg.model.compile
        if cfg.train.sharding == "full" or cfg.train.gradient_checkpointing:
            model.backbone.compile_layers(mode)  # the units the engine shards / recomputes
        else:
            model.backbone.compile_decoder(mode)
    return model.to(lm.device)


def load_task_model(cfg, task=None, device: str | None = None, dtype: str | None = None):
    """(task model, tokenizer) for a run config: load its LM (device/dtype override the config's) and build."""
    from xlpt.models.loading import load_causal_lm
    from xlpt.tasks import get_task

    lm, tokenizer = load_causal_lm(cfg.model.name, dtype or cfg.model.dtype, device or cfg.model.device)
    return build_task_model(cfg, task or get_task(cfg.data.task), lm, tokenizer), tokenizer
