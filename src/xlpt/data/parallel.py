"""Parallel rows across languages: which evaluation rows translate rows that training or selection read.

A task declares how its rows align (`data.parallel` in its YAML):
- `row`: row i of a split is the same item in every language (XNLI and PAWS-X dev/test);
- `id`: equal example ids are the same item, whatever the split (SIB-200's FLORES `index_id`).
Scoring another language's translation of a training row measures memorisation, not transfer: PAWS-X
trained on 80 % of English dev and scored on the full es/fr/ja/ko dev sets scores 1,600 of 2,000 rows
on translations of its training rows. Such rows are left out and counted (`excluded_parallel`); rows that
translate checkpoint-selection rows are kept and counted (`parallel_to_selection`), and flagged.
A task without the declaration is not checked; results say `"parallel": {"by": null, "checked": false}`.
Tasks that share a corpus declare it (`data.corpus: flores200` for SIB-200 and Belebele): it is recorded,
and not matched across tasks (see `record`).
"""

from __future__ import annotations

from typing import Hashable


def row_keys(examples: list, by: str) -> list[Hashable]:
    """What identifies each row across languages: its index (`row`) or its example id (`id`)."""
    return list(range(len(examples))) if by == "row" else [example.id for example in examples]


def screen(keys: list[Hashable], rows: list[int], trained: set, selected: set) -> tuple[list[int], int, set[int]]:
    """(rows kept, how many were excluded as translations of training rows, the kept rows that translate
    selection rows), given each row's key and the keys training and selection read."""
    kept = [i for i in rows if keys[i] not in trained]
    return kept, len(rows) - len(kept), {i for i in kept if keys[i] in selected}


def record(task) -> dict:
    """What results.json says about the check: {"by": row | id | None, "checked": bool}, and, for a task whose
    texts come from a corpus other tasks share (`data.corpus`, SIB-200 and Belebele: FLORES-200),
    `"corpus"` and `"across_tasks": false`: rows are screened within the task only, never against another
    task's training rows (a run trains and scores one task; Belebele's rows carry no FLORES sentence id)."""
    found = {"by": task.data.parallel, "checked": task.data.parallel is not None}
    if task.data.corpus is not None:
        found.update(corpus=task.data.corpus, across_tasks=False)
    return found
