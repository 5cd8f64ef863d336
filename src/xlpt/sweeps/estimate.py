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

The runs of a sweep share their data: an `EstimateCache` (one per `xlpt sweep --dry-run`, one per `estimate`
call otherwise) discovers each task folder once, samples each (task, language, split) once and measures each
sample's mean length once per (what the texts depend on: model, data and head sections; zero-shot or not).
The cached figures are exactly `mean_tokens`' (tests/sweeps/test_estimate_cache.py).
"""

from __future__ import annotations

import math
import os
import re
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
    dev_examples: int = 0
    """Dev-selection sequences over the run: selection passes x selection examples."""
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


_DENSE = re.compile("[" + "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in _DENSE_RANGES) + "]")
"""One character of _DENSE_RANGES (the same code point ranges, matched by the regex engine's C loop)."""


def heuristic_tokens(text: str) -> int:
    """Tokens the heuristic gives `text` (see the module docstring)."""
    dense = 0 if text.isascii() else len(_DENSE.findall(text))
    return math.ceil(dense / DENSE_CHARS_PER_TOKEN + (len(text) - dense) / CHARS_PER_TOKEN) + SPECIAL_TOKENS


def heuristic_lengths(texts) -> list[int]:
    """`heuristic_tokens` of each text."""
    return [heuristic_tokens(text) for text in texts]


@lru_cache(maxsize=None)
def local_tokenizer(name: str):
    """The model's tokenizer if it can be loaded without the network, else None."""
    if not _may_be_local(name):  # surely not here: spare the ~2 s import of transformers' tokenizers
        return None
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


def _may_be_local(name: str) -> bool:
    """False only when `AutoTokenizer.from_pretrained(name, local_files_only=True)` must fail: `name` is neither
    a folder nor a repository in the Hugging Face cache (where transformers looks: huggingface_hub's
    HF_HUB_CACHE, which follows HF_HUB_CACHE / HF_HOME)."""
    try:
        from huggingface_hub.constants import HF_HUB_CACHE
    except ImportError:
        return True
    if os.path.isdir(name):
        return True
    return os.path.isdir(os.path.join(HF_HUB_CACHE, "models--" + name.replace("/", "--")))


class EstimateCache:
    """What the estimates of several runs share (the runs of a sweep): each task folder discovered once, each
    (task, language, split) sampled once, each sample's mean length measured once per model/data/head
    settings. Keep one only as long as the data folders do not change (one `xlpt sweep --dry-run`)."""

    def __init__(self):
        self._data: dict[tuple[str, str], object] = {}
        self._samples: dict[tuple[str, str, str, str], tuple[int, int, tuple]] = {}
        self._means: dict[tuple, tuple[float, str]] = {}

    def task_data(self, task, data_dir: str):
        """data.sources.TaskData of `task` under `data_dir` (XlptError when it cannot be read, not cached)."""
        from xlpt.data.sources import TaskData

        key = (task.name, str(data_dir))
        if key not in self._data:
            self._data[key] = TaskData(task, data_dir)
        return self._data[key]

    def discovered(self, task, data_dir: str):
        """The TaskData `task_data` built for `task` under `data_dir`, or None (not asked for, or unreadable)."""
        return self._data.get((task.name, str(data_dir)))

    def split_sample(self, data, lang: str, split: str) -> tuple[int, int, tuple]:
        """(examples, labeled examples, up to SAMPLE examples spread over the split) of `lang`'s `split` in
        TaskData `data`, read once (keyed by the task's name, unique in the registry)."""
        key = (data.task.name, data.data_dir, lang, split)
        if key not in self._samples:
            self._samples[key] = sample_split(data.load(lang, split).examples)
        return self._samples[key]

    def mean_tokens(self, cfg: RunConfig, data, lang: str, split: str, zero_shot: bool = False) -> tuple[float, str]:
        """`mean_tokens(cfg, data.task, <the split's sample>, zero_shot)`, measured once per sample and per what
        the texts and their lengths depend on: the tokenizer (model.name), the template and max_length (the
        data section), the head section (family.model_texts reads only data and head settings) and zero_shot.
        The method's own positions (a soft prompt's length) are added afterwards, uncached."""
        key = (data.task.name, data.data_dir, lang, split, bool(zero_shot), cfg.model.name,
               cfg.data.model_dump_json(), cfg.head.model_dump_json())
        if key not in self._means:
            sample = self.split_sample(data, lang, split)[2]
            self._means[key] = _mean_text_tokens(cfg, data.task, sample, zero_shot)
        mean, source = self._means[key]
        return (mean + cfg.method_record.input_positions(cfg.method), source) if source else (mean, source)


def sample_split(examples) -> tuple[int, int, tuple]:
    """(examples, labeled examples, up to SAMPLE examples spread evenly over the split)."""
    labeled = sum(1 for ex in examples if is_labeled(ex))
    stride = max(1, len(examples) // SAMPLE)
    return len(examples), labeled, tuple(examples[::stride][:SAMPLE])


def mean_tokens(cfg: RunConfig, task, examples, zero_shot: bool = False) -> tuple[float, str]:
    """(mean tokens per example as the model sees it, 'tokenizer' | 'heuristic'). The family says which
    texts the model is fed for an example and how many of a text's tokens it sees (truncated or windowed).
    The reference computation: EstimateCache.mean_tokens gives the same figures, measured once."""
    if not examples:
        return 0.0, ""
    mean, source = _mean_text_tokens(cfg, task, examples, zero_shot)
    return mean + cfg.method_record.input_positions(cfg.method), source


def _mean_text_tokens(cfg: RunConfig, task, examples, zero_shot: bool) -> tuple[float, str]:
    """Mean tokens of the texts fed per example, before the method's own positions (0.0, '' for none)."""
    if not examples:
        return 0.0, ""
    family = task.family_record
    flat = [text for ex in examples for text in family.model_texts(task, cfg, ex, zero_shot)]
    tokenizer = local_tokenizer(cfg.model.name)
    if tokenizer is not None:
        lengths, source = [len(ids) for ids in tokenizer(flat, add_special_tokens=True)["input_ids"]], "tokenizer"
    else:
        lengths, source = heuristic_lengths(flat), "heuristic"
    max_length = cfg.data.max_length
    return sum(family.fed_tokens(n, max_length) for n in lengths) / len(examples), source


def estimate(cfg: RunConfig, task, cache: EstimateCache | None = None, **assumptions) -> Estimate:
    """Token counts for one run of TaskSpec `task` (see the module docstring) and its memory/time plan; never
    raises for missing data. `cache`: shared by the runs of a sweep (a fresh one otherwise). `assumptions`:
    gpu_memory_gb, mfu, gpu, seq_len, devices for sweeps.planner.plan."""
    if cfg.data.data_dir == "hf":
        result = Estimate(error="data.data_dir=hf: sizes are unknown without downloading")
    else:
        result = _token_estimate(cfg, task, cache if cache is not None else EstimateCache())
    add_plan(cfg, task, result, **assumptions)
    return result


def _token_estimate(cfg: RunConfig, task, cache: EstimateCache) -> Estimate:
    try:
        result = Estimate()
        data = cache.task_data(task, cfg.data.data_dir)
        if cfg.method_record.trains:
            _estimate_training(cfg, result, data, cache)
        _estimate_evaluation(cfg, result, data, cache)
        return result
    except XlptError as err:
        return Estimate(error=str(err))


def add_plan(cfg: RunConfig, task, result: Estimate, **assumptions) -> None:
    """Memory, devices and GPU-hours (sweeps.planner); a model whose config cannot be read gets a note."""
    from xlpt.sweeps.planner import plan

    try:
        planned = plan(cfg, task, result.train_tokens, result.dev_tokens, result.eval_tokens,
                       steps=result.steps or None,
                       eval_sequences=(result.dev_examples + result.eval_examples) or None, **assumptions)
    except XlptError as err:
        result.plan_notes.append(f"no memory plan: {err}")
        return
    result.memory_gb, result.devices, result.gpu_hours = planned.memory, planned.devices, planned.gpu_hours
    result.fits = planned.fits
    result.plan_notes += planned.notes


def _training_sizes(cfg: RunConfig, data, cache: EstimateCache) -> tuple[int, int, str]:
    """(training examples, selection examples, the split training reads), as training counts them."""
    from xlpt.data.plan import plan_training

    lang = cfg.data.train_lang
    plan = plan_training(cfg, data.labeled_splits(lang))
    n_train = plan.train.count(cache.split_sample(data, lang, plan.train.split)[0])
    n_dev = plan.selection.count(cache.split_sample(data, lang, plan.selection.split)[0])
    return n_train, n_dev, plan.train.split


def _estimate_training(cfg: RunConfig, result: Estimate, data, cache: EstimateCache) -> None:
    train = cfg.train
    n_train, n_dev, split = _training_sizes(cfg, data, cache)
    per_example, result.lengths_from = cache.mean_tokens(cfg, data, cfg.data.train_lang, split)
    batches_per_epoch = math.ceil(n_train / train.batch_size)
    result.n_train = n_train
    result.steps = train.max_steps or max(1, math.ceil(train.epochs * batches_per_epoch / train.grad_accum))
    if train.max_steps:
        result.train_tokens = round(result.steps * train.batch_size * train.grad_accum * per_example)
    else:
        result.train_tokens = round(train.epochs * n_train * per_example)
    dev_passes = result.steps // train.eval_every + (1 if result.steps % train.eval_every else 0)
    result.dev_examples = dev_passes * n_dev
    result.dev_tokens = round(dev_passes * n_dev * per_example)


def _estimate_evaluation(cfg: RunConfig, result: Estimate, data, cache: EstimateCache) -> None:
    from xlpt.data.plan import evaluation_count, plan_languages, plan_training

    plan, _ = plan_languages(cfg, data, cfg.data.eval_split, cfg.data.languages_wanted())
    trains = cfg.method_record.trains
    training = plan_training(cfg, data.labeled_splits(cfg.data.train_lang)) if trains else None
    for lang, split in plan.items():
        n = cache.split_sample(data, lang, split)[0]
        n = evaluation_count(n, lang, split, training, cfg.data.max_eval_examples)
        per_example, source = cache.mean_tokens(cfg, data, lang, split, not trains)
        result.lengths_from = result.lengths_from or source
        result.eval_examples += n
        result.eval_tokens += round(n * per_example)
        result.languages += 1
