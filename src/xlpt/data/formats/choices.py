"""Multiple-choice files of the shared data: XCOPA (`xcopa_jsonl`) and English COPA (`copa_jsonl`).

One JSON object per line: premise, choice1, choice2, question (cause | effect), label (0 | 1), idx (the
item's position in the split, the same item in every language), and for XCOPA `changed`. XCOPA lines end
in CRLF upstream (json.loads takes the `\\r`). Example ids are the idx, so rows align across languages.

XCOPA's `question` is wrong upstream in th, tr, sw, id and it: it is taken from English COPA at the same
idx (data/repairs_xcopa.py) and each change is counted as `question_repaired` (an XCOPA file with no
English file beside it is read as is and counted as `question_unverified`).
"""

from __future__ import annotations

from collections.abc import Iterator

from xlpt.data.examples import Example
from xlpt.data.formats.context import ReadContext, yields_examples
from xlpt.data.formats.text import data_lines, json_object, read_text
from xlpt.data.labels import normalise_label
from xlpt.data.repairs_xcopa import repaired_question

TEXT_KEYS = ("premise", "choice1", "choice2", "question")


@yields_examples
def read_xcopa_jsonl(ctx: ReadContext) -> Iterator[Example]:
    return _read(ctx, repair=True)


@yields_examples
def read_copa_jsonl(ctx: ReadContext) -> Iterator[Example]:
    return _read(ctx, repair=False)


def _read(ctx: ReadContext, repair: bool) -> Iterator[Example]:
    text = read_text(ctx)
    if text is None:
        return
    seen: dict[int, int] = {}
    for line, raw in enumerate(data_lines(text), start=1):
        if line in ctx.damaged or not raw.strip():
            continue
        row, problem = _row(raw)
        if problem is None and row["idx"] in seen:
            problem = f"duplicate idx {row['idx']}: already used on line {seen[row['idx']]}"
        if problem is None:
            try:
                row["label"] = normalise_label(ctx.task, row["label"]) if row["label"] is not None else None
            except ValueError as err:
                problem = str(err)
        if problem:
            ctx.fail(line, problem)
            continue
        seen[row["idx"]] = line
        if repair:
            row["question"], what = repaired_question(ctx.path, row["idx"], row["question"])
            if what:
                ctx.counts[f"question_{what}"] += 1
        fields = {key: row[key] for key in TEXT_KEYS}
        yield Example(fields, row["label"], ctx.lang, str(row["idx"]))


def _row(raw: str) -> tuple[dict | None, str | None]:
    obj, problem = json_object(raw)
    if problem:
        return None, problem
    for key in TEXT_KEYS:
        if not isinstance(obj.get(key), str) or not obj[key].strip():
            return None, f"{key!r} must be a non-empty string"
    if obj["question"] not in ("cause", "effect"):
        return None, f"question must be cause or effect, got {obj['question']!r}"
    if not isinstance(obj.get("idx"), int) or isinstance(obj["idx"], bool) or obj["idx"] < 0:
        return None, f"idx must be a whole number >= 0, got {obj.get('idx')!r}"
    return {**{key: obj[key] for key in TEXT_KEYS}, "idx": obj["idx"], "label": obj.get("label")}, None
