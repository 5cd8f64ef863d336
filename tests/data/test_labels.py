"""Label normalisation: every spelling in the real formats maps to a name; anything else is refused."""

from __future__ import annotations

import pytest

from xlpt.data.labels import normalise_label
from xlpt.tasks import get_task

XNLI, PAWSX = get_task("xnli"), get_task("pawsx")


@pytest.mark.parametrize(
    "task, raw, name",
    [
        (XNLI, 0, "entailment"), (XNLI, 1, "neutral"), (XNLI, 2, "contradiction"),  # HF ClassLabel order
        (XNLI, "contradictory", "contradiction"), (XNLI, " neutral ", "neutral"), (XNLI, "2", "contradiction"),
        (PAWSX, 0, "not_paraphrase"), (PAWSX, "1", "paraphrase"), (PAWSX, "paraphrase", "paraphrase"),
    ],
)
def test_known_spellings(task, raw, name):
    assert normalise_label(task, raw) == name


@pytest.mark.parametrize("task, raw", [(XNLI, 3), (XNLI, -1), (XNLI, "Entailment!"), (PAWSX, 2), (PAWSX, True), (PAWSX, None)])
def test_unknown_labels_are_refused(task, raw):
    with pytest.raises(ValueError, match="unknown label"):
        normalise_label(task, raw)
