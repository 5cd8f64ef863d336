"""Compute the positions every input shares once, not once per input.

With causal attention, the state of a position depends only on the positions before it. When every
input of an evaluation begins with the same tokens, the first positions of the assembled sequence are
identical for every example:

    prompt tuning, after_bos:  </s> P1 .. Pn | w1 ..        (1 + n positions)
    prompt tuning, start:      P1 .. Pn </s> | w1 ..
    prefix tuning:             [prefix keys/values] </s> | w1 ..
    no prompt:                 </s> | w1 ..
    a constant template head:  </s> ▁Sen tence ▁1 : | w1 ..  (PAWS-X's "Sentence 1:")

`SharedPrefix` holds, for those positions, the keys and values of every layer and the last hidden
states, computed once with a batch of one. A batch then runs only the rest of each sequence, with the
shared keys/values in front as a cache; positions and the attention mask continue exactly as in the
plain path (right padding: the shared positions are real tokens of every row, so they are always
attended, and the rest takes positions `len(prefix)..`). The result is the plain path's hidden states
up to float rounding (tests/models/test_shared_prefix.py).

What is shared is found, never assumed: the longest token prefix common to *all* inputs (at least one
token of every input is left to run). A template head counts only when it is constant in tokens.

Two uses:
- evaluation (`TaskModel.shared_prefix(sequences)`): the states are computed once per evaluation under
  `torch.no_grad`, and used only while no parameter changes and no gradient is wanted;
- training (`TaskModel.hidden` with a soft prompt): `</s> P1..Pn` is computed once per *step* (batch of
  one, expanded; autograd sums the gradient over the rows), when the model runs without dropout: with
  dropout each row must draw its own noise, so the plain path runs instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import torch


def common_prefix_length(sequences: Sequence[Sequence[int]]) -> int:
    """Length of the longest token prefix shared by every sequence, leaving >= 1 token of each."""
    if not sequences:
        return 0
    first, limit = sequences[0], min(len(s) for s in sequences) - 1
    length = 0
    while length < limit and all(s[length] == first[length] for s in sequences):
        length += 1
    return length


@dataclass
class SharedPrefix:
    token_ids: torch.Tensor
    """(k,) the text tokens every input starts with (before any soft prompt is inserted)."""
    positions: int
    """Positions of the assembled sequence they cover (k, plus the prompt length when the prompt lies inside)."""
    offset: int
    """Virtual positions before them (prefix tuning's P; else 0)."""
    keys: list[torch.Tensor]
    values: list[torch.Tensor]
    """Per layer, (1, heads, offset + positions, head_dim): what every layer attends to for these positions."""
    hidden: torch.Tensor
    """(1, positions, d): the last hidden states of these positions."""
    versions: list[tuple[torch.Tensor, int]] = field(default_factory=list)
    """(parameter, version) when computed for evaluation: any in-place update makes the states stale."""

    def applies(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> bool:
        """True when every row starts with the shared tokens (unpadded) and has at least one token after them."""
        k = self.token_ids.numel()
        if input_ids.shape[1] <= k or any(param._version != version for param, version in self.versions):
            return False
        return bool((input_ids[:, :k] == self.token_ids).all() and attention_mask[:, :k].bool().all())

    def cache(self, batch_size: int):
        """A fresh cache holding the shared keys/values for `batch_size` rows (the model extends it in place)."""
        from transformers import DynamicCache

        return DynamicCache([(k.expand(batch_size, -1, -1, -1), v.expand(batch_size, -1, -1, -1))
                             for k, v in zip(self.keys, self.values)])


def compute_shared_prefix(model, token_ids: Sequence[int], track_versions: bool) -> SharedPrefix:
    """The shared states of `model` (a TaskModel) for inputs that start with `token_ids` (with gradient
    when grad mode is on: the training use)."""
    from transformers import DynamicCache

    device = model.backbone.lm.get_input_embeddings().weight.device
    ids = torch.tensor([list(token_ids)], dtype=torch.long, device=device)
    embeds, mask, positions = model.assemble(ids, torch.ones_like(ids))
    offset = 0 if model.prefix is None else model.prefix.length
    cache = DynamicCache() if model.prefix is None else model.prefix.cache(1, embeds.dtype)
    if offset:
        mask = torch.cat([mask.new_ones(1, offset), mask], dim=1)
    hidden = model.backbone.hidden_states(embeds, mask, positions + offset, past_key_values=cache)
    layers = cache.layers
    versions = [(p, p._version) for p in model.parameters()] if track_versions else []
    return SharedPrefix(ids[0], embeds.shape[1], offset, [layer.keys for layer in layers],
                        [layer.values for layer in layers], hidden, versions)


def hidden_after_prefix(model, shared: SharedPrefix, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                        at: torch.Tensor | None = None) -> torch.Tensor:
    """The plain path's hidden states (B, L, d), running only the positions after the shared ones; with
    `at` ((B,) positions of the assembled sequence), only those states (B, d) (Backbone.hidden_states)."""
    k, batch = shared.token_ids.numel(), input_ids.shape[0]
    rest_ids, rest_mask = input_ids[:, k:], attention_mask[:, k:]
    before = shared.offset + shared.positions
    mask = torch.cat([rest_mask.new_ones(batch, before), rest_mask], dim=1)
    positions = torch.arange(before, before + rest_ids.shape[1], device=input_ids.device).unsqueeze(0).expand(batch, -1)
    if at is not None and bool((at >= shared.positions).all()):  # a classifier's answer slots: after the shared part
        return model.backbone.hidden_states(model.backbone.embed(rest_ids), mask, positions,
                                            past_key_values=shared.cache(batch), at=at - shared.positions)
    rest = model.backbone.hidden_states(model.backbone.embed(rest_ids), mask, positions,
                                        past_key_values=shared.cache(batch))
    hidden = torch.cat([shared.hidden.expand(batch, -1, -1).to(rest.dtype), rest], dim=1)
    return hidden if at is None else hidden[torch.arange(batch, device=hidden.device), at]
