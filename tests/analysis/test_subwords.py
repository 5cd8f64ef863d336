"""Subword counting convention on hand-made words, checked against exact segmentations."""

from __future__ import annotations

import pytest

from xlpt.analysis.subwords import bare_space_id, count_subwords, subwords_per_word, summarize


def pieces(tokenizer, text: str) -> list[str]:
    return tokenizer.convert_ids_to_tokens(tokenizer(text, add_special_tokens=False).input_ids)


def test_hand_vocabulary_segments_as_designed(hand_tokenizer):
    # The expectations below rest on these segmentations; fail here first if the tokenizer changes.
    assert pieces(hand_tokenizer, "Katze") == ["▁Kat", "ze"]
    assert pieces(hand_tokenizer, "the") == ["▁the"]
    assert pieces(hand_tokenizer, "東京") == ["▁", "東京"]
    assert pieces(hand_tokenizer, "xyz") == ["▁", "x", "y", "z"]
    assert pieces(hand_tokenizer, "Ω") == ["▁", "<unk>"]


def test_bare_space_before_word_pieces_is_not_counted(hand_tokenizer):
    counts = subwords_per_word(hand_tokenizer, [["Katze", "the", "東京", "xyz", "Ω"]])
    assert counts.tolist() == [2, 1, 1, 3, 1]


def test_counts_do_not_depend_on_batching_or_sentence_boundaries(hand_tokenizer):
    one_sentence = subwords_per_word(hand_tokenizer, [["Katze", "東京", "the", "xyz"]])
    separate = subwords_per_word(hand_tokenizer, [["Katze"], ["東京"], [], ["the", "xyz"]])
    assert one_sentence.tolist() == separate.tolist() == [2, 1, 1, 3]


def test_count_subwords_exact_totals(hand_tokenizer):
    counts = count_subwords(hand_tokenizer, [["Katze", "the", "東京"], ["xyz", "Ω"]])
    assert counts.n_texts == 2
    assert counts.n_words == 5
    assert counts.n_subwords == 2 + 1 + 1 + 3 + 1
    assert counts.n_split_words == 2  # Katze, xyz
    # Token level keeps every piece the model sees: the three bare ▁ (東京, xyz, Ω) are included.
    assert counts.n_tokens == 8 + 3
    assert counts.n_unk == 1
    assert counts.n_chars == len("Katze" "the" "東京" "xyz" "Ω")
    # ▁Kat ze ▁the ▁ 東京 x y z <unk>
    assert counts.distinct_pieces == 9


def test_summary_ratios(hand_tokenizer):
    counts = count_subwords(hand_tokenizer, [["Katze", "the", "東京"], ["xyz", "Ω"]])
    stats = summarize(counts, vocab_size=len(hand_tokenizer))
    assert stats["fertility"] == pytest.approx(8 / 5)
    assert stats["split_share"] == pytest.approx(2 / 5)
    assert stats["unk_share"] == pytest.approx(1 / 11)
    assert stats["chars_per_token"] == pytest.approx(14 / 11)
    assert stats["vocab_share"] == pytest.approx(9 / len(hand_tokenizer))


def test_word_level_figures_are_null_when_words_are_not_meaningful(hand_tokenizer):
    stats = summarize(count_subwords(hand_tokenizer, [["東京東京"]]), len(hand_tokenizer), words_meaningful=False)
    assert stats["fertility"] is None and stats["split_share"] is None and stats["n_words"] is None
    assert stats["n_subwords"] == 2 and stats["chars_per_token"] == pytest.approx(4 / 3)


def test_word_without_pieces_is_kept_out_of_fertility(hand_tokenizer):
    counts = count_subwords(hand_tokenizer, [["Katze", ""]])
    assert (counts.n_words, counts.n_empty_words, counts.n_subwords) == (1, 1, 2)
    assert summarize(counts, len(hand_tokenizer))["fertility"] == 2.0


def test_tiny_tokenizer_counts_match_its_own_pieces(tiny_tokenizer):
    # Expected count per word: its pieces when tokenized alone (after a space), minus a leading bare ▁.
    words = ["The", "cat", "sleeps", "window", "Katze", "xyzzy", "東京", "2024"]
    expected = []
    for word in words:
        word_pieces = pieces(tiny_tokenizer, word)
        bare = word_pieces[0] == "▁" and len(word_pieces) > 1
        expected.append(len(word_pieces) - bare)
    assert bare_space_id(tiny_tokenizer) is not None  # this vocabulary has a bare ▁, so the rule matters
    assert subwords_per_word(tiny_tokenizer, [words]).tolist() == expected
    assert max(expected) >= 3  # the check covers multi-piece words too


def test_in_context_tokens_equal_tokenizing_the_whole_sentence(xlmr_tokenizer):
    # Words are tokenized as they appear after a space: total tokens equal those of the raw sentence.
    sentences = ["Die Katze schläft auf dem roten Stuhl.", "Paka analala kwenye kiti chekundu karibu na dirisha."]
    counts = count_subwords(xlmr_tokenizer, [s.split() for s in sentences])
    direct = sum(len(xlmr_tokenizer(s, add_special_tokens=False).input_ids) for s in sentences)
    assert counts.n_tokens == direct
    assert subwords_per_word(xlmr_tokenizer, [["Katze"]]).tolist() == [2]  # ▁Kat ze
