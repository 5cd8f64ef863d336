"""The XTREME tag format (UDPOS, PAN-X): `token<TAB>tag` per line, a blank line between sentences.

XTREME writes test files without the tag column (labels stripped on purpose), so a file whose first
line has no tab is read as unlabeled. Some copies of PAN-X keep the raw `xx:` language prefix on every
token; it is stripped when it matches the file's language, and counted.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from xlpt.data.examples import TaggedSentence
from xlpt.data.formats.context import ReadContext
from xlpt.data.formats.text import read_text


def strip_lang_prefix(ctx: ReadContext, word: str) -> str:
    """`af:Later` -> `Later` in an `af` file (counted); other words, and a bare `af:`, are unchanged."""
    prefix = f"{ctx.lang}:"
    if word.startswith(prefix) and len(word) > len(prefix):
        ctx.counts["prefixes_stripped"] += 1
        return word[len(prefix):]
    return word


def read_tagged(ctx: ReadContext) -> Iterator[TaggedSentence]:
    """Sentences of a tag file. Tolerates trailing blank lines and CRLF; extra blank lines are counted.

    Each blank-line-separated block is first checked as a whole with C-speed string operations; only
    a block that fails is re-read line by line to name the offending line (keeps PAN-X loading fast).
    """
    text = read_text(ctx)
    if text is None:
        return
    labeled = "\t" in next(line for line in text.split("\n") if line.strip())
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
        sentence = _fast_sentence(ctx, body, start, labeled, valid)
        if sentence is not None:
            yield sentence
        else:
            yield from _careful_sentences(ctx, body.split("\n"), start, labeled, valid)
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


def _careful_sentences(ctx: ReadContext, rows: list[str], first: int, labeled: bool, valid):
    """Line-by-line reading of one block: names the line of each problem; whitespace-only lines split."""
    words: list[str] = []
    tags: list[str] = []
    start, bad = first, False
    for number, line in enumerate(rows, start=first):
        if not line.strip():
            if words and not bad:
                yield _sentence(ctx, start, words, tags, labeled)
            words, tags, bad, start = [], [], False, number + 1
            continue
        problem = _add_token(ctx, line, labeled, valid, words, tags)
        if problem:
            ctx.fail(number, problem)
            bad = True  # when collecting problems, drop the whole sentence rather than a token
    if words and not bad:
        yield _sentence(ctx, start, words, tags, labeled)


def _add_token(ctx: ReadContext, line: str, labeled: bool, valid, words: list, tags: list) -> str | None:
    """Append one token (and tag) or return what is wrong with the line."""
    parts = line.split("\t")
    if labeled and len(parts) == 1:
        return f"tag missing for token {parts[0]!r}"
    if not labeled and len(parts) > 1:
        return "unexpected tag column: the first line of this file has none, so it is read as unlabeled"
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
    file is refused because the reader decides labeled/unlabeled from the first line.
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
