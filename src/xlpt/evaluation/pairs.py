"""Evaluate a sentence-pair classifier on one language: accuracy plus per-example predictions."""

from __future__ import annotations

from xlpt.config import RunConfig
from xlpt.evaluation.metrics import classification_scores
from xlpt.evaluation.predict import predict_pairs
from xlpt.tasks import get_task
from xlpt.tasks.pair_encoding import encode_pairs
from xlpt.tasks.templates import get_template


def evaluate_pairs(model, tokenizer, cfg: RunConfig, examples, progress: bool = True, desc: str = "eval"):
    """Returns (metrics, records). records: one {"id", "gold", "pred"} per example, in file order."""
    spec = get_task(cfg.data.task)
    items, report = encode_pairs(examples, get_template(spec.name), tokenizer, spec.labels, cfg.data.max_length)
    preds = predict_pairs(model, items, tokenizer.pad_token_id, cfg.train.eval_batch_size, progress, desc)
    records = [{"id": ex.id, "gold": ex.label, "pred": spec.labels[p]} for ex, p in zip(examples, preds)]
    return {**pair_metrics(spec, records), "truncated": report.truncated}, records


def pair_metrics(spec, records: list[dict]) -> dict:
    """Accuracy (the headline), macro-F1 and the confusion counts of one language's predictions."""
    scores = classification_scores([r["gold"] for r in records], [r["pred"] for r in records], spec.labels)
    return {"accuracy": scores["accuracy"], "macro_f1": scores["macro_f1"], "confusion": scores["confusion"],
            "n": len(records)}
