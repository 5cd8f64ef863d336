"""Training rows that cannot teach the task stop the run (data/balance.py)."""

from __future__ import annotations

import pytest

from xlpt.data.balance import check_training_labels, imbalance_problems, label_counts
from xlpt.data.examples import PairExample, TaggedSentence
from xlpt.errors import ConfigError

LABELS = ("entailment", "neutral", "contradiction")
FULL = {"entailment": 3000, "neutral": 3000, "contradiction": 3000}


def test_counts_are_labels_for_classification_and_tags_over_words_for_tagging():
    pairs = [PairExample("a", "b", label, "en", str(i)) for i, label in enumerate(["neutral", "neutral", None, "x"])]
    assert label_counts(pairs) == {"neutral": 2, "x": 1}
    sentences = [TaggedSentence(("a", "b"), ("O", "B-PER"), "en", "1"), TaggedSentence(("c",), ("O",), "en", "2")]
    assert label_counts(sentences) == {"B-PER": 1, "O": 2}


def test_one_label_and_a_starved_common_label_are_problems():
    assert imbalance_problems({"entailment": 2000}, FULL, LABELS) == [
        "every training example has the label 'entailment' (2000 examples)"]
    starved = imbalance_problems({"entailment": 1000, "neutral": 995, "contradiction": 5}, FULL, LABELS)
    assert len(starved) == 1 and "'contradiction' is 5 of 2000 training rows (0.2%) but 33% of the split" in starved[0]
    assert imbalance_problems({"entailment": 700, "neutral": 700, "contradiction": 600}, FULL, LABELS) == []


def test_a_label_rare_in_the_whole_split_is_not_a_problem():
    full = {"O": 9000, "B-PER": 950, "I-PER": 50}  # I-PER is 0.5% of the split: rare by nature, not by sampling
    assert imbalance_problems({"O": 900, "B-PER": 99, "I-PER": 1}, full, ("O", "B-PER", "I-PER")) == []


def test_the_check_stops_with_one_line_unless_allowed():
    with pytest.raises(ConfigError) as info:
        check_training_labels({"entailment": 10}, FULL, LABELS, False, "xnli/en train", print)
    message = str(info.value)
    assert "\n" not in message and "data.allow_label_imbalance=true" in message and message.startswith("xnli/en train")
    logged = []
    record = check_training_labels({"entailment": 10}, FULL, LABELS, True, "xnli/en train", logged.append)
    assert record == {"allowed": True, "problems": ["every training example has the label 'entailment' (10 examples)"]}
    assert logged and logged[0].startswith("WARNING")
    assert check_training_labels(FULL, FULL, LABELS, False, "x", print) is None
