"""UD CoNLL-U, read the way XTREME builds its UDPOS files.

XTREME keeps a multiword token (`19-20 im`) as its surface form, tagged with the UPOS of its first
syntactic word (`19 in ADP`), and drops the component words; empty nodes (`8.1`) are skipped. This is
what makes the UD v2.5 German test files token-identical to XTREME's test-de.tsv.
"""

from __future__ import annotations

from collections.abc import Iterator

from xlpt.data.examples import TaggedSentence
from xlpt.data.formats.context import ReadContext
from xlpt.data.formats.text import data_lines, read_text

UPOS_COLUMN = 3


class _Sentence:
    """Tokens of the sentence being read, plus the multiword range waiting for its first word."""

    def __init__(self, start: int):
        self.start = start
        self.sent_id: str | None = None
        self.words: list[str] = []
        self.tags: list[str] = []
        self.range: tuple[int, int, str] | None = None  # (first id, last id, surface form)
        self.skip_to = 0  # component words up to this id are covered by an emitted range
        self.bad = False


def read_conllu(ctx: ReadContext) -> Iterator[TaggedSentence]:
    """Sentences of a CoNLL-U file with XTREME's multiword-token convention."""
    text = read_text(ctx)
    if text is None:
        return
    current: _Sentence | None = None
    for number, line in enumerate(data_lines(text), start=1):
        if not line.strip():
            if current is not None:
                yield from _finish(ctx, current)
            current = None
            continue
        current = current or _Sentence(number)
        if line.startswith("#"):
            if line.startswith("# sent_id ="):
                current.sent_id = line.split("=", 1)[1].strip()
            continue
        if not current.bad:
            problem = _add_line(ctx, current, line)
            if problem:
                ctx.fail(number, problem)
                current.bad = True
    if current is not None:
        yield from _finish(ctx, current)


def _add_line(ctx: ReadContext, sent: _Sentence, line: str) -> str | None:
    """Consume one token line; return what is wrong with it, if anything."""
    cols = line.split("\t")
    if len(cols) != 10:
        return f"expected 10 tab-separated CoNLL-U columns, got {len(cols)}"
    token_id, form, upos = cols[0], cols[1], cols[UPOS_COLUMN]
    if "." in token_id:
        ctx.counts["empty_nodes"] += 1
        return None
    if "-" in token_id:
        return _open_range(ctx, sent, token_id, form)
    if not token_id.isdigit():
        return f"invalid token id {token_id!r}"
    index = int(token_id)
    if upos not in ctx.task.labels:
        return f"unknown UPOS tag {upos!r} for word {form!r}"
    if sent.range is not None:
        first, last, surface = sent.range
        if index != first:
            return f"multiword token {first}-{last} is not followed by its first word {first}"
        sent.words.append(surface)
        sent.tags.append(upos)
        sent.range, sent.skip_to = None, last
        return None
    if index <= sent.skip_to:
        return None  # a later component of a multiword token already emitted
    sent.words.append(form)
    sent.tags.append(upos)
    return None


def _open_range(ctx: ReadContext, sent: _Sentence, token_id: str, form: str) -> str | None:
    first, _, last = token_id.partition("-")
    if not (first.isdigit() and last.isdigit() and int(first) < int(last)):
        return f"invalid multiword token range {token_id!r}"
    if sent.range is not None:
        return f"multiword token {token_id} starts before the previous range has a word"
    sent.range = (int(first), int(last), form)
    ctx.counts["multiword_tokens"] += 1
    return None


def _finish(ctx: ReadContext, sent: _Sentence) -> Iterator[TaggedSentence]:
    if sent.bad:
        return
    if sent.range is not None:
        ctx.fail(sent.start, f"multiword token {sent.range[0]}-{sent.range[1]} has no component words")
        return
    if not sent.words:
        return  # a block of comments only (e.g. a file header) carries no sentence
    sentence_id = f"{ctx.path.name}:{sent.sent_id}" if sent.sent_id else ctx.example_id(sent.start)
    yield TaggedSentence(tuple(sent.words), tuple(sent.tags), ctx.lang, sentence_id)
