"""Prediction files read back by `xlpt score`: one label name per line (classification, in example
order), or the jsonl xlpt itself writes (`predictions/<key>/<lang>.jsonl`: one {"id", "gold", "pred"}
object per example; `pred`/`gold` are a label, or a list of tags for tagging). `xlpt predict` writes the
same `pred` key; files of older versions call it `prediction`, and are read as well."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from xlpt.data.formats.context import ReadContext
from xlpt.data.formats.text import data_lines, read_text
from xlpt.data.labels import normalise_label
from xlpt.tasks.spec import TaskSpec

RECORD_KEYS = ("id", "gold", "pred")
PRED = "pred"
"""The key of a prediction in every file xlpt writes (evaluation's records, `xlpt predict`)."""
OLD_PRED = ("prediction",)
"""What `xlpt predict` of xlpt 0.1 called it; readers accept it where `pred` is absent."""


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


def read_prediction_records(path: Path, task: TaskSpec) -> tuple[list, list]:
    """(gold, pred) from xlpt's predictions jsonl, labels/tags normalised; every bad line is one
    DataFormatError naming it (unlabeled records, unknown labels, a gold/pred length mismatch)."""
    import json

    ctx = ReadContext(Path(path), task, lang="")
    text = read_text(ctx)
    gold, pred = [], []
    for number, raw in enumerate(data_lines(text), start=1):
        try:
            record = with_pred_key(json.loads(raw))
        except json.JSONDecodeError as err:
            ctx.fail(number, f"invalid JSON: {err.msg} at column {err.colno}")
            continue
        if not isinstance(record, dict) or any(key not in record for key in RECORD_KEYS):
            ctx.fail(number, f"expected an object with keys {', '.join(RECORD_KEYS)}")
            continue
        if record["gold"] is None:
            ctx.fail(number, f"example {record['id']!r} has no gold label (unlabeled data cannot be scored)")
            continue
        try:
            gold.append(_normalise(task, record["gold"]))
            pred.append(_normalise(task, record["pred"]))
        except ValueError as err:
            ctx.fail(number, str(err))
            continue
        if isinstance(gold[-1], tuple) and len(gold[-1]) != len(pred[-1]):
            ctx.fail(number, f"{len(gold[-1])} gold tags but {len(pred[-1])} predicted")
    return gold, pred


def with_pred_key(record):
    """A record with its prediction under `pred`, also when an older xlpt predict wrote `prediction`."""
    if isinstance(record, dict) and PRED not in record:
        for old in OLD_PRED:
            if old in record:
                return {**record, PRED: record[old]}
    return record


def _normalise(task: TaskSpec, value):
    if isinstance(value, list):
        return tuple(normalise_label(task, tag) for tag in value)
    return normalise_label(task, value)
