"""Counting subwords per word: the core of the tokenization analysis, independent of any dataset.

Counting convention (tested in tests/analysis/test_subwords.py):

* Every word is tokenized as it appears mid-sentence, i.e. after a space. SentencePiece marks that space
  with `▁`, so "Katze" is tokenized as "▁Katze" -> `▁Kat ze` (fertility 2). This is also exactly what the
  model sees: a whitespace-separated sentence is pre-split on spaces, each chunk with its `▁`.
* A *bare* `▁` piece followed by more pieces of the same word (`▁ 東京`, `▁ x y z`) is the word boundary
  alone and is not counted as a subword: `東京` -> `▁ 東京` has 1 subword. A word made of nothing but `▁`
  still counts 1. Words that produce no piece at all (e.g. only characters the normaliser deletes) are
  counted as `n_empty_words` and left out of fertility.
* Token-level figures (`n_tokens`, unknown share, characters per token, distinct pieces) count *every*
  piece the model sees, bare `▁` included, because they measure sequence length and vocabulary use.
* Characters are the words' own characters (no spaces), as they appear in the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

SPACE_PIECE = "▁"
"""SentencePiece's meta symbol for a preceding space."""

_BATCH_SIZE = 1024


@dataclass(frozen=True)
class SubwordCounts:
    """Raw counts over a collection of word lists (sentences)."""

    n_texts: int
    n_words: int
    """Words with at least one piece (fertility's denominator)."""
    n_empty_words: int
    n_subwords: int
    """Pieces belonging to words, bare `▁` boundaries excluded."""
    n_split_words: int
    """Words with two or more subwords."""
    n_tokens: int
    """All pieces the model sees, bare `▁` included."""
    n_unk: int
    n_chars: int
    distinct_pieces: int


def bare_space_id(tokenizer) -> int | None:
    """The id of the lone `▁` piece, or None when the vocabulary has no such piece."""
    piece_id = tokenizer.convert_tokens_to_ids(SPACE_PIECE)
    if piece_id is None or piece_id == tokenizer.unk_token_id:
        return None
    return int(piece_id)


def _unique_words(word_lists: Sequence[Sequence[str]]) -> tuple[list[str], np.ndarray]:
    """The distinct words, and for every word occurrence (flattened) the index of its distinct word."""
    index: dict[str, int] = {}
    occurrences = [index.setdefault(word, len(index)) for words in word_lists for word in words]
    return list(index), np.asarray(occurrences, dtype=np.int64)


def _encode_words(tokenizer, words: list[str]) -> list[list[int]]:
    """Piece ids of each word tokenized alone, after a space (batched tokenizer calls)."""
    ids: list[list[int]] = []
    for start in range(0, len(words), _BATCH_SIZE):
        batch = [[word] for word in words[start:start + _BATCH_SIZE]]
        enc = tokenizer(batch, is_split_into_words=True, add_special_tokens=False)
        encodings = getattr(enc, "encodings", None)
        if encodings:  # fast tokenizers: read the Rust encodings, skipping transformers' per-row conversion
            ids.extend(e.ids for e in encodings)
        else:
            ids.extend(enc["input_ids"])
    return ids


@dataclass(frozen=True)
class _WordTable:
    """Per distinct word: subwords (bare `▁` boundaries excluded), all pieces, unknown pieces."""

    subwords: np.ndarray
    pieces: np.ndarray
    unks: np.ndarray
    piece_ids: set[int]


def _word_table(tokenizer, words: list[str]) -> _WordTable:
    bare, unk = bare_space_id(tokenizer), tokenizer.unk_token_id
    encoded = _encode_words(tokenizer, words)
    # A bare `▁` is only a word boundary when more pieces of the same word follow it (i.e. not last).
    subwords = [len(ids) - sum(1 for piece in ids[:-1] if piece == bare) for ids in encoded]
    piece_ids = set().union(*encoded) if encoded else set()
    return _WordTable(
        subwords=np.asarray(subwords, dtype=np.int64),
        pieces=np.asarray([len(ids) for ids in encoded], dtype=np.int64),
        unks=np.asarray([ids.count(unk) for ids in encoded], dtype=np.int64),
        piece_ids=piece_ids,
    )


def subwords_per_word(tokenizer, word_lists: Sequence[Sequence[str]]) -> np.ndarray:
    """Number of subwords of every word (flattened over all lists), following the module's convention."""
    words, occurrences = _unique_words(word_lists)
    return _word_table(tokenizer, words).subwords[occurrences]


def count_subwords(tokenizer, word_lists: Sequence[Sequence[str]]) -> SubwordCounts:
    """Count words, subwords and tokens of `word_lists` (one list of words per sentence).

    Each distinct word is tokenized once: the pre-tokenizer splits text on spaces before segmenting, so a
    word's pieces do not depend on its neighbours, and real text repeats words 5-10 times on average.
    """
    words, occurrences = _unique_words(word_lists)
    table = _word_table(tokenizer, words)
    per_word = table.subwords[occurrences]
    return SubwordCounts(
        n_texts=len(word_lists),
        n_words=int((per_word > 0).sum()),
        n_empty_words=int((per_word == 0).sum()),
        n_subwords=int(per_word.sum()),
        n_split_words=int((per_word >= 2).sum()),
        n_tokens=int(table.pieces[occurrences].sum()),
        n_unk=int(table.unks[occurrences].sum()),
        n_chars=sum(len(word) for words in word_lists for word in words),
        distinct_pieces=len(table.piece_ids),
    )


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def summarize(counts: SubwordCounts, vocab_size: int, *, words_meaningful: bool = True) -> dict:
    """Turn raw counts into the reported statistics.

    `words_meaningful=False` (whitespace "words" of an unsegmented script) nulls every word-level figure;
    token-level figures stay, as they do not depend on what a word is.
    """
    words = counts.n_words if words_meaningful else None
    return {
        "fertility": _ratio(counts.n_subwords, counts.n_words) if words_meaningful else None,
        "split_share": _ratio(counts.n_split_words, counts.n_words) if words_meaningful else None,
        "unk_share": _ratio(counts.n_unk, counts.n_tokens),
        "chars_per_token": _ratio(counts.n_chars, counts.n_tokens),
        "distinct_pieces": counts.distinct_pieces,
        "vocab_share": _ratio(counts.distinct_pieces, vocab_size),
        "n_texts": counts.n_texts,
        "n_words": words,
        "n_empty_words": counts.n_empty_words if words_meaningful else None,
        "n_subwords": counts.n_subwords,
        "n_tokens": counts.n_tokens,
        "n_unk": counts.n_unk,
        "n_chars": counts.n_chars,
    }
