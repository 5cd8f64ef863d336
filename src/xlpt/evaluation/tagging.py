"""Evaluate a word tagger on one language: every word of every sentence, scored with our metrics.

Long sentences are predicted window by window (tasks.word_alignment) and stitched back together; a
check makes sure each word received exactly one prediction, so no sentence is lost or shortened.
"""

from __future__ import annotations

from pathlib import Path

import torch
from xlpt.progress import progress_bar

from xlpt.data.examples import TaggedSentence
from xlpt.data.formats.tagged import write_tagged
from xlpt.evaluation.metrics import ner_scores, pos_scores
from xlpt.tasks import TaskSpec
from xlpt.tasks.collate import collate_windows, sorted_batches
from xlpt.tasks.word_alignment import Window, encode_tagged


@torch.no_grad()
def predict_windows(model, windows: list[Window], sentence_lengths: list[int], pad_id: int, batch_size: int,
                    progress: bool = True, desc: str = "predict", max_tokens: int | None = None) -> list[list[int]]:
    """Tag indices per sentence (in input order), from windows predicted in length-sorted batches
    (`max_tokens`: see tasks.collate.sorted_batches)."""
    model.eval()
    device = next(model.parameters()).device
    predicted: list[list[int | None]] = [[None] * n for n in sentence_lengths]
    batches = list(sorted_batches([len(w.input_ids) for w in windows], batch_size, max_tokens,
                                  extra=model.prompt_length))
    with model.shared_prefix([w.input_ids for w in windows]):  # `</s>` (+ prompt): computed once
        for indices in progress_bar(batches, desc=desc, unit="batch", disable=not progress, leave=False):
            batch = collate_windows(windows, indices, pad_id)
            logits = model(*(batch[k].to(device) for k in ("input_ids", "attention_mask", "word_start", "word_end")))
            _record(predicted, [windows[i] for i in indices], logits.argmax(dim=-1).tolist())
    for number, tags in enumerate(predicted):
        if None in tags:
            raise RuntimeError(f"sentence {number}: word {tags.index(None)} received no prediction")
    return predicted


def _record(predicted: list[list[int | None]], windows: list[Window], best: list[list[int]]) -> None:
    """Store each window's predicted tag per word; a word predicted twice is a windowing bug."""
    for window, tags in zip(windows, best):
        for slot, word in enumerate(window.words):
            if predicted[window.sentence][word] is not None:
                raise RuntimeError(f"sentence {window.sentence} word {word} predicted twice")
            predicted[window.sentence][word] = tags[slot]


def score_tags(spec: TaskSpec, gold: list[list[str]], pred: list[list[str]]) -> dict:
    """Word accuracy (+ XTREME's chunk F1) for a task whose metric is accuracy (POS); strict entity
    P/R/F1 (+ XTREME's lenient F1 and per-type scores) for a task whose metric is f1 (NER: IOB2 tags,
    checked when the task is defined). `n` is the number of sentences."""
    if spec.metric == "f1":
        scores = ner_scores(gold, pred)
    else:
        scores = pos_scores(gold, pred)
    scores["n"] = scores.pop("n_sentences")
    return scores


def predict_sentences(spec: TaskSpec, model, tokenizer, cfg, sentences: list[TaggedSentence], progress: bool = True,
                      desc: str = "predict") -> tuple[list[list[str]], dict]:
    """Predicted tags for every word of every sentence, and counts of how the sentences were windowed."""
    windows, report = encode_tagged(sentences, tokenizer, spec.labels, cfg.data.max_length)
    predicted = predict_windows(model, windows, [len(s.words) for s in sentences], tokenizer.pad_token_id,
                                cfg.train.eval_batch_size, progress, desc, cfg.train.eval_batch_tokens)
    counts = {"windows": report.windows, "split_sentences": report.split_sentences,
              "placeholder_words": report.placeholder_words, "clipped_words": report.clipped_words}
    return [[spec.labels[i] for i in tags] for tags in predicted], counts


def evaluate_tagging(spec: TaskSpec, model, tokenizer, cfg, examples: list[TaggedSentence], progress: bool = True,
                     desc: str = "eval", write_tsv: Path | None = None) -> tuple[dict, list[dict]]:
    """Returns (metrics, records): metrics carry the task's headline metric and `n` (sentences); records
    are one {"id", "gold", "pred"} per sentence in file order. `write_tsv` also writes the predictions in
    the input tag format (`token<TAB>predicted tag`)."""
    pred, counts = predict_sentences(spec, model, tokenizer, cfg, examples, progress, desc)
    records = [{"id": ex.id, "gold": list(ex.tags) if ex.tags is not None else None, "pred": tags}
               for ex, tags in zip(examples, pred)]
    labeled = [i for i, ex in enumerate(examples) if ex.tags is not None]
    if labeled:
        metrics = score_tags(spec, [records[i]["gold"] for i in labeled], [pred[i] for i in labeled])
    else:
        metrics = {spec.metric: None}
    metrics.update(n=len(examples), **counts)
    if write_tsv is not None:
        write_predicted_tsv(Path(write_tsv), examples, pred)
    return metrics, records


def write_predicted_tsv(path: Path, examples: list[TaggedSentence], pred: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_tagged(path, [TaggedSentence(ex.words, tuple(tags), ex.lang, ex.id) for ex, tags in zip(examples, pred)])
