"""The protocol of a run before anything trains: which rows train (and their labels), and which evaluation
rows translate them. `xlpt train --dry-run` prints it for the run's config, `xlpt data check` for the task's
defaults, so a one-label sample or a leaking evaluation set is visible before any compute is spent.
"""

from __future__ import annotations

from xlpt.data.balance import describe_counts, imbalance_problems, label_counts
from xlpt.data.plan import evaluation_rows, plan_languages, plan_training, rows_read
from xlpt.data.sources import TaskData
from xlpt.errors import XlptError


def protocol_lines(cfg, task, splits: tuple[str, ...] | None = None) -> list[str]:
    """Lines describing training rows, label balance and parallel overlap for `cfg` (evaluation on `splits`,
    default the run's data.eval_split). Problems are described, not raised: this is a preview."""
    if not cfg.method_record.trains:
        return [f"protocol: {cfg.method.name} trains nothing; every evaluation row is scored"]
    try:
        data = TaskData(task, cfg.data.data_dir)
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
