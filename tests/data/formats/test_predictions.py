"""One-label-per-line predictions: round trip, normalisation, and errors naming the line."""

from __future__ import annotations

import pytest

from xlpt.data.formats.predictions import read_predictions, write_predictions
from xlpt.errors import DataFormatError
from xlpt.tasks import get_task


def test_round_trip(tmp_path):
    labels = ["entailment", "contradiction", "neutral", "entailment"]
    path = tmp_path / "pred.txt"
    assert write_predictions(path, labels) == 4
    assert path.read_text() == "entailment\ncontradiction\nneutral\nentailment\n"
    assert read_predictions(path, get_task("xnli")) == labels


def test_ids_and_aliases_are_normalised(tmp_path):
    path = tmp_path / "pred.txt"
    path.write_text("1\n0\nparaphrase\n")
    assert read_predictions(path, get_task("pawsx")) == ["paraphrase", "not_paraphrase", "paraphrase"]


@pytest.mark.parametrize("text, line, problem", [("neutral\n\nneutral\n", 2, "blank line"), ("neutral\nyes\n", 2, "unknown label"), ("", None, "empty file")])
def test_errors_name_the_line(tmp_path, text, line, problem):
    path = tmp_path / "pred.txt"
    path.write_text(text)
    with pytest.raises(DataFormatError) as info:
        read_predictions(path, get_task("xnli"))
    assert (info.value.path, info.value.line) == (str(path), line) and problem in info.value.problem


def test_writer_refuses_multi_line_labels(tmp_path):
    with pytest.raises(ValueError):
        write_predictions(tmp_path / "p.txt", ["a\nb"])
