"""Per-example prediction files turned into per-unit count vectors for the PT − FT bootstrap.

Every metric here is a function of *summed* counts, so resampling units (examples or sentences) and
re-summing gives the metric on a bootstrap sample exactly:

* classification: unit = example, counts (correct, 1), metric = sum correct / sum total;
* tagging accuracy: unit = sentence, counts (correct tags, tags), metric = micro token accuracy;
* tagging F1 (NER): unit = sentence, counts (tp, fp, fn) over entities, metric = 2tp / (2tp + fp + fn).

Entities are strict IOB2 spans: an entity starts at `B-X` and extends over the following `I-X` of the
same type; an `I-X` that does not continue a `B-X`/`I-X` of type X starts nothing (like seqeval's
strict IOB2 mode). A prediction shorter than its gold sequence is padded with `O`.
"""

from __future__ import annotations

import json
import operator
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class UnitCounts:
    """Counts per unit, rows in file order, with the unit ids for alignment across systems."""

    ids: list
    """The records' "id" values (None where absent)."""
    counts: np.ndarray
    kind: str
    """"ratio" (first column over second) or "f1" (columns tp, fp, fn)."""


class PredictionError(ValueError):
    """A predictions file cannot be used; the message names the file and line."""


def read_unit_counts(path: Path, metric: str) -> UnitCounts:
    """Read one `predictions/<split>/<lang>.jsonl` file into per-unit counts for `metric`."""
    records = _read_records(path)
    try:
        golds = [r["gold"] for r in records]
        preds = [r["pred"] for r in records]
        ids = [r.get("id") for r in records]
    except (KeyError, TypeError, AttributeError):
        _raise_bad_line(path)
    tagging = sum(isinstance(g, list) for g in golds)
    if 0 < tagging < len(golds):
        raise PredictionError(f"{path}: mixes classification and tagging records")
    if tagging:
        rows = [_tagging_counts(g, p, metric) for g, p in zip(golds, preds)]
        counts, kind = np.asarray(rows, dtype=np.float64), "f1" if metric == "f1" else "ratio"
    else:  # classification: one vectorised comparison, this is the bulk of the data (5k lines per file)
        correct = np.fromiter(map(operator.eq, golds, preds), dtype=np.float64, count=len(golds))
        counts, kind = np.column_stack([correct, np.ones_like(correct)]), "ratio"
    return UnitCounts(ids, counts, kind)


def _read_records(path: Path) -> list:
    """All records of a JSON-lines file, decoded in one call (several times faster than line by line
    on 5k-line files); only when that fails is the file re-read per line to name the bad line."""
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not lines:
        raise PredictionError(f"{path}: no predictions")
    try:
        return json.loads("[" + ",".join(lines) + "]")
    except json.JSONDecodeError:
        _raise_bad_line(path)


def _raise_bad_line(path: Path):
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            record["gold"], record["pred"]
        except (json.JSONDecodeError, KeyError, TypeError, IndexError) as err:
            raise PredictionError(f"{path}:{number}: not a prediction record ({err})") from None
    raise PredictionError(f"{path}: not a JSON-lines prediction file")


def _tagging_counts(gold: list, pred, metric: str) -> tuple:
    pred = list(pred) if isinstance(pred, list) else []
    pred = pred[: len(gold)] + ["O"] * (len(gold) - len(pred))
    if metric == "f1":
        return entity_counts(gold, pred)
    return sum(map(operator.eq, gold, pred)), len(gold)


def iob2_entities(tags: list[str]) -> set[tuple[str, int, int]]:
    """Strict IOB2 spans as (type, start, end-exclusive)."""
    spans, kind, start = set(), None, 0
    for i, tag in enumerate(tags):
        if tag == "O":  # the common case first: most tags are O
            if kind is not None:
                spans.add((kind, start, i))
                kind = None
            continue
        prefix, label = tag[:2], tag[2:]
        if prefix == "I-" and label == kind:
            continue
        if kind is not None:
            spans.add((kind, start, i))
            kind = None
        if prefix == "B-" and label:
            kind, start = label, i
    if kind is not None:
        spans.add((kind, start, len(tags)))
    return spans


def entity_counts(gold: list[str], pred: list[str]) -> tuple[int, int, int]:
    """(tp, fp, fn) of exact entity matches in one sentence."""
    gold_spans, pred_spans = iob2_entities(gold), iob2_entities(pred)
    tp = len(gold_spans & pred_spans)
    return tp, len(pred_spans) - tp, len(gold_spans) - tp


def metric_from_sums(sums: np.ndarray, kind: str) -> np.ndarray:
    """The metric from counts summed over units; works on any leading batch shape (..., k)."""
    if kind == "f1":
        tp, fp, fn = sums[..., 0], sums[..., 1], sums[..., 2]
        denom = 2 * tp + fp + fn
        return np.divide(2 * tp, denom, out=np.zeros_like(denom, dtype=float), where=denom > 0)
    total = sums[..., 1]
    return np.divide(sums[..., 0], total, out=np.zeros_like(total, dtype=float), where=total > 0)


def align(files: list[UnitCounts]) -> list[np.ndarray]:
    """Reorder every file's counts onto the ids common to all of them (first file's order).

    Ids that are absent or repeated fall back to line order, which needs equal lengths."""
    if all(f.ids == files[0].ids for f in files[1:]):
        return [f.counts for f in files]
    keys = [[str(i) for i in f.ids] for f in files]
    if all(None not in f.ids and len(set(k)) == len(k) for f, k in zip(files, keys)):
        present = set.intersection(*(set(k) for k in keys))
        common = [i for i in keys[0] if i in present]
        if not common:
            raise PredictionError("the prediction files share no example ids")
        return [f.counts[_rows(k, common)] for f, k in zip(files, keys)]
    if len({len(f.ids) for f in files}) != 1:
        raise PredictionError("example ids repeat and the files differ in length, so they cannot be paired")
    return [f.counts for f in files]


def _rows(keys: list[str], ids: list[str]) -> list[int]:
    position = {unit_id: row for row, unit_id in enumerate(keys)}
    return [position[i] for i in ids]
