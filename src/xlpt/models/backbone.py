"""The frozen-or-not language model seen through two calls: `embed` and `hidden_states`.

Every method (soft prompts, LoRA, full fine-tuning) feeds the model through `inputs_embeds`, so the
text embeddings must be exactly what the model's own forward would compute from `input_ids`. XGLM
multiplies token embeddings by `embed_scale = sqrt(d_model)`: inside the embedding module since
transformers 4.41, but *outside* it (and skipped for `inputs_embeds`) before. `Backbone` measures at
start-up which is the case and applies the factor itself when needed, so soft prompts always live in
the same (scaled) space as the text they precede.

Model quirks come from the architecture table (models/architectures.py, `self.architecture`): the cache
keyword, the logit transforms after the LM head (`finish_logits`), prefix support, the preferred kernel. What
can be measured is measured here and the table checked against it (the embedding factor).

Kernels. `use_attention` picks the attention kernel (models/attention.py: SDPA by default, eager on
request). A bare `Backbone` whose kernel was never asked for leaves the model's own kernel in place (XGLM:
eager upstream), except while it scores (`scoring_attention`: SDPA for the call, the model's kernel back
after it; the architecture table keeps Gemma-2 on eager); `compile_decoder` wraps the decoder in `torch.compile` (model.compile). Neither changes
what is computed beyond float rounding.
"""

from __future__ import annotations

import contextlib
import inspect

import torch
from torch import nn

from xlpt.errors import ConfigError
from xlpt.models.architectures import architecture, check_embedding_scale


class Backbone(nn.Module):
    def __init__(self, lm: nn.Module):
        super().__init__()
        self.lm = lm
        self.decoder = lm.base_model  # XGLMModel / BloomModel / LlamaModel: returns hidden states, no LM head
        parameters = inspect.signature(self.decoder.forward).parameters
        self._accepts_position_ids = "position_ids" in parameters
        row = architecture(lm)
        # transformers >= 5.24 renamed past_key_values to cache (the old name warns until 5.40): the table's
        # name where the decoder takes it, else the other one (an older transformers)
        self._cache_argument = (row.cache_argument if row.cache_argument in parameters
                                else "cache" if "cache" in parameters else "past_key_values")
        self.embed_multiplier = self._measure_embed_multiplier()
        self.architecture = check_embedding_scale(row, lm.config, self._module_scale() * self.embed_multiplier)
        """The model's row of the architecture table (embedding factor checked against the measurement)."""
        self._softcap = row.softcap(lm.config)
        self._logit_factor = row.logit_factor(lm.config)
        self._deterministic_in_training: bool | None = None
        self.attention_asked: str | None = None
        """The kernel asked for with `use_attention` (None: never asked, scorers then use SDPA)."""

    def use_attention(self, kind: str) -> str:
        """Switch the attention kernel (sdpa | eager); returns the one in effect (see models.attention)."""
        from xlpt.models.attention import use_attention

        in_effect = use_attention(self.lm, kind)
        self.attention_asked = kind
        return in_effect

    @contextlib.contextmanager
    def scoring_attention(self):
        """The kernel for a scoring call: the one asked for with `use_attention`, else SDPA for the call
        only (the model's previous kernel is restored after it, so a peer sharing the model object in one
        process keeps its own)."""
        if self.attention_asked is not None:
            yield
            return
        from xlpt.models.attention import ATTENTION_KINDS, attention_in_use, use_attention

        before = attention_in_use(self.lm)
        if before not in ATTENTION_KINDS or before == "sdpa":  # already SDPA, or a kernel xlpt does not switch
            yield
            return
        use_attention(self.lm, "sdpa")
        try:
            yield
        finally:
            use_attention(self.lm, before)

    @property
    def accepts_position_ids(self) -> bool:
        """Whether the decoder takes explicit position ids (BLOOM does not: ALiBi counts unmasked tokens)."""
        return self._accepts_position_ids

    def layers(self) -> list[nn.Module]:
        """The transformer blocks (transformers marks them GradientCheckpointingLayer): what sharding,
        activation checkpointing and per-layer compilation act on."""
        from transformers.modeling_layers import GradientCheckpointingLayer

        scope = self.architecture.lora_scope  # a multimodal model: its text decoder's blocks only
        layers = [m for name, m in self.lm.named_modules() if isinstance(m, GradientCheckpointingLayer)
                  and (scope is None or f".{scope}." in f".{name}.")]
        if not layers:
            raise ConfigError(f"cannot find the decoder layers of {type(self.lm).__name__} (no "
                              "GradientCheckpointingLayer); train.sharding, train.gradient_checkpointing and "
                              "model.compile with them need them")
        return layers

    def compile_layers(self, mode: str = "default", backend: str = "inductor") -> None:
        """`torch.compile` each decoder layer in place: the unit FSDP2 shards and activation checkpointing
        recomputes, so compiled code and those wrappers compose (parameter names are unchanged)."""
        for layer in self.layers():
            layer.compile(mode=None if mode == "default" else mode, backend=backend, dynamic=True)

    def compile_decoder(self, mode: str = "default", backend: str = "inductor") -> None:
        """`torch.compile` the decoder in place (model.compile), shapes dynamic so new lengths and batch
        sizes reuse the compiled code. The whole decoder is one unit: its layer loop unrolls into one graph,
        whereas compiling layer by layer would recompile per layer whenever a key/value cache (prefix
        tuning, shared prefix) is passed. A few variants still compile once each on first use: with and
        without a cache, with and without gradients, batch size one. mode: torch's compile modes
        (`reduce-overhead` adds CUDA graphs on a GPU)."""
        self.decoder.compile(mode=None if mode == "default" else mode, backend=backend, dynamic=True)

    def deterministic(self) -> bool:
        """True when a forward pass in the current mode draws no random numbers: eval mode, or training
        mode with every dropout rate (and LayerDrop) at 0. Measured once on a probe (two passes under
        different seeds, global random state untouched), so it holds for any architecture."""
        if not self.decoder.training:
            return True
        if self._deterministic_in_training is None:
            self._deterministic_in_training = self._measure_determinism()
        return self._deterministic_in_training

    @torch.no_grad()
    def _measure_determinism(self) -> bool:
        device = self.lm.get_input_embeddings().weight.device
        ids = torch.arange(4, 4 + 6, device=device).clamp(max=self.lm.get_input_embeddings().num_embeddings - 1)
        embeds = self.embed(ids.unsqueeze(0))
        outputs = []
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            for seed in (1, 2):
                torch.manual_seed(seed)
                outputs.append(self.hidden_states(embeds, torch.ones_like(ids).unsqueeze(0)))
        return torch.equal(outputs[0], outputs[1])

    @property
    def cache_argument(self) -> str:
        """The keyword (and output field) of the decoder's key/value cache."""
        return self._cache_argument

    @property
    def hidden_size(self) -> int:
        return self.lm.get_input_embeddings().embedding_dim

    def embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        """Token embeddings in the space the model's forward uses (embed_scale included)."""
        embeds = self.lm.get_input_embeddings()(input_ids)
        return embeds if self.embed_multiplier == 1.0 else embeds * self.embed_multiplier

    def hidden_states(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor,
                      position_ids: torch.Tensor | None = None, past_key_values=None,
                      at: torch.Tensor | None = None) -> torch.Tensor:
        """Last-layer hidden states (after the final layer norm), shape (B, T, d); with `at` ((B,) one
        position per row of this call's input), only those states, (B, d). When scoring (eval mode, no
        gradient) XGLM then runs its last layer at those positions only (models/answer_layer.py): the same
        states up to float rounding.

        A given `past_key_values` cache is read and extended in place with this call's keys/values."""
        kwargs = dict(inputs_embeds=inputs_embeds, attention_mask=attention_mask,
                      use_cache=past_key_values is not None)
        if past_key_values is not None:
            kwargs[self._cache_argument] = past_key_values
        if position_ids is not None and self._accepts_position_ids:
            kwargs["position_ids"] = position_ids
        if at is None:
            return self.decoder(**kwargs).last_hidden_state
        from xlpt.models.answer_layer import answer_positions

        with answer_positions(self.decoder, at) as only_there:
            hidden = self.decoder(**kwargs).last_hidden_state
        return hidden[:, 0] if only_there else hidden[torch.arange(hidden.shape[0], device=hidden.device), at]

    def finish_logits(self, logits: torch.Tensor) -> torch.Tensor:
        """What the model does to LM-head outputs before returning them: Granite/Cohere's logit scale, Gemma-2's
        tanh soft-capping (architecture table). Identity for most models; elementwise, so it applies to any
        slice of the vocabulary (label-word rows, vocabulary chunks) as to the whole."""
        if self._logit_factor != 1.0:
            logits = logits * self._logit_factor
        if self._softcap is not None:
            logits = torch.tanh(logits / self._softcap) * self._softcap
        return logits

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """Full-vocabulary logits of hidden states, as the model's own forward computes them."""
        return self.finish_logits(self.lm.get_output_embeddings()(hidden))

    def output_rows(self, token_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The LM head's weight rows (and bias) for `token_ids`: label-word logits without the full vocab."""
        head = self.lm.get_output_embeddings()
        bias = head.bias[token_ids] if getattr(head, "bias", None) is not None else None
        return head.weight[token_ids], bias

    @torch.no_grad()
    def _module_scale(self) -> float:
        """The factor the embedding module itself applies to its weight rows (XGLM, Gemma: sqrt(d); else 1)."""
        embeddings = self.lm.get_input_embeddings()
        ids = torch.arange(4, 10, device=embeddings.weight.device).clamp(max=embeddings.num_embeddings - 1)
        rows, out = embeddings.weight[ids].float(), embeddings(ids).float()
        return float((out * rows).sum() / (rows * rows).sum().clamp_min(1e-30))

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
