"""Entity (chunk) extraction from tag sequences, under the two rules NER papers report.

**Strict IOB2** (`strict_entities`) is what `seqeval` computes with `mode="strict", scheme=IOB2`:
an entity is a `B-X` followed by the longest run of `I-X` of the *same* type. An `I-X` that does not
continue such a run (at sentence start, after `O`, or after `B-Y`/`I-Y` with Y != X) belongs to no
entity: the token is dropped, counted neither as a gold nor as a predicted entity. Nothing is raised
for it; only tags that are not `O`/`B-X`/`I-X` are rejected.

**Lenient / conlleval** (`lenient_chunks`) is the chunking of CoNLL's `conlleval.pl`, which `seqeval`
ports as its default mode and which XTREME's `run_tag.py` therefore reports: an `I-X` that does not
continue an entity of type X *starts a new entity* of type X (later `I-X` extend it). `B-X I-Y` gives
two entities, X (one token) and Y (starting at the `I-Y`).

Example, `O I-PER I-PER B-LOC I-ORG`: strict -> {LOC[3:4]}; lenient -> {PER[1:3], LOC[3:4], ORG[4:5]}.
On valid IOB2 (every `I-X` preceded by `B-X` or `I-X`) both rules give the same entities. They differ
on real gold data too: PAN-X ja/zh are character-split and write spaces inside names as a `#` token
tagged `O`, so `B-ORG I-ORG #/O I-ORG` is one 2-token ORG under strict (the tail is dropped) but two
ORG entities under lenient.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

Entity = tuple[str, int, int]
"""(type, start, end) with `end` exclusive."""

_OUTSIDE = "O"


def _check_iob2(tag: str, position: int) -> None:
    if tag != _OUTSIDE and (len(tag) < 3 or tag[:2] not in ("B-", "I-")):
        raise ValueError(f"tag {tag!r} at position {position} is not IOB2 (expected O, B-TYPE or I-TYPE)")


def strict_entities(tags: Sequence[str]) -> list[Entity]:
    """Entities of one sentence under strict IOB2: `B-X I-X*`; stray `I-X` tokens are dropped."""
    entities: list[Entity] = []
    current, start = None, 0
    for i, tag in enumerate(tags):
        _check_iob2(tag, i)
        if current is not None and tag[2:] == current and tag[0] == "I":
            continue
        if current is not None:
            entities.append((current, start, i))
            current = None
        if tag[0] == "B":
            current, start = tag[2:], i
    if current is not None:
        entities.append((current, start, len(tags)))
    return entities


def strict_entity_set(sentences: Iterable[Sequence[str]]) -> set[tuple[int, str, int, int]]:
    """All strict entities of a corpus as `(sentence index, type, start, end)`."""
    return {(s, *entity) for s, tags in enumerate(sentences) for entity in strict_entities(tags)}


# conlleval / seqeval-default chunk boundary rules, over (previous prefix letter, current letter).
_CLOSES_ALWAYS = frozenset("ES")
_CLOSE_PAIRS = frozenset({("B", "B"), ("B", "S"), ("B", "O"), ("I", "B"), ("I", "S"), ("I", "O")})
_OPENS_ALWAYS = frozenset("BS")
_OPEN_PAIRS = frozenset({("E", "E"), ("E", "I"), ("S", "E"), ("S", "I"), ("O", "E"), ("O", "I")})
_NO_TYPE_LETTERS = frozenset("O.")


def _split_tag(tag: str) -> tuple[str, str]:
    """seqeval 1.2's split: first character is the prefix letter, the type is what follows the first
    `-` after it, else the rest of the tag, else `_` (`B-PER` -> B, PER; `NOUN` -> N, OUN; `O` -> O, _)."""
    return tag[0], tag[1:].split("-", 1)[-1] or "_"


def _chunk_ends(prev: str, cur: str, prev_type: str, cur_type: str) -> bool:
    return (
        prev in _CLOSES_ALWAYS
        or (prev, cur) in _CLOSE_PAIRS
        or (prev not in _NO_TYPE_LETTERS and prev_type != cur_type)
    )


def _chunk_starts(prev: str, cur: str, prev_type: str, cur_type: str) -> bool:
    return (
        cur in _OPENS_ALWAYS
        or (prev, cur) in _OPEN_PAIRS
        or (cur not in _NO_TYPE_LETTERS and prev_type != cur_type)
    )


def _with_separators(sentences: Iterable[Sequence[str]]) -> Iterator[str]:
    """seqeval's flattening: every sentence followed by an `O`, plus one final `O`."""
    for tags in sentences:
        yield from tags
        yield _OUTSIDE
    yield _OUTSIDE


def lenient_chunks(sentences: Iterable[Sequence[str]]) -> set[Entity]:
    """Chunks of a whole corpus under the conlleval rule, exactly as seqeval 1.2's default mode.

    Positions are offsets into the corpus flattened the way seqeval does it (each sentence followed
    by one `O`), so they are only meaningful for comparing gold and predicted chunks of the same
    corpus. The corpus is processed as one stream, because seqeval does so: the chunk state carries
    across sentence separators, which matters only for tags whose type equals `O`'s (see below).

    Any tag set is accepted, because XTREME also applies this to UPOS tags. There the first letter
    acts as the prefix (`NOUN` -> letter N, type OUN): runs of one POS tag merge into one chunk and
    tags starting with S (SCONJ, SYM) are single-token chunks. seqeval 1.2 derives the type from the
    text after the first letter, so CCONJ and SCONJ share the type CONJ, and X shares the type `_`
    with O (an X is not closed by the following sentence separator). seqeval 0.0.x, current when
    XTREME was published, took the text after the *last* `-` (the whole UPOS tag) and did not have
    these two collisions; on IOB2 NER tags the two versions agree exactly. We follow seqeval 1.2,
    which is what `pip install seqeval` (unpinned in XTREME's install script) gives today.
    """
    chunks: set[Entity] = set()
    boundaries: dict[tuple[str | None, str], tuple[bool, bool]] = {}
    prev_tag: str | None = None  # start state: letter O with an empty type (`O` itself has type `_`)
    begin = 0
    for i, tag in enumerate(_with_separators(sentences)):
        rule = boundaries.get((prev_tag, tag))
        if rule is None:
            rule = boundaries[prev_tag, tag] = _boundaries(prev_tag, tag)
        ends, starts = rule
        if ends:  # never true for the start state, so prev_tag is a tag here
            chunks.add((_split_tag(prev_tag)[1], begin, i))
        if starts:
            begin = i
        prev_tag = tag
    return chunks


def _boundaries(prev_tag: str | None, tag: str) -> tuple[bool, bool]:
    """(does a chunk end before `tag`, does one start at `tag`), given the previous tag."""
    prev, prev_type = _split_tag(prev_tag) if prev_tag is not None else (_OUTSIDE, "")
    cur, cur_type = _split_tag(tag)
    return _chunk_ends(prev, cur, prev_type, cur_type), _chunk_starts(prev, cur, prev_type, cur_type)
