"""Decoding a data file to lines: strict UTF-8, LF-only line numbers, damage named by line, CSV records.

Line numbers count LF only, everywhere. CRLF files are tolerated (the CR of each CRLF is dropped and
counted). A lone CR or a NUL byte inside a line is damage: the staged data is LF-only UTF-8 text, and
a CR would make the csv module start a new record there, shifting every later line number by one.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager

from xlpt.data.formats.context import ReadContext

# What a damaged character is replaced by in collect mode, so the line stays one line; the readers
# then drop every record touching a damaged line (ctx.damaged), so the stand-in never reaches an example.
_STAND_IN = "\ufffd"

Records = Iterator[tuple[int, list[str]]]


def read_text(ctx: ReadContext) -> str | None:
    """The whole file as text with LF line ends, or None after reporting why it cannot be read.

    The file is decoded in one go (fast); only on failure is the failing line located, from the byte
    offset of the first undecodable byte, so the error names the line as a per-line decode would.
    """
    data = ctx.path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        _report_bad_utf8(ctx, data, err)
        return None
    if text.startswith("\ufeff"):
        # A BOM is harmless but must not end up glued to the first token.
        text = text[1:]
        ctx.counts["bom"] += 1
    if "\r\n" in text:
        ctx.counts["crlf_lines"] += text.count("\r\n")
        text = text.replace("\r\n", "\n")
    if not text.strip():
        ctx.fail(None, "empty file (no examples)")
        return None
    if "\r" in text or "\x00" in text:
        text = _report_damage(ctx, text)
    return text


def _report_bad_utf8(ctx: ReadContext, data: bytes, err: UnicodeDecodeError) -> None:
    """Report the first undecodable line, then (when collecting) every further one."""
    line = data.count(b"\n", 0, err.start) + 1
    ctx.fail(line, f"invalid UTF-8 (byte 0x{data[err.start]:02x})")
    for number, raw in enumerate(data.split(b"\n")[line:], start=line + 1):
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as more:
            ctx.fail(number, f"invalid UTF-8 (byte 0x{raw[more.start]:02x})")


def _report_damage(ctx: ReadContext, text: str) -> str:
    """Report every line with a NUL byte or a lone CR; return the text with those characters stood in for."""
    damaged = []
    for number, line in enumerate(text.split("\n"), start=1):
        problems = []
        if "\x00" in line:
            problems.append(f"NUL byte at column {line.index(chr(0)) + 1}")
        if "\r" in line:
            problems.append(f"carriage return (CR) at column {line.index(chr(13)) + 1} inside the line "
                            "(the data is LF-only; a CR here would start a new line)")
        if problems:
            damaged.append(number)
            ctx.fail(number, "; ".join(problems))
    ctx.damaged = frozenset(damaged)
    return text.replace("\x00", _STAND_IN).replace("\r", _STAND_IN)


def data_lines(text: str) -> list[str]:
    """Lines of `text` without the final newline's empty remainder (line i is at index i-1)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def csv_records(ctx: ReadContext, text: str, delimiter: str, keep_failed: bool = False) -> Records:
    """Records of CSV text with the line each starts on. Problems are reported in line order.

    None of these datasets has a line break inside a field, so a quoted field running over several
    lines is an unbalanced quote that swallowed what follows: reported, never merged into one row.
    After a quoting error reading resumes on the next line, so every later record is still read.
    With `keep_failed`, a record that could not be parsed is yielded as `(line, None)` after its
    report, so that a caller grouping rows (csv_token) knows a row is missing.
    """
    for line, fields, problem in _parse_csv(text, delimiter):
        if problem:
            ctx.fail(line, problem)
            if keep_failed:
                yield line, None
        else:
            yield line, fields


def _parse_csv(text: str, delimiter: str) -> list[tuple[int, list[str] | None, str | None]]:
    """(line, fields, None) per record or (line, None, problem), parsed eagerly under a raised field limit."""
    items: list[tuple[int, list[str] | None, str | None]] = []
    all_lines: list[str] | None = None
    chunk, offset = text, 0  # offset: lines of `text` before `chunk` (after a restart)
    with _field_limit(len(text) + 1):
        while chunk:
            reader = csv.reader(io.StringIO(chunk, newline=""), delimiter=delimiter, strict=True)
            end = offset
            try:
                for fields in reader:
                    start, end = end + 1, offset + reader.line_num
                    if end > start:
                        items.append((start, None, f"quoted field runs from line {start} to {end} (unbalanced quote?)"))
                    else:
                        items.append((start, fields, None))
                break
            except csv.Error as err:
                start = end + 1
                items.append((start, None, f"bad CSV quoting: {err} (unbalanced quote? the record runs to line "
                                           f"{offset + reader.line_num})"))
                all_lines = all_lines if all_lines is not None else text.split("\n")
                chunk, offset = "\n".join(all_lines[start:]), start
    return items


@contextmanager
def _field_limit(size: int):
    """Let one field be as long as the whole text: the csv module's default limit (128 KiB) would
    otherwise report a long but well-formed field as a quoting error. Restored afterwards."""
    old = csv.field_size_limit()
    csv.field_size_limit(max(old, size))
    try:
        yield
    finally:
        csv.field_size_limit(old)


def json_object(raw: str) -> tuple[dict | None, str | None]:
    """(object, None) for a line holding one JSON object, else (None, what is wrong), in the one wording every
    JSON-lines reader reports (the caller adds file and line)."""
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as err:
        return None, f"invalid JSON: {err.msg} at column {err.colno}"
    if not isinstance(obj, dict):
        return None, "expected a JSON object"
    return obj, None
