"""Decoding a data file to text: strict UTF-8 with the failing line named, BOM and CRLF tolerated and counted."""

from __future__ import annotations

from xlpt.data.formats.context import ReadContext


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
        ctx.fail(1, "empty file")
        return None
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


def data_lines(text: str) -> list[str]:
    """Lines of `text` without the final newline's empty remainder (line i is at index i-1)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines
