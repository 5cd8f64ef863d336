"""Word tagging (UDPOS, PAN-X): a sentence of the dataset's own words, one tag per word, predicted by a
linear head on one subword per word (`head.word_repr`: last, first or mean).

Its example type is `xlpt.data.examples.TaggedSentence` (words, tags); its quirks are duplicate
sentences and, for IOB2 tag sets, orphan I- tags and redirect lines (data/quality.py), with the optional
IOB repair. The torch side is tagging/model.py.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from xlpt.data.examples import TaggedSentence
from xlpt.tasks.families.record import FamilyRecord
from xlpt.tasks.families.values import words_value


def check_task(spec) -> None:
    if spec.example_fields != ("words",):
        raise ValueError(f"a tagging task's example is its words: fields must be [words], got "
                         f"{list(spec.example_fields)}")
    if spec.metric == "f1" and not all(t == "O" or t[:2] in ("B-", "I-") for t in spec.labels):
        raise ValueError("metric f1 (entity F1) needs IOB2 tags: O, B-X, I-X")
    if spec.templates:
        raise ValueError("a tagging task has no templates: every word is tagged by the head")
    if spec.zero_shot is not None:
        raise ValueError("a tagging task has no zero-shot prompts (zero_shot:)")


def check_run(task, cfg) -> None:
    if cfg.data.template is not None:
        raise ValueError(f"data.template: task {task.name} ({task.family}) has no templates")


def make_example(fields: Mapping, label, lang: str, id: str) -> TaggedSentence:
    return TaggedSentence(tuple(fields["words"]), None if label is None else tuple(label), lang, id)


def row_to_example(spec, row: Mapping, lang: str, where: str) -> TaggedSentence:
    words = words_value("words", row.get("words"))
    tags = row.get("label")
    if tags is not None and len(tags) != len(words):
        raise ValueError(f"{len(words)} words but {len(tags)} tags")
    return TaggedSentence(words, None if tags is None else tuple(tags), lang,
                          str(row["id"]) if row.get("id") is not None else where)


def example_text(example) -> str:
    return " ".join(example.words)


def word_lists(example) -> list[list[str]]:
    return [list(example.words)]


def read_quirks(spec, examples, *, repair_iob: bool = False) -> tuple[list, Counter, list[str]]:
    from xlpt.data import quality

    iob = any(label.startswith("B-") for label in spec.labels)
    counts = quality.tagging_quirks(examples, iob)
    counts["repaired"] = 0
    notes = []
    if repair_iob:
        examples, counts["repaired"] = quality.repair_iob(examples)
        notes.append(f"repair_iob: {counts['repaired']} orphan I- tags turned into B-")
    return examples, counts, notes


def score(spec, gold, pred) -> dict:
    """Entity F1 where the headline metric is F1 (PAN-X), word accuracy otherwise (UDPOS)."""
    from xlpt.evaluation.metrics import ner_scores, pos_scores

    gold, pred = [list(g) for g in gold], [list(p) for p in pred]
    return ner_scores(gold, pred) if spec.metric == "f1" else pos_scores(gold, pred)


def formulation(task, cfg) -> str:
    return "tagging_head"


def template(task, cfg):
    return None


def head_reads(task, cfg) -> str:
    return f"each word's {cfg.head.word_repr} subword (head.word_repr)"


def head_parameters(task, cfg, hidden_size: int) -> int:
    return hidden_size * task.num_labels + task.num_labels


def model_texts(task, cfg, example, zero_shot: bool) -> list[str]:
    return [" ".join(example.words)]


def fed_tokens(n_tokens: int, max_length: int) -> int:
    return n_tokens  # long sentences are split into windows, never cut


def prediction_row(example, pred) -> dict:
    return {"pred": list(pred)}


FAMILY = FamilyRecord(
    name="tagging", fields=("words",), formats=("tag", "conllu"),
    layout_formats=frozenset({"tag", "conllu", "csv_token"}), metrics=("accuracy", "f1"),
    word_unit="dataset", label_unit="word", starved_share=None,
    implementation="xlpt.tasks.families.tagging.model:TaggingFamily",
    hub_defaults={"words": "tokens", "label": "tags"},
    check_task=check_task, check_run=check_run, make_example=make_example, row_to_example=row_to_example,
    example_text=example_text, word_lists=word_lists, read_quirks=read_quirks, score=score,
    formulation=formulation, template=template, head_reads=head_reads, head_parameters=head_parameters,
    model_texts=model_texts, fed_tokens=fed_tokens, prediction_row=prediction_row,
)
