"""Words -> subwords -> model windows, for word-level tagging with a causal LM.

How a sentence becomes tokens. The text is the words joined by single spaces, after the tokenizer's own
start tokens (XGLM: `</s>`). Each word is tokenized *on its own, with a leading space*
(`tokenizer([" " + w for w in words], add_special_tokens=False)`) and the pieces are concatenated. For
SentencePiece tokenizers (XGLM, XLM-R: Metaspace pre-tokenizer, pieces never cross a space) this is
exactly the segmentation of the running text, and it gives every word's subword span by construction,
without offset arithmetic that breaks under normalisation (NFKC, collapsed spaces). It differs from
running-text tokenization only where a word would vanish there (a zero-width space, a BOM): such a
word keeps the bare `▁` piece it tokenizes to on its own, so it still has a position. A trailing bare
`▁` (a word ending in a joiner that normalises to a space) is dropped, since running text merges it
into the next word's space. A word that tokenizes to nothing at all (possible with other tokenizers)
gets a one-token placeholder (the tokenizer's piece for " ", else `<unk>`) and is counted: every word
gets exactly one prediction. Checked against running text on real data in tests/tasks.

Windows. A sentence longer than `max_length` tokens (start tokens included; the soft prompt comes on
top) is split into windows at word boundaries. Window 0 predicts every word that fits. Each later window
starts with up to `context` tokens of the preceding words as left context (read, never predicted) and
predicts the words after them. Because the model is causal, a word's hidden state depends only on the
tokens before it in its window, so each word is predicted in the window where it has the most left
context: the first window that contains it. Nothing is truncated and no sentence is re-segmented: every
word of every sentence is predicted exactly once (XTREME instead re-splits long sentences by length).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from xlpt.data.examples import TaggedSentence

IGNORE = -100
"""Label of positions that never enter the loss (PyTorch's cross-entropy ignore_index)."""


@dataclass(frozen=True)
class SentencePieces:
    """A sentence's subword ids (no special tokens) and each word's [start, end) span into them."""

    ids: tuple[int, ...]
    spans: tuple[tuple[int, int], ...]

    def word_length(self, word: int) -> int:
        start, end = self.spans[word]
        return end - start


@dataclass
class Window:
    """One model input: start tokens + the subwords of a run of words, and the words it predicts."""

    sentence: int
    """Index of the sentence in the input list."""
    input_ids: list[int]
    words: list[int]
    """Sentence word indices predicted in this window (context words are not listed)."""
    spans: list[tuple[int, int]]
    """[start, end) of each predicted word in `input_ids` (text positions, before any soft prompt)."""
    labels: list[int]
    """Tag index of each predicted word; IGNORE when the sentence is unlabeled."""


@dataclass
class AlignmentReport:
    sentences: int = 0
    words: int = 0
    windows: int = 0
    split_sentences: int = 0
    """Sentences longer than one window (predicted across several windows, nothing dropped)."""
    placeholder_words: int = 0
    """Words that tokenized to nothing and were given a placeholder token."""
    clipped_words: int = 0
    """Words with more subwords than fit in a window; their middle subwords were dropped."""

    def describe(self, max_length: int) -> str:
        return (f"{self.sentences} sentences, {self.words} words -> {self.windows} windows of <= {max_length} "
                f"tokens ({self.split_sentences} long sentences split into windows, {self.placeholder_words} "
                f"words given a placeholder token, {self.clipped_words} over-long words clipped)")


def start_ids(tokenizer) -> list[int]:
    """The tokens the tokenizer puts before every text (XGLM: [</s>])."""
    return list(tokenizer("", add_special_tokens=True)["input_ids"])


def placeholder_id(tokenizer) -> int:
    """The token a word that tokenizes to nothing stands on: the piece for a space (`▁`), else <unk>."""
    ids = tokenizer(" ", add_special_tokens=False)["input_ids"]
    return ids[-1] if ids else tokenizer.unk_token_id


def word_pieces(tokenizer, sentences: Sequence[Sequence[str]], budget: int | None = None,
                report: AlignmentReport | None = None) -> list[SentencePieces]:
    """Tokenize every word of every sentence (one batched tokenizer call) into SentencePieces.

    Words longer than `budget` subwords keep their first `budget - 1` and their last subword, so the
    first and last subword (the `first` and `last` word representations) always survive."""
    report = report if report is not None else AlignmentReport()
    flat = [" " + word for sentence in sentences for word in sentence]
    encoded = tokenizer(flat, add_special_tokens=False)["input_ids"] if flat else []
    filler = placeholder_id(tokenizer)
    pieces, cursor = [], 0
    for sentence in sentences:
        ids, spans = [], []
        for word_ids in encoded[cursor : cursor + len(sentence)]:
            word_ids = _strip_trailing(word_ids, filler)
            if not word_ids:
                word_ids = [filler]
                report.placeholder_words += 1
            if budget is not None and len(word_ids) > budget:
                word_ids = list(word_ids[: budget - 1]) + [word_ids[-1]]
                report.clipped_words += 1
            spans.append((len(ids), len(ids) + len(word_ids)))
            ids += word_ids
        cursor += len(sentence)
        pieces.append(SentencePieces(tuple(ids), tuple(spans)))
    return pieces


def _strip_trailing(word_ids: list[int], space: int) -> list[int]:
    """Drop trailing bare-space pieces (a word ending in ZWNJ/ZWJ normalises to a trailing space, which
    running text merges into the next word's `▁`), keeping at least one piece."""
    end = len(word_ids)
    while end > 1 and word_ids[end - 1] == space:
        end -= 1
    return word_ids[:end]


def plan_windows(lengths: Sequence[int], budget: int, context: int) -> list[tuple[int, int, int]]:
    """Word ranges (context_from, predict_from, stop) of each window; see the module docstring.

    `lengths`: subwords per word, each <= budget. A window holds words [context_from, stop) in at most
    `budget` tokens and predicts words [predict_from, stop); the next window predicts from `stop` on."""
    if any(n > budget for n in lengths):
        raise ValueError(f"a word has more than {budget} subwords; clip words before planning windows")
    windows, first, n_words = [], 0, len(lengths)
    context_from = 0
    while first < n_words:
        used = sum(lengths[context_from:first])
        stop = first
        while stop < n_words and used + lengths[stop] <= budget:
            used += lengths[stop]
            stop += 1
        windows.append((context_from, first, stop))
        first = context_from = stop
        if stop == n_words:
            break
        # Left context for the next window: the preceding words, up to `context` tokens, and never so
        # many that the first word to predict no longer fits (so every window makes progress).
        held = 0
        while context_from > 0:
            n = lengths[context_from - 1]
            if held + n > context or held + n + lengths[first] > budget:
                break
            held += n
            context_from -= 1
    return windows


def sentence_windows(index: int, pieces: SentencePieces, labels: Sequence[int], prefix: list[int],
                     budget: int, context: int) -> list[Window]:
    lengths = [pieces.word_length(w) for w in range(len(pieces.spans))]
    windows = []
    for context_from, first, stop in plan_windows(lengths, budget, context):
        offset = pieces.spans[context_from][0]
        end = pieces.spans[stop - 1][1]
        shift = len(prefix) - offset
        spans = [(s + shift, e + shift) for s, e in pieces.spans[first:stop]]
        windows.append(Window(index, prefix + list(pieces.ids[offset:end]), list(range(first, stop)), spans,
                              list(labels[first:stop])))
    return windows


def encode_tagged(sentences: Sequence[TaggedSentence], tokenizer, tag_set: Sequence[str], max_length: int,
                  context: int | None = None) -> tuple[list[Window], AlignmentReport]:
    """Windows for every sentence, in sentence order. `context` defaults to half a window.

    Tags are mapped to indices of `tag_set`; unlabeled sentences get IGNORE labels (prediction only)."""
    prefix = start_ids(tokenizer)
    budget = max_length - len(prefix)
    if budget < 1:
        raise ValueError(f"max_length={max_length} leaves no room for text after {len(prefix)} start tokens")
    context = budget // 2 if context is None else min(context, budget - 1)
    report = AlignmentReport(sentences=len(sentences), words=sum(len(s.words) for s in sentences))
    all_pieces = word_pieces(tokenizer, [s.words for s in sentences], budget, report)
    tag_index = {tag: i for i, tag in enumerate(tag_set)}
    windows = []
    for index, (sentence, pieces) in enumerate(zip(sentences, all_pieces)):
        labels = [tag_index[t] for t in sentence.tags] if sentence.tags is not None else [IGNORE] * len(sentence.words)
        mine = sentence_windows(index, pieces, labels, prefix, budget, context)
        report.split_sentences += len(mine) > 1
        windows += mine
    report.windows = len(windows)
    return windows, report
