"""Entity extraction under strict IOB2 and the lenient conlleval rule, checked by hand and against seqeval."""

from __future__ import annotations

import random
import warnings

import pytest
from seqeval.metrics.sequence_labeling import get_entities
from seqeval.scheme import IOB2, Tokens

from xlpt.evaluation.entities import lenient_chunks, strict_entities, strict_entity_set


def seqeval_strict(tags: list[str]) -> list[tuple[str, int, int]]:
    return [(e.tag, e.start, e.end) for e in Tokens(list(tags), IOB2).entities]


def seqeval_lenient(sentences: list[list[str]]) -> set[tuple[str, int, int]]:
    """seqeval's default chunks, converted to our (type, start, end-exclusive)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "NOUN seems not to be NE tag"
        return {(t, start, end + 1) for t, start, end in get_entities([list(s) for s in sentences])}


# (tags, strict entities, lenient entities) for one sentence; lenient offsets equal sentence offsets.
HAND_MADE = {
    "entity at sentence end": (
        ["O", "B-PER", "I-PER"], [("PER", 1, 3)], {("PER", 1, 3)}),
    "one-token entity at end": (
        ["O", "O", "B-LOC"], [("LOC", 2, 3)], {("LOC", 2, 3)}),
    "adjacent same type B-X B-X": (
        ["B-LOC", "B-LOC", "I-LOC"], [("LOC", 0, 1), ("LOC", 1, 3)], {("LOC", 0, 1), ("LOC", 1, 3)}),
    "I-X after B-Y": (
        ["B-PER", "I-ORG", "O"], [("PER", 0, 1)], {("PER", 0, 1), ("ORG", 1, 2)}),
    "I-X after I-Y": (
        ["B-PER", "I-PER", "I-ORG", "I-ORG"], [("PER", 0, 2)], {("PER", 0, 2), ("ORG", 2, 4)}),
    "I- after O": (
        ["O", "I-PER", "I-PER", "O"], [], {("PER", 1, 3)}),
    "I- at sentence start": (
        ["I-ORG", "O"], [], {("ORG", 0, 1)}),
    "ja/zh # gap inside a name": (
        ["B-ORG", "I-ORG", "O", "I-ORG", "I-ORG"], [("ORG", 0, 2)], {("ORG", 0, 2), ("ORG", 3, 5)}),
    "all O": (
        ["O", "O", "O"], [], set()),
    "empty sentence": (
        [], [], set()),
    "docstring example": (
        ["O", "I-PER", "I-PER", "B-LOC", "I-ORG"], [("LOC", 3, 4)], {("PER", 1, 3), ("LOC", 3, 4), ("ORG", 4, 5)}),
}


@pytest.mark.parametrize("case", list(HAND_MADE))
def test_hand_made_cases(case):
    tags, strict, lenient = HAND_MADE[case]
    assert strict_entities(tags) == strict
    assert lenient_chunks([tags]) == lenient
    # ...and seqeval agrees with the hand-written expectations.
    assert seqeval_strict(tags) == strict
    assert seqeval_lenient([tags]) == lenient


def test_lenient_chunks_do_not_cross_sentences():
    # B-PER | I-PER: the I-PER opens a new chunk in sentence 2 (offset 2, after the separator).
    assert lenient_chunks([["B-PER"], ["I-PER"]]) == {("PER", 0, 1), ("PER", 2, 3)}
    assert strict_entity_set([["B-PER"], ["I-PER"]]) == {(0, "PER", 0, 1)}


@pytest.mark.parametrize("bad", ["E-PER", "S-LOC", "PER", "B-", "NOUN", "b-PER", ""])
def test_strict_rejects_non_iob2_tags(bad):
    with pytest.raises(ValueError, match="not IOB2"):
        strict_entities(["O", bad])


def test_lenient_on_upos_follows_seqeval_quirks():
    # Runs of one tag merge; S-initial tags (SYM, SCONJ) are single-token chunks; CCONJ/SCONJ share a type.
    sentences = [["NOUN", "NOUN", "VERB", "SYM", "SYM", "CCONJ", "SCONJ", "X"], ["X", "DET"]]
    ours = lenient_chunks(sentences)
    assert ("OUN", 0, 2) in ours and ("YM", 3, 4) in ours and ("YM", 4, 5) in ours
    assert ours == seqeval_lenient(sentences)


IOB2_TAGS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]
ANY_TAGS = IOB2_TAGS + ["E-PER", "S-LOC", "NOUN", "SCONJ", "CCONJ", "X", "INTJ", "B", "I", "O-X", ".", "-"]


@pytest.mark.parametrize("seed", range(5))
def test_random_sequences_match_seqeval(seed):
    """Random (mostly invalid) sequences: the cases where hand-written rules usually go wrong."""
    rng = random.Random(seed)
    iob2 = [[rng.choice(IOB2_TAGS) for _ in range(rng.randint(0, 12))] for _ in range(300)]
    assert all(strict_entities(tags) == seqeval_strict(tags) for tags in iob2)
    assert lenient_chunks(iob2) == seqeval_lenient(iob2)
    mixed = [[rng.choice(ANY_TAGS) for _ in range(rng.randint(0, 12))] for _ in range(300)]
    assert lenient_chunks(mixed) == seqeval_lenient(mixed)
