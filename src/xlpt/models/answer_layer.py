"""XGLM's last decoder layer, run only at the positions whose states are read.

A classifier reads one last-layer state per row (the answer slot). At every other position the last
layer matters only through the keys and values the answer slot attends to; the queries, attention
outputs and feed-forward blocks there are computed and thrown away. Within `answer_positions(decoder,
at)` the decoder's last layer computes keys and values at every position and everything else only at
`at` ((B,) one position per row of the call's input), so the decoder returns (B, 1, d): the full call's
`hidden[rows, at]` up to float rounding (tests/models/test_answer_layer.py). For the tiny test model
(2 layers, long rows from its 576-entry vocabulary) that is ~40% of an evaluation's forward FLOPs; for
XGLM-564M (24 layers) ~4%.

It applies only to scoring, and only where it computes what the layer computes: no gradient wanted (a
training step keeps its arithmetic, its memory and what gradient checkpointing recomputes, also under
train.dropout=off, where the decoder trains in eval mode), eval mode (no dropout to draw), XGLM's own
decoder layer (not one that FSDP has wrapped or torch.compile compiles), the SDPA kernel of
models/attention.py (an explicit `model.attention=eager` keeps eager everywhere) and no cross-attention.
Elsewhere the decoder runs unchanged and says so, and the caller gathers the positions itself.

The first use gives the layer the class AnswerOnlyXGLMDecoderLayer for good (as models/attention.py
swaps attention classes: parameters and hooks stay); with no positions asked for it is XGLMDecoderLayer
exactly. The positions live in a context variable, so calls from several threads at once (evaluation
batches run side by side, evaluation/batch_workers.py) each see their own.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator

import torch

from xlpt.models.attention import SdpaXGLMAttention

try:
    from transformers.models.xglm.modeling_xglm import XGLMDecoderLayer
except ImportError:  # pragma: no cover - transformers without XGLM
    XGLMDecoderLayer = None

_POSITIONS: ContextVar[torch.Tensor | None] = ContextVar("xlpt_answer_positions", default=None)


@contextmanager
def answer_positions(decoder: torch.nn.Module, at: torch.Tensor) -> Iterator[bool]:
    """Within the block, `decoder`'s last layer computes only the positions `at` (see the module doc);
    yields whether it does (False: the decoder runs as usual)."""
    layers = getattr(decoder, "layers", None)
    layer = layers[-1] if layers is not None and len(layers) else None
    if not _applies(decoder, layer):
        yield False
        return
    layer.__class__ = AnswerOnlyXGLMDecoderLayer
    token = _POSITIONS.set(at)
    try:
        yield True
    finally:
        _POSITIONS.reset(token)


def _applies(decoder, layer) -> bool:
    compiled = any(getattr(module, "_compiled_call_impl", None) is not None for module in (decoder, layer))
    # Inference only: a training step with dropout off also runs the layers in eval mode, and gradient
    # checkpointing would recompute the layer in backward outside this block (as the whole layer).
    return (XGLMDecoderLayer is not None and type(layer) in (XGLMDecoderLayer, AnswerOnlyXGLMDecoderLayer)
            and not torch.is_grad_enabled() and not layer.training and not compiled
            and type(layer.self_attn) is SdpaXGLMAttention)


if XGLMDecoderLayer is not None:

    class AnswerOnlyXGLMDecoderLayer(XGLMDecoderLayer):
        """XGLMDecoderLayer; within `answer_positions`, its eval-mode forward at those positions only."""

        def forward(self, hidden_states, attention_mask=None, encoder_hidden_states=None, cache=None, **kwargs):
            at = _POSITIONS.get()
            if at is None:
                return super().forward(hidden_states, attention_mask, encoder_hidden_states, cache=cache, **kwargs)
            rows = torch.arange(hidden_states.shape[0], device=hidden_states.device)
            if attention_mask is None or encoder_hidden_states is not None:  # not XGLM as a causal LM: whole layer
                full = super().forward(hidden_states, attention_mask, encoder_hidden_states, cache=cache, **kwargs)
                return full[rows, at].unsqueeze(1)
            normed = self.self_attn_layer_norm(hidden_states)  # every position's keys and values need it
            mask = attention_mask.expand(len(rows), -1, -1, -1)[rows, :, at].unsqueeze(2)  # (B, 1, 1, keys)
            attended = self.self_attn.attend(normed[rows, at].unsqueeze(1), normed, mask, cache)
            hidden = hidden_states[rows, at].unsqueeze(1) + attended
            return hidden + self.fc2(self.activation_fn(self.fc1(self.final_layer_norm(hidden))))
