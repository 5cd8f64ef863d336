"""One run, top to bottom: config -> data -> model + method -> training -> saved trainable state.

The run directory's files are owned by `xlpt.run_dir`; which rows train and which select checkpoints
is decided by `xlpt.data.plan`. This module only puts them in order.

Under torchrun every process runs this function with the same config (xlpt.distributed): rank 0 claims
the run directory and writes its files, the others wait for it and then read the same files.
"""

from __future__ import annotations

import os
import random
from contextlib import nullcontext
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

from xlpt import checkpoints, provenance
from xlpt.training.checkpointer import Checkpointer
from xlpt.data.balance import check_training_labels, describe_counts, label_counts
from xlpt.data.plan import plan_training, rows_read
from xlpt.distributed import devices, setup
from xlpt.data.sources import TaskData
from xlpt.errors import ConfigError, TrainingDiverged, TrainingInterrupted
from xlpt.models.build import build_task_model
from xlpt.models.identity import base_identity
from xlpt.models.loading import check_positions, count_parameters, load_causal_lm
from xlpt.models.origin import pipeline_notice, read_origin
from xlpt.run_dir import RunDir
from xlpt.tasks import get_task
from xlpt.tracking import check_tracker, tracking
from xlpt.training.flops import train_flops_per_token
from xlpt.training.loop import train


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def training_data(cfg, task, data: TaskData, log) -> tuple[list, list, list[Path], dict]:
    """(training examples, selection examples, files read, what was drawn), following data.plan's rules.

    The record (for train_summary.json) has the label counts of both parts, each cap's draw and, when
    data.allow_label_imbalance let a one-label or starved sample through, that fact."""
    plan = plan_training(cfg, data.labeled_splits(cfg.data.train_lang))
    for note in plan.notes:
        log(note)
    loaded = {split: data.load(cfg.data.train_lang, split) for split in {plan.train.split, plan.selection.split}}
    read = rows_read(plan, {split: part.examples for split, part in loaded.items()})
    rows = {purpose: [loaded[use.split].examples[i] for i in sample.indices]
            for purpose, use, sample in (("train", plan.train, read.train), ("dev", plan.selection, read.selection))}
    train_examples = [ex for ex in rows["train"] if _labeled(ex)]
    where = f"{task.name}/{cfg.data.train_lang} {plan.train.describe()}"
    if not train_examples:
        raise ConfigError(f"{where}: no labeled training examples")
    if not rows["dev"]:
        raise ConfigError(f"{task.name}/{cfg.data.train_lang}: no examples to select checkpoints on")
    record = {"train_label_counts": label_counts(train_examples), "dev_label_counts": label_counts(rows["dev"])}
    full = label_counts(loaded[plan.train.split].examples)
    record["label_imbalance"] = check_training_labels(record["train_label_counts"], full, task.labels,
                                                      cfg.data.allow_label_imbalance, where, log)
    record["samples"] = {purpose: _draw_record(use, sample, loaded[use.split].examples)
                         for purpose, use, sample in (("train", plan.train, read.train),
                                                      ("dev", plan.selection, read.selection))}
    log(f"training on {cfg.data.train_lang} {plan.train.describe()} ({len(train_examples)} examples, label counts "
        f"{describe_counts(record['train_label_counts'])}); selecting on {plan.selection.describe()} "
        f"({len(rows['dev'])} examples)")
    files = [path for split in loaded.values() for path in split.all_files]
    return train_examples, rows["dev"], files, record


def _draw_record(use, sample, examples) -> dict | None:
    """The cap's draw as train_summary.json records it; None when the part was read whole."""
    if use.cap is None or len(sample.indices) == sample.of:
        return None
    return sample.record(use.split, [example.id for example in examples])



def _labeled(example) -> bool:
    from xlpt.data.examples import is_labeled

    return is_labeled(example)


def parameter_report(model) -> dict:
    trainable, total = count_parameters(model)
    return {"trainable_params": trainable, "total_params": total, "trainable_fraction": trainable / total}


def train_run(cfg, run_dir: str | Path, progress: bool = True, echo: bool = True) -> dict:
    """Train one run into `run_dir` (resuming if it was interrupted). Returns train_summary.json's content.

    Raises TrainingDiverged (after recording it) when the loss or gradient norm stops being finite. The
    run's status.json follows along: running -> trained | diverged | failed | interrupted."""
    task = get_task(cfg.data.task)
    context = setup(cfg.model.device)
    if cfg.train.sharding == "full" and not context.distributed and cfg.method_record.trains:
        raise ConfigError("train.sharding=full shards the model over the processes torchrun starts (2 or more): "
                          "torchrun --nproc-per-node N -m xlpt train ... (README: Scaling up)")
    run = RunDir(run_dir)
    log = run.logger(echo) if context.is_main else _silent
    # Rank 0 holds the run's lock from before the claim to the end: a second process on the same folder
    # (another seed, an `xlpt evaluate`) is refused instead of replacing config.yaml or reading a half-run.
    with run.hold("xlpt train") if context.is_main else nullcontext():
        if context.is_main:
            run.claim(cfg, task, log)
        context.barrier()  # the others read what rank 0 claimed
        summary = run.read_summary()
        if summary is not None:
            if summary.get("status") == "diverged":
                raise TrainingDiverged(f"{run.path} diverged before: {summary.get('error')}")
            return summary
        try:
            with run.lifecycle("running", done="trained") if context.is_main else nullcontext():
                result = _train(cfg, task, run, log, progress, context)
        except (TrainingDiverged, TrainingInterrupted):
            context.barrier()  # every process stops here together; none exits before rank 0 has recorded why
            raise
        context.barrier()
    return result


def _silent(message: str) -> None:
    """The log of processes other than rank 0 (rank 0 writes run.log for all)."""


def _train(cfg, task, run: RunDir, log, progress: bool, context) -> dict:
    """Data first (it is cheap and fails early), then the model, then the loop; returns train_summary.json's
    content (rank 0 writes it). A method that trains nothing (zero-shot) records the model and stops there."""
    record = cfg.method_record
    check_tracker(cfg)  # a missing tracker package fails before any data or model is loaded
    seed_everything(cfg.train.seed)
    origin = read_origin(cfg.model.name)
    notice = pipeline_notice(cfg.model.name, origin)
    if notice:
        log(notice)
    if record.trains:  # read (and validate) the data before loading a possibly large model
        data = TaskData(task, cfg.data.data_dir)
        for line in data.log_lines():  # the data contract: files used, ignored (and why), rules, problems
            log(line)
        train_examples, dev_examples, files, drawn = training_data(cfg, task, data, log)
    lm, tokenizer, model, checkpointer, imported = _task_model(cfg, task, run, log, context)
    params = parameter_report(model)
    log(f"{cfg.method.name} on {task.name} with {cfg.model.name}: {params['trainable_params']:,} trainable of "
        f"{params['total_params']:,} parameters ({100 * params['trainable_fraction']:.4f}%)")
    result = {**params, "method": cfg.method.name, "learning_rate": cfg.learning_rate, "status": "done",
              "pipeline_check": bool(origin.get("pipeline_check")), "notices": [notice] if notice else [],
              **context.describe(),
              # the config as trained: `xlpt evaluate` refuses a config.yaml edited afterwards (RunDir.check_recorded_config)
              "config": cfg.to_dict(),
              # a relative model.name is relative to this folder (export and predict from elsewhere look here)
              "cwd": os.getcwd()}
    if imported is not None:
        result["init_from"] = imported.summary()
    if record.trains:
        # The family (classification, tagging, multiple choice) knows how its examples become batches and a loss.
        objective = task.family_record.load().objective(task, cfg, tokenizer, train_examples, dev_examples, log)
        flops = train_flops_per_token(lm, full_finetune=record.updates_all_weights)
        try:
            # train.report_to: tensorboard / wandb see what train_log.jsonl gets (the main process only)
            with tracking(cfg, run, enabled=context.is_main) as on_log:
                outcome = train(model, objective, cfg.train, cfg.learning_rate, checkpointer, context.device, log,
                                progress, flops, on_log=on_log, context=context, settings=divergence_settings(cfg))
        except TrainingDiverged as err:
            if context.is_main:
                result.update(status="diverged", error=str(err), finished=_now())
                run.write_summary(result)
                run.write_status(status="diverged", error=str(err), finished=_now())
            log(f"STOPPED: {err}")
            raise
        log(f"done: {outcome.steps} steps, best dev {outcome.best_dev_score:.4f} at step {outcome.best_step}, "
            f"{outcome.tokens_per_second:.0f} tokens/s, peak memory {outcome.peak_memory_mb:.0f} MB, checkpoints "
            f"{outcome.checkpoint_seconds:.1f} s of {outcome.seconds:.0f} s")
        result.update(outcome.__dict__, **drawn, n_train=len(train_examples), n_dev=len(dev_examples),
                      data_files={str(p): provenance.sha256_file(p) for p in files}, data=data.record())
    result["finished"] = _now()
    if context.is_main:
        run.write_summary(result)
    return result


def _task_model(cfg, task, run: RunDir, log, context):
    """(language model, tokenizer, task model with the method attached, checkpointer, imported adapter or None)."""
    check_positions(cfg)
    devices.configure(context.device, cfg.train.tf32)
    lm, tokenizer = load_causal_lm(cfg.model.name, cfg.model.dtype, _load_device(cfg, context))
    # Before anything trains (full fine-tuning changes the embeddings): the best weights record the base they
    # were trained on, so export, predict and method.init_from can refuse another one of the same shape.
    identity = checkpoints.identity_metadata(base_identity(lm, cfg.model.name))
    checkpointer = Checkpointer.for_run(run, metadata=identity)
    model = build_task_model(cfg, task, lm, tokenizer)
    imported = None
    if cfg.method_record.start_from(cfg.method):  # start from a PEFT adapter instead of the method's own init
        from xlpt.export.peft_import import start_from_adapter

        imported = start_from_adapter(model, cfg, task, tokenizer)
        log(imported.describe())
    return lm, tokenizer, model, checkpointer, imported


def divergence_settings(cfg) -> str:
    """The settings that bear on a divergence, as this run used them and under the keys that set them."""
    lr = (f"train.learning_rate={cfg.train.learning_rate:g}" if cfg.train.learning_rate is not None else
          f"learning rate {cfg.learning_rate:g} ({cfg.method.name}'s default; train.learning_rate sets it)")
    parts = [f"method {cfg.method.name}", lr]
    if cfg.train.head_learning_rate is not None:
        parts.append(f"train.head_learning_rate={cfg.train.head_learning_rate:g}")
    parts += [f"train.warmup_ratio={cfg.train.warmup_ratio:g}", f"train.max_grad_norm={cfg.train.max_grad_norm:g}",
              f"model.dtype={cfg.model.dtype}", f"train.autocast={cfg.train.autocast}"]
    return ", ".join(parts)


def _load_device(cfg, context) -> str:
    """Where the weights are loaded: model.device for one process, this process's GPU under torchrun, and
    the CPU when the model is sharded (FSDP2 then moves each process's shards to its device, so no device
    ever holds the whole model)."""
    if not context.distributed:
        return cfg.model.device
    return "cpu" if cfg.train.sharding == "full" else str(context.device)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
