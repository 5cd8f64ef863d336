"""Evaluate a classifier (one text or a text pair) on one language: metrics plus per-example predictions."""

from __future__ import annotations

from contextlib import closing

import torch
from xlpt.progress import progress_bar

from xlpt.evaluation.batch_workers import batch_workers, map_batches
from xlpt.evaluation.metrics import classification_scores
from xlpt.tasks.classification_encoding import encode_examples
from xlpt.tasks.collate import collate_classification, sorted_batches


@torch.no_grad()
def predict_classes(model, items, pad_id: int, batch_size: int, progress: bool = True,
                    desc: str = "predict", max_tokens: int | None = None) -> list[int]:
    """Class index per encoded item, in input order (batches are length-sorted for speed; `max_tokens`:
    see tasks.collate.sorted_batches)."""
    model.eval()
    device = next(model.parameters()).device
    predictions = [None] * len(items)
    batches = list(sorted_batches([len(item.input_ids) for item in items], batch_size, max_tokens,
                                  extra=model.prompt_length))

    def predict(indices: list[int]) -> list[int]:
        batch = collate_classification(items, indices, pad_id)
        logits = model(batch["input_ids"].to(device), batch["attention_mask"].to(device),
                       batch["last_index"].to(device))
        return logits.argmax(dim=-1).tolist()

    workers = batch_workers(model.backbone.hidden_size, device)
    with (progress_bar(total=len(items), desc=desc, unit="ex", disable=not progress, leave=False) as bar,
          model.shared_prefix([item.input_ids for item in items]),  # `</s>` + prompt etc.: computed once
          closing(map_batches(predict, batches, workers)) as results):  # workers stop before the prefix goes
        for indices, predicted in zip(batches, results):
            for index, pred in zip(indices, predicted):
                predictions[index] = pred
            bar.update(len(indices))
    return predictions


def evaluate_classification(task, model, tokenizer, cfg, examples, progress: bool = True, desc: str = "eval"):
    """Returns (metrics, records). records: one {"id", "gold", "pred"} per example, in file order."""
    template = task.resolve_template(cfg.data.template)
    items, report = encode_examples(examples, template, tokenizer, task.labels, cfg.data.max_length)
    preds = predict_classes(model, items, tokenizer.pad_token_id, cfg.train.eval_batch_size, progress, desc,
                            cfg.train.eval_batch_tokens)
    records = [{"id": ex.id, "gold": ex.label, "pred": task.labels[p]} for ex, p in zip(examples, preds)]
    return {**classification_metrics(task, records), "truncated": report.truncated}, records


def classification_metrics(task, records: list[dict]) -> dict:
    """Accuracy, macro-F1 and the confusion counts of one language's predictions."""
    scores = classification_scores([r["gold"] for r in records], [r["pred"] for r in records], task.labels)
    return {"accuracy": scores["accuracy"], "macro_f1": scores["macro_f1"], "confusion": scores["confusion"],
            "n": len(records)}
