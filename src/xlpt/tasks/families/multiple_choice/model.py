"""The multiple-choice task model: log-likelihood of each choice's continuation, context read once.

A batch holds *groups* (normally one per example: its shared context) and *rows* (one per choice). The
groups' tokens run first, through `TaskModel.assemble` (so a soft prompt is inserted and prefix tuning's
virtual keys/values lead, exactly as in every other family), and their keys/values are cached; then each
row runs only its own tokens after its group's, on a copy of the group's cache rows, with position ids
continuing after the group's real last token (right padding: pad slots between the group's tokens and
the row's are masked). Gradients flow through both passes, so the shared context costs one forward per
example in training as well as in evaluation. The result equals running every choice in full
(`TaskModel.plain_hidden`) up to float rounding (tests/tasks/test_multiple_choice_model.py).

There is no head: a choice's score is the sum of its continuation tokens' log-probabilities under the
LM head (`backbone.lm.get_output_embeddings()`, then the model's final-logit transform), computed only at
scored positions.
"""

from __future__ import annotations

import torch
from transformers import DynamicCache

from xlpt.models.task_model import TaskModel

LOGIT_ELEMENTS = 1 << 24
"""Scored positions x vocabulary computed at once (bounds memory with a 256k vocabulary)."""


class ChoiceModel(TaskModel):
    """TaskModel whose forward returns one summed log-likelihood per choice row (see the module docstring)."""

    def forward(self, batch: dict) -> torch.Tensor:
        """(rows,) float32: each row's summed continuation log-probability (see tasks/.../batch.py for keys)."""
        group_hidden, group_mask, cache = self._groups(batch["group_ids"], batch["group_mask"])
        pick = batch["group_pick"]
        states = [group_hidden[pick[:, 0], self.text_to_full_index(pick[:, 1])]]
        if batch["rest_ids"].shape[1]:
            rest_hidden = self._rest(batch["rest_ids"], batch["rest_mask"], batch["row_group"], group_mask, cache)
            states.append(rest_hidden[batch["rest_pick"][:, 0], batch["rest_pick"][:, 1]])
        values = self.token_logprobs(torch.cat(states), torch.cat([batch["group_target"], batch["rest_target"]]))
        owner = torch.cat([batch["group_owner"], batch["rest_owner"]])
        return values.new_zeros(batch["row_group"].shape[0]).index_add(0, owner, values)

    def _groups(self, ids: torch.Tensor, mask: torch.Tensor):
        """Hidden states of the groups' tokens (prompt inserted), their full attention mask and their cache."""
        embeds, full_mask, positions = self.assemble(ids, mask)
        if self.prefix is None:
            cache = DynamicCache()
            hidden = self.backbone.hidden_states(embeds, full_mask, positions, past_key_values=cache)
            return hidden, full_mask, cache
        length, batch = self.prefix.length, ids.shape[0]
        cache = self.prefix.cache(batch, embeds.dtype)
        full_mask = torch.cat([full_mask.new_ones(batch, length), full_mask], dim=1)
        hidden = self.backbone.hidden_states(embeds, full_mask, positions + length, past_key_values=cache)
        return hidden, full_mask, cache

    def _rest(self, ids, mask, rows, group_mask, cache) -> torch.Tensor:
        """Hidden states of each row's own tokens, read after its group's cached keys/values."""
        row_cache = DynamicCache([(layer.keys[rows], layer.values[rows]) for layer in cache.layers])
        before = group_mask[rows]
        starts = before.sum(dim=1, keepdim=True)  # prefix virtual tokens + group tokens + prompt, all real
        positions = starts + torch.arange(ids.shape[1], device=ids.device)
        return self.backbone.hidden_states(self.backbone.embed(ids), torch.cat([before, mask], dim=1), positions,
                                           past_key_values=row_cache)

    def token_logprobs(self, hidden: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """log softmax(LM head(hidden[k]))[targets[k]], in float32, in row chunks (no B x T x V tensor)."""
        head = self.backbone.lm.get_output_embeddings()
        step = max(1, LOGIT_ELEMENTS // head.weight.shape[0])
        parts = []
        for r0 in range(0, len(hidden), step):
            # finish_logits: the model's own final-logit transform (Gemma-2 soft-capping, Granite/Cohere scale),
            # elementwise, so trained scores are the scores the model's forward (and the zero-shot path) gives.
            logits = self.backbone.finish_logits(head(hidden[r0 : r0 + step])).float()
            parts.append(logits.gather(1, targets[r0 : r0 + step, None])[:, 0] - logits.logsumexp(dim=-1))
        return torch.cat(parts)
