"""Exact log-likelihoods of token sequences under a causal LM, computed with as little work as exactness allows.

    groups = [[Scored(ids_yes, start=1), Scored(ids_also, start=1), Scored(ids_no, start=1)], ...]
    scores = loglikelihoods(backbone, groups, token_budget=4096)   # scores[g][i]: float

`Scored(tokens, start)` asks for  sum_{t >= start} log p(tokens[t] | tokens[:t]).  `start` is explicit
(at least 1: the first token has nothing to condition on). Which token opens a sequence, and whether it
is scored, is the caller's choice; nothing here assumes token 0 is a start token.

The one scorer of groups in xlpt: zero-shot classification (evaluation/zero_shot.py: one filled-in text
per label) and zero-shot multiple choice (evaluation/multiple_choice.py: one continuation per choice)
both call `loglikelihoods`. The value equals what a plain Hugging Face forward gives
(`lm(ids).logits.float().log_softmax(-1)` gathered at the scored positions,
tests/evaluation/test_loglikelihood.py), but it is computed differently, for speed:

- A *group* is the candidates of one example. They share a token prefix (`plan_group`: their longest
  common one); it is read once, and the log-probabilities of shared tokens are computed once and counted
  in every candidate.
- One packed row per group, one forward per batch of groups, no key/value cache:

      tokens     </s> Ese oli mullikilesse mässitud sest | see oli õrn | see oli väike   (last tokens not read)
      segment    0    0   0   0            0        0    | 1   1   1   | 2   2   2
      position   0    1   2   3            4        5    | 6   7   8   | 6   7   8

  A token attends to the earlier tokens of its own segment and to every token of segment 0 (the prefix),
  through an explicit 4-D mask, at the position ids it would have alone: what each candidate's own causal
  pass sees, so the hidden states are the plain path's up to float rounding. (Measured against reading
  the prefix into a cache and packing the continuations after it, the other design this module had: the
  same CPU time on XNLI, 10 % less on XCOPA, the same on Belebele, and one forward instead of two.)
- Models that cannot take that mask (`packable`: no position ids, ALiBi, a sequence longer than a sliding
  window, or a decoder that disagrees on a probe) get the cached path: the prefixes of a batch of groups
  are read into a `transformers.DynamicCache`, then each candidate continues on its own copy of its
  group's rows, position ids continuing after the prefix.
- The log-sum-exp over the vocabulary is taken only at the positions that are scored (a shared prefix
  position once), in one online pass over vocabulary chunks (`token_logprobs`: running max and sum, the
  target logit picked as its chunk passes), pooled over forwards (up to `token_budget` positions) so one
  sweep over the head's weight serves many of them: no (batch x length x vocabulary) tensor ever exists
  (256k vocabulary x 32 x 100 positions would be > 3 GB). The model's final-logit transforms
  (`Backbone.finish_logits`: Gemma-2's soft-capping, Granite's scale) are applied chunk by chunk, and
  logits are formed in the model's dtype, then taken to float32, as its own forward would.
- The attention kernel is SDPA for the call (models/attention.py) unless the backbone was asked for eager
  (`Backbone.use_attention`); the architecture table keeps Gemma-2 on eager.
- Batches are cut by a token budget (padded tokens per forward), not a fixed count of sequences, so
  memory stays bounded whatever the lengths; a sequence longer than the budget is still read, alone.
  Memory beyond the model: one forward of `token_budget` tokens (packed: plus its rows x length^2 mask,
  at most PACK_ATTENTION_ELEMENTS; cached: the keys/values of a prefix batch and a continuation batch,
  each at most layers x 2 x budget x d_model values), the pooled hidden states, one tile of logits.

Values do not depend on the batching beyond float32 rounding (~1e-6 relative: matrix products are
blocked differently), so a near-tie between two candidates may break differently under another budget.

The log-sum-exp assumes the model's logits are `Backbone.logits(last hidden state)` (the head, then the
elementwise final-logit transforms); this is checked numerically against the model's own forward once per
model object (`check_plain_head`), and a model that does something else is refused rather than scored wrongly.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Sequence

import torch
from torch.nn import functional as F
from transformers import DynamicCache

from xlpt.errors import ConfigError
from xlpt.progress import progress_bar
from xlpt.tasks.collate import pad_right

LOGIT_ELEMENTS = 1 << 21
"""Logits held at once by `token_logprobs` (8 MB in float32): rows x vocabulary chunk, all pooled rows in
one sweep over the head's weight. At 1.5k-4k rows of the 564M shape this took 5-11 % less CPU time than
blocks of 512 rows x 1024 (2 MB tiles), which read the 1 GB weight once per block."""
MIN_VOCAB_CHUNK = 256
"""Vocabulary rows per chunk at least (fewer would make the head's matrix products inefficient)."""
MAX_VOCAB_CHUNK = 8192
"""Vocabulary rows per chunk at most (a few pooled rows still get a tile that stays in cache)."""
FORWARD_COST = 256
"""What one more forward costs, in padded tokens: batches are cut to minimise padded tokens + this per
forward. A forward streams every weight once; on 2 shared CPU cores with the 564M shape that costs about
as much as 200-400 tokens of arithmetic (estimated from timings of 2 vs 9 forwards), so splitting a batch
only pays when it saves more padding than that."""
PACK_ATTENTION_ELEMENTS = 1 << 22
"""At most rows x length^2 mask (and, with eager attention, score) elements per head in one packed forward."""


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

    @property
    def tokens_read(self) -> int:
        """Tokens through the decoder: the prefix once, then every candidate's rest (either path, no padding)."""
        return self.prefix_length + sum(len(self.rest(i)) for i in range(len(self.candidates)))

    @property
    def head_positions(self) -> int:
        """Positions whose log-sum-exp is taken: each scored prefix position once, every scored rest position."""
        prefix = self.prefix_length
        shared = {t - 1 for c in self.candidates for t in range(c.start, min(prefix, len(c.tokens) - 1) + 1)}
        return len(shared) + sum(max(0, len(c.tokens) - max(c.start, prefix + 1)) for c in self.candidates)

    def packed(self) -> tuple[list[int], list[int], list[int], list[int]]:
        """(tokens, segments, positions, starts) of the group's packed row (module docstring); candidate i's
        rest begins at column starts[i]."""
        prefix = self.prefix_length
        tokens, segments, positions, starts = list(self.prefix), [0] * prefix, list(range(prefix)), []
        for i in range(len(self.candidates)):
            rest = self.rest(i)
            starts.append(len(tokens))
            tokens += rest
            segments += [i + 1] * len(rest)
            positions += range(prefix, prefix + len(rest))
        return tokens, segments, positions, starts


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

    `token_budget` bounds the padded tokens of one forward and the scored positions pooled for one sweep
    over the LM head. `pad_id` fills padding only (it is masked, so any valid id works)."""
    if token_budget < 1:
        raise ConfigError(f"token_budget must be >= 1, got {token_budget}")
    backbone.lm.eval()
    check_plain_head(backbone)
    with backbone.scoring_attention():
        return _loglikelihoods(backbone, groups, token_budget, pad_id, progress, desc)


def _loglikelihoods(backbone, groups, token_budget: int, pad_id: int, progress: bool, desc: str):
    plans = [plan_group(i, list(g)) for i, g in enumerate(groups)]
    packed = packable(backbone, [p.candidates for p in plans])
    with progress_bar(total=len(plans), desc=desc, unit="example", disable=not progress, leave=False) as bar:
        return _score(backbone, plans, packed, token_budget, pad_id, bar.update)


def _score(backbone, plans: list[_Plan], packed: bool, budget: int, pad_id: int, advance=lambda n: None):
    """Totals per group and candidate, read the packed way or the cached way."""
    head = _HeadPass(backbone, [[0.0] * len(p.candidates) for p in plans], rows=budget)
    read, done = (_read_packed if packed else _read_cached), 0
    for batch in (_packed_batches if packed else _cached_batches)(plans, budget):
        read(backbone, batch, head, budget, pad_id)
        advance(len(batch))
        done += len(batch)
    advance(len(plans) - done)  # groups with nothing to read (the packed path skips them)
    head.flush()
    return head.totals


def _batches(items: list, lengths: list[int], budget: int, extra: int = 0,
             max_cells: int | None = None) -> list[list]:
    """Split `items` (sorted by descending length) into consecutive batches minimising padded tokens plus
    FORWARD_COST per batch, each within the budget: count x (extra + its first length) <= budget (and, with
    `max_cells`, count x first length^2 <= max_cells), unless it holds a single item. Exact dynamic
    programme over cut points (n x batch size steps)."""
    n, best, cut = len(items), [0.0] + [float("inf")] * len(items), [0] * (len(items) + 1)
    for j in range(1, n + 1):
        for i in range(j - 1, -1, -1):
            tokens = (j - i) * (extra + lengths[i])
            over = tokens > budget or (max_cells is not None and (j - i) * lengths[i] ** 2 > max_cells)
            if over and j - i > 1:
                break
            if best[i] + FORWARD_COST + tokens < best[j]:
                best[j], cut[j] = best[i] + FORWARD_COST + tokens, i
    batches, j = [], n
    while j > 0:
        batches.append(items[cut[j] : j])
        j = cut[j]
    return batches[::-1]


# --- the packed path: one row per group, one forward per batch ------------------------------------------------


def packable(backbone, groups: Sequence[Sequence[Scored]]) -> bool:
    """Whether one packed row per group gives this model's log-likelihoods: its decoder must take explicit
    position ids (not BLOOM's ALiBi, which counts unmasked tokens; not a recurrent model) and a custom 4-D
    attention mask (checked once per model object on a probe against the cached path), and no sequence may
    outrun a sliding attention window (the custom mask replaces the model's own, window included)."""
    if not backbone.accepts_position_ids or backbone.architecture.positions in ("alibi", "none"):
        return False
    lm = backbone.lm
    window = getattr(lm.config, "sliding_window", None)
    if window and any(len(c.tokens) > window for group in groups for c in group):
        return False
    if lm not in _PACKING_OK:
        _PACKING_OK[lm] = _probe(backbone)
    return _PACKING_OK[lm]


_PACKING_OK: "weakref.WeakKeyDictionary[torch.nn.Module, bool]" = weakref.WeakKeyDictionary()


@torch.no_grad()
def _probe(backbone) -> bool:
    """Both paths on small groups (a shared prefix, scoring inside it, no shared prefix): they must agree."""
    vocab = backbone.lm.get_input_embeddings().num_embeddings
    ids = [min(t, vocab - 1) for t in (5, 9, 7, 11, 6, 13, 8)]
    probe = [[Scored(ids[:4] + [ids[4], ids[5]], 2), Scored(ids[:4] + [ids[6]], 3), Scored(ids[:3], 1)],
             [Scored(ids[3:], 1), Scored(ids[2:6], 1)]]
    plans = [plan_group(g, group) for g, group in enumerate(probe)]
    try:
        packed = _score(backbone, plans, True, 64, 0)
    except Exception:  # a decoder that refuses a 4-D mask: the cached path serves it
        return False
    reference = _score(backbone, plans, False, 64, 0)
    return all(abs(a - b) <= 1e-4 + 1e-4 * abs(b) for x, y in zip(packed, reference) for a, b in zip(x, y))


def _packed_batches(plans: list[_Plan], budget: int) -> list[list[_Plan]]:
    """Longest packed row first (peak memory shows at once, as in lm-eval); groups with nothing to read (every
    candidate a single token) are left out: they score nothing."""
    order = sorted((p for p in plans if p.tokens_read), key=lambda p: (-p.tokens_read, p.index))
    return _batches(order, [p.tokens_read for p in order], budget, max_cells=PACK_ATTENTION_ELEMENTS)


def _read_packed(backbone, plans: list[_Plan], head: "_HeadPass", budget: int, pad_id: int) -> None:
    """One forward over the packed rows of `plans`; queue their scored positions."""
    device = backbone.lm.get_input_embeddings().weight.device
    packs = [plan.packed() for plan in plans]
    ids, _ = pad_right([p[0] for p in packs], pad_id)
    segments, _ = pad_right([p[1] for p in packs], -1)
    positions, _ = pad_right([p[2] for p in packs], 0)
    ids, segments, positions = ids.to(device), segments.to(device), positions.to(device)
    mask = _packed_mask(segments, backbone.lm.get_input_embeddings().weight.dtype)
    hidden = backbone.hidden_states(backbone.embed(ids), mask, position_ids=positions)
    _queue_prefix_targets(plans, hidden, head)  # the prefix sits at the same columns as when read alone
    placed = [(g, g, i, start) for g, p in enumerate(packs) for i, start in enumerate(p[3]) if plans[g].rest(i)]
    _queue_rest_targets(plans, placed, hidden, head)


def _packed_mask(segments: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """(B, 1, T, T) additive mask from (B, T) segment ids (0 = prefix, i + 1 = candidate i, -1 = padding,
    which sees only itself so that its softmax has a finite row)."""
    length = segments.shape[1]
    index = torch.arange(length, device=segments.device)
    causal = index[None, :] <= index[:, None]
    key, query = segments[:, None, :], segments[:, :, None]
    allowed = causal & (key >= 0) & ((key == 0) | (key == query))
    allowed |= torch.eye(length, dtype=torch.bool, device=segments.device)
    mask = torch.zeros(allowed.shape, dtype=dtype, device=segments.device)
    return mask.masked_fill_(~allowed, torch.finfo(dtype).min)[:, None]


# --- the cached path: prefixes into a key/value cache, then one row per candidate ----------------------------


def _cached_batches(plans: list[_Plan], budget: int) -> list[list[_Plan]]:
    """Batches of groups by prefix length, longest first. Groups without a shared prefix are batched apart:
    a row with no real prefix token cannot be part of a cached batch (it would attend to nothing)."""
    order = sorted(plans, key=lambda p: (-p.prefix_length, -p.cost, p.index))
    batches = []
    for kind in ([p for p in order if p.prefix_length], [p for p in order if not p.prefix_length]):
        batches += _batches(kind, [p.prefix_length for p in kind], budget)
    return batches


def _read_cached(backbone, plans: list[_Plan], head: "_HeadPass", budget: int, pad_id: int) -> None:
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
    rows = [(g, i) for g, plan in enumerate(plans) for i in range(len(plan.candidates)) if plan.rest(i)]
    rows.sort(key=lambda row: -len(plans[row[0]].rest(row[1])))  # less padding in continuation batches
    width = prefix_mask.shape[1] if prefix_mask is not None else 0
    for sub in _batches(rows, [len(plans[g].rest(i)) for g, i in rows], budget, extra=width):
        hidden = _continue(backbone, plans, sub, prefix_mask, cache, pad_id, device)
        _queue_rest_targets(plans, [(r, g, i, 0) for r, (g, i) in enumerate(sub)], hidden, head)


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


# --- scored positions, both paths -------------------------------------------------------------------------------


def _queue_prefix_targets(plans, hidden, head: "_HeadPass") -> None:
    """Targets predicted from prefix positions (hidden[g, t - 1] for the batch's g-th group): each (group,
    position) is one log-sum-exp, shared by all candidates; a shared token is one target, counted in every
    candidate that scores it."""
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


def _queue_rest_targets(plans, placed, hidden, head: "_HeadPass") -> None:
    """Targets predicted from continuation positions. `placed`: (hidden row, group in the batch, candidate,
    column where the candidate's rest begins); rest input j predicts token prefix_length + j + 1."""
    picks, targets, owners = [], [], []
    for r, g, i, at in placed:
        plan, cand = plans[g], plans[g].candidates[i]
        for t in range(max(cand.start, plan.prefix_length + 1), len(cand.tokens)):
            owners.append((len(picks), plan.index, i))
            picks.append((r, at + t - 1 - plan.prefix_length))
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


@torch.no_grad()  # a scorer, never differentiated: the tile buffer is written in place
def token_logprobs(backbone, hidden: torch.Tensor, rows: list[int], targets: list[int]) -> list[float]:
    """log softmax(logits(hidden[rows[k]]))[targets[k]] for each k, without a full (rows x vocabulary) tensor.

    One online pass over the vocabulary for all rows: each (rows x chunk) tile of logits is formed in the
    model's dtype, put through `backbone.finish_logits`, cast to float32 (as
    `lm(...).logits.float().log_softmax(-1)` would), its target logits picked, and folded into a running max
    and a running sum of exp(logit - max) while it is still in cache. log-sum-exp = max + log(sum) at the
    end; no tile is kept or read a second time, and target logit and log-sum-exp come from the same products."""
    weight = backbone.lm.get_output_embeddings().weight
    n, vocab = len(hidden), weight.shape[0]
    chunk = max(MIN_VOCAB_CHUNK, min(MAX_VOCAB_CHUNK, LOGIT_ELEMENTS // max(n, 1)))
    row_index = torch.tensor(rows, dtype=torch.long, device=hidden.device)
    target = torch.tensor(targets, dtype=torch.long, device=hidden.device)
    pairs_in = _pairs_by_chunk(target, chunk, vocab)
    target_logit = torch.empty(len(rows), dtype=torch.float32, device=hidden.device)
    running_max = torch.full((n,), -float("inf"), dtype=torch.float32, device=hidden.device)
    running_sum = torch.zeros(n, dtype=torch.float32, device=hidden.device)
    tiles = _logit_tiles(backbone, hidden, chunk)
    for c, (v0, logits) in enumerate(tiles):
        if len(pairs_in[c]):
            k = pairs_in[c]
            target_logit[k] = logits[row_index[k], target[k] - v0]
        new_max = torch.maximum(running_max, logits.amax(dim=-1))
        # exp(-inf - -inf) would be nan: a row whose max is still -inf has a zero sum, rescaled by anything
        scale = torch.exp(running_max - new_max).nan_to_num_(1.0)
        running_sum.mul_(scale).add_(logits.sub_(new_max[:, None]).exp_().sum(dim=-1))
        running_max = new_max
    lse = running_max + running_sum.log()
    return (target_logit - lse[row_index]).tolist()


def _pairs_by_chunk(target: torch.Tensor, chunk: int, vocab: int) -> list[torch.Tensor]:
    """For each vocabulary chunk, the indices of the pairs whose target it holds."""
    owner = torch.div(target, chunk, rounding_mode="floor")
    order = torch.argsort(owner, stable=True)
    n_chunks = (vocab + chunk - 1) // chunk
    bounds = torch.searchsorted(owner[order], torch.arange(n_chunks + 1, device=target.device)).tolist()
    return [order[bounds[c] : bounds[c + 1]] for c in range(n_chunks)]


def _logit_tiles(backbone, hidden: torch.Tensor, chunk: int):
    """(first vocabulary id, float32 logits of every row for `chunk` ids) for each chunk of the vocabulary.
    A float32 head without bias writes every tile into one reused buffer (no allocation per chunk); the
    caller may overwrite a tile in place."""
    head = backbone.lm.get_output_embeddings()
    weight, bias = head.weight, getattr(head, "bias", None)
    buffer = None
    if weight.dtype == torch.float32 and bias is None:
        buffer = torch.empty((len(hidden), chunk), dtype=torch.float32, device=hidden.device)
    for v0 in range(0, weight.shape[0], chunk):
        part = weight[v0 : v0 + chunk]
        if buffer is not None:
            logits = torch.mm(hidden, part.t(), out=buffer[:, : len(part)])
        else:
            logits = F.linear(hidden, part, None if bias is None else bias[v0 : v0 + chunk])
        # The model's own final-logit transforms (scale, soft-capping) are elementwise: exact per chunk.
        yield v0, backbone.finish_logits(logits).float()


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
                          "(followed by the architecture table's elementwise transforms); the chunked "
                          "log-likelihood scorer cannot reproduce them")
    _PLAIN_HEAD[lm] = True
