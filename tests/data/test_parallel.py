"""No scored row translates a training row (data/parallel.py through data/plan.py), on the real data."""

from __future__ import annotations

from xlpt.config.loading import config_from_dict
from xlpt.data import parallel
from xlpt.data.plan import evaluation_rows, plan_training, rows_read
from xlpt.data.sources import TaskData
from xlpt.tasks import get_task


def _read(task: str, data_dir, data: TaskData, **overrides):
    cfg = config_from_dict({"data": {"task": task, "data_dir": str(data_dir), **overrides}})
    plan = plan_training(cfg, data.labeled_splits(cfg.data.train_lang))
    loaded = {split: data.load(cfg.data.train_lang, split).examples for split in {plan.train.split, plan.selection.split}}
    return rows_read(plan, loaded)


def test_pawsx_dev_keeps_only_the_rows_aligned_with_the_held_back_part(data_dir):
    task = get_task("pawsx")
    data = TaskData(task, data_dir)
    read = _read("pawsx", data_dir, data, max_dev_examples=None)  # trains on 80 % of en dev, selects on the rest
    trained, selected = set(read.train.indices), set(read.selection.indices)
    assert (len(trained), len(selected)) == (1600, 400)
    for lang in ("es", "ja"):
        examples = data.load(lang, "dev").examples
        rows = evaluation_rows(examples, lang, "dev", read, None, 0, task.data.parallel)
        assert (rows.excluded_parallel, rows.available, rows.parallel_to_selection) == (1600, 400, 400)
        assert set(rows.indices) == selected and rows.label == "dev"
        capped = evaluation_rows(examples, lang, "dev", read, 50, 0, task.data.parallel)
        assert len(capped.indices) == 50 and set(capped.indices) <= selected and capped.parallel_to_selection == 50
        test = evaluation_rows(data.load(lang, "test").examples, lang, "test", read, None, 0, task.data.parallel)
        assert (test.excluded_parallel, test.parallel_to_selection, len(test.indices)) == (0, 0, 2000)


def test_sib200_rows_align_by_id_whatever_their_order(data_dir):
    task = get_task("sib200")
    data = TaskData(task, data_dir)
    read = _read("sib200", data_dir, data, train_split="dev")  # a run that trains on English dev
    trained_ids = {data.load("eng_Latn", "dev").examples[i].id for i in read.train.indices}
    examples = data.load("deu_Latn", "dev").examples
    rows = evaluation_rows(examples, "deu_Latn", "dev", read, None, 0, task.data.parallel)
    scored_ids = {examples[i].id for i in rows.indices}
    assert rows.excluded_parallel == len(trained_ids) > 0 and not scored_ids & trained_ids
    assert len(scored_ids) + rows.excluded_parallel == len(examples)
    # the same by row would be wrong only if the files were in different orders; by id is what the task says
    assert parallel.record(task) == {"by": "id", "checked": True, "corpus": "flores200", "across_tasks": False}


def test_an_undeclared_task_is_not_screened_and_says_so(data_dir):
    task = get_task("panx")
    assert parallel.record(task) == {"by": None, "checked": False}
    data = TaskData(task, data_dir)
    read = _read("panx", data_dir, data, eval_languages="de")
    examples = data.load("de", "dev").examples
    rows = evaluation_rows(examples, "de", "dev", read, None, 0, task.data.parallel)
    assert rows.excluded_parallel == 0 and len(rows.indices) == len(examples)
