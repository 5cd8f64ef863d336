"""The XTREME tag format (UDPOS, PAN-X): `token<TAB>tag` per line, a blank line between sentences.

XTREME writes test files without the tag column (labels stripped on purpose), so a file whose token
lines mostly have no tab is read as unlabeled; the whole file decides, never its first line, and lines
that disagree with the majority are errors. Some copies of PAN-X keep the raw `xx:` language prefix on
every token; it is stripped when it matches the file's language, and counted.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from xlpt.data.examples import TaggedSentence
from xlpt.data.formats.context import ReadContext, labeled_by_vote, yields_examples
from xlpt.data.formats.text import read_text


def strip_lang_prefix(ctx: ReadContext, word: str) -> str:
    """`af:Later` -> `Later` in an `af` file (counted); other words, and a bare `af:`, are unchanged."""
    prefix = f"{ctx.lang}:"
    if word.startswith(prefix) and len(word) > len(prefix):
        ctx.counts["prefixes_stripped"] += 1
        return word[len(prefix):]
    return word


# For counting lines in C: keep only tabs and line feeds / map every other byte to "x".
_ONLY_TABS = bytes(byte for byte in range(256) if byte not in b"\t\n")
_CONTENT = bytes.maketrans(bytes(range(256)), bytes(10 if byte == 10 else ord("x") for byte in range(256)))


def tag_file_is_labeled(data: bytes) -> bool:
    """Whether the token lines of a tag file carry tags, by a vote of all non-blank lines.

    `data` is the file's UTF-8 bytes with LF line ends. Counted with C-speed byte operations, as the
    folder scan votes on every file (PAN-X train has 180k lines).
    """
    return _tab_census(data)[0]


def _tab_census(data: bytes) -> tuple[bool, bool]:
    """(labeled by the vote, no line has two tabs or more).

    A line has a tab iff "\n\t" starts it once only tabs and LFs are kept. When tagged lines
    outnumber all other lines, blank ones included, the vote is decided without counting the blank
    lines (the usual, clean case).
    """
    if b"\t" not in data:
        return not data.strip(b"\n"), True  # nothing tagged: unlabeled, unless there are no token lines at all
    tabs = b"\n" + data.translate(None, _ONLY_TABS)
    one_tab = b"\t\t" not in tabs
    tagged = tabs.count(b"\n\t")
    lines = tabs.count(b"\n") - 1 + (not data.endswith(b"\n"))  # every LF is kept in `tabs`
    if tagged >= lines - tagged:
        return True, one_tab
    non_blank = (b"\n" + data.translate(_CONTENT)).count(b"\nx")
    return labeled_by_vote(tagged, non_blank - tagged), one_tab


@yields_examples
def read_tagged(ctx: ReadContext) -> Iterator[TaggedSentence]:
    """Sentences of a tag file. Tolerates trailing blank lines and CRLF; extra blank lines are counted.

    Each blank-line-separated block is first checked as a whole with C-speed string operations; only
    a block that fails is re-read line by line to name the offending line (keeps PAN-X loading fast).
    A block with any problem yields no sentence: a sentence is never shortened or split.
    """
    text = read_text(ctx)
    if text is None:
        return
    # The block fast path trusts "as many tabs as lines" only if no line in the file has two tabs.
    labeled, fast = _tab_census(text.encode("utf-8"))
    valid = frozenset(ctx.task.labels)
    line, blocks = 1, 0
    for block in text.split("\n\n"):
        first = line
        line += block.count("\n") + 2
        body = block.strip("\n")
        if not body:
            continue
        blocks += 1
        start = first + len(block) - len(block.lstrip("\n"))
        if ctx.damaged and ctx.touches_damage(start, start + body.count("\n")):
            continue  # reported by read_text; the sentence is dropped whole
        sentence = _fast_sentence(ctx, body, start, labeled, valid) if fast else None
        if sentence is None:
            sentence = _careful_sentence(ctx, body.split("\n"), start, labeled, valid)
        if sentence is not None:
            yield sentence
    # Blank lines beyond one separator between sentences (doubled, leading or trailing ones).
    blank = text.split("\n").count("") - text.endswith("\n")
    ctx.counts["extra_blank_lines"] += max(blank - max(blocks - 1, 0), 0)


def _fast_sentence(ctx: ReadContext, body: str, first: int, labeled: bool, valid) -> TaggedSentence | None:
    """The block as one sentence if every check passes at once, else None (re-read carefully)."""
    if labeled:
        if body.count("\t") != body.count("\n") + 1:
            return None  # some line lacks a tag or has extra columns
        cells = body.replace("\n", "\t").split("\t")
        words, tags = cells[0::2], cells[1::2]
        if not valid.issuperset(tags):
            return None
    else:
        if "\t" in body:
            return None
        words, tags = body.split("\n"), []
    stripped = 0
    prefix = f"{ctx.lang}:"
    if prefix in body:
        before = words
        words = [word[len(prefix):] if word.startswith(prefix) and word != prefix else word for word in words]
        stripped = sum(a is not b for a, b in zip(before, words))
    if not all(map(str.strip, words)):
        return None  # counted again, line by line, by the careful re-read
    ctx.counts["prefixes_stripped"] += stripped
    return _sentence(ctx, first, words, tags, labeled)


def _careful_sentence(ctx: ReadContext, rows: list[str], first: int, labeled: bool, valid) -> TaggedSentence | None:
    """Line-by-line reading of one block: names the line of each problem; None if there was any."""
    words: list[str] = []
    tags: list[str] = []
    bad = False
    stripped = ctx.counts["prefixes_stripped"]
    for number, line in enumerate(rows, start=first):
        problem = _add_token(ctx, line, labeled, valid, words, tags)
        if problem:
            ctx.fail(number, problem)
            bad = True  # when collecting problems, drop the whole sentence rather than a token
    if bad:
        ctx.counts["prefixes_stripped"] = stripped  # count only prefixes of sentences that are kept
        return None
    return _sentence(ctx, first, words, tags, labeled)


def _add_token(ctx: ReadContext, line: str, labeled: bool, valid, words: list, tags: list) -> str | None:
    """Append one token (and tag) or return what is wrong with the line."""
    if not line.strip():
        # Not a sentence break: only an empty line is one. Splitting here would invent two sentences.
        return "line holds only whitespace (a sentence break must be an empty line)"
    parts = line.split("\t")
    if labeled and len(parts) == 1:
        return f"tag missing for token {parts[0]!r} (most lines of this file have a tag)"
    if not labeled and len(parts) > 1:
        return "unexpected tag column: most lines of this file have none, so it is read as unlabeled"
    if len(parts) > 2:
        return f"expected token<TAB>tag, got {len(parts)} tab-separated columns"
    word = strip_lang_prefix(ctx, parts[0])
    if not word.strip():
        return "empty token"
    if labeled:
        if parts[1] not in valid:
            return f"unknown tag {parts[1]!r} for {ctx.task.name} (valid: {', '.join(ctx.task.labels)})"
        tags.append(parts[1])
    words.append(word)
    return None


def _sentence(ctx: ReadContext, start: int, words: list, tags: list, labeled: bool) -> TaggedSentence:
    return TaggedSentence(tuple(words), tuple(tags) if labeled else None, ctx.lang, ctx.example_id(start))


def write_tagged(path: Path, sentences: Iterable[TaggedSentence]) -> int:
    """Write the tag format as XTREME does (no blank line after the last sentence). Returns sentences written.

    Sentences without tags are written token-only (XTREME's unlabeled test layout); mixing the two in one
    file is refused because the reader reads a file as all labeled or all unlabeled.
    """
    blocks, labeled = [], None
    for sentence in sentences:
        if labeled is None:
            labeled = sentence.tags is not None
        if (sentence.tags is not None) != labeled:
            raise ValueError(f"{sentence.id}: cannot mix tagged and untagged sentences in one file")
        if not sentence.words:
            raise ValueError(f"{sentence.id}: an empty sentence cannot be written (it would vanish on reading)")
        for word in sentence.words:
            if not word.strip() or any(ch in word for ch in "\t\n\r"):
                raise ValueError(f"{sentence.id}: token {word!r} cannot be written to the tag format")
        rows = zip(sentence.words, sentence.tags) if labeled else ((word,) for word in sentence.words)
        blocks.append("\n".join("\t".join(row) for row in rows))
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write("\n\n".join(blocks) + ("\n" if blocks else ""))
    return len(blocks)
