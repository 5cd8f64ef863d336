"""Soft prompt (Lester et al., 2021): `n` trainable vectors inserted among the input embeddings.

The vectors live in the model's *scaled* embedding space (see models.backbone): every initialisation
goes through `Backbone.embed`, never through raw `.weight` rows, so a `vocab`/`text` init starts exactly
where real tokens sit, and `random` init is scaled to the spread of real token embeddings.
"""

from __future__ import annotations

import torch
from torch import nn

from xlpt.errors import ConfigError


class SoftPrompt(nn.Module):
    def __init__(self, vectors: torch.Tensor):
        super().__init__()
        self.weight = nn.Parameter(vectors.detach().clone().float())

    @property
    def length(self) -> int:
        return self.weight.shape[0]

    def expand(self, batch_size: int, dtype: torch.dtype) -> torch.Tensor:
        return self.weight.to(dtype).unsqueeze(0).expand(batch_size, -1, -1)


def _special_ids(tokenizer) -> set[int]:
    return set(tokenizer.all_special_ids)


@torch.no_grad()
def initial_vectors(backbone, tokenizer, length: int, init: str, init_text: str | None = None,
                    seed: int = 0) -> torch.Tensor:
    """(length, d) starting vectors for a soft prompt, in the backbone's embedding space."""
    device = backbone.lm.get_input_embeddings().weight.device
    generator = torch.Generator().manual_seed(seed)
    vocab = len(tokenizer)
    special = _special_ids(tokenizer)  # once: the tokenizer rebuilds this list on every access
    ordinary = torch.tensor([i for i in range(vocab) if i not in special])
    if init == "vocab":
        # Sample without replacement from ordinary tokens (Lester et al. sample from the 5k most frequent;
        # frequency is unknown for an arbitrary tokenizer, so we sample uniformly and record the seed).
        picks = ordinary[torch.randperm(len(ordinary), generator=generator)[:length]]
        if len(picks) < length:
            picks = ordinary[torch.randint(len(ordinary), (length,), generator=generator)]
        return backbone.embed(picks.to(device)).float()
    if init == "text":
        if not init_text:
            raise ConfigError("prompt_init=text needs init_text")
        ids = tokenizer(init_text, add_special_tokens=False)["input_ids"]
        if not ids:
            raise ConfigError(f"init_text {init_text!r} tokenizes to nothing")
        repeated = (ids * (length // len(ids) + 1))[:length]  # repeat the text when it is shorter than the prompt
        return backbone.embed(torch.tensor(repeated, device=device)).float()
    if init == "random":
        reference = backbone.embed(ordinary[:4096].to(device)).float()
        return torch.randn(length, reference.shape[1], generator=generator).to(device) * reference.std()
    raise ConfigError(f"unknown prompt init {init!r}; use random, vocab or text")
