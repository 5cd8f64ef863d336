"""Sentence-pair files (XNLI, PAWS-X): tsv3, tsv2, txt3, hdr4, hdr4q and jsonl, plus a tsv writer.

Two families of tab-separated files exist and must not be mixed up:
- written by Python's csv module or pandas (tsv3, tsv2, hdr4q): fields containing `"` are wrapped in
  quotes with the quotes doubled, so they are read with the csv module;
- raw (txt3, hdr4): quotes are literal characters, so a csv reader would corrupt them; split on tabs.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from pathlib import Path

from xlpt.data.examples import PairExample
from xlpt.data.formats.context import ReadContext
from xlpt.data.formats.text import data_lines, read_text
from xlpt.data.labels import normalise_label

Records = Iterator[tuple[int, list[str]]]

TEXT_LABEL = ("text_a", "text_b", "label")
TEXT_ONLY = ("text_a", "text_b")
ID_TEXT_LABEL = ("id", "text_a", "text_b", "label")
PAWS_HEADER = ["id", "sentence1", "sentence2", "label"]


def read_tsv3(ctx: ReadContext) -> Iterator[PairExample]:
    """XTREME `sentence1<TAB>sentence2<TAB>label`, csv-quoted, no header."""
    return _read(ctx, _csv_records, TEXT_LABEL)


def read_tsv2(ctx: ReadContext) -> Iterator[PairExample]:
    """XTREME test files with labels removed: `sentence1<TAB>sentence2`, csv-quoted."""
    return _read(ctx, _csv_records, TEXT_ONLY)


def read_txt3(ctx: ReadContext) -> Iterator[PairExample]:
    """XGLUE `premise<TAB>hypothesis<TAB>label` with string labels and no quoting."""
    return _read(ctx, _plain_records, TEXT_LABEL)


def read_hdr4(ctx: ReadContext) -> Iterator[PairExample]:
    """Original PAWS-X layout `id sentence1 sentence2 label` with a header and no quoting."""
    return _read(ctx, _plain_records, ID_TEXT_LABEL, header=PAWS_HEADER)


def read_hdr4q(ctx: ReadContext) -> Iterator[PairExample]:
    """PAWS-X layout with header, exported by pandas, so csv-quoted."""
    return _read(ctx, _csv_records, ID_TEXT_LABEL, header=PAWS_HEADER)


def read_jsonl(ctx: ReadContext) -> Iterator[PairExample]:
    """HF export: one object per line with premise/hypothesis (or sentence1/sentence2) and an int label."""
    text = read_text(ctx)
    if text is None:
        return
    labeled = None
    lines = ((line, [raw] if raw.strip() else []) for line, raw in enumerate(data_lines(text), start=1))
    for line, (raw,) in _without_blank_lines(ctx, lines):
        row = _json_row(ctx, line, raw)
        if row is None:
            continue
        if labeled is None:
            labeled = "label" in row
        if ("label" in row) != labeled:
            ctx.fail(line, "label missing" if labeled else "label present, but earlier rows have none")
            continue
        example = _pair(ctx, line, row)
        if example is not None:
            yield example


def _json_row(ctx: ReadContext, line: int, raw: str) -> dict | None:
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as err:
        ctx.fail(line, f"invalid JSON: {err.msg} at column {err.colno}")
        return None
    if not isinstance(obj, dict):
        ctx.fail(line, "expected a JSON object")
        return None
    keys = ("premise", "hypothesis") if "premise" in obj else ("sentence1", "sentence2")
    if not all(isinstance(obj.get(key), str) for key in keys):
        ctx.fail(line, f"expected string fields {keys[0]!r} and {keys[1]!r}")
        return None
    row = {"text_a": obj[keys[0]], "text_b": obj[keys[1]]}
    if "label" in obj:
        row["label"] = obj["label"]
    if "id" in obj:
        row["id"] = str(obj["id"])
    return row


def _read(ctx: ReadContext, records, columns: tuple[str, ...], header: list[str] | None = None):
    text = read_text(ctx)
    if text is None:
        return
    rows = _without_blank_lines(ctx, records(ctx, text))
    if header is not None and not _header_ok(ctx, rows, header):
        return
    for line, fields in rows:
        if len(fields) != len(columns):
            ctx.fail(line, f"expected {len(columns)} tab-separated columns ({', '.join(columns)}), got {len(fields)}")
            continue
        example = _pair(ctx, line, dict(zip(columns, fields)))
        if example is not None:
            yield example


def _header_ok(ctx: ReadContext, rows: Records, header: list[str]) -> bool:
    first = next(rows, None)
    if first is None:
        ctx.fail(1, "empty file")
        return False
    line, fields = first
    if fields != header:
        ctx.fail(line, f"expected header {chr(9).join(header)!r}, got {chr(9).join(fields)!r}")
        return False
    return True


def _pair(ctx: ReadContext, line: int, row: dict) -> PairExample | None:
    label = None
    if "label" in row:
        try:
            label = normalise_label(ctx.task, row["label"])
        except ValueError as err:
            ctx.fail(line, str(err))
            return None
    example_id = row.get("id") or ctx.example_id(line)
    return PairExample(row["text_a"], row["text_b"], label, ctx.lang, example_id)


def _csv_records(ctx: ReadContext, text: str) -> Records:
    """Records of a csv-quoted tsv with the line each starts on."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter="\t", strict=True)
    end = 0
    try:
        for fields in reader:
            start, end = end + 1, reader.line_num
            if end > start:
                # None of these datasets has a newline inside a field: this is an unbalanced quote
                # that swallowed the following lines, which would silently merge rows.
                ctx.fail(start, f"quoted field runs from line {start} to {end} (unbalanced quote?)")
                continue
            yield start, fields
    except csv.Error as err:
        # Also raised when a runaway quoted field exceeds csv.field_size_limit(): same cause.
        ctx.fail(end + 1, f"bad CSV quoting: {err} (unbalanced quote? the record runs to line {reader.line_num})")


def _plain_records(ctx: ReadContext, text: str) -> Records:
    """Records of a raw tsv: quotes are ordinary characters."""
    for line, raw in enumerate(data_lines(text), start=1):
        yield line, raw.split("\t") if raw else []


def _without_blank_lines(ctx: ReadContext, records: Records) -> Records:
    """Drop trailing blank lines (counted); a blank line followed by more data is a problem."""
    blanks: list[int] = []
    for line, fields in records:
        if not fields:
            blanks.append(line)
            continue
        if blanks:
            ctx.fail(blanks[0], "blank line inside the file")
            blanks = []
        yield line, fields
    if blanks:
        ctx.counts["trailing_blank_lines"] += len(blanks)


def write_pairs(path: Path, examples: Iterable[PairExample]) -> int:
    """Write tsv3 (or tsv2 when no example has a label) with csv quoting, XTREME style. Returns rows written."""
    examples = list(examples)
    labeled = any(example.label is not None for example in examples)
    if labeled and any(example.label is None for example in examples):
        raise ValueError("cannot write a file where only some examples have labels")
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        for example in examples:
            if any("\n" in text or "\r" in text for text in (example.text_a, example.text_b)):
                raise ValueError(f"{example.id}: a line break inside a sentence cannot be written to a tsv file")
            row = [example.text_a, example.text_b] + ([example.label] if labeled else [])
            writer.writerow(row)
    return len(examples)
