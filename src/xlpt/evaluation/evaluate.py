"""Evaluate a run on every language the data has; write results and per-example predictions.

results.json (the run's full evaluation of data.eval_split; other evaluations get their own file, see
run_dir.evaluation_key, so a partial one never overwrites a fuller one):
    {"task", "method", "model", "run_id", "trainable_params", "total_params", "trainable_fraction", "seed",
     "split", "metric", "prompt_length", "prompt_init", "learning_rate", "formulation",
     "evaluation": {"split", "languages", "limit", "key"},
     "languages": {LANG: {<metric>: float, "n": int, "n_available": int, "capped": bool, "split": str, ...}},
     "skipped_languages": {LANG: reason}, "average", "average_without_source", "source_language",
     "parallel": {"by", "checked"}, "notices": [str],
     "pipeline_check": bool, "training": {...}, "config": {...}, "provenance": {...}}
Metric values are fractions in [0, 1]. A language without a labeled `split` is evaluated on its labeled
dev split and says so ("split": "dev"). Which rows may be scored is decided by data.plan: never the source
language's training rows, never another language's translation of them (`excluded_parallel`; rows that
translate selection rows are counted as `parallel_to_selection`), a cap's seeded sample (`sample`), and a
partial test set is marked (`partial`).

Under torchrun the languages are shared out over the processes (`assign`: largest first, each to the
least loaded process); each process scores its languages exactly as one process would, and writes their
prediction files; rank 0 gathers the metrics and writes results.json in the languages' usual order. So every
example is scored once, in file order, and results.json is the one a single process writes (apart from
world_size/backend/devices, which say how it ran).
"""

from __future__ import annotations

import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

from xlpt.progress import progress_bar

from xlpt import checkpoints, provenance
from xlpt.data import parallel
from xlpt.data.plan import LEGACY_CAPS_NOTE, evaluation_rows, plan_languages, plan_training, rows_read
from xlpt.data.sources import TaskData
from xlpt.distributed import devices, setup
from xlpt.errors import ConfigError
from xlpt.models.build import build_task_model
from xlpt.models.loading import count_parameters, load_causal_lm
from xlpt.models.origin import pipeline_notice, read_origin
from xlpt.run_dir import RunDir, evaluation_key, run_id
from xlpt.tasks import get_task


def load_trained_model(run: RunDir, cfg, task, device: str | None = None):
    lm, tokenizer = load_causal_lm(cfg.model.name, cfg.model.dtype, device or cfg.model.device)
    model = build_task_model(cfg, task, lm, tokenizer)
    if cfg.method_record.trains:
        if not run.best_checkpoint.exists():
            raise ConfigError(f"{run.path} has no trained checkpoint (checkpoint/best.safetensors); run `xlpt train` "
                              "first")
        checkpoints.load_trainable_state(model, checkpoints.load_weights(run.best_checkpoint), run.best_checkpoint)
    return model, tokenizer


def evaluate_language(task, model, tokenizer, cfg, examples, progress: bool, desc: str, predictions_path=None):
    record = cfg.method_record
    if record.evaluate is not None:  # the method scores differently from its family (zero-shot)
        return record.evaluate(model, tokenizer, cfg, task, examples, progress, desc)
    return task.family_record.load().evaluate(task, model, tokenizer, cfg, examples, progress, desc, predictions_path)


def evaluate_run(run_dir: str | Path, split: str | None = None, languages: list[str] | str | None = None,
                 limit: int | None = None, progress: bool = True, echo: bool = True, skip_missing: bool | None = None,
                 allow_unfinished: bool = False) -> dict:
    """Evaluate the run's best checkpoint. `languages`: None = the run's data.eval_languages; `limit`:
    examples per language (None = the run's data.max_eval_examples). A run whose training did not finish
    (diverged, failed, interrupted, killed) is refused unless `allow_unfinished`; then the results say which
    checkpoint was scored and why (`unfinished`). Returns the results written (to every process, under torchrun)."""
    run = RunDir(run_dir)
    cfg = run.read_config()
    task = get_task(cfg.data.task)  # the run's own task (read_config registered its task.yaml): resolved once here
    context = setup(cfg.model.device)
    # The lock: an evaluation never reads a checkpoint that a training process is still replacing.
    with run.hold("xlpt evaluate") if context.is_main else nullcontext():
        unfinished = unfinished_state(run, cfg, allow_unfinished)
        run.check_recorded_config()
        # An unfinished run keeps its status (diverged, interrupted, ...): scoring one of its checkpoints does
        # not make it a finished, evaluated run, and `xlpt runs`/the report must not show it as one.
        own_status = run.lifecycle("evaluating", done="evaluated") if context.is_main and unfinished is None \
            else nullcontext()
        with own_status:
            return _evaluate(run, cfg, task, split, languages, limit, progress, echo, skip_missing, context,
                             unfinished)


def unfinished_state(run: RunDir, cfg, allow: bool) -> dict | None:
    """None when the run's training finished (or it trains nothing); else results.json's `unfinished` record
    {state, checkpoint_step, reason}, or a ConfigError when `allow` (--allow-unfinished) is not given."""
    if not cfg.method_record.trains:
        return None  # nothing trained: the evaluation is the same whatever happened to the run
    state, why = run.training_state()
    if state == "finished":
        return None
    step = run.checkpoint_step()
    if not allow:
        then = {"diverged": "a diverged run does not resume (train a new one)",
                "failed": "fix the cause and rerun the same `xlpt train` command"}.get(
                    state, "rerun the same `xlpt train` command to finish it")
        at = f"step {step}" if step is not None else "step unknown"
        raise ConfigError(f"{run.path}: training {'did not finish' if state == 'unfinished' else state}: {why}. Its "
                          f"best checkpoint ({at}) is not the run's result: {then}, or pass --allow-unfinished to "
                          "score that checkpoint anyway (the results then say so)")
    return {"state": state, "checkpoint_step": step, "reason": why}


@dataclass
class LanguageJob:
    """One language's evaluation, decided before any model is loaded."""

    lang: str
    split: str
    label: str
    examples: list
    available: int
    note: str | None
    files: list
    protocol: dict
    """What results.json records about the rows beside the metric: excluded_parallel, parallel_to_selection,
    the cap's sample, partial."""


def _evaluate(run: RunDir, cfg, task, split, languages, limit, progress, echo, skip_missing, context,
              unfinished: dict | None = None) -> dict:
    log = run.logger(echo) if context.is_main else (lambda message: None)
    warning = unfinished_notice(unfinished)
    if warning:
        log(warning)
    split = split or cfg.data.eval_split
    wanted = _wanted(languages, cfg)
    limit = limit if limit is not None else cfg.data.max_eval_examples
    skip = cfg.data.missing_languages == "skip" if skip_missing is None else skip_missing
    legacy_caps = run.legacy_caps() and cfg.method_record.trains
    jobs, skipped, data = plan_jobs(cfg, task, split, wanted, limit, log, legacy_caps)
    if skipped and not skip:
        shown = "; ".join(f"{lang}: {why}" for lang, why in skipped.items())
        raise ConfigError(f"cannot evaluate {', '.join(skipped)} ({shown}); leave them out of --languages, or pass "
                          "--skip-missing (data.missing_languages=skip) to list them as skipped in the results")
    if not jobs:
        raise ConfigError(f"no language has a labeled {split!r} or dev split for {cfg.data.task} in {cfg.data.data_dir}")
    # The run's own evaluation (its config's languages and cap) is `test`/`dev`; anything else gets its own key.
    key = evaluation_key(split, wanted if wanted != cfg.data.languages_wanted() else None,
                         limit if limit != cfg.data.max_eval_examples else None, cfg.data.eval_split)
    devices.configure(context.device, cfg.train.tf32)
    model, tokenizer = load_trained_model(run, cfg, task, str(context.device) if context.distributed else None)
    notices = [n for n in [pipeline_notice(cfg.model.name, read_origin(cfg.model.name))] if n]
    mine = assign([len(job.examples) for job in jobs], context.world_size)[context.rank]
    scored = {}
    total = sum(len(jobs[i].examples) for i in mine)
    if context.is_main:
        step = run.checkpoint_step() if cfg.method_record.trains else None
        run.log(f"evaluating {split} -> {run.results_path(key).name}: {len(jobs)} languages, "
                f"{sum(len(job.examples) for job in jobs)} examples"
                + (f", checkpoint of step {step}" if step is not None else ""), echo=False)
    with progress_bar(total=total, desc=f"evaluate {split} ({len(mine)} languages)", unit="ex",
              disable=not (progress and context.is_main)) as bar:
        for job in (jobs[i] for i in mine):
            bar.set_postfix(lang=job.lang)
            began = time.perf_counter()
            scored[job.lang] = score_language(job, task, model, tokenizer, cfg, run.predictions_dir(key), progress)
            bar.update(len(job.examples))
            if context.is_main:  # run.log: one line per language with counts and rate (the bar is terminal-only)
                seconds = max(time.perf_counter() - began, 1e-9)
                value = scored[job.lang].get(task.metric)
                run.log(f"evaluated {job.lang} ({job.label}): {task.metric} "
                        f"{f'{value:.4f}' if isinstance(value, float) else value} on "
                        f"{len(job.examples)} examples in {seconds:.1f} s ({len(job.examples) / seconds:.1f} "
                        "examples/s)", echo=False)
    for part in context.gather(scored):  # every process's languages, put back in the plan's order
        scored.update(part)
    execution = context.describe()
    if not context.is_main:
        return context.broadcast(None)  # rank 0's results
    per_language = {job.lang: scored[job.lang] for job in jobs}
    if legacy_caps:
        notices.append(LEGACY_CAPS_NOTE)
    if warning:
        notices.append(warning)
    for note in (job.note for job in jobs if job.note):
        notices.append(note)
        log(note)
    evaluation = {"split": split, "languages": "all" if wanted is None else wanted, "limit": limit, "key": key}
    files = [path for job in jobs for path in job.files]
    results = {**assemble_results(cfg, task, run, evaluation, per_language, skipped, model, files, notices), **execution}
    results["data"] = data.record()  # the data contract: files used, ignored (and why), rules, problems
    results["legacy_caps"] = legacy_caps
    results["unfinished"] = unfinished  # {state, checkpoint_step, reason} when training did not finish, else null
    path = run.write_results(key, results)
    log(f"wrote {path}: average {task.metric} {100 * results['average']:.2f} over {len(per_language)} languages"
        + (f" (capped at {limit} examples per language)" if limit else ""))
    return context.broadcast(results)


def unfinished_notice(unfinished: dict | None) -> str | None:
    if unfinished is None:
        return None
    step = unfinished["checkpoint_step"]
    return (f"UNFINISHED RUN: training {unfinished['state']} ({unfinished['reason']}); scoring its best checkpoint "
            f"({f'step {step}' if step is not None else 'step unknown'}) on request (--allow-unfinished): these "
            "numbers are not the run's result")


def assign(sizes: list[int], processes: int) -> list[list[int]]:
    """Job indices per process: largest job first, each to the least loaded process (ties: lowest rank);
    each process's jobs in their original order. Deterministic, so every process computes the same split."""
    load, shares = [0] * processes, [[] for _ in range(processes)]
    for index in sorted(range(len(sizes)), key=lambda i: (-sizes[i], i)):
        rank = min(range(processes), key=lambda r: (load[r], r))
        load[rank] += sizes[index]
        shares[rank].append(index)
    return [sorted(share) for share in shares]


def plan_jobs(cfg, task, split: str, wanted, limit, log, legacy_caps: bool = False) -> tuple[list[LanguageJob], dict[str, str],
                                                                                           TaskData]:
    """Every language's examples to score (data read and checked), the languages that cannot be, and the
    task's data (its contract goes into the results)."""
    data = TaskData(task, cfg.data.data_dir)
    for line in data.log_lines():
        log(line)
    plan, skipped = plan_languages(cfg, data, split, wanted)
    if legacy_caps:
        log(LEGACY_CAPS_NOTE)
    read = training_rows_read(cfg, data, legacy_caps)
    jobs = []
    for lang, lang_split in plan.items():
        loaded = data.load(lang, lang_split)
        rows = evaluation_rows(loaded.examples, lang, lang_split, read, limit, cfg.data.sample_seed, task.data.parallel)
        if rows.indices is None:
            skipped[lang] = rows.note
            log(f"{lang}: cannot be evaluated: {rows.note}")
            continue
        protocol = _protocol(rows, data, lang, lang_split, loaded.examples)
        counts = read_counts(loaded)
        if counts:  # what reading the files counted or repaired (XCOPA questions, IOB tags, ...): log + results
            protocol["read_counts"] = counts
            log(f"{lang} {lang_split}: read {len(loaded.examples)} rows; "
                + ", ".join(f"{key} {n}" for key, n in counts.items()))
        jobs.append(LanguageJob(lang, lang_split, rows.label, [loaded.examples[i] for i in rows.indices],
                                rows.available, rows.note, loaded.all_files, protocol))
        if lang_split != split:
            log(f"{lang}: no labeled {split} split; evaluated on {rows.label} ({len(rows.indices)} examples)")
    return jobs, skipped, data


def read_counts(loaded) -> dict[str, int]:
    """The non-zero counts of reading a split's files (whole files, before caps): repairs, reconstructions,
    duplicates and other quirks, by the names the readers and the family's quality checks give them."""
    return {key: n for key, n in sorted(loaded.counts.items()) if n}


def training_rows_read(cfg, data: TaskData, legacy_caps: bool = False):
    """What the run's training and selection read (recomputed from the same plan and seeds), or None for a
    method that trains nothing. `legacy_caps`: the run is an older xlpt's, whose caps were prefixes."""
    if not cfg.method_record.trains:
        return None
    training = plan_training(cfg, data.labeled_splits(cfg.data.train_lang), legacy_caps)
    splits = {training.train.split, training.selection.split}
    return rows_read(training, {split: data.load(cfg.data.train_lang, split).examples for split in splits})


def _protocol(rows, data: TaskData, lang: str, split: str, examples: list) -> dict:
    protocol = {"excluded_parallel": rows.excluded_parallel, "parallel_to_selection": rows.parallel_to_selection}
    if rows.sample is not None:
        protocol["sample"] = rows.sample.record(split, [example.id for example in examples])
    partial = data.partial(lang, split)
    if partial:
        protocol["partial"] = partial
    return protocol


def score_language(job: LanguageJob, task, model, tokenizer, cfg, predictions_dir: Path, progress: bool) -> dict:
    path = predictions_dir / f"{job.lang}.jsonl"
    metrics, records = evaluate_language(task, model, tokenizer, cfg, job.examples, progress=progress, desc=job.lang,
                                         predictions_path=path)
    metrics.update(split=job.label, n_available=job.available, capped=len(job.examples) < job.available,
                   **job.protocol)
    reconstructed = sum(getattr(ex, "reconstructed", False) for ex in job.examples)
    if reconstructed:
        metrics["labels_reconstructed"] = reconstructed  # of the examples scored
    write_predictions(path, records)
    return metrics


def _wanted(languages, cfg) -> list[str] | None:
    if languages is None:
        return cfg.data.languages_wanted()
    if isinstance(languages, str):
        if languages.strip() == "all":
            return None
        languages = [x.strip() for x in languages.split(",") if x.strip()]
        if not languages:  # an empty list would read as "every language": never widen what was asked
            raise ConfigError("--languages names no language: give all, or comma-separated languages (e.g. de,sw)")
    return list(dict.fromkeys(languages))  # a language named twice is evaluated (and keyed) once


def assemble_results(cfg, task, run: RunDir, evaluation, per_language, skipped, model, files, notices) -> dict:
    metric = task.metric
    scores = {lang: m[metric] for lang, m in per_language.items() if m.get(metric) is not None}
    non_source = [v for lang, v in scores.items() if lang != cfg.data.train_lang]  # the run's source, not "en"
    summary = run.read_summary() or {}
    trainable, total = count_parameters(model)
    method = cfg.method
    return {
        "task": task.name, "method": method.name, "model": cfg.model.name, "run_id": run_id(cfg),
        "trainable_params": trainable, "total_params": total, "trainable_fraction": trainable / total,
        "seed": cfg.train.seed, "split": evaluation["split"], "metric": metric,
        "prompt_length": None, "prompt_init": None, **cfg.method_record.result_fields(method),
        "formulation": task.family_record.formulation(task, cfg),
        "learning_rate": cfg.learning_rate,
        "evaluation": evaluation,
        "languages": per_language,
        "skipped_languages": skipped,
        "average": sum(scores.values()) / len(scores) if scores else None,
        "average_without_source": sum(non_source) / len(non_source) if non_source else None,
        "source_language": cfg.data.train_lang,
        "parallel": parallel.record(task),
        "pipeline_check": any(n.startswith("PIPELINE CHECK") for n in notices),
        "notices": notices,
        "training": {k: summary.get(k) for k in ("steps", "best_step", "best_dev_score", "tokens_per_second",
                                                 "peak_memory_mb", "seconds", "n_train", "status",
                                                 "train_label_counts", "dev_label_counts", "samples",
                                                 "label_imbalance")},
        "config": cfg.to_dict(),
        "task_definition": task.definition_hash(),
        "provenance": provenance.collect(files + [Path(p) for p in summary.get("data_files", {})]),
    }


def write_predictions(path: Path, records: list[dict]) -> None:
    """One JSON line per record, written atomically (xlpt.atomic_files)."""
    import json

    from xlpt.atomic_files import write_text_atomic

    write_text_atomic(path, "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records))
