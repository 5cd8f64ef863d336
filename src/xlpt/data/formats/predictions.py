"""Classification predictions: one label name per line, in example order (read back by `xlpt score`)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from xlpt.data.formats.context import ReadContext
from xlpt.data.formats.text import data_lines, read_text
from xlpt.data.labels import normalise_label
from xlpt.tasks.spec import TaskSpec


def write_predictions(path: Path, labels: Iterable[str]) -> int:
    """Write one label per line (LF, final newline). Returns the number of lines written."""
    labels = list(labels)
    for number, label in enumerate(labels, start=1):
        if not label or label != label.strip() or "\n" in label:
            raise ValueError(f"prediction {number}: {label!r} cannot be written as one line")
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write("".join(f"{label}\n" for label in labels))
    return len(labels)


def read_predictions(path: Path, task: TaskSpec) -> list[str]:
    """Labels from a predictions file, normalised to the task's label names.

    Raises DataFormatError naming the line for an empty file, a blank line or an unknown label.
    """
    ctx = ReadContext(Path(path), task, lang="")
    text = read_text(ctx)
    labels = []
    for number, raw in enumerate(data_lines(text), start=1):
        if not raw.strip():
            ctx.fail(number, "blank line (every example needs one prediction)")
        try:
            labels.append(normalise_label(task, raw))
        except ValueError as err:
            ctx.fail(number, str(err))
    return labels
