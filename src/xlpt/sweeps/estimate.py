"""What a run will cost, in tokens, before running it (`xlpt sweep --dry-run`).

    train tokens = steps x batch_size x grad_accum x mean tokens per training example   (train.max_steps set)
                 = epochs x training examples x mean tokens per training example         (otherwise)
    dev tokens   = English dev passes for checkpoint selection (one every train.eval_every steps and one at
                   the end) x dev examples x mean tokens
    eval tokens  = sum over evaluated languages of examples x mean tokens (zero_shot scores one filled-in
                   sentence per label, so its examples count once per label)

Training tokens are processed forward and backward, dev and eval tokens forward only. Early stopping
(train.patience) can only make a run cheaper, so train and dev figures are upper bounds.

Mean lengths come from tokenizing up to SAMPLE examples per split (spread evenly over the file) with the
run's tokenizer, through the task's template, clipped at data.max_length for pair tasks, plus the soft
prompt's length for prompt methods. The tokenizer is loaded only from local files (a folder, or the
Hugging Face cache); when it is not there, lengths use a characters-per-token heuristic: CHARS_PER_TOKEN
characters per token for text in space-separated scripts (about what XGLM's 250k SentencePiece vocabulary
gives on English and other European languages) and DENSE_CHARS_PER_TOKEN for Chinese, Japanese and
Korean characters, plus two special tokens. Expect the heuristic to be off by up to ~30% per language.

Memory per device, devices needed and GPU-hours come from sweeps.planner (at its stated GPU and MFU).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

from xlpt.config import RunConfig
from xlpt.errors import XlptError
from xlpt.data.examples import is_labeled

SAMPLE = 256
CHARS_PER_TOKEN = 4.0
DENSE_CHARS_PER_TOKEN = 1.5
SPECIAL_TOKENS = 2
# CJK ideographs, Hiragana/Katakana, Hangul syllables and jamo: scripts that pack a word into 1-3 characters.
_DENSE_RANGES = ((0x1100, 0x11FF), (0x3040, 0x30FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xAC00, 0xD7AF),
                 (0xF900, 0xFAFF))


@dataclass
class Estimate:
    n_train: int = 0
    steps: int = 0
    train_tokens: int = 0
    dev_tokens: int = 0
    eval_examples: int = 0
    eval_tokens: int = 0
    languages: int = 0
    lengths_from: str = ""
    """'tokenizer' or 'heuristic'."""
    error: str = ""
    """Why no estimate could be made (e.g. the data folder is missing); the numbers are then 0."""
    memory_gb: dict = field(default_factory=dict)
    """Per device (weights, gradients, optimizer, activations, transient, peak), on `devices` GPUs (planner)."""
    devices: int | None = None
    """Fewest GPUs of the planner's size the run fits on (None: unknown or none)."""
    gpu_hours: float = 0.0
    """GPU-hours at the planner's MFU."""
    fits: bool | None = None
    """Whether memory_gb fits one GPU."""
    plan_notes: list = field(default_factory=list)


def heuristic_tokens(text: str) -> int:
    dense = sum(1 for ch in text if any(lo <= ord(ch) <= hi for lo, hi in _DENSE_RANGES))
    return math.ceil(dense / DENSE_CHARS_PER_TOKEN + (len(text) - dense) / CHARS_PER_TOKEN) + SPECIAL_TOKENS


@lru_cache(maxsize=None)
def local_tokenizer(name: str):
    """The model's tokenizer if it can be loaded without the network, else None."""
    try:
        from transformers import AutoTokenizer
        from transformers.utils import logging as hf_logging

        from xlpt.models.tokenizer import check_tokenizer

        verbosity = hf_logging.get_verbosity()
        hf_logging.set_verbosity_error()
        try:
            tokenizer = AutoTokenizer.from_pretrained(name, local_files_only=True)
        finally:
            hf_logging.set_verbosity(verbosity)
        check_tokenizer(tokenizer, name)
        return tokenizer
    except Exception:  # any failure to load locally means: fall back to the heuristic
        return None


_SAMPLES: dict[tuple[str, str, str, str], tuple[int, int, tuple]] = {}


def split_sample(task, data_dir: str, lang: str, split: str) -> tuple[int, int, tuple]:
    """(examples, labeled examples, up to SAMPLE examples spread over the split) of TaskSpec `task`, cached
    per split: the runs of a sweep share their splits (keyed by the task's name, unique in the registry)."""
    from xlpt.data.loading import load_split

    key = (task.name, data_dir, lang, split)
    if key not in _SAMPLES:
        examples = load_split(task, lang, split, data_dir).examples
        labeled = sum(1 for ex in examples if is_labeled(ex))
        stride = max(1, len(examples) // SAMPLE)
        _SAMPLES[key] = len(examples), labeled, tuple(examples[::stride][:SAMPLE])
    return _SAMPLES[key]


def mean_tokens(cfg: RunConfig, task, examples, zero_shot: bool = False) -> tuple[float, str]:
    """(mean tokens per example as the model sees it, 'tokenizer' | 'heuristic'). The family says which
    texts the model is fed for an example and how many of a text's tokens it sees (truncated or windowed)."""
    if not examples:
        return 0.0, ""
    family = task.family_record
    texts_per_example = [family.model_texts(task, cfg, ex, zero_shot) for ex in examples]
    flat = [text for texts in texts_per_example for text in texts]
    tokenizer = local_tokenizer(cfg.model.name)
    if tokenizer is not None:
        lengths, source = [len(ids) for ids in tokenizer(flat, add_special_tokens=True)["input_ids"]], "tokenizer"
    else:
        lengths, source = [heuristic_tokens(text) for text in flat], "heuristic"
    lengths = [family.fed_tokens(n, cfg.data.max_length) for n in lengths]
    prompt = cfg.method_record.input_positions(cfg.method)
    return sum(lengths) / len(examples) + prompt, source


def estimate(cfg: RunConfig, task, **assumptions) -> Estimate:
    """Token counts for one run of TaskSpec `task` (see the module docstring) and its memory/time plan; never
    raises for missing data. `assumptions`: gpu_memory_gb, mfu, gpu, seq_len, devices for sweeps.planner.plan."""
    if cfg.data.data_dir == "hf":
        result = Estimate(error="data.data_dir=hf: sizes are unknown without downloading")
    else:
        result = _token_estimate(cfg, task)
    add_plan(cfg, task, result, **assumptions)
    return result


def _token_estimate(cfg: RunConfig, task) -> Estimate:
    try:
        from xlpt.data.sources import TaskData

        result = Estimate()
        data = TaskData(task, cfg.data.data_dir)
        if cfg.method_record.trains:
            _estimate_training(cfg, result, data)
        _estimate_evaluation(cfg, result, data)
        return result
    except XlptError as err:
        return Estimate(error=str(err))


def add_plan(cfg: RunConfig, task, result: Estimate, **assumptions) -> None:
    """Memory, devices and GPU-hours (sweeps.planner); a model whose config cannot be read gets a note."""
    from xlpt.sweeps.planner import plan

    try:
        planned = plan(cfg, task, result.train_tokens, result.dev_tokens, result.eval_tokens, **assumptions)
    except XlptError as err:
        result.plan_notes.append(f"no memory plan: {err}")
        return
    result.memory_gb, result.devices, result.gpu_hours = planned.memory, planned.devices, planned.gpu_hours
    result.fits = planned.fits
    result.plan_notes += planned.notes


def _training_sizes(cfg: RunConfig, data) -> tuple[int, int, tuple]:
    """(training examples, selection examples, a sample of training examples), as training counts them."""
    from xlpt.data.plan import plan_training

    task, lang, data_dir = data.task, cfg.data.train_lang, cfg.data.data_dir
    plan = plan_training(cfg, data.labeled_splits(lang))
    n_rows, _, sample = split_sample(task, data_dir, lang, plan.train.split)
    n_train = plan.train.count(n_rows)
    n_dev = plan.selection.count(split_sample(task, data_dir, lang, plan.selection.split)[0])
    return n_train, n_dev, sample


def _estimate_training(cfg: RunConfig, result: Estimate, data) -> None:
    train = cfg.train
    n_train, n_dev, sample = _training_sizes(cfg, data)
    per_example, result.lengths_from = mean_tokens(cfg, data.task, sample)
    batches_per_epoch = math.ceil(n_train / train.batch_size)
    result.n_train = n_train
    result.steps = train.max_steps or max(1, math.ceil(train.epochs * batches_per_epoch / train.grad_accum))
    if train.max_steps:
        result.train_tokens = round(result.steps * train.batch_size * train.grad_accum * per_example)
    else:
        result.train_tokens = round(train.epochs * n_train * per_example)
    dev_passes = result.steps // train.eval_every + (1 if result.steps % train.eval_every else 0)
    result.dev_tokens = round(dev_passes * n_dev * per_example)


def _estimate_evaluation(cfg: RunConfig, result: Estimate, data) -> None:
    from xlpt.data.plan import evaluation_count, plan_languages, plan_training

    plan, _ = plan_languages(cfg, data, cfg.data.eval_split, cfg.data.languages_wanted())
    trains = cfg.method_record.trains
    training = plan_training(cfg, data.labeled_splits(cfg.data.train_lang)) if trains else None
    for lang, split in plan.items():
        n, _, sample = split_sample(data.task, cfg.data.data_dir, lang, split)
        n = evaluation_count(n, lang, split, training, cfg.data.max_eval_examples)
        per_example, source = mean_tokens(cfg, data.task, sample, not trains)
        result.lengths_from = result.lengths_from or source
        result.eval_examples += n
        result.eval_tokens += round(n * per_example)
        result.languages += 1
