"""Prefix tuning's PEFT form: `prefix.prefix_keys` / `prefix_values`, each (layers, heads, P, head_dim) <->
PEFT PREFIX_TUNING `prompt_embeddings` (P, layers * 2 * heads * head_dim).

Layout. PEFT's table holds, for each virtual token, layer 0's key, layer 0's value, layer 1's key, ...
(`get_prompt` views it as (P, layers*2, heads, head_dim)); positions continue after the prefix in both.
No reparameterisation (`prefix_projection=False`); on import PEFT's table holds the per-layer keys/values
whether or not the adapter was trained with a projection (PEFT saves the projected table).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from xlpt.errors import ConfigError
from xlpt.export.forms import KEY, copy_checked, table_of

PEFT_TYPE = "PREFIX_TUNING"


@dataclass
class PrefixForm:
    """Per-layer key/value prefixes as PEFT prefix tuning."""

    keys: torch.Tensor
    values: torch.Tensor
    peft_type = PEFT_TYPE
    feeds_start_tokens = True
    virtual_start_tokens = 0
    covers = frozenset({"prefix.prefix_keys", "prefix.prefix_values"})

    def config(self, lm):
        from peft import PrefixTuningConfig, TaskType

        layers, heads, length, head_dim = self.keys.shape  # sizes of the cache itself (fewer heads under GQA)
        return PrefixTuningConfig(task_type=TaskType.CAUSAL_LM, num_virtual_tokens=length, num_layers=layers,
                                  num_attention_heads=heads, token_dim=heads * head_dim, prefix_projection=False,
                                  num_transformer_submodules=1)

    def weights(self) -> torch.Tensor:
        return prefix_to_peft(self.keys, self.values)

    def write(self, peft_model) -> None:
        copy_checked(peft_model.prompt_encoder["default"].embedding.weight, self.weights(), "prompt_embeddings")

    def describe(self) -> str:
        layers, heads, length, head_dim = self.keys.shape
        return f"PREFIX_TUNING, {length} virtual tokens x {layers} layers"


def form_of(model, method_cfg, tokenizer, start_tokens_in_prompt: bool = False) -> PrefixForm:
    """The trained prefix as a PrefixForm (a prefix precedes everything: no placement to convert)."""
    prefix = model.prefix
    return PrefixForm(prefix.prefix_keys.detach().cpu().clone(), prefix.prefix_values.detach().cpu().clone())


def prefix_to_peft(keys: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """(layers, heads, P, head_dim) keys and values -> PEFT's (P, layers * 2 * heads * head_dim) table."""
    layers, heads, length, head_dim = keys.shape
    return torch.stack([keys, values], dim=1).permute(3, 0, 1, 2, 4).reshape(length, layers * 2 * heads * head_dim)


def prefix_from_peft(table: torch.Tensor, layers: int, heads: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The inverse of `prefix_to_peft`."""
    length = table.shape[0]
    kv = table.reshape(length, layers, 2, heads, -1).permute(1, 2, 3, 0, 4)  # (layers, 2, heads, P, head_dim)
    return kv[:, 0].contiguous(), kv[:, 1].contiguous()


def load(model, method_cfg, tokenizer, config, weights: dict, manifest: dict | None) -> None:
    """Overwrite `model.prefix` with the adapter's keys/values, after checking length and sizes."""
    table = table_of(weights)
    layers, heads, length, head_dim = model.prefix.prefix_keys.shape
    if table.ndim != 2 or table.shape[0] != method_cfg.prompt_length:
        raise ConfigError(f"{KEY}: the adapter holds {table.shape[0]} virtual tokens; set "
                          f"method.prompt_length={table.shape[0]}")
    if table.shape[1] != layers * 2 * heads * head_dim:
        raise ConfigError(f"{KEY}: the adapter's prefix has {table.shape[1]} values per virtual token; this model "
                          f"needs {layers} layers x 2 x {heads * head_dim} = {layers * 2 * heads * head_dim}")
    keys, values = prefix_from_peft(table, layers, heads)
    with torch.no_grad():
        model.prefix.prefix_keys.copy_(keys.to(model.prefix.prefix_keys.device))
        model.prefix.prefix_values.copy_(values.to(model.prefix.prefix_values.device))
