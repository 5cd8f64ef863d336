"""Score multiple-choice examples and turn the scores into lm-eval's metrics.

Per example, each choice gets its continuation's summed log-likelihood `ll`; the prediction is
    accuracy   argmax ll                       (lm-eval `acc`)
    acc_norm   argmax ll / characters          (lm-eval `acc_norm`: len of the choice text, no delimiter)
    acc_bytes  argmax ll / UTF-8 bytes         (lm-eval `acc_bytes`)
    acc_tokens argmax ll / continuation tokens (per-token mean; lm-eval has no such metric)
Ties go to the first maximum (numpy's argmax, as lm-eval). Two scorers give `ll`:
- `choice_logliks` through the task model (ChoiceModel: soft prompt, prefix, LoRA as trained);
- `zero_shot_logliks` through the bare backbone (lm-eval parity, tests/evaluation/test_multiple_choice_lm_eval.py):
  `packed_logliks`, one packed row per example (shared context once, every choice after it under a block
  mask, no key/value cache), the LM head only at scored positions with an online log-sum-exp; models that
  cannot take the packed mask use evaluation.loglikelihood (context cached once, each choice on a copy).
  Both equal a plain forward of every choice to float32 rounding (tests/tasks/test_multiple_choice_scoring.py);
  bench/bench_multiple_choice.py times the packed path against lm-eval's `multiple_choice`.
"""

from __future__ import annotations

import weakref

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
    """The same log-likelihoods from the bare backbone, exact (lm-eval parity): `packed_logliks` where the model
    takes a custom attention mask (checked once per model object), else evaluation.loglikelihood (shared
    prefix cached, then each choice on a copy of the cache)."""
    from xlpt.evaluation.loglikelihood import Scored, loglikelihoods

    groups = [[Scored(c.tokens, c.start) for c in item.choices] for item in items]
    if packing_ok(backbone, groups):
        return packed_logliks(backbone, groups, token_budget=token_budget, pad_id=pad_id, progress=progress,
                              desc=desc)
    return loglikelihoods(backbone, groups, token_budget=token_budget, pad_id=pad_id, progress=progress, desc=desc)


# --- one forward per example: the shared prefix and every choice's own tokens packed into one row ---------------
#
#     tokens     </s> Ese oli mullikilesse mässitud sest | see oli õrn | see oli väike     (last tokens not read)
#     segment    0    0   0   0            0        0    | 1   1   1   | 2   2   2
#     position   0    1   2   3            4        5    | 6   7   8   | 6   7   8
#
# Token q attends to token k <= q of its own segment and to every earlier token of segment 0 (the prefix: the
# choices' longest common token prefix, evaluation.loglikelihood.plan_group). That is exactly what each choice's
# own causal pass sees, at the same positions, so the hidden states are the plain path's up to float rounding; the
# prefix is read once, no key/value cache is built, copied or concatenated, and a whole batch of examples is one
# forward. The LM head runs only at scored positions (a prefix position once, however many choices it scores),
# pooled over forwards into one vocabulary sweep (`head_logprobs`: exact log-softmax, online over vocabulary chunks).

PACK_ATTENTION_ELEMENTS = 1 << 22
"""At most rows x T x T mask/score elements per head in one packed forward (eager attention materialises them)."""
_PACKING_OK: "weakref.WeakKeyDictionary[torch.nn.Module, bool]" = weakref.WeakKeyDictionary()


def _pack(plan) -> tuple[list[int], list[int], list[int], dict[tuple[int, int], int]]:
    """(tokens, segments, positions, where): `where[(i, t)]` is the packed index whose hidden state predicts
    token t of candidate i."""
    prefix = plan.prefix_length
    tokens, segments, positions = list(plan.prefix), [0] * prefix, list(range(prefix))
    where = {}
    for i, cand in enumerate(plan.candidates):
        at = len(tokens)
        rest = plan.rest(i)
        tokens += rest
        segments += [i + 1] * len(rest)
        positions += range(prefix, prefix + len(rest))
        for t in range(cand.start, len(cand.tokens)):
            where[(i, t)] = t - 1 if t - 1 < prefix else at + t - 1 - prefix
    return tokens, segments, positions, where


def _packed_batches(order: list[int], lengths: list[int], budget: int) -> list[list[int]]:
    """Consecutive batches of `order` (longest first): rows x longest <= budget tokens and rows x longest^2 <=
    PACK_ATTENTION_ELEMENTS, a single row whatever its length."""
    batches, current = [], []
    for i in order:
        width = lengths[current[0]] if current else lengths[i]
        rows = len(current) + 1
        if current and (rows * width > budget or rows * width * width > PACK_ATTENTION_ELEMENTS):
            batches.append(current)
            current = []
        current.append(i)
    return batches + [current] if current else batches


def _packed_mask(segments: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """(B, 1, T, T) additive mask from (B, T) segment ids (-1 = padding, which sees only itself)."""
    length = segments.shape[1]
    index = torch.arange(length, device=segments.device)
    causal = index[None, :] <= index[:, None]
    key, query = segments[:, None, :], segments[:, :, None]
    allowed = causal & (key >= 0) & ((key == 0) | (key == query))
    allowed |= torch.eye(length, dtype=torch.bool, device=segments.device)
    mask = torch.zeros(allowed.shape, dtype=dtype, device=segments.device)
    return mask.masked_fill_(~allowed, torch.finfo(dtype).min)[:, None]


@torch.no_grad()
def packed_logliks(backbone, groups, *, token_budget: int, pad_id: int, progress: bool = False,
                   desc: str = "log-likelihood") -> list[list[float]]:
    """Exact summed log-likelihood of every candidate of every group (evaluation.loglikelihood's contract), one
    packed row per group (see the comment above). `token_budget`: padded tokens per forward, and scored
    positions per vocabulary sweep."""
    from xlpt.evaluation.loglikelihood import check_plain_head, plan_group
    from xlpt.tasks.collate import pad_right

    lm = backbone.lm
    lm.eval()
    check_plain_head(backbone)
    device = lm.get_input_embeddings().weight.device
    dtype = lm.get_input_embeddings().weight.dtype
    packs = [_pack(plan_group(g, list(group))) for g, group in enumerate(groups)]
    totals = [[0.0] * len(group) for group in groups]
    lengths = [len(p[0]) for p in packs]
    order = sorted(range(len(packs)), key=lambda g: (-lengths[g], g))
    pool: dict = {"hidden": [], "rows": [], "targets": [], "owners": [], "n": 0}

    def flush():
        if pool["targets"]:
            values = head_logprobs(backbone, torch.cat(pool["hidden"]), pool["rows"], pool["targets"])
            for k, g, i in pool["owners"]:
                totals[g][i] += values[k]  # Python floats: summed in double precision
        pool.update(hidden=[], rows=[], targets=[], owners=[], n=0)

    with progress_bar(total=len(groups), desc=desc, unit="example", disable=not progress, leave=False) as bar:
        for batch in _packed_batches(order, lengths, token_budget):
            ids, _ = pad_right([packs[g][0] for g in batch], pad_id)
            segments, _ = pad_right([packs[g][1] for g in batch], -1)
            positions, _ = pad_right([packs[g][2] for g in batch], 0)
            ids, segments, positions = ids.to(device), segments.to(device), positions.to(device)
            hidden = backbone.hidden_states(backbone.embed(ids), _packed_mask(segments, dtype), position_ids=positions)
            picks, pair = {}, {}
            for r, g in enumerate(batch):
                for (i, t), at in packs[g][3].items():
                    row = picks.setdefault((r, at), len(picks))
                    key = (row, groups[g][i].tokens[t])
                    if key not in pair:
                        pair[key] = len(pool["targets"])
                        pool["rows"].append(pool["n"] + row)
                        pool["targets"].append(key[1])
                    pool["owners"].append((pair[key], g, i))
            index = torch.tensor(list(picks), dtype=torch.long, device=device).reshape(-1, 2)
            pool["hidden"].append(hidden[index[:, 0], index[:, 1]])
            pool["n"] += len(picks)
            if pool["n"] >= token_budget:
                flush()
            bar.update(len(batch))
        flush()
    return totals


HEAD_BUFFER = 1 << 21
"""Logits held at once by `head_logprobs` (8 MB in float32: rows x vocabulary chunk stays in a core's cache)."""


@torch.no_grad()
def head_logprobs(backbone, hidden: torch.Tensor, rows: list[int], targets: list[int]) -> list[float]:
    """log softmax(LM head(hidden[rows[k]]))[targets[k]] for each k, exact, without a rows x vocabulary tensor.

    One sweep over the head's weight for all rows: each vocabulary chunk's logits are formed in a reused buffer
    small enough to stay in cache, and folded into a running (max, sum of exp) per row (online log-sum-exp), so
    the logits are written once and read twice instead of streamed through memory several times. The target
    logit is the dot product of the row with the target's weight row. Logits are formed in the model's dtype
    and taken to float32 (as `lm(...).logits.float().log_softmax(-1)`), after the model's elementwise
    final-logit transform (`Backbone.finish_logits`)."""
    head = backbone.lm.get_output_embeddings()
    weight, bias = head.weight, getattr(head, "bias", None)
    row_index = torch.tensor(rows, dtype=torch.long, device=hidden.device)
    target = torch.tensor(targets, dtype=torch.long, device=hidden.device)
    # float32 products and sum, rounded to the model's dtype as its logits are (a no-op for float32 models)
    picked = (hidden[row_index].float() * weight[target].float()).sum(dim=-1, keepdim=True)
    if bias is not None:
        picked = picked + bias[target, None].float()
    picked = backbone.finish_logits(picked.to(weight.dtype)).float()[:, 0]
    n, vocab = len(hidden), weight.shape[0]
    chunk = max(256, min(8192, HEAD_BUFFER // max(n, 1)))
    running_max = torch.full((n,), float("-inf"), dtype=torch.float32, device=hidden.device)
    running_sum = torch.zeros(n, dtype=torch.float32, device=hidden.device)
    plain = weight.dtype == torch.float32 and bias is None
    buffer = torch.empty((n, chunk), dtype=torch.float32, device=hidden.device) if plain else None
    for v0 in range(0, vocab, chunk):
        part = weight[v0 : v0 + chunk]
        if plain:
            logits = torch.mm(hidden, part.t(), out=buffer[:, : len(part)])
        else:
            logits = torch.nn.functional.linear(hidden, part, None if bias is None else bias[v0 : v0 + chunk])
        logits = backbone.finish_logits(logits).float()
        new_max = torch.maximum(running_max, logits.amax(dim=1))
        running_sum.mul_((running_max - new_max).exp_()).add_(logits.sub_(new_max[:, None]).exp_().sum(dim=1))
        running_max = new_max
    lse = running_max + running_sum.log()
    return (picked - lse[row_index]).tolist()


def packing_ok(backbone, groups) -> bool:
    """Whether `packed_logliks` gives this model's log-likelihoods: its decoder must take a custom 4-D attention
    mask and explicit position ids (checked once per model object on a probe against
    evaluation.loglikelihood), and no sequence may outrun a sliding attention window (the custom mask would
    override it)."""
    lm = backbone.lm
    window = getattr(lm.config, "sliding_window", None)
    if window and any(len(c.tokens) > window for group in groups for c in group):
        return False
    if lm not in _PACKING_OK:
        _PACKING_OK[lm] = _probe(backbone)
    return _PACKING_OK[lm]


@torch.no_grad()
def _probe(backbone) -> bool:
    from xlpt.evaluation.loglikelihood import Scored, loglikelihoods

    vocab = backbone.lm.get_input_embeddings().num_embeddings
    ids = [min(t, vocab - 1) for t in (5, 9, 7, 11, 6, 13, 8)]
    probe = [[Scored(ids[:4] + [ids[4], ids[5]], 2), Scored(ids[:4] + [ids[6]], 3), Scored(ids[:3], 1)],
             [Scored(ids[3:], 1), Scored(ids[2:6], 1)]]
    try:
        packed = packed_logliks(backbone, probe, token_budget=64, pad_id=0)
    except Exception:  # a decoder that refuses a 4-D mask: the cached path serves it
        return False
    reference = loglikelihoods(backbone, probe, token_budget=64, pad_id=0)
    return all(abs(a - b) <= 1e-4 + 1e-4 * abs(b) for x, y in zip(packed, reference) for a, b in zip(x, y))
