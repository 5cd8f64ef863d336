"""Quirk counting and the explicit IOB repair, on hand-made examples."""

from __future__ import annotations

from xlpt.data.examples import PairExample, TaggedSentence
from xlpt.data.quality import pair_quirks, repair_iob, tagging_quirks


def _s(words, tags):
    return TaggedSentence(tuple(words.split()), tuple(tags.split()), "ja", "x")


def test_pair_duplicates_and_identical_pairs():
    examples = [PairExample("a", "b", None, "en", "1"), PairExample("a", "b", None, "en", "2"),
                PairExample("c", "c ", None, "en", "3"), PairExample("b", "a", None, "en", "4")]
    assert pair_quirks(examples) == {"duplicates": 1, "identical_pairs": 1}


def test_orphan_i_tags_type_mismatch_duplicates_and_redirects():
    sentences = [
        _s("東 # 京", "B-LOC O I-LOC"),  # the ja/zh `#` space token: I- after O
        _s("x y", "I-PER I-PER"),  # I- at sentence start counts as after O
        _s("a b", "B-PER I-ORG"),  # type change
        _s("WEITERLEITUNG Berlin", "O B-LOC"),
        _s("x y", "O O"),  # same words as sentence 2: a duplicate
    ]
    counts = tagging_quirks(sentences, iob=True)
    assert (counts["i_after_o"], counts["i_type_mismatch"], counts["duplicates"], counts["redirects"]) == (2, 1, 1, 1)


def test_repair_turns_every_orphan_into_b_and_leaves_valid_iob_alone():
    sentences = [_s("東 # 京", "B-LOC O I-LOC"), _s("a b", "B-PER I-ORG"), _s("c d", "B-ORG I-ORG")]
    repaired, n = repair_iob(sentences)
    assert n == 2
    assert [s.tags for s in repaired] == [("B-LOC", "O", "B-LOC"), ("B-PER", "B-ORG"), ("B-ORG", "I-ORG")]
    assert repaired[2] is sentences[2]
    assert tagging_quirks(repaired, iob=True)["i_after_o"] == 0
