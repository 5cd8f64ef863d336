"""Assemble the task model for a run config: backbone + head + the method's changes."""

from __future__ import annotations

from torch import nn

from xlpt.config import RunConfig
from xlpt.errors import ConfigError
from xlpt.methods import METHODS
from xlpt.models.backbone import Backbone
from xlpt.models.heads import LinearHead, VerbalizerHead
from xlpt.models.task_model import SequenceClassifier
from xlpt.tasks import get_task
from xlpt.tasks.templates import get_template, label_word_ids


def build_task_model(cfg: RunConfig, lm, tokenizer):
    """Returns the task model with the method applied (parameters frozen/added as the method says)."""
    spec = get_task(cfg.data.task)
    backbone = Backbone(lm)
    if spec.kind == "pair":
        model = _pair_classifier(cfg, backbone, tokenizer, spec)
    else:
        from xlpt.models.tagging import build_tagger  # tagging lives in its own module

        model = build_tagger(cfg, backbone, tokenizer, spec)
    METHODS[cfg.method.name](model, cfg, tokenizer)
    return model.to(lm.device)


def _pair_classifier(cfg: RunConfig, backbone: Backbone, tokenizer, spec):
    if cfg.method.name == "zero_shot":  # scores whole sequences with the LM itself (evaluation.zero_shot)
        return SequenceClassifier(backbone, nn.Identity(), cfg.method.prompt_position)
    if cfg.method.formulation == "verbalizer":
        ids = label_word_ids(get_template(spec.name), spec.labels, tokenizer)
        head = VerbalizerHead(backbone, ids)
    elif cfg.method.formulation == "linear_head":
        head = LinearHead(backbone.hidden_size, spec.num_labels, seed=cfg.train.seed)
    else:
        raise ConfigError(f"unknown formulation {cfg.method.formulation!r}")
    return SequenceClassifier(backbone, head, cfg.method.prompt_position)
