"""XCOPA's wrong `question` fields, repaired from English COPA at the same split and idx.

Upstream XCOPA (cambridgeltl/xcopa@e2e9d7f) says `effect` where the English item asks for the cause in
part of th, tr, sw, id and it (../shared/data/xcopa/README.md: th 52 dev + 250 test, tr 52 + 51, sw 6 + 37,
id and it 5 + 4); the labels and translations are right. A prompt that picks its connector from `question`
("because" / "therefore") would use the wrong one, so the reader takes `question` from
`xcopa/en/copa-superglue/<same file name>` (items aligned by idx) and counts every change. The files
themselves are never modified.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

ENGLISH = Path("en") / "copa-superglue"


def english_file(path: Path) -> Path:
    """`xcopa/<lang>/<source>/<split>.jsonl` -> `xcopa/en/copa-superglue/<split>.jsonl`."""
    return path.parents[2] / ENGLISH / path.name


@lru_cache(maxsize=8)
def english_questions(path: Path) -> dict[int, str] | None:
    """idx -> question of the English file beside an XCOPA file, or None when there is none to compare with."""
    english = english_file(Path(path))
    if not english.is_file():
        return None
    questions = {}
    for line in english.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            questions[int(row["idx"])] = row["question"]
    return questions


def repaired_question(path: Path, idx: int, question: str) -> tuple[str, str | None]:
    """(question to use, what happened: "repaired" | "unverified" | None when it already agrees)."""
    english = english_questions(Path(path))
    if english is None or idx not in english:
        return question, "unverified"
    if english[idx] != question:
        return english[idx], "repaired"
    return question, None
