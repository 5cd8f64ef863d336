"""Backbone + optional soft prompt + head: one module per task family, shared by every method.

Sequence layout (right padding, explicit position ids 0..P+T-1):

    prompt_position=after_bos:  </s> P1 .. Pn  w1 .. wT  <pad> ..   (default)
    prompt_position=start:      P1 .. Pn  </s> w1 .. wT  <pad> ..   (PEFT's placement)

`after_bos` inserts the prompt after the start tokens the tokenizer actually puts before every text
(`start_tokens`, measured from the tokenizer when the model is built): XGLM's `</s>` (the token that
begins every pretraining document) and Llama's `<s>` stay first; GPT-2, BLOOM and mGPT tokenizers add
none, so there the prompt comes first. Because padding is on the right, every real token's position id
equals its index, so positions are exactly those of an unpadded sequence.

Prefix tuning (methods.prefix_tuning) adds no input positions: its per-layer keys/values reach every
attention layer as a cache of P virtual tokens that precede the sequence above, which then takes
positions P..P+L-1 (L = prompt + text length) and an attention mask extended to cover the prefix.

Positions every input shares (the start tokens, the soft prompt, a constant template head) can be
computed once instead of once per row: per evaluation (`shared_prefix`) and, for a soft prompt, per
training step when the model runs without dropout. See models/shared_prefix.py; the result is the
plain path's up to float rounding. With dropout (XGLM's 0.1, kept by train.dropout=model) the reuse is
off, and must be: XGLM drops out the embeddings first and then every layer's attention weights and
outputs, so from the first operation on each row's `</s> P1..Pn` states carry that row's own noise.
Computing them once would give every row of a batch the same noise there: each row's loss keeps its
distribution, but the rows' noises become correlated, so the batch gradient is not the same random
variable (nor the same variance) as the model's own forward gives.

Training steps on a CPU also run the rows of a batch in groups of similar length (`row_groups`), each at
its own width: no row computes the padding of a longer one (consecutive XNLI examples: half the positions
of a padded batch of 8 are padding). Same loss and gradients up to float rounding; with dropout, the same
distribution (each position draws its own noise either way).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Sequence

import torch
from torch import nn

from xlpt.models.backbone import Backbone
from xlpt.models.shared_prefix import SharedPrefix, common_prefix_length, compute_shared_prefix, hidden_after_prefix


class TaskModel(nn.Module):
    def __init__(self, backbone: Backbone, head: nn.Module, start_tokens: int, prompt_position: str = "after_bos"):
        super().__init__()
        self.backbone = backbone
        self.head = head
        self.prompt: nn.Module | None = None  # set by methods that use a soft prompt
        self.prefix: nn.Module | None = None  # set by prefix tuning: per-layer key/value prefixes
        self.start_tokens = start_tokens
        """How many tokens the tokenizer puts before every text (XGLM, Llama: 1; GPT-2, BLOOM: 0)."""
        self.prompt_position = prompt_position
        self.share_prompt_in_training = True
        """Compute `</s> P1..Pn` once per training step (batch of one) when the model runs without dropout."""
        self.reuse_shared_prefix = True
        """Reuse shared positions at all (evaluation and training). Off when FSDP2 shards the weights: the
        shared states are computed by calling the embedding and decoder outside the sharded root's forward,
        where the weights are not gathered."""
        self.split_rows = True
        """In training on a CPU, run the rows of a batch in groups of similar length (`row_groups`), so that
        no row computes the padding of a longer one. The same loss and gradients up to float rounding."""
        self._shared: SharedPrefix | None = None

    @property
    def prompt_length(self) -> int:
        return 0 if self.prompt is None else self.prompt.length

    @property
    def insert_at(self) -> int:
        """Index in the text sequence before which the prompt goes."""
        return self.start_tokens if self.prompt_position == "after_bos" else 0

    def text_to_full_index(self, index: torch.Tensor) -> torch.Tensor:
        """Map text positions to positions in the prompt-augmented sequence."""
        if self.prompt is None:
            return index
        return torch.where(index >= self.insert_at, index + self.prompt_length, index)

    def assemble(self, input_ids: torch.Tensor, attention_mask: torch.Tensor):
        """(inputs_embeds, attention_mask, position_ids) with the soft prompt inserted."""
        embeds = self.backbone.embed(input_ids)
        if self.prompt is not None:
            k, batch = self.insert_at, input_ids.shape[0]
            prompt = self.prompt.expand(batch, embeds.dtype)
            embeds = torch.cat([embeds[:, :k], prompt, embeds[:, k:]], dim=1)
            ones = attention_mask.new_ones(batch, self.prompt_length)
            attention_mask = torch.cat([attention_mask[:, :k], ones, attention_mask[:, k:]], dim=1)
        positions = torch.arange(embeds.shape[1], device=embeds.device).unsqueeze(0).expand(embeds.shape[0], -1)
        return embeds, attention_mask, positions

    def hidden(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
               at: torch.Tensor | None = None) -> torch.Tensor:
        """Hidden states (B, L, d) of the assembled sequence; a prefix, if any, yields no states of its own.
        With `at` ((B,) one position of the assembled sequence per row), only those states, (B, d): when
        scoring, the backbone then computes no more than they need (Backbone.hidden_states)."""
        shared = self._shared_for(input_ids, attention_mask)
        if shared is not None:
            return hidden_after_prefix(self, shared, input_ids, attention_mask, at)
        return self.plain_hidden(input_ids, attention_mask, at)

    def plain_hidden(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                     at: torch.Tensor | None = None) -> torch.Tensor:
        """`hidden` computed for every position of every row (the reference for the shared-prefix paths)."""
        embeds, mask, positions = self.assemble(input_ids, attention_mask)
        if self.prefix is None:
            return self.backbone.hidden_states(embeds, mask, positions, at=at)
        # The prefix acts as P cached virtual tokens: always attended, and the sequence continues after them.
        length, batch = self.prefix.length, embeds.shape[0]
        mask = torch.cat([mask.new_ones(batch, length), mask], dim=1)
        return self.backbone.hidden_states(embeds, mask, positions + length,
                                           past_key_values=self.prefix.cache(batch, embeds.dtype), at=at)

    @contextmanager
    def shared_prefix(self, sequences: Sequence[Sequence[int]]):
        """Within the block, batches of inputs that start with the tokens all `sequences` share (token
        ids before any prompt) reuse the states of those positions, computed once here. Used by the
        evaluation loops, which run under no_grad with parameters fixed; the shared states are ignored
        whenever a gradient is wanted, the model is in training mode or a parameter has changed."""
        length = common_prefix_length(sequences) if self.reuse_shared_prefix else 0
        if self.prompt is not None and length < self.insert_at:
            length = 0  # the prompt would fall inside the shared tokens' span but after it: nothing to share
        if length == 0:
            yield None
            return
        with torch.no_grad():
            was_training = self.training
            self.eval()
            try:
                self._shared = compute_shared_prefix(self, list(sequences[0][:length]), track_versions=True)
            finally:
                self.train(was_training)
        try:
            yield self._shared
        finally:
            self._shared = None

    def _shared_for(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> SharedPrefix | None:
        """The shared prefix to use for this batch, if any (see shared_prefix and the training case)."""
        if torch.is_grad_enabled() or self.training:
            return self._training_prefix(input_ids, attention_mask)
        if self._shared is not None and self._shared.applies(input_ids, attention_mask):
            return self._shared
        return None

    def _training_prefix(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> SharedPrefix | None:
        """With a soft prompt after the start tokens (or first), `start tokens + prompt` is the same for every
        row: compute it once for the step (with gradient), unless dropout would give each row its own noise."""
        if (self.prompt is None or not (self.share_prompt_in_training and self.reuse_shared_prefix)
                or input_ids.shape[0] < 2
                or input_ids.shape[1] <= self.insert_at or not self.backbone.deterministic()):
            return None
        k = self.insert_at
        head = input_ids[:1, :k]
        if k and not ((input_ids[:, :k] == head).all() and attention_mask[:, :k].bool().all()):
            return None
        return compute_shared_prefix(self, head[0].tolist(), track_versions=False)


class SequenceClassifier(TaskModel):
    """Class scores from the hidden state at the last real token (the answer slot of the template)."""

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, last_index: torch.Tensor) -> torch.Tensor:
        if hasattr(self.head, "scores"):  # multi-token label words read the text once per label
            return self.head.scores(self, input_ids, attention_mask, last_index)
        groups = self._row_groups(last_index)
        if groups is None:
            return self.head(self.hidden(input_ids, attention_mask, at=self.text_to_full_index(last_index)))
        return self.head(self.answer_states(input_ids, attention_mask, last_index, groups))

    def answer_states(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, last_index: torch.Tensor,
                      groups: list[list[int]]) -> torch.Tensor:
        """(B, d) hidden states at the answer slots, each group of rows run at its own width (its longest
        row): the states `hidden` gives, without the padding of longer rows. The shared `</s> + prompt`
        positions, when they apply, are computed once for all groups."""
        shared = self._shared_for(input_ids, attention_mask)
        states = []
        for group in groups:
            index = torch.tensor(group, device=input_ids.device)
            width = int(last_index[index].max()) + 1
            ids, mask = input_ids[index, :width], attention_mask[index, :width]
            if shared is not None and width > shared.token_ids.numel():
                hidden = hidden_after_prefix(self, shared, ids, mask)
            else:
                hidden = self.plain_hidden(ids, mask)
            rows = torch.arange(len(group), device=hidden.device)
            states.append(hidden[rows, self.text_to_full_index(last_index[index])])
        order = torch.tensor([row for group in groups for row in group], device=input_ids.device)
        return torch.cat(states).index_select(0, torch.argsort(order))

    def _row_groups(self, last_index: torch.Tensor) -> list[list[int]] | None:
        """Groups of rows to run separately (training on a CPU, `split_rows`), None for one full batch. On an
        accelerator a step is launch-bound at these sizes and padding costs little: one call."""
        if not (self.split_rows and torch.is_grad_enabled() and last_index.device.type == "cpu"
                and last_index.numel() > 1):
            return None
        lengths = (last_index + 1).tolist()
        extra = self.prompt_length + (0 if self.prefix is None else self.prefix.length)
        groups = row_groups(lengths, extra, call_cost(self.backbone.hidden_size))
        return None if len(groups) == 1 else groups


def call_cost(hidden_size: int) -> int:
    """What one more forward/backward call costs on a CPU, in positions of a row: a call's fixed cost (every
    layer's per-operator overhead, and smaller matrix products running less efficiently) over one position's
    cost (~48 d^2 FLOPs per layer). Measured at the XGLM-564M shape (d 1024, 2 cores): about 32 positions,
    so 2^25 / d^2; the tiny test model (d 64) gets 8192 and runs its batches whole."""
    return max(1, round(2**25 / hidden_size**2))


def row_groups(lengths: Sequence[int], extra: int = 0, cost: int = 1) -> list[list[int]]:
    """Rows (indices into `lengths`) in groups of similar length that minimise the positions computed: each
    group runs at its longest row (+ `extra` positions every row has: a soft prompt), and each group after
    the first costs `cost` positions more. Groups are runs of the rows sorted by length (ties by index), so
    the answer is deterministic; one group when splitting does not pay."""
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
    n = len(order)
    best, cut = [0] + [None] * n, [0] * (n + 1)
    for end in range(1, n + 1):
        width = lengths[order[end - 1]] + extra  # the longest row of any group ending here
        for start in range(end):
            total = best[start] + (end - start) * width + (cost if start else 0)
            if best[end] is None or total < best[end]:
                best[end], cut[end] = total, start
    groups, end = [], n
    while end:
        groups.append(order[cut[end]:end])
        end = cut[end]
    return groups[::-1]
