"""PAN-X `truth.csv` from afshinrahimi/mmner: one CSV row per token, words prefixed with `xx:`.

Header `sent_idx,word_idx,word,word_id,truth`. Rows of a sentence are consecutive with word_idx
0, 1, 2, ...; a gap or reordering would silently change sentences, so it is an error. A sentence with
any bad row is dropped whole (never shortened).
"""

from __future__ import annotations

from collections.abc import Iterator

from xlpt.data.examples import TaggedSentence
from xlpt.data.formats.context import ReadContext, yields_examples
from xlpt.data.formats.tagged import strip_lang_prefix
from xlpt.data.formats.text import csv_records, read_text

HEADER = ["sent_idx", "word_idx", "word", "word_id", "truth"]


class _Sentence:
    def __init__(self, ctx: ReadContext, index: int | None, start: int):
        self.index, self.start = index, start
        self.prefixes_before = ctx.counts["prefixes_stripped"]  # restored if the sentence is dropped
        self.words: list[str] = []
        self.tags: list[str] = []
        self.rows = 0  # rows seen, good or bad: the next word_idx expected
        self.bad = False


@yields_examples
def read_csv_token(ctx: ReadContext) -> Iterator[TaggedSentence]:
    """Sentences of a token-per-row CSV, grouped by `sent_idx`."""
    text = read_text(ctx)
    if text is None:
        return
    records = csv_records(ctx, text, ",", keep_failed=True)
    first = next(records, None)
    if first is None or first[1] is None or first[0] in ctx.damaged:
        return  # nothing but damage, already reported
    if first[1] != HEADER:
        ctx.fail(first[0], f"expected header {','.join(HEADER)!r}, got {','.join(first[1])!r}")
        return
    yield from _sentences(ctx, records)


def _sentences(ctx: ReadContext, records) -> Iterator[TaggedSentence]:
    valid = frozenset(ctx.task.labels)
    seen: dict[int, int] = {}  # sent_idx -> line it started on
    current = _Sentence(ctx, None, 0)
    for line, row in records:
        if row == []:
            continue  # blank lines carry nothing in a row-per-token CSV
        if row is None:  # unparsable (reported): the sentence it belongs to is incomplete
            current.bad = True
            current.rows += 1
            continue
        index = int(row[0]) if row[0].isdigit() else None
        if index is not None and index != current.index:
            yield from _finish(ctx, current)
            current = _Sentence(ctx, index, line)
            if index in seen:
                ctx.fail(line, f"sentence {index} appears again after other sentences "
                               f"(it started on line {seen[index]})")
                current.bad = True
            seen.setdefault(index, line)
        position, current.rows = current.rows, current.rows + 1
        if line in ctx.damaged:
            current.bad = True  # reported by read_text
            continue
        parsed = _row(ctx, line, row, valid)
        if parsed is None:
            current.bad = True
            continue
        if parsed[0] != position:
            ctx.fail(line, f"word_idx {parsed[0]} out of order in sentence {index} (expected {position})")
            current.bad = True
            continue
        current.words.append(parsed[1])
        current.tags.append(parsed[2])
    yield from _finish(ctx, current)


def _finish(ctx: ReadContext, sentence: _Sentence) -> Iterator[TaggedSentence]:
    if sentence.bad:
        ctx.counts["prefixes_stripped"] = sentence.prefixes_before
    elif sentence.words:
        yield TaggedSentence(tuple(sentence.words), tuple(sentence.tags), ctx.lang, ctx.example_id(sentence.start))


def _row(ctx: ReadContext, line: int, row: list[str], valid) -> tuple[int, str, str] | None:
    """(word_idx, word, tag) of a well-formed row, else None after reporting what is wrong."""
    if len(row) != len(HEADER):
        ctx.fail(line, f"expected {len(HEADER)} comma-separated columns ({','.join(HEADER)}), got {len(row)}")
        return None
    if not (row[0].isdigit() and row[1].isdigit()):
        ctx.fail(line, f"sent_idx and word_idx must be integers, got {row[0]!r} and {row[1]!r}")
        return None
    if row[4] not in valid:
        ctx.fail(line, f"unknown tag {row[4]!r} for {ctx.task.name} (valid: {', '.join(ctx.task.labels)})")
        return None
    word = strip_lang_prefix(ctx, row[2])
    if not word.strip():
        ctx.fail(line, "empty word")
        return None
    return int(row[1]), word, row[4]
