"""How hidden states become class scores. Transformers has no XGLM classification heads: these are ours."""

from __future__ import annotations

import torch
from torch import nn


class VerbalizerHead(nn.Module):
    """Label-word logits: the LM head restricted to the K label-word rows (no new parameters).

    Equivalent to reading full-vocabulary logits at the position and gathering K columns, but costs
    K*d instead of V*d per example (XGLM's V is 256k). Softmax over these K logits equals the
    full-vocabulary probabilities renormalised over the label words."""

    def __init__(self, backbone, token_ids: list[int]):
        super().__init__()
        self.backbone = [backbone]  # a list keeps the backbone out of this module's parameters
        self.register_buffer("token_ids", torch.tensor(token_ids, dtype=torch.long), persistent=False)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        weight, bias = self.backbone[0].output_rows(self.token_ids)
        logits = hidden @ weight.to(hidden.dtype).T
        logits = logits if bias is None else logits + bias.to(hidden.dtype)
        return self.backbone[0].finish_logits(logits)  # soft-capping / logit scale, as the model's forward


class MultiTokenVerbalizer(nn.Module):
    """Class scores for label words of several tokens: score(label) = sum_j log p(w_j | text, w_<j).

    Each example is read once per label, continued with that label's tokens but the last; the scored
    positions are the answer slot and the positions of the word's own tokens. Log-probabilities need the
    full vocabulary, so the LM head runs at those few positions only, in chunks (never B x T x V).
    Cross-entropy over these scores equals the single-token verbalizer's loss when every word is one
    token (softmax over log p is softmax over logits: the normaliser cancels)."""

    CHUNK = 64  # scored positions per vocabulary projection

    def __init__(self, backbone, token_lists: list[list[int]], pad_id: int):
        super().__init__()
        self.backbone = [backbone]
        self.token_lists = [list(t) for t in token_lists]
        self.pad_id = pad_id

    def scores(self, model, input_ids: torch.Tensor, attention_mask: torch.Tensor,
               last_index: torch.Tensor) -> torch.Tensor:
        """(B, K) summed log-probabilities; `model` is the SequenceClassifier (it inserts prompts)."""
        columns = [self._label_scores(model, input_ids, last_index, tokens) for tokens in self.token_lists]
        return torch.stack(columns, dim=1)

    def _label_scores(self, model, input_ids, last_index, tokens: list[int]) -> torch.Tensor:
        batch, width = input_ids.shape
        extra = len(tokens) - 1
        ids = torch.full((batch, width + extra), self.pad_id, dtype=input_ids.dtype, device=input_ids.device)
        lengths = last_index + 1
        positions = torch.arange(width + extra, device=input_ids.device).unsqueeze(0)
        keep = positions[:, :width] < lengths.unsqueeze(1)
        ids[:, :width] = torch.where(keep, input_ids, self.pad_id)
        word = torch.tensor(tokens, device=input_ids.device)
        rows = torch.arange(batch, device=input_ids.device)
        for j in range(extra):  # the word's tokens but the last continue the text
            ids[rows, lengths + j] = word[j]
        mask = (positions < (lengths + extra).unsqueeze(1)).long()
        hidden = model.hidden(ids, mask)
        scored = last_index.unsqueeze(1) + torch.arange(len(tokens), device=ids.device).unsqueeze(0)  # (B, n)
        states = hidden[rows.unsqueeze(1), model.text_to_full_index(scored)]  # (B, n, d)
        return self._log_probs(states.flatten(0, 1), word.repeat(batch)).view(batch, -1).sum(dim=1)

    def _log_probs(self, states: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        backbone = self.backbone[0]
        out = []
        for start in range(0, states.shape[0], self.CHUNK):
            logits = backbone.logits(states[start:start + self.CHUNK]).float()
            picked = logits.gather(1, targets[start:start + self.CHUNK].unsqueeze(1)).squeeze(1)
            out.append(picked - torch.logsumexp(logits, dim=-1))
        return torch.cat(out)


class LinearHead(nn.Linear):
    """A fresh linear layer on a hidden state (sequence: last real token; tagging: one subword per word)."""

    def __init__(self, hidden_size: int, num_labels: int, seed: int = 0):
        super().__init__(hidden_size, num_labels)
        generator = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            self.weight.copy_(torch.randn(self.weight.shape, generator=generator) * 0.02)
            self.bias.zero_()

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return super().forward(hidden.to(self.weight.dtype))
