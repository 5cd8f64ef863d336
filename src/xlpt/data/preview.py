"""The protocol of a run before anything trains: which rows train (and their labels), and which evaluation
rows translate them. `xlpt train --dry-run` prints it for the run's config, `xlpt data check` for the task's
defaults, so a one-label sample or a leaking evaluation set is visible before any compute is spent.
"""

from __future__ import annotations

from xlpt.data.balance import describe_counts, imbalance_problems, label_counts
from xlpt.data.plan import evaluation_rows, plan_languages, plan_training, rows_read
from xlpt.data.sources import TaskData
from xlpt.errors import XlptError


def protocol_lines(cfg, task, splits: tuple[str, ...] | None = None, data: TaskData | None = None) -> list[str]:
    """Lines describing training rows, label balance and parallel overlap for `cfg` (evaluation on `splits`,
    default the run's data.eval_split). Problems are described, not raised: this is a preview. `data`: the
    task's TaskData under cfg.data.data_dir when the caller has discovered it already."""
    if not cfg.method_record.trains:
        return [f"protocol: {cfg.method.name} trains nothing; every evaluation row is scored"]
    try:
        data = data if data is not None else TaskData(task, cfg.data.data_dir)
        plan = plan_training(cfg, data.labeled_splits(cfg.data.train_lang))
        loaded = {split: data.load(cfg.data.train_lang, split).examples
                  for split in {plan.train.split, plan.selection.split}}
    except XlptError as err:
        return [f"protocol: cannot preview the training rows: {err}"]
    read = rows_read(plan, loaded)
    used = label_counts([loaded[plan.train.split][i] for i in read.train.indices])
    lines = [f"protocol: training reads {plan.lang} {plan.train.describe()} ({len(read.train.indices)} rows; label counts "
             f"{describe_counts(used)}); selection reads {plan.selection.describe()} ({len(read.selection.indices)} rows)"]
    problems = imbalance_problems(used, label_counts(loaded[plan.train.split]), task.labels)
    if problems:
        allowed = "trains anyway (data.allow_label_imbalance=true)" if cfg.data.allow_label_imbalance else "STOPS"
        lines.append(f"protocol: the training rows are unbalanced: {'; '.join(problems)}; the run {allowed}")
    if task.data.parallel is None:
        lines.append(f"protocol: task {task.name} declares no parallel alignment (data.parallel): whether evaluation "
                     "rows translate training rows is NOT checked")
        return lines
    for split in splits or (cfg.data.eval_split,):
        lines.append(_overlap_line(cfg, task, data, read, split))
    return lines


def file_lines(cfg, task, data: TaskData | None = None) -> list[str]:
    """The file each (language, split) the run reads comes from: the source language's training and selection
    splits, then every evaluated language's data.eval_split (or the dev split it falls back to). A problem is
    described, not raised: this is a preview."""
    try:
        return [f"{lang} {split:<5}  {where}" for (lang, split), where in data_files(cfg, task, data).items()]
    except XlptError as err:
        return [f"cannot list the data files: {err}"]


def data_files(cfg, task, data: TaskData | None = None) -> dict[tuple[str, str], str]:
    """(language, split) -> where it is read from (files, format, labels), in the order the run reads them.
    `data`: the task's TaskData under cfg.data.data_dir, if the caller has it already."""
    data = data if data is not None else TaskData(task, cfg.data.data_dir)
    roles: dict[tuple[str, str], list[str]] = {}
    if cfg.method_record.trains:
        plan = plan_training(cfg, data.labeled_splits(cfg.data.train_lang))
        roles.setdefault((plan.lang, plan.train.split), []).append("training")
        roles.setdefault((plan.lang, plan.selection.split), []).append("selection")
    plan_eval, skipped = plan_languages(cfg, data, cfg.data.eval_split, cfg.data.languages_wanted())
    for lang, split in plan_eval.items():
        roles.setdefault((lang, split), []).append("evaluation")
    found = {}
    for (lang, split), used_for in roles.items():
        found[(lang, split)] = f"({', '.join(used_for)}) {_where(data, cfg, lang, split, plan_eval)}"
    for lang, why in skipped.items():
        found[(lang, "-")] = f"not evaluated: {why}"
    return found


def _where(data: TaskData, cfg, lang: str, split: str, plan_eval: dict[str, str]) -> str:
    source = (data.sources or {}).get(lang, {}).get(split)
    if source is None:  # the hub: no files until it is downloaded
        return f"the Hugging Face hub ({data.data_dir})"
    files = ", ".join(str(path) for path in source.files)
    state = "labeled" if source.labeled else "unlabeled"
    labels = f", labels from {', '.join(str(p) for p in source.label_source.files)}" if source.label_source else ""
    fallback = (f" (no labeled {cfg.data.eval_split} split: evaluated on {split})"
                if plan_eval.get(lang) == split != cfg.data.eval_split else "")
    return f"{files}  [{source.fmt}, {state}{labels}]{fallback}"


def _overlap_line(cfg, task, data: TaskData, read, split: str) -> str:
    plan, _ = plan_languages(cfg, data, split, cfg.data.languages_wanted())
    excluded, to_selection = {}, {}
    for lang, lang_split in plan.items():
        examples = data.load(lang, lang_split).examples
        rows = evaluation_rows(examples, lang, lang_split, read, None, cfg.data.sample_seed, task.data.parallel)
        if rows.excluded_parallel:
            excluded[f"{lang} {lang_split}"] = f"{rows.excluded_parallel} of {len(examples)}"
        if rows.parallel_to_selection:
            to_selection[f"{lang} {lang_split}"] = rows.parallel_to_selection
    head = f"protocol: evaluating {split} (rows aligned by {task.data.parallel}): "
    if not excluded and not to_selection:
        return head + "no scored row translates a training or selection row"
    parts = []
    if excluded:
        parts.append(f"left out as translations of training rows: {_grouped(excluded)}")
    if to_selection:
        parts.append(f"scored rows translating selection rows: {_grouped(to_selection)}")
    return head + "; ".join(parts)


def _grouped(counts: dict[str, object], shown: int = 6) -> str:
    """`1600 of 2000 rows in de dev, es dev, ...`: languages with the same count together (199 stay readable)."""
    groups: dict[str, list[str]] = {}
    for where, count in counts.items():
        groups.setdefault(str(count), []).append(where)
    return "; ".join(f"{count} rows in " + ", ".join(names[:shown])
                     + (f", ... ({len(names)} languages)" if len(names) > shown else "")
                     for count, names in groups.items())
