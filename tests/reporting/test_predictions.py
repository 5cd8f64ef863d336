"""Prediction files → per-unit counts: tagging accuracy, padding, id alignment, readable errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from xlpt.reporting.predictions import PredictionError, align, read_unit_counts


def _write(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_tagging_accuracy_counts_tokens_and_pads_short_predictions(tmp_path):
    path = _write(tmp_path / "de.jsonl", [
        {"id": "a", "gold": ["NOUN", "VERB", "DET"], "pred": ["NOUN", "NOUN", "DET"]},
        {"id": "b", "gold": ["PUNCT", "X"], "pred": ["PUNCT"]},  # truncated prediction: missing tag is wrong
    ])
    counts = read_unit_counts(path, "accuracy")
    assert counts.kind == "ratio" and counts.ids == ["a", "b"]
    assert counts.counts.tolist() == [[2, 3], [1, 2]]


def test_alignment_follows_ids_not_line_order(tmp_path):
    first = read_unit_counts(_write(tmp_path / "a.jsonl", [
        {"id": "x", "gold": "yes", "pred": "yes"}, {"id": "y", "gold": "no", "pred": "yes"}]), "accuracy")
    second = read_unit_counts(_write(tmp_path / "b.jsonl", [
        {"id": "y", "gold": "no", "pred": "no"}, {"id": "x", "gold": "yes", "pred": "no"},
        {"id": "z", "gold": "no", "pred": "no"}]), "accuracy")
    a, b = align([first, second])
    assert np.array_equal(a[:, 0], [1, 0]) and np.array_equal(b[:, 0], [0, 1])  # rows x, y in both; z dropped
    other = read_unit_counts(_write(tmp_path / "c.jsonl", [{"id": "q", "gold": "no", "pred": "no"}]), "accuracy")
    with pytest.raises(PredictionError, match="share no example ids"):
        align([first, other])


def test_corrupt_line_names_file_and_line(tmp_path):
    path = tmp_path / "sw.jsonl"
    path.write_text('{"id": "a", "gold": "x", "pred": "x"}\n{"id": "b", "gold": \n', encoding="utf-8")
    with pytest.raises(PredictionError, match=r"sw\.jsonl:2"):
        read_unit_counts(path, "accuracy")
