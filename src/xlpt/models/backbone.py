"""The frozen-or-not language model seen through two calls: `embed` and `hidden_states`.

Every method (soft prompts, LoRA, full fine-tuning) feeds the model through `inputs_embeds`, so the
text embeddings must be exactly what the model's own forward would compute from `input_ids`. XGLM
multiplies token embeddings by `embed_scale = sqrt(d_model)`: inside the embedding module since
transformers 4.41, but *outside* it (and skipped for `inputs_embeds`) before. `Backbone` measures at
start-up which is the case and applies the factor itself when needed, so soft prompts always live in
the same (scaled) space as the text they precede.
"""

from __future__ import annotations

import inspect

import torch
from torch import nn

from xlpt.errors import ConfigError


class Backbone(nn.Module):
    def __init__(self, lm: nn.Module):
        super().__init__()
        self.lm = lm
        self.decoder = lm.base_model  # XGLMModel / BloomModel / LlamaModel: returns hidden states, no LM head
        parameters = inspect.signature(self.decoder.forward).parameters
        self._accepts_position_ids = "position_ids" in parameters
        # transformers 5.x renames `past_key_values` to `cache` (the old name warns until 5.40, then fails).
        self._cache_kwarg = "cache" if "cache" in parameters else "past_key_values"
        self.embed_multiplier = self._measure_embed_multiplier()

    @property
    def hidden_size(self) -> int:
        return self.lm.get_input_embeddings().embedding_dim

    def embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        """Token embeddings in the space the model's forward uses (embed_scale included)."""
        embeds = self.lm.get_input_embeddings()(input_ids)
        return embeds if self.embed_multiplier == 1.0 else embeds * self.embed_multiplier

    def hidden_states(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor,
                      position_ids: torch.Tensor | None = None, past_key_values=None) -> torch.Tensor:
        """Last-layer hidden states (after the final layer norm), shape (B, T, d).

        A given `past_key_values` cache is read and extended in place with this call's keys/values."""
        kwargs = dict(inputs_embeds=inputs_embeds, attention_mask=attention_mask,
                      use_cache=past_key_values is not None)
        if past_key_values is not None:
            kwargs[self._cache_kwarg] = past_key_values
        if position_ids is not None and self._accepts_position_ids:
            kwargs["position_ids"] = position_ids
        return self.decoder(**kwargs).last_hidden_state

    def output_rows(self, token_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The LM head's weight rows (and bias) for `token_ids`: label-word logits without the full vocab."""
        head = self.lm.get_output_embeddings()
        bias = head.bias[token_ids] if getattr(head, "bias", None) is not None else None
        return head.weight[token_ids], bias

    @torch.no_grad()
    def _measure_embed_multiplier(self) -> float:
        """1.0 if embedding-module output reproduces forward(input_ids); else the model's embed_scale.

        Checked numerically on a short probe, so it holds whatever transformers version is installed."""
        device = self.lm.get_input_embeddings().weight.device
        vocab = self.lm.get_input_embeddings().num_embeddings
        ids = torch.arange(4, 4 + 6, device=device).clamp(max=vocab - 1).unsqueeze(0)
        mask = torch.ones_like(ids)
        was_training = self.decoder.training
        self.decoder.eval()
        try:
            reference = self.decoder(input_ids=ids, attention_mask=mask, use_cache=False).last_hidden_state
            raw = self.lm.get_input_embeddings()(ids)
            candidates = [1.0, float(getattr(self.decoder, "embed_scale", 1.0) or 1.0)]
            for factor in candidates:
                out = self.decoder(inputs_embeds=raw * factor, attention_mask=mask, use_cache=False).last_hidden_state
                if torch.allclose(out.float(), reference.float(), atol=1e-4, rtol=1e-3):
                    return factor
        finally:
            self.decoder.train(was_training)
        raise ConfigError("cannot reproduce the model's own forward from inputs_embeds; soft prompts would be "
                          "wrong for this model/transformers combination")
