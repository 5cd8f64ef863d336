"""PAN-X `truth.csv` from afshinrahimi/mmner: one CSV row per token, words prefixed with `xx:`.

Header `sent_idx,word_idx,word,word_id,truth`. Rows of a sentence are consecutive with word_idx
0, 1, 2, ...; a gap or reordering would silently change sentences, so it is an error.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from xlpt.data.examples import TaggedSentence
from xlpt.data.formats.context import ReadContext
from xlpt.data.formats.tagged import strip_lang_prefix
from xlpt.data.formats.text import read_text

HEADER = ["sent_idx", "word_idx", "word", "word_id", "truth"]


def read_csv_token(ctx: ReadContext) -> Iterator[TaggedSentence]:
    """Sentences of a token-per-row CSV, grouped by `sent_idx`."""
    text = read_text(ctx)
    if text is None:
        return
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        yield from _sentences(ctx, reader)
    except csv.Error as err:
        ctx.fail(reader.line_num, f"bad CSV quoting ({err})")


def _sentences(ctx: ReadContext, reader) -> Iterator[TaggedSentence]:
    header = next(reader)
    if header != HEADER:
        ctx.fail(1, f"expected header {','.join(HEADER)!r}, got {','.join(header)!r}")
        return
    valid = frozenset(ctx.task.labels)
    seen: set[int] = set()
    sent_idx, start, words, tags = None, 0, [], []
    for row in reader:
        line = reader.line_num
        if not row:
            continue  # blank lines carry nothing in a row-per-token CSV
        parsed = _row(ctx, line, row, valid)
        if parsed is None:
            continue
        index, position, word, tag = parsed
        if index != sent_idx:
            if words:
                yield TaggedSentence(tuple(words), tuple(tags), ctx.lang, ctx.example_id(start))
            if index in seen:
                ctx.fail(line, f"sentence {index} appears again after other sentences")
            seen.add(index)
            sent_idx, start, words, tags = index, line, [], []
        if position != len(words):
            ctx.fail(line, f"word_idx {position} out of order in sentence {index} (expected {len(words)})")
            continue
        words.append(word)
        tags.append(tag)
    if words:
        yield TaggedSentence(tuple(words), tuple(tags), ctx.lang, ctx.example_id(start))


def _row(ctx: ReadContext, line: int, row: list[str], valid) -> tuple[int, int, str, str] | None:
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
    return int(row[0]), int(row[1]), word, row[4]
