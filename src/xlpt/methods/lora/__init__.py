"""LoRA (Hu et al., 2021) through PEFT: the model is frozen; low-rank updates B·A on chosen Linear layers
train (implementation in `adapter.py`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from xlpt.methods.base import HeadSettings, Method, lazy


class LoraConfig(HeadSettings):
    name: Literal["lora"] = "lora"
    lora_r: int = Field(8, ge=1, le=4096)
    """Rank r of each update B·A (adds r * (in + out) weights per adapted Linear layer)."""
    lora_alpha: int = Field(16, ge=1)
    """Scale: the update is multiplied by lora_alpha / lora_r."""
    lora_dropout: float = Field(0.0, ge=0, lt=1)
    """Dropout on the adapter's input during training."""
    lora_targets: str = Field("q_proj,k_proj,v_proj,out_proj,fc1,fc2", min_length=1)
    """Comma-separated names of the Linear layers to adapt (XGLM's names; PEFT has no default for XGLM).
    Each must match at least one layer of the model (checked when the model is built)."""
    init_from: str | None = Field(None, min_length=1, exclude_if=lambda value: value is None)
    """A PEFT adapter folder (a LORA adapter_config.json + adapter_model.safetensors, e.g. written by `xlpt
    export`) to start from instead of B = 0; its sizes must match this section's. A task head saved beside it by
    `xlpt export` (xlpt_head.safetensors) starts the head. Checked and logged (with its SHA-256) when training
    starts; left out of config.yaml when empty."""


METHOD = Method(
    name="lora", display_name="LoRA", config=LoraConfig,
    summary="LoRA adapters on the named Linear layers (via PEFT), model frozen",
    prepare=lazy("xlpt.methods.lora.adapter:prepare"), default_learning_rate=5e-4,
)
