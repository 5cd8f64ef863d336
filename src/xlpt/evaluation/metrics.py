"""Scores for the four tasks, returned as plain JSON-ready dicts.

- XNLI / PAWS-X: `classification_scores` (accuracy, macro-F1, per-class P/R/F1, confusion counts).
- UDPOS: `pos_scores` (word accuracy, plus XTREME's "seqeval F1" on UPOS tags).
- PAN-X: `ner_scores` (strict IOB2 entity P/R/F1 and XTREME's lenient conlleval F1, with per-type
  scores for both).

Undefined ratios are 0.0, as in seqeval and scikit-learn with their default `zero_division`
("warn", which returns 0.0): precision with no predicted items, recall with no gold items, F1 when
precision + recall is 0 (so F1 is 0.0 when there are neither gold nor predicted entities).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Sequence

from xlpt.evaluation.entities import lenient_chunks, strict_entity_set
from xlpt.tasks import TaskSpec

Tags = Sequence[Sequence[str]]


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else 0.0


def _precision_recall_f1(correct: int, predicted: int, gold: int) -> dict:
    """P/R/F1 with F1 = 2PR/(P+R), the exact float operations seqeval uses, so entity scores match
    seqeval bit for bit (2*correct/(gold+predicted) can differ in the last digit)."""
    precision = _ratio(correct, predicted)
    recall = _ratio(correct, gold)
    f1 = 2.0 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def _check_same_length(gold: Sequence, pred: Sequence, unit: str) -> None:
    if len(gold) != len(pred):
        raise ValueError(f"gold has {len(gold)} {unit}, predictions have {len(pred)}")


def _check_aligned(gold: Tags, pred: Tags) -> None:
    _check_same_length(gold, pred, "sentences")
    for i, (gold_tags, pred_tags) in enumerate(zip(gold, pred)):
        if len(gold_tags) != len(pred_tags):
            raise ValueError(f"sentence {i}: gold has {len(gold_tags)} tags, prediction has {len(pred_tags)}")


# ---------------------------------------------------------------------------------------------
# Sentence-pair classification


def classification_scores(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> dict:
    """Accuracy, macro-F1 over *all* `labels` (a class never gold nor predicted counts as F1 0.0,
    like scikit-learn's `f1_score(..., labels=labels, average="macro")`), per-class P/R/F1/support
    and `confusion[gold_label][pred_label]` counts."""
    _check_same_length(gold, pred, "labels")
    confusion = {g: {p: 0 for p in labels} for g in labels}
    for i, (g, p) in enumerate(zip(gold, pred)):
        if g not in confusion or p not in confusion:
            raise ValueError(f"item {i}: label {g if g not in confusion else p!r} is not one of {list(labels)}")
        confusion[g][p] += 1
    per_class = {label: _class_scores(confusion, label) for label in labels}
    correct = sum(confusion[label][label] for label in labels)
    return {
        "accuracy": _ratio(correct, len(gold)),
        "macro_f1": _ratio(sum(s["f1"] for s in per_class.values()), len(per_class)),
        "per_class": per_class,
        "confusion": confusion,
        "n_examples": len(gold),
    }


def _class_scores(confusion: dict[str, dict[str, int]], label: str) -> dict:
    """One class's scores; F1 = 2tp/(gold+predicted), the form scikit-learn computes."""
    correct = confusion[label][label]
    support = sum(confusion[label].values())
    predicted = sum(row[label] for row in confusion.values())
    return {
        "precision": _ratio(correct, predicted),
        "recall": _ratio(correct, support),
        "f1": _ratio(2 * correct, support + predicted),
        "support": support,
    }


# ---------------------------------------------------------------------------------------------
# Tagging


def pos_scores(gold: Tags, pred: Tags) -> dict:
    """Word-level accuracy (the meaningful POS number) and `f1_xtreme`.

    `f1_xtreme` reproduces what XTREME's `run_tag.py` reports for UDPOS: seqeval's default
    (conlleval-style) `f1_score` applied to raw UPOS tags, which treats the first letter of each
    tag as a chunk prefix (runs of equal tags become one "chunk"). It is not a POS metric; it is
    reported only so numbers can be compared with papers that quote it. See
    `xlpt.evaluation.entities.lenient_chunks` for the exact chunking.
    """
    _check_aligned(gold, pred)
    n_words = sum(len(tags) for tags in gold)
    correct = sum(g == p for gold_tags, pred_tags in zip(gold, pred) for g, p in zip(gold_tags, pred_tags))
    gold_chunks, pred_chunks = lenient_chunks(gold), lenient_chunks(pred)
    chunk_f1 = _precision_recall_f1(len(gold_chunks & pred_chunks), len(pred_chunks), len(gold_chunks))["f1"]
    return {"accuracy": _ratio(correct, n_words), "f1_xtreme": chunk_f1, "n_words": n_words, "n_sentences": len(gold)}


def _entity_scores(gold: set[tuple], pred: set[tuple], type_at: int) -> tuple[dict, dict]:
    """Micro P/R/F1 plus per-type scores, for the entity types seen in gold or predictions."""
    correct = gold & pred
    micro = _precision_recall_f1(len(correct), len(pred), len(gold))
    micro.update(n_gold_entities=len(gold), n_pred_entities=len(pred), n_correct_entities=len(correct))
    n_gold, n_pred, n_correct = (_count_types(s, type_at) for s in (gold, pred, correct))
    per_type = {}
    for entity_type in sorted(n_gold.keys() | n_pred.keys()):
        scores = _precision_recall_f1(n_correct[entity_type], n_pred[entity_type], n_gold[entity_type])
        per_type[entity_type] = {
            **scores,
            "support": n_gold[entity_type],
            "predicted": n_pred[entity_type],
            "correct": n_correct[entity_type],
        }
    return micro, per_type


def _count_types(entities: Iterable[tuple], type_at: int) -> Counter[Hashable]:
    return Counter(entity[type_at] for entity in entities)


def ner_scores(gold: Tags, pred: Tags) -> dict:
    """Entity-level scores on IOB2 tags, under both chunking rules (see `xlpt.evaluation.entities`).

    `precision`/`recall`/`f1`/`per_type`: strict IOB2, equal to seqeval's `mode="strict",
    scheme=IOB2` (micro-averaged). `*_xtreme`/`per_type_xtreme`: the lenient conlleval rule, equal
    to `conlleval.pl` and to seqeval's default mode, which XTREME reports for PAN-X. The two agree
    whenever both gold and predictions are valid IOB2. Tags other than O/B-X/I-X raise ValueError.
    """
    _check_aligned(gold, pred)
    strict, per_type = _entity_scores(strict_entity_set(gold), strict_entity_set(pred), type_at=1)
    lenient, per_type_lenient = _entity_scores(lenient_chunks(gold), lenient_chunks(pred), type_at=0)
    return {
        **strict,
        "precision_xtreme": lenient["precision"],
        "recall_xtreme": lenient["recall"],
        "f1_xtreme": lenient["f1"],
        "per_type": per_type,
        "per_type_xtreme": per_type_lenient,
        "n_sentences": len(gold),
        "n_words": sum(len(tags) for tags in gold),
    }


def score_predictions(task: TaskSpec, gold: Sequence, pred: Sequence) -> dict:
    """Score with the task's family: classification takes label lists, tagging tag lists (one sequence
    per sentence; entity F1 where the headline metric is F1 (PAN-X), word accuracy otherwise (UDPOS))."""
    return task.family_record.score(task, gold, pred)
