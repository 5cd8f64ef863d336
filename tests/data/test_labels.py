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


def test_labels_that_are_numbers_match_by_name_before_index(user_task):
    # XStoryCloze's right ending is 1 or 2 (a plain int column): index order would shift it by one
    task = user_task("""
name: endings
family: text_classification
labels: ["1", "2"]
metric: accuracy
data: {path: "{lang}/{split}.tsv", format: tsv}
template: "{text} Ending:"
label_words: {"1": " one", "2": " two"}
""")
    assert [normalise_label(task, raw) for raw in (1, 2, "1", " 2 ")] == ["1", "2", "1", "2"]
    assert normalise_label(task, 0) == "1"  # not a name: still the index of the first label
