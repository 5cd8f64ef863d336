"""Zero-shot in-context baseline: nothing is trained; each label's filled-in sentence is scored by the LM's
log-likelihood (lm-evaluation-harness's format, see evaluation.zero_shot). `prefix_token=bos
pawsx_preprocess=lm_eval truncation=left target_delimiter=lm_eval` reproduces lm-eval 0.4 exactly
(tests/evaluation/test_lm_eval_parity.py)."""

from __future__ import annotations

from typing import Literal

from xlpt.errors import ConfigError
from xlpt.methods.base import Method, MethodConfig, lazy


class ZeroShotConfig(MethodConfig):
    name: Literal["zero_shot"] = "zero_shot"
    prefix_token: Literal["model", "bos", "eos"] = "model"
    """The token(s) before the scored text: model (default) = the start tokens the tokenizer itself puts
    before every text (XGLM: `</s>`, the token every XGLM pretraining document starts with) | bos = the
    tokenizer's BOS (`<s>` for XGLM; what lm-evaluation-harness >= 0.4 prefixes) | eos. A tokenizer that
    adds no start token (GPT-2, BLOOM) gets its BOS (else EOS) with `model`, so the first word is scored."""
    pawsx_preprocess: Literal["strip", "lm_eval"] = "strip"
    """Pair text: strip (surrounding white space only) | lm_eval (lm-evaluation-harness's
    process_docs_paraphrases for the languages the task YAML lists, PAWS-X de/en/es/fr: detokenize, drop a
    final .,; of sentence 1, lower-case sentence 2's first letter; pairs with an empty sentence are counted
    and dropped)."""
    truncation: Literal["right", "left"] = "right"
    """Over-long inputs (data.max_length): right = cut the end (counted) | left = cut the start (lm-eval's)."""
    target_delimiter: Literal["none", "lm_eval"] = "none"
    """none = the filled-in text as it is | lm_eval = put the task's lm-eval target_delimiter before it
    (" " for XNLI): invisible to XGLM's SentencePiece, a different first token for byte-level BPE (GPT-2)."""


def check(cfg, task) -> None:
    """A setting the task's family does not read (multiple choice: the task YAML's prompt says it all) is
    refused when set, never silently ignored."""
    honoured = set(task.family_record.zero_shot_options)
    ignored = [f"method.{key}={getattr(cfg.method, key)}" for key, info in ZeroShotConfig.model_fields.items()
               if key != "name" and key not in honoured and getattr(cfg.method, key) != info.default]
    if ignored:
        raise ConfigError(f"{', '.join(ignored)}: task {task.name} ({task.family}) does not use "
                          f"{'this setting' if len(ignored) == 1 else 'these settings'} in its zero-shot baseline; "
                          "remove it")


def prepare(task_model, cfg, tokenizer) -> None:
    task_model.requires_grad_(False)


TRAINING_KEYS = ("train.learning_rate", "train.head_learning_rate", "train.batch_size", "train.grad_accum",
                 "train.epochs", "train.max_steps", "train.warmup_ratio", "train.weight_decay", "train.max_grad_norm",
                 "train.eval_every", "train.patience", "train.log_every", "data.max_train_examples",
                 "data.max_dev_examples", "data.train_split", "data.heldout_fraction", "train.seed",
                 "data.allow_label_imbalance")
HEAD_KEYS = ("head.formulation", "head.word_repr")  # scored by the LM itself: no verbalizer slot, no head

METHOD = Method(
    name="zero_shot", display_name="Zero-shot", config=ZeroShotConfig, prepare=prepare, default_learning_rate=None,
    trains=False, trained_parts="nothing",
    summary="nothing; in-context baseline scored by log-likelihood (lm-evaluation-harness prompts)",
    evaluate=lazy("xlpt.evaluation.zero_shot:evaluate_zero_shot"), ignores=TRAINING_KEYS + HEAD_KEYS, check=check,
)
