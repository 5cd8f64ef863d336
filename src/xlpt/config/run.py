"""The run configuration: five sections, every key typed, bounded and documented.

    model   which LM, dtype, device
    data    task, data folder, languages, splits, caps, template
    method  the method's own section (methods/<name>: prompt_tuning, lora, ... each owns its keys)
    head    how a task's answer is read from the model (formulation, word_repr): the task family reads it
    train   optimizer, schedule, batches, selection, seed

Field docstrings are the reference documentation (`xlpt train --help` lists them). Consistency rules
that span sections (`RunConfig._consistent`) run when the config is built, before any data or model is
touched. Nothing here imports torch.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal, Union

from pydantic import Field, field_validator, model_validator

from xlpt.schema import Bool, Float, Int, Section
from xlpt.methods import DEFAULT_METHOD, METHODS, get_method
from xlpt.tasks.spec import SPLITS, Template

_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


class ModelConfig(Section):
    name: str = Field("facebook/xglm-564M", min_length=1)
    """Hub name or local folder of any Hugging Face causal LM (XGLM, BLOOM, mGPT, GPT-2, Llama-style)."""
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    """Weights dtype. Trainable parameters (prompts, prefixes, adapters, heads) are kept in float32."""
    device: str = "auto"
    """auto (cuda if available, else cpu) | cpu | cuda | cuda:N | mps."""
    # -- speed (issue #11): kernels only; none of these changes a result beyond float rounding --
    attention: Literal["sdpa", "eager"] = "sdpa"
    """Attention kernel: sdpa (torch's fused scaled_dot_product_attention; keeps no S x S weights for
    backward; XGLM through xlpt's patch, others through transformers) | eager (transformers' own)."""
    compile: Literal[False, True, "reduce-overhead", "max-autotune"] = False
    """torch.compile the decoder: false (run eagerly) | true (torch's default mode) | reduce-overhead
    (adds CUDA graphs on a GPU) | max-autotune. Shapes are dynamic, but the first batch of each kind
    (training, evaluation, with a shared prefix) pays a compilation."""

    @field_validator("device")
    @classmethod
    def _device(cls, value: str) -> str:
        if not _DEVICE.match(value):
            raise ValueError("must be auto, cpu, mps, cuda or cuda:N")
        return value


Split = Literal["train", "dev", "test"]
PositiveInt = Annotated[Int, Field(ge=1)]


class DataConfig(Section):
    task: str = "xnli"
    """A registered task: a built-in one (`xlpt tasks` lists them), or one of yours (--include-path DIR)."""
    data_dir: str = Field("../shared/data", min_length=1)
    """A local data folder (the shared layout, XTREME's download/ layout, or the task's data.path) or "hf"
    for the Hugging Face hub."""
    train_lang: str | None = None
    """Source language for zero-shot transfer; empty = the task's own (en; eng_Latn for SIB-200)."""
    train_split: Split = "train"
    """Split of the source language used for training. Without it on disk (PAWS-X here), training uses
    the source language's dev split minus a seeded held-back part that selects checkpoints (logged)."""
    max_train_examples: PositiveInt | None = None
    """Cap on training examples, for quick runs: a seeded sample (data.sample_seed), stratified by label
    (tagging: whole sentences), never the first N rows (files can be sorted by label); empty = all."""
    heldout_fraction: Float = Field(0.2, gt=0, lt=1)
    """Share of the training split held back for checkpoint selection when it must also select."""
    max_dev_examples: PositiveInt | None = 1000
    """Cap on source-language dev examples used for checkpoint selection (a seeded stratified sample, like
    every cap); empty = all."""
    eval_split: Literal["dev", "test"] = "test"
    """Split to evaluate on. Languages without a labeled one are evaluated on labeled dev (reported)."""
    eval_languages: str = "all"
    """all, or a comma-separated list such as de,fr,sw."""
    missing_languages: Literal["error", "skip"] = "error"
    """A requested language that cannot be evaluated (no labeled split): error (default) | skip (listed in
    results.json `skipped_languages` with the reason)."""
    max_eval_examples: PositiveInt | None = None
    """Cap on evaluation examples per language (a seeded sample stratified by label, the same seed for every
    run so methods are compared on the same rows); empty = every example. Capped results say so."""
    sample_seed: Int = Field(0, ge=0)
    """Seed of every cap's sample (train, dev, eval). Fixed across training seeds on purpose: seeds then vary
    initialisation and order, not the data; results record the seed and a hash of the rows drawn."""
    allow_label_imbalance: Bool = False
    """Train even when the training rows hold a single label, or a label below 1% that makes up >= 10% of the
    full split (a broken sample, e.g. a prefix of a label-sorted file). Recorded in train_summary.json and
    results.json, and listed by `xlpt audit` and the report."""
    max_length: Int = Field(256, ge=8, le=1_000_000)
    """Maximum tokens of text (before the soft prompt). Longer pair/text inputs are truncated (counted);
    longer tagging sentences are split into windows. Checked against the model's maximum positions."""
    template: str | Template | None = None
    """Classification: a template name of the task (e.g. `question` for sib200), an inline
    {template: ..., label_words: {...}}, or empty for the task's default."""

    @field_validator("eval_languages")
    @classmethod
    def _languages(cls, value: str) -> str:
        value = value.strip()
        if value == "all":
            return value
        items = [item.strip() for item in value.split(",")]
        if not value or any(not item or not re.fullmatch(r"[A-Za-z0-9_\-]+", item) for item in items):
            raise ValueError("must be `all` or a comma-separated list of language ids, e.g. de,fr,sw")
        return ",".join(items)

    def languages_wanted(self) -> list[str] | None:
        """None for all, else the requested languages in the given order."""
        return None if self.eval_languages == "all" else self.eval_languages.split(",")


class HeadConfig(Section):
    """How the task's answer is read from the model. Not a method's setting: every method that trains (and the
    task family that builds the head) reads the same keys, so they have one section of their own."""

    formulation: Literal["verbalizer", "linear_head"] = "verbalizer"
    """Classification: verbalizer (label words at the answer slot, no new parameters) | linear_head (a new
    linear layer on the last real token's hidden state)."""
    word_repr: Literal["last", "first", "mean"] = "last"
    """Tagging: which subword represents a word: last (default; in a causal model only the last subword
    has seen the whole word) | first | mean."""


class TrainConfig(Section):
    learning_rate: Float | None = Field(None, gt=0)
    """Empty = the method's default (prompt_tuning 3e-2, prefix_tuning 1e-2, lora 5e-4, head_only 1e-3,
    full_finetune 1e-5; see `xlpt train --help`)."""
    head_learning_rate: Float | None = Field(None, gt=0)
    """Learning rate of a task head (linear_head formulation, tagging head); empty = learning_rate.
    Soft-prompt LRs (~3e-2) are high for a fresh linear layer: e.g. 1e-3 here for prompt tuning."""
    batch_size: PositiveInt = 8
    """Examples per micro-batch."""
    grad_accum: PositiveInt = 1
    """Gradient accumulation steps (effective batch = batch_size * grad_accum)."""
    eval_batch_size: PositiveInt = 32
    """Examples per batch at evaluation and dev selection."""
    epochs: Float = Field(3.0, gt=0, le=10_000)
    """Passes over the training data (fractions allowed); ignored when max_steps is set."""
    max_steps: PositiveInt | None = None
    """Optimizer steps; overrides epochs when set."""
    warmup_ratio: Float = Field(0.06, ge=0, lt=1)
    """Share of steps with a linear learning-rate warm-up (then linear decay to zero)."""
    weight_decay: Float = Field(0.01, ge=0)
    """AdamW weight decay on weight matrices (never on prompts, prefixes, biases, norms)."""
    max_grad_norm: Float = Field(1.0, gt=0)
    """Gradient clipping: the global L2 norm is clipped to this."""
    eval_every: PositiveInt = 200
    """Evaluate on source-language dev every N optimizer steps (and at the end); the best checkpoint is kept."""
    patience: PositiveInt | None = None
    """Early stopping: stop after this many evaluations without improvement; empty = never."""
    seed: Annotated[Int, Field(ge=0, le=2**32 - 1)] = 42
    """Seeds Python, NumPy and torch, the prompt/head initialisation and the held-back split."""
    log_every: PositiveInt = 20
    """Write loss, learning rate, gradient norm, tokens/s and memory to train_log.jsonl every N steps."""
    autocast: Literal["auto", "bf16", "fp16", "off"] = "auto"
    """auto (bf16 autocast on GPU, off on CPU) | bf16 | fp16 | off."""
    dropout: Literal["model", "off"] = "model"
    """Dropout while training: model = the rates in the model's own config (also inside a frozen model:
    prompt tuning then sees the noise the model was pretrained with; about 5% of a step) | off = none."""
    checkpoint_every: PositiveInt | None = None
    """Write the resumable snapshot (checkpoint/last.pt: trainable state + optimizer) every N optimizer
    steps; empty = by time only (checkpoint_minutes). Always written at the end and on SIGTERM/SIGINT."""
    checkpoint_minutes: Float = Field(10.0, gt=0)
    """Write the resumable snapshot at least every this many minutes of training."""
    report_to: Literal["none", "tensorboard", "wandb"] = Field("none", exclude_if=lambda value: value == "none")
    """Experiment tracking of what train_log.jsonl records (xlpt.tracking): none | tensorboard (event files
    in <run>/tensorboard/) | wandb (offline unless WANDB_MODE says otherwise, in <run>/wandb/). Left out of
    config.yaml, and so of the run id, when none."""

    # --- Scaling up (xlpt/distributed; README "Scaling up"). Under torchrun every process reads the same
    # config: train.batch_size examples per micro-batch are split across the processes, so N devices follow
    # the same optimisation as one (same global batch, same steps, same learning-rate schedule).
    sharding: Literal["none", "full"] = "none"
    """none: every process holds the whole model (data parallel, DDP) | full: weights, gradients and AdamW
    state are sharded over the processes (FSDP2 fully_shard; needed for full fine-tuning of XGLM-7.5B).
    Only under torchrun; with bf16 autocast the sharded model computes in bf16 with float32 master weights."""
    gradient_checkpointing: Bool = False
    """Recompute each decoder layer's activations in the backward pass instead of keeping them: far less
    activation memory for ~30% more compute. Same gradients. Not with prefix_tuning (its prefix is a cache)."""
    tf32: Bool = True
    """On NVIDIA GPUs, let float32 matmuls use TF32 tensor cores (torch.backends.*.allow_tf32). Ignored on CPU."""
    # -- speed (issue #11) --
    eval_batch_tokens: PositiveInt | None = None
    """Evaluation batches (longest first) also stop at this many padded positions (rows x longest row,
    soft prompt included), so short inputs share bigger batches and long ones smaller; empty = rows only
    (eval_batch_size). Predictions do not depend on it beyond float rounding. Useful on a GPU."""


MethodSection = Annotated[Union[tuple(record.config for record in METHODS.values())], Field(discriminator="name")]


class RunConfig(Section):
    model: ModelConfig = Field(default_factory=ModelConfig)
    data: DataConfig = Field(default_factory=DataConfig)
    method: MethodSection = Field(default_factory=lambda: METHODS[DEFAULT_METHOD].config())
    head: HeadConfig = Field(default_factory=HeadConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)

    @model_validator(mode="after")
    def _consistent(self) -> "RunConfig":
        from xlpt.tasks.registry import get_task

        task = get_task(self.data.task)  # ConfigError listing the known tasks
        if self.data.task != task.name:
            self.data.task = task.name
        if self.data.train_lang is None:
            self.data.train_lang = task.train_lang
        check_consistency(self, task)
        return self

    @property
    def method_record(self):
        return get_method(self.method.name)

    @property
    def learning_rate(self) -> float:
        """train.learning_rate, or the method's default (0 for methods that train nothing)."""
        if self.train.learning_rate is not None:
            return self.train.learning_rate
        return self.method_record.default_learning_rate or 0.0

    def to_dict(self) -> dict:
        return self.model_dump(mode="json", by_alias=True)


def check_consistency(cfg: RunConfig, task) -> None:
    """Rules that span sections. Raise ValueError (pydantic reports it as one line)."""
    record = get_method(cfg.method.name)
    task.family_record.check_run(task, cfg)  # the family's rules: templates, head settings
    if record.check is not None:
        record.check(cfg, task)
    if record.trains and cfg.data.train_split == cfg.data.eval_split:
        wanted = cfg.data.languages_wanted()
        if wanted is None or cfg.data.train_lang in wanted:
            raise ValueError(f"data.train_split={cfg.data.train_split} is also data.eval_split: the source language "
                             f"{cfg.data.train_lang} would be scored on its training rows; choose another eval_split "
                             f"or leave {cfg.data.train_lang} out of data.eval_languages")
    if cfg.data.train_split not in SPLITS:  # pragma: no cover - guarded by the Literal
        raise ValueError("data.train_split must be train, dev or test")


def learning_rate(cfg: RunConfig) -> float:
    return cfg.learning_rate
