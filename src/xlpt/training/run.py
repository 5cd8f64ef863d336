"""One run, top to bottom: config -> data -> model + method -> training -> saved trainable state.

A run directory holds everything needed to trust and reproduce its numbers:

    config.yaml          resolved configuration
    run.log              human-readable log (what data, what was truncated, which split selected)
    train_log.jsonl      loss / lr / tokens/s / peak memory / dev scores
    train_summary.json   parameter counts, best step, throughput, data notes
    checkpoint/best.pt   trainable state at the best English-dev step (soft prompt: kilobytes)
    checkpoint/last.pt   resumable state (trainable state + optimizer + scheduler + cursor)
    results.json         written by evaluation (see evaluation.evaluate)
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
import yaml

from xlpt import provenance
from xlpt.config import RunConfig, config_from_dict, learning_rate
from xlpt.errors import ConfigError
from xlpt.models.build import build_task_model
from xlpt.models.loading import count_parameters, load_causal_lm
from xlpt.tasks import get_task
from xlpt.training.flops import train_flops_per_token
from xlpt.training.loop import train


class RunLog:
    """Appends timestamped lines to run.log and echoes them to the console."""

    def __init__(self, run_dir: Path, echo: bool = True):
        self.path, self.echo = Path(run_dir) / "run.log", echo

    def __call__(self, message: str) -> None:
        line = f"[{datetime.now().strftime('%H:%M:%S')}] {message}"
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
        if self.echo:
            print(line, flush=True)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def write_config(cfg: RunConfig, run_dir: Path) -> None:
    """Write config.yaml; refuse to reuse a run directory made with a different config."""
    path = run_dir / "config.yaml"
    resolved = cfg.to_dict()
    if path.exists():
        previous = yaml.safe_load(path.read_text(encoding="utf-8"))
        if previous != resolved:
            changed = sorted(f"{s}.{k}" for s in resolved for k in resolved[s]
                             if previous.get(s, {}).get(k) != resolved[s][k])
            raise ConfigError(f"{run_dir} already holds a run with a different config (differs in: "
                              f"{', '.join(changed)}); use a new --out directory")
        return
    path.write_text(yaml.safe_dump(resolved, sort_keys=False), encoding="utf-8")


def read_config(run_dir: str | Path) -> RunConfig:
    path = Path(run_dir) / "config.yaml"
    if not path.exists():
        raise ConfigError(f"{run_dir} is not a run directory (no config.yaml)")
    return config_from_dict(yaml.safe_load(path.read_text(encoding="utf-8")))


def training_data(cfg: RunConfig, log) -> tuple[list, list, list[Path]]:
    """(train examples, dev examples for selection, data files). Falls back to a held-out split of the
    training language's dev set when it has no train split (PAWS-X here), and says so."""
    from xlpt.data.loading import discover, load_split

    task, lang, source = cfg.data.task, cfg.data.train_lang, cfg.data.data_dir
    # Local folders are listed once and the found sources passed on; the hub has no listing.
    available = discover(task, source).get(lang, {}) if source != "hf" else {"train": source, "dev": source}

    def load(split: str):  # a missing split goes to load_split by path, which explains what is there
        return load_split(task, lang, split, available.get(split, source))

    if cfg.data.train_split in available:
        train_split, dev_split = load(cfg.data.train_split), load("dev")
        train_examples, dev_examples = train_split.examples, dev_split.examples
        files = train_split.all_files + dev_split.all_files
    elif "dev" in available:
        dev_split = load("dev")
        train_examples, dev_examples = heldout_split(dev_split.examples, cfg.data.heldout_fraction, cfg.train.seed)
        files = dev_split.all_files
        log(f"NOTE: {task}/{lang} has no {cfg.data.train_split!r} split in {source}; training on {lang} dev "
            f"({len(train_examples)} examples) and selecting checkpoints on a held-back {cfg.data.heldout_fraction:.0%} "
            f"of it ({len(dev_examples)} examples, seed {cfg.train.seed}). Do not evaluate on {lang} dev.")
    else:
        raise ConfigError(f"{task}/{lang}: neither {cfg.data.train_split!r} nor 'dev' found in {source}")
    train_examples = [ex for ex in train_examples if _labeled(ex)]
    if cfg.data.max_train_examples:
        train_examples = train_examples[: cfg.data.max_train_examples]
    if cfg.data.max_dev_examples:
        dev_examples = dev_examples[: cfg.data.max_dev_examples]
    if not train_examples:
        raise ConfigError(f"{task}/{lang}: no labeled training examples")
    return train_examples, dev_examples, files


def _labeled(example) -> bool:
    return getattr(example, "label", None) is not None or getattr(example, "tags", None) is not None


def heldout_split(examples: list, fraction: float, seed: int) -> tuple[list, list]:
    """Deterministic split into (train, held-out) by a seeded shuffle of indices."""
    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    n_heldout = max(1, int(round(fraction * len(examples))))
    held = set(order[:n_heldout])
    return [ex for i, ex in enumerate(examples) if i not in held], [ex for i, ex in enumerate(examples) if i in held]


def make_objective(cfg: RunConfig, tokenizer, train_examples, dev_examples, log):
    spec = get_task(cfg.data.task)
    if spec.kind == "pair":
        from xlpt.tasks.pair_encoding import encode_pairs
        from xlpt.tasks.templates import get_template
        from xlpt.training.objectives import PairObjective

        template = get_template(spec.name)
        train_items, report = encode_pairs(train_examples, template, tokenizer, spec.labels, cfg.data.max_length)
        dev_items, dev_report = encode_pairs(dev_examples, template, tokenizer, spec.labels, cfg.data.max_length)
        if report.truncated or dev_report.truncated:
            log(f"truncated to {cfg.data.max_length} tokens: {report.truncated} train, {dev_report.truncated} dev examples")
        return PairObjective(train_items, dev_items, tokenizer.pad_token_id, cfg.train.eval_batch_size)
    from xlpt.training.tagging_objective import TaggingObjective

    return TaggingObjective.from_examples(cfg, tokenizer, train_examples, dev_examples, log)


def parameter_report(model) -> dict:
    trainable, total = count_parameters(model)
    return {"trainable_params": trainable, "total_params": total, "trainable_fraction": trainable / total}


def train_run(cfg: RunConfig, run_dir: str | Path, progress: bool = True, echo: bool = True) -> dict:
    """Train one run into `run_dir` (resuming if it was interrupted). Returns train_summary.json's content."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_config(cfg, run_dir)
    summary_path = run_dir / "train_summary.json"
    if summary_path.exists():
        return json.loads(summary_path.read_text(encoding="utf-8"))
    log = RunLog(run_dir, echo)
    seed_everything(cfg.train.seed)
    trains = cfg.method.name != "zero_shot"
    if trains:  # read (and validate) the data before loading a possibly large model
        train_examples, dev_examples, files = training_data(cfg, log)
    lm, tokenizer = load_causal_lm(cfg.model.name, cfg.model.dtype, cfg.model.device)
    model = build_task_model(cfg, lm, tokenizer)
    params = parameter_report(model)
    log(f"{cfg.method.name} on {cfg.data.task} with {cfg.model.name}: {params['trainable_params']:,} trainable of "
        f"{params['total_params']:,} parameters ({100 * params['trainable_fraction']:.4f}%)")
    result = {**params, "method": cfg.method.name, "learning_rate": learning_rate(cfg)}
    if trains:
        log(f"training on {len(train_examples)} {cfg.data.train_lang} examples, selecting on {len(dev_examples)}")
        objective = make_objective(cfg, tokenizer, train_examples, dev_examples, log)
        flops = train_flops_per_token(lm, full_finetune=cfg.method.name == "full_finetune")
        summary = train(model, objective, cfg.train, learning_rate(cfg), run_dir, lm.device, log, progress, flops)
        log(f"done: {summary.steps} steps, best dev {summary.best_dev_score:.4f} at step {summary.best_step}, "
            f"{summary.tokens_per_second:.0f} tokens/s, peak memory {summary.peak_memory_mb:.0f} MB")
        result.update(summary.__dict__, n_train=len(train_examples), n_dev=len(dev_examples),
                      data_files={str(p): provenance.sha256_file(p) for p in files})
    result["finished"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    tmp = summary_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")
    tmp.replace(summary_path)
    return result
