"""Score multiple-choice examples and turn the scores into lm-eval's metrics.

Per example, each choice gets its continuation's summed log-likelihood `ll`; the prediction is
    accuracy   argmax ll                       (lm-eval `acc`)
    acc_norm   argmax ll / characters          (lm-eval `acc_norm`: len of the choice text, no delimiter)
    acc_bytes  argmax ll / UTF-8 bytes         (lm-eval `acc_bytes`)
    acc_tokens argmax ll / continuation tokens (per-token mean; lm-eval has no such metric)
Ties go to the first maximum (numpy's argmax, as lm-eval). Two scorers give `ll`:
- `choice_logliks` through the task model (ChoiceModel: soft prompt, prefix, LoRA as trained);
- `zero_shot_logliks` through the bare backbone (lm-eval parity, tests/evaluation/test_multiple_choice_lm_eval.py):
  each example's choices are one group of evaluation.loglikelihood's `loglikelihoods`, the exact scorer
  zero-shot classification uses too (shared context read once, the LM head only at scored positions).
  It equals a plain forward of every choice to float32 rounding (tests/tasks/test_multiple_choice_scoring.py);
  bench/bench_multiple_choice.py times it against lm-eval's `multiple_choice`.
"""

from __future__ import annotations

import torch

from xlpt.progress import progress_bar
from xlpt.tasks.collate import packed_batches

METRICS = ("accuracy", "acc_norm", "acc_bytes", "acc_tokens")


def predictions(item, scores: list[float]) -> dict[str, int]:
    """The chosen index under each metric's normalisation (first maximum on ties)."""
    def best(values):
        return max(range(len(values)), key=values.__getitem__)

    return {"accuracy": best(scores),
            "acc_norm": best([s / max(c.chars, 1) for s, c in zip(scores, item.choices)]),
            "acc_bytes": best([s / max(c.bytes, 1) for s, c in zip(scores, item.choices)]),
            "acc_tokens": best([s / c.scored_tokens for s, c in zip(scores, item.choices)])}


def metrics_and_records(task, examples, items, scores: list[list[float]]) -> tuple[dict, list[dict]]:
    """(metrics, records): metrics = the four accuracies over labeled examples and `n`; records one per example
    {"id", "gold", "pred", "loglik", "pred_norm"} in input order (pred = the task metric's choice)."""
    records, hits, labeled = [], dict.fromkeys(METRICS, 0), 0
    for example, item, row in zip(examples, items, scores):
        chosen = predictions(item, row)
        if item.label >= 0:
            labeled += 1
            for name in METRICS:
                hits[name] += chosen[name] == item.label
        records.append({"id": example.id, "gold": example.label, "pred": task.labels[chosen[task.metric]],
                        "pred_acc": task.labels[chosen["accuracy"]], "pred_norm": task.labels[chosen["acc_norm"]],
                        "loglik": dict(zip(task.labels, row))})
    metrics = {name: hits[name] / labeled if labeled else 0.0 for name in METRICS}
    return {**metrics, "n": len(records), "n_labeled": labeled}, records


@torch.no_grad()
def choice_logliks(model, items, pad_id: int, batch_size: int, max_tokens: int | None = None,
                   progress: bool = False, desc: str = "score") -> list[list[float]]:
    """Per example, each choice's log-likelihood under the task model (batches of `batch_size` examples,
    at most `max_tokens` padded tokens, longest first)."""
    from xlpt.tasks.families.multiple_choice.batch import collate_choices

    model.eval()
    device = next(model.parameters()).device
    order = sorted(range(len(items)), key=lambda i: -items[i].length)
    lengths = [items[i].length for i in range(len(items))]
    out: list[list[float] | None] = [None] * len(items)
    with progress_bar(total=len(items), desc=desc, unit="ex", disable=not progress, leave=False) as bar:
        for indices in packed_batches(order, lengths, batch_size, max_tokens, extra=model.prompt_length):
            batch = {k: v.to(device) for k, v in collate_choices(items, indices, pad_id).items()}
            flat, at = model(batch).tolist(), 0
            for i in indices:
                n = len(items[i].choices)
                out[i], at = flat[at : at + n], at + n
            bar.update(len(indices))
    return out


def zero_shot_logliks(backbone, items, token_budget: int, pad_id: int, progress: bool, desc: str):
    """The same log-likelihoods from the bare backbone, exact (lm-eval parity): each example's choices are one
    group of the shared scorer, evaluation.loglikelihood (context read once, every choice after it)."""
    from xlpt.evaluation.loglikelihood import Scored, loglikelihoods

    groups = [[Scored(c.tokens, c.start) for c in item.choices] for item in items]
    return loglikelihoods(backbone, groups, token_budget=token_budget, pad_id=pad_id, progress=progress, desc=desc)
