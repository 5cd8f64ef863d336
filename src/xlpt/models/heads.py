"""How hidden states become class scores. Transformers has no XGLM classification heads: these are ours."""

from __future__ import annotations

import torch
from torch import nn


class VerbalizerHead(nn.Module):
    """Label-word logits: the LM head restricted to the K label-word rows (no new parameters).

    Equivalent to reading full-vocabulary logits at the position and gathering K columns, but costs
    K*d instead of V*d per example (XGLM's V is 256k)."""

    def __init__(self, backbone, token_ids: list[int]):
        super().__init__()
        self.backbone = [backbone]  # a list keeps the backbone out of this module's parameters
        self.register_buffer("token_ids", torch.tensor(token_ids, dtype=torch.long), persistent=False)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        weight, bias = self.backbone[0].output_rows(self.token_ids)
        logits = hidden @ weight.to(hidden.dtype).T
        return logits if bias is None else logits + bias.to(hidden.dtype)


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
