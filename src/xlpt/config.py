"""Typed run configuration: nested dataclasses, loaded from YAML with `key.sub=value` overrides.

Every run writes its resolved config next to its results, so a number can always be traced back to
the exact settings that produced it. Field docstrings are the reference documentation.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from xlpt.errors import ConfigError


@dataclass
class ModelConfig:
    name: str = "facebook/xglm-564M"
    """Hub name or local folder of any Hugging Face causal LM (XGLM, BLOOM, mGPT, Llama-style)."""
    dtype: str = "float32"
    """Weights dtype: float32 | bfloat16 | float16. Training keeps float32 master weights on CPU."""
    device: str = "auto"
    """auto (cuda if available, else cpu) | cpu | cuda | cuda:N."""


@dataclass
class DataConfig:
    task: str = "xnli"
    """xnli | pawsx | udpos | panx."""
    data_dir: str = "../shared/data"
    """A local data folder (the shared layout or XTREME's download/ layout) or "hf" for the hub."""
    train_lang: str = "en"
    """Source language for zero-shot transfer."""
    train_split: str = "train"
    """Split used for training. If the train language has none (PAWS-X here), its dev split is used and
    a held-back part of it serves model selection; the run log says so."""
    max_train_examples: int | None = None
    """Cap on training examples (first N in file order), for quick runs."""
    heldout_fraction: float = 0.2
    """Share of the training split held back for selection when no separate dev split can be used."""
    max_dev_examples: int | None = 1000
    """Cap on English dev examples used for checkpoint selection during training."""
    eval_split: str = "test"
    """Split to evaluate on after training. Languages without a labeled one fall back to dev (reported)."""
    eval_languages: str = "all"
    """all, or a comma-separated list such as de,fr,sw."""
    max_eval_examples: int | None = None
    """Cap on evaluation examples per language (None = every example)."""
    max_length: int = 256
    """Maximum tokens of text (before the soft prompt). Longer pair inputs are truncated (counted);
    longer tagging sentences are split into windows."""


@dataclass
class MethodConfig:
    name: str = "prompt_tuning"
    """prompt_tuning | full_finetune | lora | prefix_tuning | head_only | zero_shot."""
    formulation: str = "verbalizer"
    """Classification: verbalizer (label words at the last position, no new parameters) | linear_head."""
    prompt_length: int = 20
    """Number of soft prompt vectors (prompt_tuning, prefix_tuning)."""
    prompt_init: str = "vocab"
    """random | vocab (embeddings of sampled real tokens) | text (embeddings of `init_text`). For prefix tuning,
    the keys/values the frozen model computes for these vectors start the prefix."""
    init_text: str | None = None
    """Text whose token embeddings initialise the prompt when prompt_init=text (no special tokens)."""
    prompt_position: str = "after_bos"
    """after_bos: </s> P1..Pn text (keeps XGLM's document-start token first, as in pretraining);
    start: P1..Pn </s> text (PEFT's placement)."""
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.0
    lora_targets: str = "q_proj,k_proj,v_proj,out_proj,fc1,fc2"
    """Module names LoRA adapts (XGLM names; PEFT has no default for XGLM)."""
    word_repr: str = "last"
    """Tagging: which subword represents a word: last (default; in a causal model only the last subword
    has seen the whole word) | first | mean."""


@dataclass
class TrainConfig:
    learning_rate: float | None = None
    """None = the method's default (prompt_tuning 3e-2, prefix_tuning 1e-2, lora 5e-4, head_only 1e-3,
    full_finetune 1e-5)."""
    head_learning_rate: float | None = None
    """Learning rate of a task head (linear_head formulation, tagging head); None = learning_rate. Soft-prompt
    LRs (~3e-2) are high for a freshly initialised linear layer; e.g. set 1e-3 here for prompt tuning."""
    batch_size: int = 8
    grad_accum: int = 1
    """Gradient accumulation steps (effective batch = batch_size * grad_accum)."""
    eval_batch_size: int = 32
    epochs: float = 3.0
    max_steps: int | None = None
    """Optimizer steps; overrides epochs when set."""
    warmup_ratio: float = 0.06
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    eval_every: int = 200
    """Evaluate on English dev every N optimizer steps (and at the end); the best checkpoint is kept."""
    patience: int | None = None
    """Early stopping: stop after this many evaluations without improvement (None = never)."""
    seed: int = 42
    log_every: int = 20
    autocast: str = "auto"
    """auto (bf16 autocast on GPU, off on CPU) | bf16 | fp16 | off."""


@dataclass
class RunConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    method: MethodConfig = field(default_factory=MethodConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


DEFAULT_LR = {"prompt_tuning": 3e-2, "prefix_tuning": 1e-2, "lora": 5e-4, "head_only": 1e-3,
              "full_finetune": 1e-5, "zero_shot": 0.0}


def _set_path(cfg: Any, dotted: str, raw_value: Any) -> None:
    *parents, leaf = dotted.split(".")
    node = cfg
    for part in parents:
        if not dataclasses.is_dataclass(node) or not hasattr(node, part):
            raise ConfigError(f"unknown config key {dotted!r}")
        node = getattr(node, part)
    names = {f.name: f for f in dataclasses.fields(node)} if dataclasses.is_dataclass(node) else {}
    if leaf not in names or dataclasses.is_dataclass(getattr(node, leaf)):
        valid = ", ".join(f"{'.'.join(parents)}.{n}" if parents else n for n in names)
        raise ConfigError(f"unknown config key {dotted!r}; valid keys here: {valid}")
    setattr(node, leaf, _coerce(raw_value, getattr(node, leaf), dotted))


def _coerce(value: Any, current: Any, key: str) -> Any:
    if isinstance(value, str):
        value = yaml.safe_load(value) if value.strip() else value
    if value is None or current is None:
        return value
    if isinstance(current, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: expected true/false, got {value!r}")
        return value
    if isinstance(current, (int, float)) and not isinstance(value, bool):
        try:
            return type(current)(value) if not (isinstance(current, int) and isinstance(value, float)) else value
        except (TypeError, ValueError):
            raise ConfigError(f"{key}: expected a number, got {value!r}") from None
    if isinstance(current, str):
        return str(value)
    return value


def _merge(cfg: RunConfig, tree: dict, prefix: str = "") -> None:
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict):
            _merge(cfg, value, dotted + ".")
        else:
            _set_path(cfg, dotted, value)


def load_config(path: str | os.PathLike | list | None = None, overrides: list[str] = (),
                base: RunConfig | None = None) -> RunConfig:
    """Defaults <- YAML file(s), in order <- `key.sub=value` overrides (later wins). Validates the result.

    Several files compose: e.g. a model file (size, dtype, batch) then a task/method file."""
    cfg = base or RunConfig()
    paths = [] if path is None else [path] if isinstance(path, (str, os.PathLike)) else list(path)
    for path in paths:
        try:
            tree = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as err:
            raise ConfigError(f"cannot read config {path}: {err}") from err
        if not isinstance(tree, dict):
            raise ConfigError(f"{path}: a config file must be a YAML mapping")
        tree.pop("sweep", None)
        _merge(cfg, tree)
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r} must look like key.sub=value (e.g. train.learning_rate=0.1)")
        key, value = item.split("=", 1)
        _set_path(cfg, key.strip(), value)
    validate(cfg)
    return cfg


def config_from_dict(tree: dict) -> RunConfig:
    cfg = RunConfig()
    _merge(cfg, tree)
    validate(cfg)
    return cfg


def validate(cfg: RunConfig) -> None:
    from xlpt.methods import METHODS
    from xlpt.tasks import get_task

    get_task(cfg.data.task)
    if cfg.method.name not in METHODS:
        raise ConfigError(f"unknown method {cfg.method.name!r}; valid methods: {', '.join(METHODS)}")
    choices = {
        "model.dtype": (cfg.model.dtype, ("float32", "bfloat16", "float16")),
        "method.formulation": (cfg.method.formulation, ("verbalizer", "linear_head")),
        "method.prompt_init": (cfg.method.prompt_init, ("random", "vocab", "text")),
        "method.prompt_position": (cfg.method.prompt_position, ("after_bos", "start")),
        "method.word_repr": (cfg.method.word_repr, ("last", "first", "mean")),
        "train.autocast": (cfg.train.autocast, ("auto", "bf16", "fp16", "off")),
    }
    for key, (value, valid) in choices.items():
        if value not in valid:
            raise ConfigError(f"{key}={value!r} is not one of {', '.join(valid)}")
    if cfg.method.prompt_init == "text" and not cfg.method.init_text:
        raise ConfigError("method.prompt_init=text needs method.init_text")
    positive = {"method.prompt_length": cfg.method.prompt_length, "train.batch_size": cfg.train.batch_size,
                "train.grad_accum": cfg.train.grad_accum, "train.eval_every": cfg.train.eval_every,
                "data.max_length": cfg.data.max_length}
    for key, value in positive.items():
        if value < 1:
            raise ConfigError(f"{key} must be >= 1, got {value}")
    if not 0.0 < cfg.data.heldout_fraction < 1.0:
        raise ConfigError("data.heldout_fraction must be in (0, 1)")


def learning_rate(cfg: RunConfig) -> float:
    return cfg.train.learning_rate if cfg.train.learning_rate is not None else DEFAULT_LR[cfg.method.name]
