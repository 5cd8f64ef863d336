"""Exact log-likelihoods of token sequences under a causal LM, computed with as little work as exactness allows.

    groups = [[Scored(ids_yes, start=1), Scored(ids_also, start=1), Scored(ids_no, start=1)], ...]
    scores = loglikelihoods(backbone, groups, token_budget=4096)   # scores[g][i]: float

`Scored(tokens, start)` asks for  sum_{t >= start} log p(tokens[t] | tokens[:t]).  `start` is explicit
(at least 1: the first token has nothing to condition on). Which token opens a sequence, and whether it
is scored, is the caller's choice; nothing here assumes token 0 is a start token.

The value equals what a plain Hugging Face forward gives (`lm(ids).logits.float().log_softmax(-1)`
gathered at the scored positions, tests/evaluation/test_loglikelihood.py), but it is computed
differently, for speed:

- A *group* is the candidates of one example (e.g. XNLI's three filled-in prompts). They share a token
  prefix up to the label word; it is read once, its keys/values are cached (`transformers.DynamicCache`)
  and each candidate continues from the cache with its position ids continuing after the prefix. The
  log-probabilities of shared tokens are computed once and counted in every candidate.
- The log-sum-exp over the vocabulary is taken in vocabulary chunks and only at the positions that are
  scored, so no (batch x length x vocabulary) tensor ever exists (256k vocabulary x 32 x 100 positions
  would be > 3 GB).
- Batches are cut by a token budget (padded tokens per forward), not a fixed count of sequences, so
  memory stays bounded whatever the lengths. A sequence longer than the budget is still read, alone.

The log-sum-exp assumes the LM head is a plain linear projection (XGLM, GPT-2, BLOOM, Llama); this is
checked numerically against the model's own logits once per call, and a model that post-processes its
logits (soft-capping, scaling) is refused rather than scored wrongly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch.nn import functional as F
from tqdm.auto import tqdm
from transformers import DynamicCache

from xlpt.errors import ConfigError
from xlpt.training.batching import pad_right

LOGIT_ELEMENTS = 1 << 24
"""Upper bound on the (positions x vocabulary chunk) logits held at once: 64 MB in float32."""
MIN_VOCAB_CHUNK = 1024
"""Vocabulary rows per chunk at least (fewer would make the head's matrix products inefficient)."""


@dataclass(frozen=True)
class Scored:
    """A token sequence and the first position whose token is scored (`1 <= start <= len(tokens)`;
    `start == len(tokens)` scores nothing and gives 0.0)."""

    tokens: tuple[int, ...]
    start: int

    def __post_init__(self):
        object.__setattr__(self, "tokens", tuple(int(t) for t in self.tokens))
        if not self.tokens:
            raise ValueError("a scored sequence needs at least one token")
        if not 1 <= self.start <= len(self.tokens):
            raise ValueError(f"start must be in 1..{len(self.tokens)} (token 0 has no context), got {self.start}")


@dataclass
class _Plan:
    """How one group is read: `prefix` once, then each candidate's `rest` (its input tokens after the prefix)."""

    index: int
    candidates: Sequence[Scored]
    prefix_length: int

    @property
    def prefix(self) -> tuple[int, ...]:
        return self.candidates[0].tokens[: self.prefix_length]

    def rest(self, i: int) -> tuple[int, ...]:
        # The last token is only predicted, never read: no hidden state is needed after it.
        return self.candidates[i].tokens[self.prefix_length : -1]

    @property
    def cost(self) -> int:
        return max(len(c.tokens) for c in self.candidates)


def plan_group(index: int, candidates: Sequence[Scored]) -> _Plan:
    """Prefix length = the candidates' longest common token prefix, but never the whole longest sequence
    (identical candidates are read up to their last input token, and that hidden state serves them all)."""
    if not candidates:
        raise ValueError(f"group {index} has no candidates")
    first = candidates[0].tokens
    common = min(len(c.tokens) for c in candidates)
    for c in candidates[1:]:
        common = next((j for j in range(common) if c.tokens[j] != first[j]), common)
    return _Plan(index, candidates, min(common, max(len(c.tokens) for c in candidates) - 1))


@torch.no_grad()
def loglikelihoods(backbone, groups: Sequence[Sequence[Scored]], *, token_budget: int = 4096, pad_id: int = 0,
                   progress: bool = False, desc: str = "log-likelihood") -> list[list[float]]:
    """Exact log-likelihood of every candidate of every group, in input order (see the module docstring).

    `token_budget` bounds the padded tokens of one forward (prefix batch: groups x longest prefix;
    continuation batch: rows x (longest prefix + longest continuation)). `pad_id` fills padding only
    (it is masked, so any valid id works)."""
    if token_budget < 1:
        raise ConfigError(f"token_budget must be >= 1, got {token_budget}")
    lm = backbone.lm
    lm.eval()
    check_plain_head(backbone)
    plans = [plan_group(i, list(g)) for i, g in enumerate(groups)]
    totals = [torch.zeros(len(p.candidates), dtype=torch.float64) for p in plans]
    # Longest first (peak memory shows at once, as in lm-eval); groups without a shared prefix go separately
    # because a row with no real prefix token cannot be part of a cached batch (it would attend to nothing).
    order = sorted(plans, key=lambda p: (p.prefix_length == 0, -p.cost, p.index))
    bar = tqdm(total=len(plans), desc=desc, unit="example", disable=not progress, leave=False)
    for batch in _prefix_batches(order, token_budget):
        _score_batch(backbone, batch, totals, token_budget, pad_id)
        bar.update(len(batch))
    bar.close()
    return [t.tolist() for t in totals]


def _prefix_batches(plans: list[_Plan], budget: int):
    """Consecutive plans while (count x longest prefix) fits the budget; at least one per batch."""
    batch, width = [], 0
    for plan in plans:
        new_width = max(width, plan.prefix_length)
        same_kind = not batch or (batch[0].prefix_length == 0) == (plan.prefix_length == 0)
        if batch and (not same_kind or (len(batch) + 1) * new_width > budget):
            yield batch
            batch, new_width = [], plan.prefix_length
        batch.append(plan)
        width = new_width
    if batch:
        yield batch


def _score_batch(backbone, plans: list[_Plan], totals: list[torch.Tensor], budget: int, pad_id: int) -> None:
    device = backbone.lm.get_input_embeddings().weight.device
    prefix_hidden, prefix_mask, cache = None, None, None
    if plans[0].prefix_length > 0:
        ids, prefix_mask = pad_right([p.prefix for p in plans], pad_id)
        ids, prefix_mask = ids.to(device), prefix_mask.to(device)
        cache = DynamicCache()
        positions = torch.arange(ids.shape[1], device=device).expand_as(ids)
        prefix_hidden = backbone.hidden_states(backbone.embed(ids), prefix_mask, position_ids=positions,
                                               past_key_values=cache)
        _score_from_prefix(backbone, plans, prefix_hidden, totals)
    rows = [(g, i) for g, plan in enumerate(plans) for i in range(len(plan.candidates)) if plan.rest(i)]
    width = prefix_mask.shape[1] if prefix_mask is not None else 0
    for sub in _row_batches(plans, rows, width, budget):
        hidden = _continue(backbone, plans, sub, prefix_mask, cache, pad_id, device)
        _score_from_rest(backbone, plans, sub, hidden, totals)


def _row_batches(plans: list[_Plan], rows: list[tuple[int, int]], width: int, budget: int):
    """Consecutive candidate rows while rows x (cached width + longest continuation) fits the budget."""
    batch, longest = [], 0
    for g, i in rows:
        new_longest = max(longest, len(plans[g].rest(i)))
        if batch and (len(batch) + 1) * (width + new_longest) > budget:
            yield batch
            batch, new_longest = [], len(plans[g].rest(i))
        batch.append((g, i))
        longest = new_longest
    if batch:
        yield batch


def _continue(backbone, plans, rows, prefix_mask, cache, pad_id, device) -> torch.Tensor:
    """Hidden states of each row's continuation, read after its group's cached prefix (if any)."""
    ids, mask = pad_right([plans[g].rest(i) for g, i in rows], pad_id)
    ids, mask = ids.to(device), mask.to(device)
    starts = torch.tensor([plans[g].prefix_length for g, _ in rows], device=device)
    positions = starts[:, None] + torch.arange(ids.shape[1], device=device)
    row_cache = None
    if cache is not None:
        # Each row gets its own copy of its group's prefix keys/values (the model appends to the cache in place).
        # The prefix batch was right padded, so pad slots sit between a short prefix and its continuation:
        # the attention mask hides them, and the explicit position ids make the continuation follow the
        # prefix's real last token (BLOOM takes no position ids; its ALiBi counts only unmasked tokens).
        pick = torch.tensor([g for g, _ in rows], device=device)
        row_cache = DynamicCache([(layer.keys[pick], layer.values[pick]) for layer in cache.layers])
        mask = torch.cat([prefix_mask[pick], mask], dim=1)
    return backbone.hidden_states(backbone.embed(ids), mask, position_ids=positions, past_key_values=row_cache)


def _score_from_prefix(backbone, plans, hidden, totals) -> None:
    """Targets predicted from prefix positions: each (group, position) is one log-sum-exp, shared by all
    candidates; shared tokens are also one target, counted in every candidate that scores them."""
    rows, pair_row, pair_target, owners = {}, [], [], []
    for g, plan in enumerate(plans):
        pairs = {}
        for i, cand in enumerate(plan.candidates):
            for t in range(cand.start, min(plan.prefix_length, len(cand.tokens) - 1) + 1):
                key = (t - 1, cand.tokens[t])
                if key not in pairs:
                    row = rows.setdefault((g, t - 1), len(rows))
                    pairs[key] = len(pair_row)
                    pair_row.append(row)
                    pair_target.append(cand.tokens[t])
                owners.append((pairs[key], g, i))
    if not owners:
        return
    index = torch.tensor(list(rows), device=hidden.device)
    values = token_logprobs(backbone, hidden[index[:, 0], index[:, 1]], pair_row, pair_target)
    for pair, g, i in owners:
        totals[plans[g].index][i] += values[pair]


def _score_from_rest(backbone, plans, rows, hidden, totals) -> None:
    """Targets predicted from continuation positions: continuation input j predicts token prefix_length+j+1."""
    picks, targets, owners = [], [], []
    for r, (g, i) in enumerate(rows):
        plan, cand = plans[g], plans[g].candidates[i]
        for t in range(max(cand.start, plan.prefix_length + 1), len(cand.tokens)):
            picks.append((r, t - 1 - plan.prefix_length))
            targets.append(cand.tokens[t])
            owners.append((plan.index, i))
    if not picks:
        return
    index = torch.tensor(picks, device=hidden.device)
    values = token_logprobs(backbone, hidden[index[:, 0], index[:, 1]], list(range(len(picks))), targets)
    for value, (group, i) in zip(values, owners):
        totals[group][i] += value


def token_logprobs(backbone, hidden: torch.Tensor, rows: list[int], targets: list[int]) -> list[float]:
    """log softmax(head(hidden[rows[k]]))[targets[k]] for each k, without a full (rows x vocabulary) tensor.

    Logits are formed chunk by chunk in the model's dtype and cast to float32 before the log-sum-exp,
    as `lm(...).logits.float().log_softmax(-1)` would do."""
    head = backbone.lm.get_output_embeddings()
    weight, bias = head.weight, getattr(head, "bias", None)
    vocab = weight.shape[0]
    row_index = torch.tensor(rows, device=hidden.device)
    target = torch.tensor(targets, device=hidden.device)
    out = torch.empty(len(rows), dtype=torch.float32, device=hidden.device)
    step_rows = max(1, LOGIT_ELEMENTS // MIN_VOCAB_CHUNK)
    for r0 in range(0, len(hidden), step_rows):
        block = hidden[r0 : r0 + step_rows]
        chunk = max(MIN_VOCAB_CHUNK, LOGIT_ELEMENTS // len(block))
        # The pairs whose hidden row is in this block; their target logits are picked as the chunks pass by.
        in_block = (row_index >= r0) & (row_index < r0 + len(block))
        local_rows, local_targets = row_index[in_block] - r0, target[in_block]
        target_logit = torch.empty(len(local_rows), dtype=torch.float32, device=hidden.device)
        lse_parts = []
        for v0 in range(0, vocab, chunk):
            logits = F.linear(block, weight[v0 : v0 + chunk], None if bias is None else bias[v0 : v0 + chunk]).float()
            lse_parts.append(torch.logsumexp(logits, dim=-1))
            hit = (local_targets >= v0) & (local_targets < v0 + chunk)
            target_logit[hit] = logits[local_rows[hit], local_targets[hit] - v0]
        lse = torch.logsumexp(torch.stack(lse_parts), dim=0)
        out[in_block] = target_logit - lse[local_rows]
    return out.tolist()


@torch.no_grad()
def check_plain_head(backbone) -> None:
    """Refuse models whose logits are not `head(last hidden state)` (the chunked log-sum-exp relies on it).

    Compares the model's own forward with the projection of `backbone.hidden_states` on a 6-token probe
    (a few milliseconds, so it is simply done on every call)."""
    lm = backbone.lm
    device = lm.get_input_embeddings().weight.device
    vocab = lm.get_input_embeddings().num_embeddings
    ids = torch.arange(4, 10, device=device).clamp(max=vocab - 1).unsqueeze(0)
    mask = torch.ones_like(ids)
    reference = lm(input_ids=ids, attention_mask=mask).logits.float()
    head = lm.get_output_embeddings()
    ours = head(backbone.hidden_states(backbone.embed(ids), mask)).float()
    if reference.shape != ours.shape or not torch.allclose(ours, reference, atol=1e-4, rtol=1e-3):
        raise ConfigError(f"{type(lm).__name__}: its logits are not a plain projection of the last hidden state "
                          "(soft-capping or scaling?); the chunked zero-shot scorer cannot reproduce them")
