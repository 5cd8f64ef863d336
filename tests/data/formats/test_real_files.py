"""Every real file, read by the reader of its manifest format, gives exactly the manifest's count."""

from __future__ import annotations

import pytest

from xlpt.data.formats import read_file
from xlpt.tasks import get_task


@pytest.mark.parametrize("task", ["xnli", "pawsx", "udpos", "panx"])
def test_every_file_matches_its_manifest_row(data_dir, manifest_rows, task):
    rows = [row for row in manifest_rows if row["task"] == task]
    spec = get_task(task)
    assert rows
    wrong = []
    for row in rows:
        examples = list(read_file(data_dir / row["dest"], row["fmt"], task=spec, lang=row["lang"]))
        labels = [getattr(ex, "label", None) if hasattr(ex, "label") else ex.tags for ex in examples]
        labeled = all(label is not None for label in labels)
        if (len(examples), labeled) != (row["n"], row["labeled"]):
            wrong.append((row["dest"], len(examples), row["n"], labeled, row["labeled"]))
    assert wrong == []


def test_manifest_lists_170_files_of_the_four_xtreme_tasks(manifest_rows, data_dir):
    # 165 + PAWS-X's labeled tests in x-final names (en es fr ja ko); the xcopa rows belong to a task to come
    assert len([row for row in manifest_rows if row["task"] in ("xnli", "pawsx", "udpos", "panx")]) == 170
    assert all((data_dir / row["dest"]).is_file() for row in manifest_rows)
