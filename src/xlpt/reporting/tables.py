"""A small table model and its Markdown, LaTeX (booktabs) and HTML renderings.

Builders fill a `Table` once with display text; every renderer shows the same text, so the formats
cannot disagree. Text uses Unicode (±, †, ‡, −); LaTeX rendering maps those to math-mode symbols.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field


ERROR_LIMIT = 160
"""Characters a cell keeps of a message (a run's error): the full text lives where the cell points."""


def cell_text(text: object, limit: int | None = None) -> str:
    """One line for a table cell (the one place run and user text is made table-safe): the first non-blank
    line, whitespace runs as one space, truncated to `limit` when given (messages: ERROR_LIMIT); '… (+N
    lines)' says that more was there. Every Cell goes through it; numbers and language lists are never cut."""
    lines = [" ".join(line.split()) for line in str(text).splitlines()]
    lines = [line for line in lines if line]
    first = lines[0] if lines else ""
    more = len(lines) - 1
    suffix = f" … (+{more} line{'s' if more > 1 else ''})" if more > 0 else ""
    if limit is not None and len(first) + len(suffix) > limit:
        first = first[: max(1, limit - len(suffix) - 1)].rstrip() + "…"
    return first + suffix


@dataclass(frozen=True)
class Cell:
    text: str
    bold: bool = False

    def __post_init__(self):
        object.__setattr__(self, "text", cell_text(self.text))


@dataclass
class Table:
    title: str
    header: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    footnotes: list[str] = field(default_factory=list)
    rule_before: set[int] = field(default_factory=set)
    """Row indices preceded by a horizontal rule (e.g. the average rows)."""

    def add_row(self, cells: list[Cell | str], rule: bool = False) -> None:
        if rule:
            self.rule_before.add(len(self.rows))
        self.rows.append([c if isinstance(c, Cell) else Cell(c) for c in cells])


def to_markdown(table: Table) -> str:
    """GitHub-flavoured pipe table; bold cells are wrapped in ** **, footnotes follow as plain lines."""
    lines = [_md_row(table.header), "|" + "|".join([" --- "] * len(table.header)) + "|"]
    lines += [_md_row([f"**{_md_escape(c.text)}**" if c.bold else _md_escape(c.text) for c in row], escaped=True)
              for row in table.rows]
    if table.footnotes:
        lines.append("")
        lines += [f"{' '.join(note.split())}  " for note in table.footnotes]  # a footnote stays one line too
    return "\n".join(lines)


def _md_escape(text: str) -> str:
    """Pipes end a cell and backticks open code spans (which swallow the escapes): escape both."""
    return text.replace("|", "\\|").replace("`", "\\`")


def _md_row(cells: list[str], escaped: bool = False) -> str:
    return "| " + " | ".join(c if escaped else _md_escape(cell_text(c)) for c in cells) + " |"


def markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A bare pipe table's lines (no title, no notes) for writers that build Markdown by hand (the lab)."""
    return [_md_row(header), "|" + "|".join("---" for _ in header) + "|", *(_md_row(row) for row in rows)]


def one_line(text: object) -> str:
    """Text for one Markdown line (a heading, a list item, a quoted line): line breaks become spaces."""
    return " ".join(str(text).split())


_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
    "±": r"$\pm$", "†": r"$^\dagger$", "‡": r"$^\ddagger$", "−": r"$-$", "Δ": r"$\Delta$",
    "·": r"$\cdot$", "ρ": r"$\rho$", "≥": r"$\geq$", "≤": r"$\leq$", "<": r"$<$", ">": r"$>$",
}
_LATEX_PATTERN = re.compile("|".join(re.escape(k) for k in _LATEX_SPECIAL))


def latex_escape(text: str) -> str:
    return _LATEX_PATTERN.sub(lambda m: _LATEX_SPECIAL[m.group(0)], text)


def to_latex(table: Table, label: str | None = None) -> str:
    """A `table` float with a booktabs `tabular` (needs only \\usepackage{booktabs})."""
    spec = "l" + "r" * (len(table.header) - 1)
    lines = [
        r"\begin{table}[t]", r"\centering", r"\small",
        rf"\begin{{tabular}}{{{spec}}}", r"\toprule",
        " & ".join(latex_escape(h) for h in table.header) + r" \\", r"\midrule",
    ]
    for index, row in enumerate(table.rows):
        if index in table.rule_before:
            lines.append(r"\midrule")
        cells = [rf"\textbf{{{latex_escape(c.text)}}}" if c.bold else latex_escape(c.text) for c in row]
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    caption = latex_escape(table.title)
    if table.footnotes:
        caption += " " + " ".join(latex_escape(note) for note in table.footnotes)
    lines.append(rf"\caption{{{caption}}}")
    if label:
        lines.append(rf"\label{{{label}}}")
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"


def to_html(table: Table) -> str:
    """A plain <table> (styled by the page's CSS) with footnotes in a following <p class="notes">."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in table.header)
    body = []
    for index, row in enumerate(table.rows):
        cls = ' class="rule"' if index in table.rule_before else ""
        cells = "".join(f"<td><b>{html.escape(c.text)}</b></td>" if c.bold else f"<td>{html.escape(c.text)}</td>"
                        for c in row)
        body.append(f"<tr{cls}>{cells}</tr>")
    parts = [f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n" + "\n".join(body) + "\n</tbody>\n</table>"]
    if table.footnotes:
        parts.append('<p class="notes">' + "<br>".join(html.escape(n) for n in table.footnotes) + "</p>")
    return "\n".join(parts)
