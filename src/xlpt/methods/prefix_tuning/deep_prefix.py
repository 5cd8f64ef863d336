"""Deep prompts: trainable key/value prefixes in every attention layer (Li & Liang, 2021).

Where a soft prompt adds vectors to the *input* only, a prefix adds P key/value pairs to the
self-attention of *every* layer; each text token attends to them as if P virtual tokens came before
the text. They reach the model the way cached past tokens do: as a `transformers` `DynamicCache`,
built afresh for each batch from the parameters (expanded to the batch, so gradients flow back to
them), to which the model appends the batch's own keys and values during the forward.

Positions. XGLM adds its sinusoidal positions to the input embeddings only, so the prefix keys and
values carry no position of their own. The text is placed at positions P..P+T-1, i.e. right after
the P virtual tokens, as in Li & Liang's GPT-2 code and PEFT (which let positions continue from the
cache length). This also makes the initialisation below exact: at step 0, the prefix-tuned model is
the frozen model reading P real vectors followed by the text (and so equals prompt tuning with
`prompt_position=start` and the same starting vectors).

Initialisation. The prefix starts as the keys and values the frozen model itself computes, layer by
layer, for the soft-prompt starting vectors of `method.prompt_init` (vocab: embeddings of sampled real
tokens; text: of `init_text`; random: random vectors with the spread of real embeddings) read at
positions 0..P-1. Keys and values thus start in the ranges each layer produces, rather than PEFT's
N(0, 1), which ignores the per-layer scale of real keys and values.

No reparameterisation. Li & Liang train the prefix through an MLP for stability with random starts;
with a start from the model's own keys/values it is trained directly (PEFT's `prefix_projection=False`).

Why not PEFT's PrefixTuningConfig. It works on XGLM with transformers 5.23 (it passes a
`DynamicCache` and the same positions; tests/methods/test_prefix_tuning.py checks the two agree), but
it wraps the whole LM and takes `input_ids`, whereas every method here shares `TaskModel.hidden`
(embeddings in, explicit position ids, our heads), so the prefix is a small module of ours instead.
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import DynamicCache


class DeepPrefix(nn.Module):
    """Per-layer prefix keys and values, each of shape (layers, heads, P, head_dim).

    The parameter names contain `.prefix` (`prefix.prefix_keys` on the task model), which
    training.schedule keeps out of weight decay: decay would pull them away from the key/value ranges
    of the model they were initialised in."""

    def __init__(self, keys: torch.Tensor, values: torch.Tensor):
        super().__init__()
        if keys.shape != values.shape or keys.ndim != 4:
            raise ValueError(f"keys {tuple(keys.shape)} and values {tuple(values.shape)} must both be "
                             "(layers, heads, length, head_dim)")
        self.prefix_keys = nn.Parameter(keys.detach().clone().float())
        self.prefix_values = nn.Parameter(values.detach().clone().float())

    @property
    def length(self) -> int:
        return self.prefix_keys.shape[2]

    def cache(self, batch_size: int, dtype: torch.dtype) -> DynamicCache:
        """A new cache holding the prefix for `batch_size` rows (the model extends it in place, so never reuse one)."""
        layers = [(k.to(dtype).unsqueeze(0).expand(batch_size, -1, -1, -1),
                   v.to(dtype).unsqueeze(0).expand(batch_size, -1, -1, -1))
                  for k, v in zip(self.prefix_keys, self.prefix_values)]
        return DynamicCache(layers)


@torch.no_grad()
def initial_key_values(backbone, vectors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(keys, values), each (layers, heads, P, head_dim): what the frozen decoder caches when it reads the
    (P, d) input vectors `vectors` (in the scaled embedding space) at positions 0..P-1."""
    backbone.architecture.check_prefix()  # one line, before training, for a model without a key/value cache
    decoder = backbone.decoder
    dtype = backbone.lm.get_input_embeddings().weight.dtype
    embeds = vectors.unsqueeze(0).to(dtype)
    positions = torch.arange(embeds.shape[1], device=embeds.device).unsqueeze(0)
    was_training = decoder.training
    decoder.eval()  # no dropout in the starting point
    try:
        output = decoder(inputs_embeds=embeds, attention_mask=torch.ones_like(positions), position_ids=positions,
                         use_cache=True)
    finally:
        decoder.train(was_training)
    # the output field is named like the cache keyword (`cache` since transformers 5.24, `past_key_values` before)
    cache = getattr(output, backbone.cache_argument)
    keys = torch.stack([layer.keys[0] for layer in cache.layers])
    values = torch.stack([layer.values[0] for layer in cache.layers])
    return keys.float(), values.float()
