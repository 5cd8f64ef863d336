"""The report as a list of blocks, rendered to Markdown or to one self-contained HTML page.

Building the content once and rendering it twice keeps `report.md` and `report.html` in step. The
HTML embeds every image as a base64 data URI and carries its own CSS, so it opens anywhere offline.
"""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass
from pathlib import Path

from xlpt.reporting.tables import Table, one_line, to_html, to_markdown


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Paragraph:
    text: str
    """Plain text; `backticks` become code in both renderings."""


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class TableBlock:
    table: Table


@dataclass(frozen=True)
class Image:
    path: Path
    alt: str


@dataclass(frozen=True)
class Banner:
    """A warning the reader must see before any number: a boxed title with its sentences."""

    title: str
    items: tuple[str, ...]


Block = Heading | Paragraph | Bullets | TableBlock | Image | Banner


def render_markdown(blocks: list[Block]) -> str:
    parts = []
    for block in blocks:
        if isinstance(block, Heading):
            parts.append("#" * block.level + " " + one_line(block.text))
        elif isinstance(block, Paragraph):
            parts.append(block.text)
        elif isinstance(block, Bullets):
            parts.append("\n".join(f"- {one_line(item)}" for item in block.items))
        elif isinstance(block, TableBlock):
            parts.append(f"*{one_line(block.table.title)}*\n\n" + to_markdown(block.table))
        elif isinstance(block, Image):
            parts.append(f"![{block.alt}]({block.path.name})")
        elif isinstance(block, Banner):
            parts.append(f"> **{one_line(block.title)}**\n>\n" + "\n".join(f"> - {one_line(item)}" for item in block.items))
    return "\n\n".join(parts) + "\n"


_CSS = """
body { font-family: system-ui, sans-serif; max-width: 1200px; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 0.2em; font-size: 0.9em; }
th, td { padding: 0.25em 0.6em; border-bottom: 1px solid #ddd; text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead th { border-bottom: 2px solid #444; }
tr.rule td { border-top: 2px solid #444; }
caption, .title { font-style: italic; margin-top: 1em; }
.notes { font-size: 0.8em; color: #555; }
img { max-width: 100%; }
code { background: #f3f3f3; padding: 0 0.2em; }
.banner { border: 3px solid #b00020; background: #fff3f3; padding: 0.6em 1em; margin: 1em 0; }
.banner strong { color: #b00020; font-size: 1.15em; }
"""


def render_html(blocks: list[Block], title: str) -> str:
    body = [_html_block(block) for block in blocks]
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        + "\n".join(body) + "\n</body>\n</html>\n"
    )


def _html_block(block: Block) -> str:
    if isinstance(block, Heading):
        return f"<h{block.level}>{_inline(block.text)}</h{block.level}>"
    if isinstance(block, Paragraph):
        return f"<p>{_inline(block.text)}</p>"
    if isinstance(block, Bullets):
        return "<ul>" + "".join(f"<li>{_inline(item)}</li>" for item in block.items) + "</ul>"
    if isinstance(block, TableBlock):
        return f'<p class="title">{html.escape(block.table.title)}</p>\n' + to_html(block.table)
    if isinstance(block, Banner):
        items = "".join(f"<li>{_inline(item)}</li>" for item in block.items)
        title = f"<p><strong>{html.escape(block.title)}</strong></p>"
        return f'<div class="banner" role="alert">{title}<ul>{items}</ul></div>'
    if isinstance(block, Image):
        data = base64.b64encode(block.path.read_bytes()).decode("ascii")
        return f'<figure><img alt="{html.escape(block.alt)}" src="data:image/png;base64,{data}"></figure>'
    raise TypeError(f"unknown block {block!r}")


def _inline(text: str) -> str:
    """Escape, then turn `code` spans into <code>."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))
