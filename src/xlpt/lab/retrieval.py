"""Parallel-sentence retrieval per layer: how language-neutral a model's sentence representations are.

For each layer (0 = embeddings + positions, L = the last layer after its final layer norm), a
sentence is the mean of its tokens' hidden states (the `</s>` start token and padding excluded). For a
derived language X and the base B, with the n parallel test sentences of each: X -> B accuracy is the
share of X sentences whose most cosine-similar B sentence is their own translation (top-1), and
B -> X the reverse; `mean` is their average. Chance is 1 / n. Optionally each language's mean vector
is subtracted first (`center`), which removes the constant language offset that otherwise dominates
cosine similarity between languages.

Words written identically in both languages (anchors: shared names, numbers) match trivially, even in
a random model's embeddings, so by default (`exclude_shared`) their tokens are left out of the mean on
both sides; what remains measures whether the model aligned words it had to learn were equivalent. A
sentence made only of shared words (an identity language) keeps all its tokens; such sentences are
counted in `sentences_all_shared`. (Their information still reaches later tokens through attention:
that is contextual alignment, which is what should count.)

With the sentences' topic labels, `topic_mean` is the share of queries whose retrieved sentence has
the query's topic (chance: the sum of squared topic shares). Sentence retrieval can sit above chance
while the topics are aligned to the wrong ones (a symmetric grammar aligns two languages only up to
a permutation of topics); topic agreement *below* its chance is the sign of such a permutation, and a
classifier fine-tuned on the base then transfers below chance.

In the feasibility prototype this took under a second and predicted which language transferred.
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F

from xlpt.tasks.collate import pad_right


@torch.no_grad()
def sentence_vectors(model, tokenizer, sentences: list[list[str]], keep: list[list[bool]] | None = None,
                     batch_size: int = 64) -> torch.Tensor:
    """(layers + 1, n, d) mean-pooled hidden states of every sentence (a list of words), start token excluded.

    With `keep` (one flag per word), only the tokens of kept words enter the mean; a sentence with no
    kept word falls back to all its tokens."""
    model.eval()
    device = next(model.parameters()).device
    # words tokenized after a space, exactly as in the running text (Metaspace tokenizers)
    encoded = tokenizer(sentences, is_split_into_words=True, add_special_tokens=True)
    chunks = []
    for begin in range(0, len(sentences), batch_size):
        rows = range(begin, min(begin + batch_size, len(sentences)))
        ids, mask = pad_right([encoded["input_ids"][i] for i in rows], tokenizer.pad_token_id)
        pool = torch.zeros_like(mask)
        for r, i in enumerate(rows):
            word_ids = encoded.word_ids(i)
            chosen = [k for k, w in enumerate(word_ids) if w is not None and (keep is None or keep[i][w])]
            pool[r, chosen or [k for k, w in enumerate(word_ids) if w is not None]] = 1
        hidden = model.base_model(input_ids=ids.to(device), attention_mask=mask.to(device),
                                  output_hidden_states=True).hidden_states
        weights = (pool / pool.sum(dim=1, keepdim=True).clamp(min=1)).unsqueeze(-1).to(device, hidden[0].dtype)
        chunks.append(torch.stack([(layer * weights).sum(dim=1) for layer in hidden]).float().cpu())
    return torch.cat(chunks, dim=1)


def nearest(queries: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
    """Index of the most cosine-similar key of every query."""
    return (F.normalize(queries, dim=-1) @ F.normalize(keys, dim=-1).T).argmax(dim=1)


def top1_accuracy(queries: torch.Tensor, keys: torch.Tensor) -> float:
    """Share of rows i whose most cosine-similar key is key i (queries and keys are parallel)."""
    return float((nearest(queries, keys) == torch.arange(len(queries))).float().mean())


def _topic_agreement(found: torch.Tensor, topics: torch.Tensor) -> float:
    return float((topics[found] == topics).float().mean())


def _centered(vectors: torch.Tensor) -> torch.Tensor:
    return vectors - vectors.mean(dim=1, keepdim=True)


def retrieval_by_layer(queries: torch.Tensor, reference: torch.Tensor, center: bool = True,
                       topics: list[str] | None = None) -> dict:
    """Per-layer X->B, B->X and mean top-1 accuracy between parallel (layers, n, d) tensors, and with
    `topics` (one label per sentence) the topic agreement of the retrieved sentences."""
    if queries.shape[:2] != reference.shape[:2]:
        raise ValueError(f"retrieval needs parallel sentences: shapes {tuple(queries.shape)} and {tuple(reference.shape)}")
    if center:
        queries, reference = _centered(queries), _centered(reference)
    n = queries.shape[1]
    if topics is not None:
        names = sorted(set(topics))
        topic_ids = torch.tensor([names.index(t) for t in topics])
    layers, truth = [], torch.arange(n)
    for layer in range(queries.shape[0]):
        to_base, from_base = nearest(queries[layer], reference[layer]), nearest(reference[layer], queries[layer])
        row = {"layer": layer, "to_base": float((to_base == truth).float().mean()),
               "from_base": float((from_base == truth).float().mean())}
        row["mean"] = (row["to_base"] + row["from_base"]) / 2
        if topics is not None:
            row["topic_mean"] = (_topic_agreement(to_base, topic_ids) + _topic_agreement(from_base, topic_ids)) / 2
        layers.append(row)
    best = max(layers, key=lambda row: row["mean"])
    report = {"layers": layers, "best_layer": best["layer"], "best": best["mean"], "chance": 1.0 / n, "sentences": n}
    if topics is not None:
        report["topic_at_best"] = best["topic_mean"]
        report["topic_chance"] = chance = float(sum((topic_ids == k).float().mean() ** 2 for k in range(len(names))))
        # below chance by more than 3 standard errors of a share over n sentences
        report["topics_permuted"] = best["topic_mean"] < chance - 3 * math.sqrt(chance * (1 - chance) / n)
    return report


def retrieval_report(model, tokenizer, words: dict[str, list[list[str]]], base: str, center: bool = True,
                     shared: dict | None = None, topics: list[str] | None = None) -> dict:
    """Retrieval between `base` and every other language of `words` (parallel lists of word lists).

    `shared[X]` = (flags for X's words, flags for the base's words): True where the word is written
    identically in X and the base; those words' tokens are left out of the means (see the module doc)."""
    report = {}
    plain_base = sentence_vectors(model, tokenizer, words[base]) if not shared else None
    for name, sentences in words.items():
        if name == base:
            continue
        if shared and name in shared:
            own, theirs = shared[name]
            keep_own = [[not flag for flag in row] for row in own]
            keep_base = [[not flag for flag in row] for row in theirs]
            queries = sentence_vectors(model, tokenizer, sentences, keep_own)
            reference = sentence_vectors(model, tokenizer, words[base], keep_base)
            all_shared = sum(all(row) for row in own)
        else:
            queries = sentence_vectors(model, tokenizer, sentences)
            reference = plain_base if plain_base is not None else sentence_vectors(model, tokenizer, words[base])
            all_shared = 0
        report[name] = retrieval_by_layer(queries, reference, center, topics) | {"sentences_all_shared": all_shared}
    return report
