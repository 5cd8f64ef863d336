"""Zero-shot in-context baseline: pick the label whose filled-in sentence the LM finds most likely.

Scores the whole sequence (every token after XGLM's leading `</s>`), as lm-evaluation-harness's
`loglikelihood_rolling` did for the published XGLM tables. Unlike the classifiers, this needs
full-vocabulary logits at every position: it is the baseline's definition, not our scoring path.
"""

from __future__ import annotations

import torch
from tqdm.auto import tqdm

from xlpt.errors import ConfigError
from xlpt.evaluation.classification import classification_metrics
from xlpt.tasks.collate import pad_right, sorted_batches


@torch.no_grad()
def sequence_logprobs(backbone, sequences: list[list[int]], pad_id: int, batch_size: int,
                      progress: bool = False) -> list[float]:
    """Sum of log p(token_t | tokens_<t) over t >= 1 for each right-padded sequence.

    Hidden states are computed per batch, but vocabulary logits one sequence at a time: a batch of
    32 x 100 positions x 256k vocabulary would otherwise need >3 GB for the logits alone, twice over
    for the log-softmax. (Assumes the LM head is a plain projection, as in XGLM, BLOOM, GPT-2, Llama.)"""
    lm = backbone.lm
    lm.eval()
    head = lm.get_output_embeddings()
    device = lm.get_input_embeddings().weight.device
    scores = [0.0] * len(sequences)
    batches = list(sorted_batches([len(s) for s in sequences], batch_size))
    for indices in tqdm(batches, desc="zero-shot", unit="batch", disable=not progress, leave=False):
        ids, mask = pad_right([sequences[i] for i in indices], pad_id)
        ids, mask = ids.to(device), mask.to(device)
        hidden = backbone.hidden_states(backbone.embed(ids), mask)
        for row, index in enumerate(indices):
            length = int(mask[row].sum())
            logits = head(hidden[row, : length - 1]).float()
            nll = torch.nn.functional.cross_entropy(logits, ids[row, 1:length], reduction="sum")
            scores[index] = -float(nll)
    return scores


def evaluate_zero_shot(model, tokenizer, cfg, task, examples, progress: bool = True, desc: str = "eval"):
    """(metrics, records) of the in-context baseline on one language's examples."""
    if task.zero_shot is None:
        raise ConfigError(f"task {task.name} defines no zero-shot prompts (a `zero_shot:` section in its YAML)")
    texts, own_words = [], True
    for ex in examples:
        options, own = task.zero_shot.candidates(ex.lang, {k: v.strip() for k, v in ex.fields().items()})
        texts += options
        own_words &= own
    encoded = tokenizer(texts, add_special_tokens=True)["input_ids"]
    truncated = sum(len(ids) > cfg.data.max_length for ids in encoded)  # reported: it changes the scores
    sequences = [ids[: cfg.data.max_length] for ids in encoded]
    scores = sequence_logprobs(model.backbone, sequences, tokenizer.pad_token_id, cfg.train.eval_batch_size, progress)
    k = task.num_labels
    records = []
    for i, ex in enumerate(examples):
        row = scores[i * k : (i + 1) * k]
        records.append({"id": ex.id, "gold": ex.label, "pred": task.labels[max(range(k), key=row.__getitem__)]})
    metrics = {**classification_metrics(task, records), "own_language_prompt": own_words, "truncated": truncated}
    return metrics, records
