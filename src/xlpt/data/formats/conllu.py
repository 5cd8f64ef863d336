"""UD CoNLL-U, read the way XTREME builds its UDPOS files.

XTREME keeps a multiword token (`19-20 im`) as its surface form, tagged with the UPOS of its first
syntactic word (`19 in ADP`), and drops the component words; empty nodes (`8.1`) are skipped. This is
what makes the UD v2.5 German test files token-identical to XTREME's test-de.tsv.

Word ids must run 1, 2, 3, ... within a sentence and comments must precede its tokens: two sentences
whose separating blank line was lost would otherwise be read as one. `sent_id`s must be unique.
"""

from __future__ import annotations

from collections.abc import Iterator

from xlpt.data.examples import TaggedSentence
from xlpt.data.formats.context import ReadContext, yields_examples
from xlpt.data.formats.text import data_lines, read_text

UPOS_COLUMN = 3
MISSING_BLANK = "(is the blank line between two sentences missing?)"


class _Sentence:
    """Tokens of the sentence being read, plus the multiword range waiting for its first word."""

    def __init__(self, start: int):
        self.start = start
        self.sent_id: str | None = None
        self.words: list[str] = []
        self.tags: list[str] = []
        self.range: tuple[int, int, str] | None = None  # (first id, last id, surface form)
        self.skip_to = 0  # component words up to this id are covered by an emitted range
        self.emitted: tuple[int, int] | None = None  # the last range emitted, for error messages
        self.last_id = 0  # the last word id read: the next word must be last_id + 1
        self.has_tokens = False
        self.counts = {"multiword_tokens": 0, "empty_nodes": 0}  # added to ctx.counts if the sentence is kept
        self.bad = False


@yields_examples
def read_conllu(ctx: ReadContext) -> Iterator[TaggedSentence]:
    """Sentences of a CoNLL-U file with XTREME's multiword-token convention."""
    text = read_text(ctx)
    if text is None:
        return
    current: _Sentence | None = None
    sent_ids: dict[str, int] = {}
    for number, line in enumerate(data_lines(text), start=1):
        if not line.strip():
            if line:
                ctx.fail(number, "line holds only whitespace (a sentence break must be an empty line)")
                current = current or _Sentence(number)
                current.bad = True
                continue
            if current is not None:
                yield from _finish(ctx, current)
            current = None
            continue
        current = current or _Sentence(number)
        if number in ctx.damaged:
            current.bad = True  # reported by read_text; the sentence is dropped whole
        elif line.startswith("#"):
            _comment(ctx, current, number, line, sent_ids)
        elif not current.bad:
            problem = _add_line(current, line, ctx.task.labels)
            if problem:
                ctx.fail(number, problem)
                current.bad = True
    if current is not None:
        yield from _finish(ctx, current)


def _comment(ctx: ReadContext, sent: _Sentence, number: int, line: str, sent_ids: dict[str, int]) -> None:
    """A comment line: allowed only before the sentence's tokens; its `sent_id` must be new to the file."""
    if sent.has_tokens:
        if not sent.bad:
            ctx.fail(number, f"comment line after the tokens of a sentence {MISSING_BLANK}")
        sent.bad = True
        return
    if not line.startswith("# sent_id ="):
        return
    sent_id = line.split("=", 1)[1].strip()
    if sent.sent_id is not None:
        ctx.fail(number, f"second sent_id {sent_id!r} in one sentence (first: {sent.sent_id!r}) {MISSING_BLANK}")
        sent.bad = True
        return
    first = sent_ids.setdefault(sent_id, number)
    if first != number:
        ctx.fail(number, f"duplicate sent_id {sent_id!r}: already used on line {first}")
        sent.bad = True
    sent.sent_id = sent_id


def _add_line(sent: _Sentence, line: str, labels) -> str | None:
    """Consume one token line; return what is wrong with it, if anything."""
    cols = line.split("\t")
    if len(cols) != 10:
        return f"expected 10 tab-separated CoNLL-U columns, got {len(cols)}"
    sent.has_tokens = True
    token_id, form, upos = cols[0], cols[1], cols[UPOS_COLUMN]
    if "." in token_id:
        return _empty_node(sent, token_id)
    if "-" in token_id:
        return _open_range(sent, token_id, form)
    if not token_id.isdigit():
        return f"invalid token id {token_id!r}"
    index = int(token_id)
    if index != sent.last_id + 1:
        if index == 1:
            return f"word id 1 again inside a sentence {MISSING_BLANK}"
        return f"word id {index} out of order (expected {sent.last_id + 1})"
    sent.last_id = index
    if upos not in labels:
        return f"unknown UPOS tag {upos!r} for word {form!r}"
    if sent.range is not None:
        first, last, surface = sent.range
        if index != first:
            return f"multiword token {first}-{last} is not followed by its first word {first}"
        sent.words.append(surface)
        sent.tags.append(upos)
        sent.range, sent.skip_to, sent.emitted = None, last, (first, last)
        return None
    if index <= sent.skip_to:
        return None  # a later component of a multiword token already emitted
    sent.words.append(form)
    sent.tags.append(upos)
    return None


def _empty_node(sent: _Sentence, token_id: str) -> str | None:
    word, _, sub = token_id.partition(".")
    if not (word.isdigit() and sub.isdigit()):
        return f"invalid empty node id {token_id!r}"
    if int(word) != sent.last_id:
        return f"empty node {token_id} out of order (the last word id is {sent.last_id})"
    sent.counts["empty_nodes"] += 1
    return None


def _open_range(sent: _Sentence, token_id: str, form: str) -> str | None:
    first, _, last = token_id.partition("-")
    if not (first.isdigit() and last.isdigit() and int(first) < int(last)):
        return f"invalid multiword token range {token_id!r}"
    if sent.range is not None:
        return f"multiword token {token_id} starts before the previous range has a word"
    if int(first) != sent.last_id + 1:
        if first == "1":
            return f"multiword token {token_id} restarts the word ids inside a sentence {MISSING_BLANK}"
        return f"multiword token {token_id} out of order (expected it to start at {sent.last_id + 1})"
    sent.range = (int(first), int(last), form)
    sent.counts["multiword_tokens"] += 1
    return None


def _finish(ctx: ReadContext, sent: _Sentence) -> Iterator[TaggedSentence]:
    if sent.bad:
        return
    if sent.range is not None:
        ctx.fail(sent.start, f"multiword token {sent.range[0]}-{sent.range[1]} has no component words")
        return
    if sent.skip_to > sent.last_id:
        first, last = sent.emitted
        ctx.fail(sent.start, f"multiword token {first}-{last} lacks its component words {sent.last_id + 1}..{last}")
        return
    if not sent.words:
        return  # a block of comments only (e.g. a file header) carries no sentence
    ctx.counts.update({key: n for key, n in sent.counts.items() if n})
    sentence_id = f"{ctx.path.name}:{sent.sent_id}" if sent.sent_id else ctx.example_id(sent.start)
    yield TaggedSentence(tuple(sent.words), tuple(sent.tags), ctx.lang, sentence_id)
