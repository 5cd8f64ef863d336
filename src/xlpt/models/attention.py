"""Which attention kernel the language model runs: `model.attention` = sdpa (default) | eager.

transformers' XGLM is eager-only (5.24: `XGLMAttention.forward` does `bmm`, adds the mask, softmax,
`bmm`; the model declares no `_supports_sdpa`, and `attn_implementation="sdpa"` is refused). Eager
attention materialises the B x H x S x S weights, and autograd keeps them for the backward pass: at
S = 198 a prompt-tuning step of the 564M model peaks at 8.7 GB instead of 4.8 GB at S = 65.

`SdpaXGLMAttention` is the same layer with the score/softmax/weighted-sum part done by
`torch.nn.functional.scaled_dot_product_attention` (fused kernels: flash/memory-efficient on CUDA, a
flash kernel on CPU; neither keeps S x S weights for backward). Same projections, same parameters, same
mask (the additive causal + padding mask transformers builds for eager; with a key/value cache it
already covers the cached positions), the same scale (1/sqrt(head_dim): eager multiplies q by it first,
SDPA multiplies the scores; equal up to float rounding, which tests/models/test_attention.py bounds).
Switching swaps the class of each attention module in place (`__class__`), so parameters, hooks and
PEFT's LoRA layers inside it stay where they are, and switching back restores eager exactly.

Other architectures (Llama, GPT-2, ...) choose their kernel through transformers itself
(`set_attn_implementation`); a model without an SDPA path (BLOOM) keeps eager, and `use_attention` says so.
The architecture table (models/architectures.py) may prefer eager although transformers offers SDPA:
Gemma-2's SDPA path drops its attention-logit soft-capping, so `sdpa` keeps Gemma-2 on eager.

Dropout. In training with `train.dropout=model`, SDPA draws its attention-dropout mask from the same
generator but not in the same way as eager's `nn.functional.dropout`: the same seed gives a different
(equally distributed) mask, so a training run with attention dropout is not bit-identical across kernels.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

ATTENTION_KINDS = ("sdpa", "eager")


def _xglm_attention_class():
    try:
        from transformers.models.xglm.modeling_xglm import XGLMAttention
    except ImportError:  # pragma: no cover - transformers without XGLM
        return None
    return XGLMAttention


_XGLMAttention = _xglm_attention_class()


if _XGLMAttention is not None:

    class SdpaXGLMAttention(_XGLMAttention):
        """XGLM self-attention through `scaled_dot_product_attention` (cross-attention stays eager)."""

        def forward(self, hidden_states, key_value_states=None, cache=None, attention_mask=None, **kwargs):
            if key_value_states is not None:  # XGLM as a cross-attending decoder: never used by causal LMs here
                return super().forward(hidden_states, key_value_states=key_value_states, cache=cache,
                                       attention_mask=attention_mask, **kwargs)
            return self.attend(hidden_states, hidden_states, attention_mask, cache), None

        def attend(self, queries: torch.Tensor, context: torch.Tensor, attention_mask, cache) -> torch.Tensor:
            """Self-attention output (B, Tq, d) for the positions of `queries`, over the keys and values of
            every position of `context` (B, T, d) (after any cached ones). `forward` is attend(x, x); with
            `queries` some rows of `context` and the matching rows of the mask, it gives those rows of
            forward's output (up to float rounding): what models/answer_layer.py runs the last layer with."""
            batch = queries.shape[0]

            def heads(states: torch.Tensor) -> torch.Tensor:  # (B, T, d) -> (B, H, T, head_dim)
                return states.view(batch, states.shape[1], self.num_heads, self.head_dim).transpose(1, 2)

            query = heads(self.q_proj(queries))
            key, value = heads(self.k_proj(context)), heads(self.v_proj(context))
            if cache is not None:  # cached past keys/values (a prefix, a shared prompt) come first
                key, value = cache.update(key, value, self.layer_idx)
            output = F.scaled_dot_product_attention(
                query, key, value, attn_mask=attention_mask, scale=self.scaling,
                dropout_p=self.dropout if self.training else 0.0)
            output = output.transpose(1, 2).reshape(batch, queries.shape[1], self.embed_dim)
            return self.out_proj(output)
else:  # pragma: no cover
    SdpaXGLMAttention = None


def use_attention(lm: torch.nn.Module, kind: str) -> str:
    """Switch `lm` to attention `kind` (sdpa | eager) in place; returns the kernel now in effect, which
    is `eager` for a model that has no SDPA path."""
    if kind not in ATTENTION_KINDS:
        raise ValueError(f"attention {kind!r} is not one of {', '.join(ATTENTION_KINDS)}")
    layers = [m for m in lm.modules() if _XGLMAttention is not None and isinstance(m, _XGLMAttention)]
    if layers:
        for module in layers:
            module.__class__ = SdpaXGLMAttention if kind == "sdpa" else _XGLMAttention
        return kind
    from xlpt.models.architectures import architecture

    current = getattr(lm.config, "_attn_implementation", None) or "eager"
    if kind == "sdpa" and architecture(lm).attention == "eager":
        kind = "eager"  # the table's choice: SDPA would change what this architecture computes (or it has none)
    supported = kind == "eager" or getattr(lm, "_supports_sdpa", False)
    if current == kind or not supported or not hasattr(lm, "set_attn_implementation"):
        return current
    try:
        lm.set_attn_implementation(kind)
    except (ValueError, ImportError):  # transformers refuses a kernel the architecture lacks (BLOOM: sdpa)
        return current
    return getattr(lm.config, "_attn_implementation", kind)


def attention_in_use(lm: torch.nn.Module) -> str:
    """The kernel `lm`'s attention runs now (for logs and results)."""
    if any(SdpaXGLMAttention is not None and isinstance(m, SdpaXGLMAttention) for m in lm.modules()):
        return "sdpa"
    if any(_XGLMAttention is not None and isinstance(m, _XGLMAttention) for m in lm.modules()):
        return "eager"
    return getattr(lm.config, "_attn_implementation", None) or "eager"
