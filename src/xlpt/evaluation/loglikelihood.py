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
- The continuations of one group are packed into one row after its cached prefix (candidate i's tokens
  see the prefix and their own earlier tokens only: a block-diagonal causal mask, position ids restarting
  after the prefix for each candidate), so the prefix keys/values are never copied per candidate. Models
  that take no position ids (BLOOM's ALiBi) or use sliding windows read one row per candidate, each with
  its own copy of the prefix cache.
- The log-sum-exp over the vocabulary is taken only at the positions that are scored, in one online pass
  over vocabulary chunks (running max and sum, the target logit picked as its chunk passes), with tiles of
  rows x chunk small enough to stay in cache: no (batch x length x vocabulary) tensor ever exists (256k
  vocabulary x 32 x 100 positions would be > 3 GB) and no logit is read back from memory twice.
- The attention kernel is SDPA for the call (models/attention.py) unless the backbone was asked for eager
  (`Backbone.use_attention`); the architecture table keeps Gemma-2 on eager.
- Batches are cut by a token budget (padded tokens per forward), not a fixed count of sequences, so
  memory stays bounded whatever the lengths; a sequence longer than the budget is still read, alone.
  The scored positions of several forwards are pooled (up to `token_budget` of them) for one sweep over
  the head's weight. Memory beyond the model: the cached keys/values of a prefix batch and of a
  continuation batch, each at most layers x 2 x budget x d_model values (564M shape, budget 8192,
  float32: 1.6 GB each), plus one tile of LOGIT_ELEMENTS logits.

Values do not depend on the batching beyond float32 rounding (~1e-6 relative: matrix products are
blocked differently), so a near-tie between two candidates may break differently under another budget.

The log-sum-exp assumes the LM head is a plain linear projection (XGLM, GPT-2, BLOOM, Llama); this is
checked numerically against the model's own logits once per call, and a model that post-processes its
logits (soft-capping, scaling) is refused rather than scored wrongly.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Sequence

import torch
from torch.nn import functional as F
from xlpt.progress import progress_bar
from transformers import DynamicCache

from xlpt.errors import ConfigError
from xlpt.tasks.collate import pad_right

LOGIT_ELEMENTS = 1 << 19
"""Upper bound on the (positions x vocabulary chunk) logits held at once: 2 MB in float32, so the log-sum-exp
reads each tile from cache right after the head's matrix product wrote it (a 64 MB tile went to memory and
back: 23 % of the head's time at the 564M shape, against 4 % now)."""
MIN_VOCAB_CHUNK = 1024
"""Vocabulary rows per chunk at least (fewer would make the head's matrix products inefficient)."""
FORWARD_COST = 256
"""What one more forward costs, in padded tokens: batches are cut to minimise padded tokens + this per
forward. A forward streams every weight once; on 2 shared CPU cores with the 564M shape that costs about
as much as 200-400 tokens of arithmetic (estimated from timings of 2 vs 9 forwards), so splitting a batch
only pays when it saves more padding than that."""


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
    with backbone.scoring_attention():
        return _loglikelihoods(backbone, groups, token_budget, pad_id, progress, desc)


def _loglikelihoods(backbone, groups, token_budget: int, pad_id: int, progress: bool, desc: str):
    plans = [plan_group(i, list(g)) for i, g in enumerate(groups)]
    head = _HeadPass(backbone, [[0.0] * len(p.candidates) for p in plans], rows=token_budget)
    # Longest first (peak memory shows at once, as in lm-eval). Groups without a shared prefix are batched
    # apart: a row with no real prefix token cannot be part of a cached batch (it would attend to nothing).
    order = sorted(plans, key=lambda p: (-p.prefix_length, -p.cost, p.index))
    bar = progress_bar(total=len(plans), desc=desc, unit="example", disable=not progress, leave=False)
    for kind in ([p for p in order if p.prefix_length], [p for p in order if not p.prefix_length]):
        for batch in _batches(kind, [p.prefix_length for p in kind], token_budget):
            _read_batch(backbone, batch, head, token_budget, pad_id)
            bar.update(len(batch))
    head.flush()
    bar.close()
    return head.totals


def _batches(items: list, lengths: list[int], budget: int, extra: int = 0) -> list[list]:
    """Split `items` (sorted by descending length) into consecutive batches minimising padded tokens plus
    FORWARD_COST per batch, each within the budget: count x (extra + its first length) <= budget, unless
    it holds a single item. Exact dynamic programme over cut points (n x batch size steps)."""
    n, best, cut = len(items), [0.0] + [float("inf")] * len(items), [0] * (len(items) + 1)
    for j in range(1, n + 1):
        for i in range(j - 1, -1, -1):
            tokens = (j - i) * (extra + lengths[i])
            if tokens > budget and j - i > 1:
                break
            if best[i] + FORWARD_COST + tokens < best[j]:
                best[j], cut[j] = best[i] + FORWARD_COST + tokens, i
    batches, j = [], n
    while j > 0:
        batches.append(items[cut[j] : j])
        j = cut[j]
    return batches[::-1]


def _read_batch(backbone, plans: list[_Plan], head: "_HeadPass", budget: int, pad_id: int) -> None:
    """Read a batch of groups (prefixes once, then every continuation) and queue its scored positions."""
    device = backbone.lm.get_input_embeddings().weight.device
    prefix_mask, cache = None, None
    if plans[0].prefix_length > 0:
        ids, prefix_mask = pad_right([p.prefix for p in plans], pad_id)
        ids, prefix_mask = ids.to(device), prefix_mask.to(device)
        cache = DynamicCache()
        positions = torch.arange(ids.shape[1], device=device).expand_as(ids)
        hidden = backbone.hidden_states(backbone.embed(ids), prefix_mask, position_ids=positions,
                                        past_key_values=cache)
        _queue_prefix_targets(plans, hidden, head)
        if packable(backbone):
            _read_packed(backbone, plans, head, budget, pad_id, prefix_mask, cache, device)
            return
    rows = [(g, i) for g, plan in enumerate(plans) for i in range(len(plan.candidates)) if plan.rest(i)]
    rows.sort(key=lambda row: -len(plans[row[0]].rest(row[1])))  # less padding in continuation batches
    width = prefix_mask.shape[1] if prefix_mask is not None else 0
    for sub in _batches(rows, [len(plans[g].rest(i)) for g, i in rows], budget, extra=width):
        hidden = _continue(backbone, plans, sub, prefix_mask, cache, pad_id, device)
        _queue_rest_targets(plans, sub, hidden, head)


def packable(backbone) -> bool:
    """Whether continuations can be packed one row per group: the model takes explicit position ids and a
    ready 4D attention mask means the same to it as a 2D one (no sliding window, no ALiBi from the mask)."""
    config = backbone.lm.config
    return (backbone.accepts_position_ids and backbone.architecture.positions not in ("alibi", "none")
            and getattr(config, "sliding_window", None) is None
            and not getattr(config, "layer_types", None))


def _read_packed(backbone, plans, head, budget, pad_id, prefix_mask, cache, device) -> None:
    """Each group's continuations side by side in one row after its cached prefix (a contiguous slice of the
    prefix batch: the cache is viewed, not copied per candidate)."""
    width = prefix_mask.shape[1]
    segments = [[i for i in range(len(p.candidates)) if p.rest(i)] for p in plans]
    lengths = [sum(len(p.rest(i)) for i in seg) for p, seg in zip(plans, segments)]
    g0 = 0
    while g0 < len(plans):
        g1, longest = g0 + 1, lengths[g0]
        while g1 < len(plans) and (g1 + 1 - g0) * (width + max(longest, lengths[g1])) <= budget:
            longest = max(longest, lengths[g1])
            g1 += 1
        if longest:
            hidden = _continue_packed(backbone, plans, segments, range(g0, g1), longest, prefix_mask, cache,
                                      pad_id, device)
            _queue_packed_targets(plans, segments, range(g0, g1), hidden, head)
        g0 = g1


def _continue_packed(backbone, plans, segments, groups: range, length: int, prefix_mask, cache, pad_id,
                     device) -> torch.Tensor:
    """Hidden states (groups, length, d) of the packed continuations of `groups` (see _read_packed)."""
    n = len(groups)
    ids = torch.full((n, length), pad_id, dtype=torch.long)
    positions = torch.zeros((n, length), dtype=torch.long)
    segment = torch.full((n, length), -1, dtype=torch.long)
    for r, g in enumerate(groups):
        at, plan = 0, plans[g]
        for i in segments[g]:
            rest = plan.rest(i)
            ids[r, at : at + len(rest)] = torch.tensor(rest)
            positions[r, at : at + len(rest)] = torch.arange(plan.prefix_length, plan.prefix_length + len(rest))
            segment[r, at : at + len(rest)] = i
            at += len(rest)
    ids, positions, segment = ids.to(device), positions.to(device), segment.to(device)
    causal = torch.ones(length, length, dtype=torch.bool, device=device).tril()
    own = (segment[:, :, None] == segment[:, None, :]) & causal & (segment[:, :, None] >= 0)
    see_prefix = prefix_mask[groups.start : groups.stop].bool()[:, None, :].expand(n, length, -1)
    allowed = torch.cat([see_prefix, own], dim=2)[:, None]  # (n, 1, length, width + length)
    dtype = backbone.lm.get_input_embeddings().weight.dtype
    mask = torch.zeros(allowed.shape, dtype=dtype, device=device).masked_fill_(~allowed, torch.finfo(dtype).min)
    view = DynamicCache([(layer.keys[groups.start : groups.stop], layer.values[groups.start : groups.stop])
                         for layer in cache.layers])
    return backbone.hidden_states(backbone.embed(ids), mask, position_ids=positions, past_key_values=view)


def _queue_packed_targets(plans, segments, groups: range, hidden, head: "_HeadPass") -> None:
    """Targets predicted from packed continuation positions (candidate i's input j sits at its segment's start + j)."""
    picks, targets, owners = [], [], []
    for r, g in enumerate(groups):
        at, plan = 0, plans[g]
        for i in segments[g]:
            cand = plan.candidates[i]
            for t in range(max(cand.start, plan.prefix_length + 1), len(cand.tokens)):
                owners.append((len(picks), plan.index, i))
                picks.append((r, at + t - 1 - plan.prefix_length))
                targets.append(cand.tokens[t])
            at += len(plan.rest(i))
    if picks:
        index = torch.tensor(picks, device=hidden.device)
        head.add(hidden[index[:, 0], index[:, 1]], list(range(len(picks))), targets, owners)


def _continue(backbone, plans, rows, prefix_mask, cache, pad_id, device) -> torch.Tensor:
    """Hidden states of each row's continuation, read after its group's cached prefix (if any): the
    unpacked path (see `packable`)."""
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


def _queue_prefix_targets(plans, hidden, head: "_HeadPass") -> None:
    """Targets predicted from prefix positions: each (group, position) is one log-sum-exp, shared by all
    candidates; a shared token is one target, counted in every candidate that scores it."""
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
                owners.append((pairs[key], plan.index, i))
    if owners:
        index = torch.tensor(list(rows), device=hidden.device)
        head.add(hidden[index[:, 0], index[:, 1]], pair_row, pair_target, owners)


def _queue_rest_targets(plans, rows, hidden, head: "_HeadPass") -> None:
    """Targets predicted from continuation positions: continuation input j predicts token prefix_length+j+1."""
    picks, targets, owners = [], [], []
    for r, (g, i) in enumerate(rows):
        plan, cand = plans[g], plans[g].candidates[i]
        for t in range(max(cand.start, plan.prefix_length + 1), len(cand.tokens)):
            owners.append((len(picks), plan.index, i))
            picks.append((r, t - 1 - plan.prefix_length))
            targets.append(cand.tokens[t])
    if picks:
        index = torch.tensor(picks, device=hidden.device)
        head.add(hidden[index[:, 0], index[:, 1]], list(range(len(picks))), targets, owners)


class _HeadPass:
    """Scored positions waiting for the vocabulary pass, which runs once `rows` hidden states have queued
    up (and at the end): one sweep over the LM head's weight (256k x d) then serves many forwards."""

    def __init__(self, backbone, totals: list[list[float]], rows: int):
        self.backbone, self.totals, self.max_rows = backbone, totals, rows
        self._clear()

    def _clear(self) -> None:
        self.hidden, self.rows, self.targets, self.owners, self.n_rows = [], [], [], [], 0

    def add(self, hidden: torch.Tensor, rows: list[int], targets: list[int], owners: list[tuple[int, int, int]]):
        """`hidden` (n, d); pair k is (hidden[rows[k]], targets[k]); owners (pair k, group, candidate) get its value."""
        self.owners += [(len(self.targets) + k, g, i) for k, g, i in owners]
        self.rows += [self.n_rows + r for r in rows]
        self.targets += targets
        self.hidden.append(hidden)
        self.n_rows += len(hidden)
        if self.n_rows >= self.max_rows:
            self.flush()

    def flush(self) -> None:
        if self.targets:
            values = token_logprobs(self.backbone, torch.cat(self.hidden), self.rows, self.targets)
            for k, g, i in self.owners:
                self.totals[g][i] += values[k]  # Python floats: the sum is in double precision
        self._clear()


def token_logprobs(backbone, hidden: torch.Tensor, rows: list[int], targets: list[int]) -> list[float]:
    """log softmax(head(hidden[rows[k]]))[targets[k]] for each k, without a full (rows x vocabulary) tensor.

    One online pass over the vocabulary per block of rows: each (rows x chunk) tile of logits is formed in
    the model's dtype, cast to float32 (as `lm(...).logits.float().log_softmax(-1)` would), its target
    logits picked, and folded into a running max and a running sum of exp(logit - max), while it is still
    in cache. log-sum-exp = max + log(sum) at the end; no tile is kept or read a second time."""
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
        target_chunk = torch.div(local_targets, chunk, rounding_mode="floor").tolist()
        by_chunk: dict[int, list[int]] = {}
        for k, c in enumerate(target_chunk):
            by_chunk.setdefault(c, []).append(k)
        target_logit = torch.empty(len(local_rows), dtype=torch.float32, device=hidden.device)
        running_max = torch.full((len(block),), -float("inf"), dtype=torch.float32, device=hidden.device)
        running_sum = torch.zeros(len(block), dtype=torch.float32, device=hidden.device)
        for c, v0 in enumerate(range(0, vocab, chunk)):
            logits = F.linear(block, weight[v0 : v0 + chunk], None if bias is None else bias[v0 : v0 + chunk])
            # The model's own final-logit transforms (scale, soft-capping) are elementwise: exact per chunk.
            logits = backbone.finish_logits(logits).float()
            if c in by_chunk:
                k = torch.tensor(by_chunk[c], device=hidden.device)
                target_logit[k] = logits[local_rows[k], local_targets[k] - v0]
            new_max = torch.maximum(running_max, logits.amax(dim=-1))
            # exp(-inf - -inf) would be nan: a row whose max is still -inf has a zero sum, rescaled by anything
            scale = torch.exp(running_max - new_max).nan_to_num_(1.0)
            running_sum.mul_(scale).add_(logits.sub_(new_max[:, None]).exp_().sum(dim=-1))
            running_max = new_max
        lse = running_max + running_sum.log()
        out[in_block] = target_logit - lse[local_rows]
    return out.tolist()


_PLAIN_HEAD: "weakref.WeakKeyDictionary[torch.nn.Module, bool]" = weakref.WeakKeyDictionary()


@torch.no_grad()
def check_plain_head(backbone) -> None:
    """Refuse models whose logits are not `backbone.logits(last hidden state)` (the chunked log-sum-exp relies on
    it: the head plus the model's elementwise final-logit transforms).

    Compares the model's own forward with the projection of `backbone.hidden_states` on a 6-token probe,
    once per model object (one forward of a large model is seconds on a CPU)."""
    lm = backbone.lm
    if _PLAIN_HEAD.get(lm):
        return
    device = lm.get_input_embeddings().weight.device
    vocab = lm.get_input_embeddings().num_embeddings
    ids = torch.arange(4, 10, device=device).clamp(max=vocab - 1).unsqueeze(0)
    mask = torch.ones_like(ids)
    reference = lm(input_ids=ids, attention_mask=mask).logits.float()
    ours = backbone.logits(backbone.hidden_states(backbone.embed(ids), mask)).float()
    if reference.shape != ours.shape or not torch.allclose(ours, reference, atol=1e-4, rtol=1e-3):
        raise ConfigError(f"{type(lm).__name__}: its logits are not a plain projection of the last hidden state "
                          "(soft-capping or scaling?); the chunked zero-shot scorer cannot reproduce them")
    _PLAIN_HEAD[lm] = True
