"""Words -> subwords -> windows: exact spans, words that tokenize to nothing special, long sentences."""

import pytest

from xlpt.data.examples import TaggedSentence
from xlpt.models.tokenizer import load_tokenizer
from xlpt.tasks import get_task

UPOS_TAGS = get_task('udpos').labels
from xlpt.tasks.word_alignment import (IGNORE, AlignmentReport, encode_tagged, plan_windows, start_ids,
                                       word_pieces)


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir):
    return load_tokenizer(tiny_model_dir)


def _sentence(words, tags=None, sid="s"):
    return TaggedSentence(tuple(words), None if tags is None else tuple(tags), "en", sid)


def test_multi_subword_words_get_their_exact_spans(tokenizer):
    words = ["The", "cat", "sleeps", "on", "the", "warm", "chair", "."]
    (pieces,) = word_pieces(tokenizer, [words])
    assert len(pieces.spans) == len(words)
    assert any(end - start > 1 for start, end in pieces.spans)  # the test needs multi-piece words
    # spans tile the ids in order, each word's span is its own leading-space tokenization
    assert pieces.spans[0][0] == 0 and pieces.spans[-1][1] == len(pieces.ids)
    for (start, end), (next_start, _) in zip(pieces.spans, pieces.spans[1:]):
        assert end == next_start
    for word, (start, end) in zip(words, pieces.spans):
        assert list(pieces.ids[start:end]) == tokenizer(" " + word, add_special_tokens=False).input_ids
    # ... and their concatenation is exactly how the running text is tokenized after </s>
    assert list(pieces.ids) == tokenizer(" ".join(words)).input_ids[len(start_ids(tokenizer)):]


def test_word_that_vanishes_in_running_text_keeps_its_own_position(tokenizer):
    words = ["cat", "\u200b", "dog"]  # a zero-width space: normalised away in running text
    report = AlignmentReport()
    (pieces,) = word_pieces(tokenizer, [words], report=report)
    start, end = pieces.spans[1]
    assert end - start == 1
    assert tokenizer.convert_ids_to_tokens(pieces.ids[start]) == "▁"
    assert report.placeholder_words == 0


def test_trailing_joiner_does_not_add_a_bare_space_piece(tokenizer):
    (plain,), (joined,) = word_pieces(tokenizer, [["cat", "dog"]]), word_pieces(tokenizer, [["cat\u200c", "dog"]])
    assert plain.ids == joined.ids and plain.spans == joined.spans


class _NothingFor:
    """Wraps a tokenizer so that one word tokenizes to no pieces at all (as some tokenizers do)."""

    def __init__(self, tokenizer, word):
        self.tokenizer, self.word = tokenizer, word
        self.unk_token_id = tokenizer.unk_token_id

    def __call__(self, texts, add_special_tokens=True):
        out = self.tokenizer(texts, add_special_tokens=add_special_tokens)
        if isinstance(texts, list):
            out["input_ids"] = [[] if t == " " + self.word else ids for t, ids in zip(texts, out["input_ids"])]
        return out


def test_word_that_tokenizes_to_nothing_gets_a_placeholder_and_a_prediction(tokenizer):
    wrapped = _NothingFor(tokenizer, "cat")
    sentence = _sentence(["the", "cat", "sleeps"], ["DET", "NOUN", "VERB"])
    windows, report = encode_tagged([sentence], wrapped, UPOS_TAGS, max_length=64)
    assert report.placeholder_words == 1
    (window,) = windows
    assert window.words == [0, 1, 2]
    start, end = window.spans[1]
    assert end - start == 1 and window.input_ids[start] == tokenizer.convert_tokens_to_ids("▁")
    assert window.labels == [UPOS_TAGS.index(t) for t in sentence.tags]


def test_short_sentence_is_one_window_with_labels_at_word_level(tokenizer):
    sentence = _sentence(["the", "cat", "sleeps"], ["DET", "NOUN", "VERB"])
    (window,), report = encode_tagged([sentence], tokenizer, UPOS_TAGS, max_length=64)
    assert report.split_sentences == 0
    assert window.input_ids == tokenizer("the cat sleeps").input_ids  # </s> first, then the text
    assert window.words == [0, 1, 2]
    assert window.spans[0][0] == 1  # right after </s>
    assert window.labels == [UPOS_TAGS.index("DET"), UPOS_TAGS.index("NOUN"), UPOS_TAGS.index("VERB")]


def test_unlabeled_sentences_are_never_scored(tokenizer):
    (window,), _ = encode_tagged([_sentence(["the", "cat"])], tokenizer, UPOS_TAGS, max_length=64)
    assert window.labels == [IGNORE, IGNORE]


def _long_sentence(n_words):
    vocab = ["the", "cat", "sleeps", "on", "warm", "red", "chair", "near", "window", "house", "."]
    words = [vocab[(i * 7) % len(vocab)] for i in range(n_words)]
    tags = [UPOS_TAGS[i % len(UPOS_TAGS)] for i in range(n_words)]
    return _sentence(words, tags)


@pytest.mark.parametrize("max_length", [6, 16, 40])
def test_very_long_sentence_predicts_every_word_exactly_once(tokenizer, max_length):
    sentence = _long_sentence(300)
    windows, report = encode_tagged([sentence], tokenizer, UPOS_TAGS, max_length=max_length)
    prefix = start_ids(tokenizer)
    (pieces,) = word_pieces(tokenizer, [sentence.words], budget=max_length - len(prefix))  # as clipped there
    assert len(pieces.ids) > 5 * max_length and len(windows) > 5  # longer than several windows
    predicted = [w for window in windows for w in window.words]
    assert sorted(predicted) == list(range(300)) and len(predicted) == 300
    assert report.split_sentences == 1 and report.windows == len(windows)
    for window in windows:
        assert len(window.input_ids) <= max_length
        assert window.input_ids[: len(prefix)] == prefix
        for word, (start, end), label in zip(window.words, window.spans, window.labels):
            s, e = pieces.spans[word]
            assert window.input_ids[start:end] == list(pieces.ids[s:e])  # the span holds that word's pieces
            assert label == UPOS_TAGS.index(sentence.tags[word])


def test_each_word_is_predicted_where_it_has_the_most_left_context(tokenizer):
    sentence = _long_sentence(120)
    (pieces,) = word_pieces(tokenizer, [sentence.words])
    lengths = [e - s for s, e in pieces.spans]
    plan = plan_windows(lengths, budget=15, context=7)
    assert len(plan) > 5
    for word in range(len(lengths)):
        containing = [(i, sum(lengths[cf:word])) for i, (cf, _, stop) in enumerate(plan) if cf <= word < stop]
        chosen = [i for i, (_, first, stop) in enumerate(plan) if first <= word < stop]
        assert len(chosen) == 1
        best_context = max(context for _, context in containing)
        assert dict(containing)[chosen[0]] == best_context
    # later windows do carry left context (up to `context` tokens)
    assert all(first > cf for cf, first, _ in plan[1:])
    assert all(sum(lengths[cf:first]) <= 7 for cf, first, _ in plan)


def test_windows_make_progress_when_a_word_fills_a_whole_window():
    plan = plan_windows([1, 2, 5, 1, 5, 1], budget=5, context=3)
    assert [first for _, first, _ in plan] == [0, 2, 3, 4, 5]
    assert [(cf, first, stop) for cf, first, stop in plan][1] == (2, 2, 3)  # no room for context
    with pytest.raises(ValueError):
        plan_windows([6], budget=5, context=2)


def test_word_longer_than_a_window_keeps_its_first_and_last_piece(tokenizer):
    word = "sleepssleepssleepssleepssleeps"
    full = tokenizer(" " + word, add_special_tokens=False).input_ids
    assert len(full) > 4
    windows, report = encode_tagged([_sentence(["the", word, "cat"], ["DET", "NOUN", "NOUN"])], tokenizer,
                                    UPOS_TAGS, max_length=4)
    assert report.clipped_words == 1
    (clipped,) = [w for w in windows if 1 in w.words]
    start, end = clipped.spans[clipped.words.index(1)]
    assert clipped.input_ids[start:end] == full[:2] + full[-1:]
    assert sorted(w for window in windows for w in window.words) == [0, 1, 2]


@pytest.fixture(scope="module")
def xlmr(xlmr_tokenizer_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(xlmr_tokenizer_dir))


# Latin with multiword surface tokens, spaces inside words (vi), character-split CJK with `#` (PAN-X ja),
# scripts with joiners (ml, te).
REAL = [("udpos", "en", "test"), ("udpos", "vi", "test"), ("panx", "ja", "dev"), ("panx", "ml", "dev"),
        ("panx", "te", "dev")]


@pytest.mark.parametrize("task,lang,split", REAL)
def test_word_by_word_equals_running_text_on_real_data(xlmr, data_dir, task, lang, split):
    """With a real multilingual SentencePiece vocabulary, the concatenated word pieces are the running
    text's tokens, except a trailing space piece at the very end and words that vanish in running text."""
    from xlpt.data.loading import load_split

    tokenizer = xlmr
    space = tokenizer.convert_tokens_to_ids("▁")
    sentences = load_split(get_task(task), lang, split, data_dir, limit=300).examples
    pieces = word_pieces(tokenizer, [s.words for s in sentences])
    full = tokenizer([" ".join(s.words) for s in sentences]).input_ids
    checked = 0
    for p, f in zip(pieces, full):
        if any(e - s == 1 and p.ids[s] == space for s, e in p.spans):
            continue  # a word that would vanish in running text keeps its own `▁`
        text = f[1:-1] if f[-1] == space else f[1:]
        assert list(p.ids) == text
        checked += 1
    assert checked > 0.95 * len(sentences)
