"""LoRA (Hu et al., 2021) through PEFT: the model is frozen; low-rank updates B·A on chosen Linear layers
train (implementation in `adapter.py`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from xlpt.methods.base import Method, MethodConfig, PlannerTerms, adapter_start, lazy


class LoraConfig(MethodConfig):
    name: Literal["lora"] = "lora"
    lora_r: int = Field(8, ge=1, le=4096)
    """Rank r of each update B·A (adds r * (in + out) weights per adapted Linear layer)."""
    lora_alpha: int = Field(16, ge=1)
    """Scale: the update is multiplied by lora_alpha / lora_r."""
    lora_dropout: float = Field(0.0, ge=0, lt=1)
    """Dropout on the adapter's input during training."""
    lora_targets: str = Field("auto", min_length=1)
    """auto (the architecture table's targets for the model's type, models/architectures.py) | comma-separated
    names of the Linear (or GPT-2 style Conv1D) layers to adapt. Each must match at least one layer of the model
    (checked when the model is built)."""
    init_from: str | None = Field(None, min_length=1, exclude_if=lambda value: value is None)
    """A PEFT adapter folder (a LORA adapter_config.json + adapter_model.safetensors, e.g. written by `xlpt
    export`) to start from instead of B = 0; its sizes must match this section's. A task head saved beside it by
    `xlpt export` (xlpt_head.safetensors) starts the head. Checked and logged (with its SHA-256) when training
    starts; left out of config.yaml when empty."""


def targets(method_cfg, model_type: str | None = None) -> list[str]:
    """The layer names LoRA adapts: `lora_targets` as given, or the architecture table's for `auto`."""
    if method_cfg.lora_targets.strip() == "auto":
        from xlpt.models.architectures import architecture

        return list(architecture(model_type).lora_targets)
    return [name.strip() for name in method_cfg.lora_targets.split(",") if name.strip()]


def planner_terms(method_cfg, shape) -> PlannerTerms:
    """r * (in + out) weights per adapted matrix per layer; autograd keeps the adapted matrices' inputs."""
    names = targets(method_cfg, getattr(shape, "model_type", None))
    adapted = [(n, i, o) for n, i, o in shape.linear_shapes if any(n == t or n.endswith("." + t) for t in names)]
    return PlannerTerms(added=shape.layers * sum(method_cfg.lora_r * (i + o) for _, i, o in adapted), backprop=True,
                        adapted=tuple(n for n, *_ in adapted))


METHOD = Method(
    name="lora", display_name="LoRA", config=LoraConfig,
    summary="LoRA adapters on the named Linear layers (via PEFT), model frozen",
    prepare=lazy("xlpt.methods.lora.adapter:prepare"), default_learning_rate=5e-4,
    trained_parts="LoRA adapters (+ the task head, if any)", start_from=adapter_start,
    peft="xlpt.methods.lora.peft",
    planner_terms=planner_terms,
)
