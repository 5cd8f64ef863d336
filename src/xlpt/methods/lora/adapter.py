"""LoRA (Hu et al., 2021) through PEFT, applied in place: the model is frozen; low-rank updates B·A on chosen
projection layers train.

Targets. `method.lora_targets=auto` (the default) takes the architecture table's targets for the model's type
(models/architectures.py: every attention and feed-forward projection, e.g. XGLM's q_proj, k_proj, v_proj,
out_proj, fc1, fc2; GPT-2's c_attn, c_proj, c_fc); an explicit comma-separated list names them instead. Each
adapted layer W (out x in) gains A (r x in) and B (out x r), so it adds r * (in + out) trainable weights; B
starts at zero, so the adapted model computes exactly what the base model does until the first update.

Layers may be nn.Linear or transformers' Conv1D (GPT-2, mGPT): Conv1D stores its weight transposed
(in x out), which PEFT handles when told `fan_in_fan_out=True`; xlpt sets it whenever a target is a Conv1D.

The adapters are injected *in place* (`peft.inject_adapter_in_model`): the targeted modules are swapped for
PEFT's LoRA layers inside the existing module tree. No PeftModel wrapper, because ours feeds the decoder
through `inputs_embeds` with explicit position ids (a PEFT wrapper would drop them), and `Backbone.lm` /
`Backbone.decoder` keep pointing at the same, now adapted, modules.
"""

from __future__ import annotations

import torch
from peft import LoraConfig, inject_adapter_in_model
from peft.tuners.tuners_utils import cast_adapter_dtype
from torch import nn
from transformers.pytorch_utils import Conv1D

from xlpt.errors import ConfigError


def _matches(name: str, target: str) -> bool:
    return name == target or name.endswith("." + target)


def target_modules(lm: nn.Module, spec: str) -> list[str]:
    """The layers to adapt: the architecture table's for `auto`, else the comma-separated names, each checked
    to name at least one Linear or Conv1D layer of `lm`.

    PEFT matches a target by the end of a module's dotted name and silently ignores targets that match
    nothing as long as one other target matches; a typo would then quietly shrink the adapter."""
    from xlpt.models.architectures import architecture, projection_names

    if spec.strip() == "auto":
        targets = list(architecture(lm).lora_targets)
        source = f"the architecture table's targets for {getattr(lm.config, 'model_type', '?')}"
    else:
        targets, source = [name.strip() for name in spec.split(",") if name.strip()], "method.lora_targets"
    if not targets:
        raise ConfigError(f"{source}: no layers to adapt; set method.lora_targets to some of this model's "
                          f"Linear/Conv1D layers: {', '.join(projection_names(lm))}")
    names = [name for name, module in lm.named_modules() if isinstance(module, (nn.Linear, Conv1D))]
    missing = [t for t in targets if not any(_matches(n, t) for n in names)]
    if missing:
        raise ConfigError(f"{source}: {', '.join(missing)} match no Linear or Conv1D layer of this model; "
                          f"its Linear/Conv1D layers are named: {', '.join(projection_names(lm))}")
    return targets


def scoped(lm: nn.Module, targets: list[str]) -> list[str]:
    """The targets as full module names under the architecture's LoRA scope (a multimodal model's text decoder:
    Gemma-3 4B's vision tower has q_proj too), or unchanged when the architecture has no scope."""
    from xlpt.models.architectures import architecture

    scope = architecture(lm).lora_scope
    if scope is None:
        return targets
    return [name for name, module in lm.named_modules() if isinstance(module, (nn.Linear, Conv1D))
            and f".{scope}." in f".{name}." and any(_matches(name, t) for t in targets)]


def uses_conv1d(lm: nn.Module, targets: list[str]) -> bool:
    """True when a target is a GPT-2-style Conv1D (weight stored in x out: PEFT needs fan_in_fan_out)."""
    return any(isinstance(module, Conv1D) and any(_matches(name, t) for t in targets)
               for name, module in lm.named_modules())


def prepare(task_model, cfg, tokenizer) -> None:
    method = cfg.method  # a LoraConfig: validated (r >= 1, ...) when the run config was read
    lm = task_model.backbone.lm
    targets = scoped(lm, target_modules(lm, method.lora_targets))
    config = LoraConfig(r=method.lora_r, lora_alpha=method.lora_alpha, lora_dropout=method.lora_dropout,
                        target_modules=targets, bias="none", fan_in_fan_out=uses_conv1d(lm, targets))
    task_model.backbone.requires_grad_(False)
    # A is drawn at random (B is zero): seed it from the run seed, so the same config gives the same start
    # without disturbing the global random stream the rest of the run relies on.
    device = next(lm.parameters()).device
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(cfg.train.seed)
        inject_adapter_in_model(config, lm)
    # Adapters take the base weights' dtype; keep them float32 on a bf16/fp16 model, as the soft prompt and
    # prefix are (PEFT's get_peft_model does the same; its LoRA layers cast inputs to the adapter dtype).
    cast_adapter_dtype(lm, adapter_name="default")
    # inject_adapter_in_model already leaves only lora_ weights trainable inside `lm`; the head (if it has
    # parameters) was never touched and keeps training.
