"""Sentence-pair files (XNLI, PAWS-X): tsv3, tsv2, txt3, hdr4, hdr4q and jsonl, plus a tsv writer.

Two families of tab-separated files exist and must not be mixed up:
- written by Python's csv module or pandas (tsv3, tsv2, hdr4q): fields containing `"` are wrapped in
  quotes with the quotes doubled, so they are read with the csv module;
- raw (txt3, hdr4): quotes are literal characters, so a csv reader would corrupt them; split on tabs.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from xlpt.data.examples import Example, PairExample
from xlpt.data.formats.context import ReadContext, labeled_by_vote, yields_examples
from xlpt.data.formats.text import Records, csv_records, data_lines, json_object, read_text
from xlpt.data.labels import normalise_label

TEXT_LABEL = ("text_a", "text_b", "label")
TEXT_ONLY = ("text_a", "text_b")
ID_TEXT_LABEL = ("id", "text_a", "text_b", "label")
PAWS_HEADER = ["id", "sentence1", "sentence2", "label"]


@yields_examples
def read_tsv3(ctx: ReadContext) -> Iterator[Example]:
    """XTREME `sentence1<TAB>sentence2<TAB>label`, csv-quoted, no header."""
    return _read(ctx, True, TEXT_LABEL)


@yields_examples
def read_tsv2(ctx: ReadContext) -> Iterator[Example]:
    """XTREME test files with labels removed: `sentence1<TAB>sentence2`, csv-quoted."""
    return _read(ctx, True, TEXT_ONLY)


@yields_examples
def read_txt3(ctx: ReadContext) -> Iterator[Example]:
    """XGLUE `premise<TAB>hypothesis<TAB>label` with string labels and no quoting.

    A file whose records mostly have two columns is read as unlabeled (as the folder scan judges it).
    """
    return _read(ctx, False, None)


@yields_examples
def read_hdr4(ctx: ReadContext) -> Iterator[Example]:
    """Original PAWS-X layout `id sentence1 sentence2 label` with a header and no quoting."""
    return _read(ctx, False, ID_TEXT_LABEL, header=PAWS_HEADER)


@yields_examples
def read_hdr4q(ctx: ReadContext) -> Iterator[Example]:
    """PAWS-X layout with header, exported by pandas, so csv-quoted."""
    return _read(ctx, True, ID_TEXT_LABEL, header=PAWS_HEADER)


def pair_file_is_labeled(text: str, quoted: bool) -> bool:
    """Whether a header-less pair file has a label column, by a vote of all its records (3 vs 2 columns).

    Lines with a `"` in a quoted file are parsed by the csv module (a quoted field may hold a tab);
    other lines are counted by their tabs, which is what csv would give. Lines of other widths are
    damage either way and do not vote.
    """
    widths = {2: 0, 3: 0}
    for line in data_lines(text):
        if quoted and '"' in line:
            width = _quoted_width(line)
        else:
            width = line.count("\t") + 1 if line.strip() else 0
        if width in widths:
            widths[width] += 1
    return labeled_by_vote(widths[3], widths[2])


def _quoted_width(line: str) -> int:
    try:
        return len(next(csv.reader([line], delimiter="\t", strict=True), []))
    except csv.Error:
        return line.count("\t") + 1  # bad quoting (reported by the reader) or a very long field


_LABEL_KEY = re.compile(r'"label"\s*:')  # inside a JSON string a quote is escaped, so this is always a key


def jsonl_is_labeled(text: str) -> bool:
    """Whether a jsonl file is labeled, by a vote of all its rows: a row is labeled if it has a "label" key.

    One regex over the whole file instead of parsing every row: the folder scan votes on every file.
    """
    rows = sum(1 for line in text.split("\n") if line.strip())
    with_label = len(_LABEL_KEY.findall(text))
    return labeled_by_vote(with_label, rows - with_label)


@yields_examples
def read_jsonl(ctx: ReadContext) -> Iterator[Example]:
    """HF export: one object per line with premise/hypothesis (or sentence1/sentence2) and an int label.

    Labeled or not is decided by a vote of all rows; rows that disagree with the majority are errors.
    """
    text = read_text(ctx)
    if text is None:
        return
    labeled = jsonl_is_labeled(text)
    seen: dict[str, int] = {}
    for line, (raw,) in _without_blank_lines(ctx, _jsonl_records(ctx, text)):
        row, problem = _json_row(raw)
        if problem:
            ctx.fail(line, problem)
            continue
        if ("label" in row) != labeled:
            ctx.fail(line, "label missing (most rows of this file have one)" if labeled
                     else "label present, but most rows of this file have none (read as unlabeled)")
            continue
        if not _first_use(ctx, seen, row.get("id"), line):
            continue
        example = _pair(ctx, line, row)
        if example is not None:
            yield example


def _jsonl_records(ctx: ReadContext, text: str) -> Records:
    for line, raw in enumerate(data_lines(text), start=1):
        if line not in ctx.damaged:
            yield line, [raw] if raw.strip() else []


def _json_row(raw: str) -> tuple[dict | None, str | None]:
    """(row, None) for a well-formed line, else (None, what is wrong with it)."""
    obj, problem = json_object(raw)
    if problem:
        return None, problem
    keys = ("premise", "hypothesis") if "premise" in obj else ("sentence1", "sentence2")
    if not all(isinstance(obj.get(key), str) for key in keys):
        return None, f"expected string fields {keys[0]!r} and {keys[1]!r}"
    row = {"text_a": obj[keys[0]], "text_b": obj[keys[1]]}
    if "label" in obj:
        row["label"] = obj["label"]
    if "id" in obj:
        row["id"] = str(obj["id"])
    return row, None


def _read(ctx: ReadContext, quoted: bool, columns: tuple[str, ...] | None, header: list[str] | None = None):
    """Examples of a tab-separated pair file; `columns` None: 3 or 2 columns by a vote of all records."""
    text = read_text(ctx)
    if text is None:
        return
    if columns is None:
        columns = TEXT_LABEL if pair_file_is_labeled(text, quoted) else TEXT_ONLY
    records = csv_records(ctx, text, "\t") if quoted else _plain_records(text)
    rows = _without_blank_lines(ctx, records)
    if header is not None and not _header_ok(ctx, rows, header):
        return
    seen: dict[str, int] = {}
    for line, fields in rows:
        if line in ctx.damaged:
            continue  # reported by read_text
        if len(fields) != len(columns):
            ctx.fail(line, f"expected {len(columns)} tab-separated columns ({', '.join(columns)}), got {len(fields)}")
            continue
        row = dict(zip(columns, fields))
        if not _first_use(ctx, seen, row.get("id"), line):
            continue
        example = _pair(ctx, line, row)
        if example is not None:
            yield example


def _first_use(ctx: ReadContext, seen: dict[str, int], example_id: str | None, line: int) -> bool:
    """False (after reporting) when `example_id` was already used on an earlier line of the file.

    No real file repeats an id (checked on every PAWS-X file with an id column), so a repeat means a
    row was duplicated or an id mistyped, and ids are what predictions and reconstruction join on.
    """
    if not example_id:
        return True  # no id column (or an empty id): the example is named by its line instead
    first = seen.setdefault(example_id, line)
    if first != line:
        ctx.fail(line, f"duplicate id {example_id!r}: already used on line {first}")
        return False
    return True


def _header_ok(ctx: ReadContext, rows: Records, header: list[str]) -> bool:
    first = next(rows, None)
    if first is None:
        return False  # nothing but blank or damaged lines: already reported, or "no examples"
    line, fields = first
    if line in ctx.damaged:
        return False  # reported by read_text; without a header the columns are unknown
    if fields != header:
        ctx.fail(line, f"expected header {chr(9).join(header)!r}, got {chr(9).join(fields)!r}")
        return False
    return True


def _pair(ctx: ReadContext, line: int, row: dict) -> Example | None:
    label = None
    if "label" in row:
        try:
            label = normalise_label(ctx.task, row["label"])
        except ValueError as err:
            ctx.fail(line, str(err))
            return None
    example_id = row.get("id") or ctx.example_id(line)
    return PairExample(row["text_a"], row["text_b"], label, ctx.lang, example_id)


def _plain_records(text: str) -> Records:
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


def write_pairs(path: Path, examples: Iterable[Example]) -> int:
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
