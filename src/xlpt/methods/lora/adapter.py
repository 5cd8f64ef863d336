"""LoRA (Hu et al., 2021) through PEFT, applied in place: the model is frozen; low-rank updates B·A on chosen Linear layers train.

PEFT has no default target modules for XGLM, so they come from `method.lora_targets` (XGLM's names:
q_proj, k_proj, v_proj, out_proj in attention; fc1, fc2 in the feed-forward block). Each adapted Linear
W (out x in) gains A (r x in) and B (out x r), so it adds r * (in + out) trainable weights; B starts at
zero, so the adapted model computes exactly what the base model does until the first update.

The adapters are injected *in place* (`peft.inject_adapter_in_model`): the targeted nn.Linear modules
are swapped for PEFT's LoRA layers inside the existing module tree. No PeftModel wrapper, because ours
feeds the decoder through `inputs_embeds` with explicit position ids (a PEFT wrapper would drop them), and
`Backbone.lm` / `Backbone.decoder` keep pointing at the same, now adapted, modules.
"""

from __future__ import annotations

import torch
from peft import LoraConfig, inject_adapter_in_model
from peft.tuners.tuners_utils import cast_adapter_dtype
from torch import nn

from xlpt.errors import ConfigError


def target_modules(lm: nn.Module, spec: str) -> list[str]:
    """The comma-separated target names, each checked to name at least one Linear layer of `lm`.

    PEFT matches a target by the end of a module's dotted name and silently ignores targets that match
    nothing as long as one other target matches; a typo would then quietly shrink the adapter."""
    targets = [name.strip() for name in spec.split(",") if name.strip()]
    if not targets:
        raise ConfigError("method.lora_targets is empty; name the Linear layers to adapt (e.g. q_proj,v_proj)")
    linear_names = [name for name, module in lm.named_modules() if isinstance(module, nn.Linear)]
    missing = [t for t in targets if not any(n == t or n.endswith("." + t) for n in linear_names)]
    if missing:
        available = sorted({name.rsplit(".", 1)[-1] for name in linear_names})
        raise ConfigError(f"method.lora_targets: {', '.join(missing)} match no Linear layer of this model; "
                          f"its Linear layers are named: {', '.join(available)}")
    return targets


def prepare(task_model, cfg, tokenizer) -> None:
    method = cfg.method  # a LoraConfig: validated (r >= 1, ...) when the run config was read
    lm = task_model.backbone.lm
    config = LoraConfig(r=method.lora_r, lora_alpha=method.lora_alpha, lora_dropout=method.lora_dropout,
                        target_modules=target_modules(lm, method.lora_targets), bias="none")
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
