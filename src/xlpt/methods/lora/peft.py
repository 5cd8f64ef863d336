"""LoRA's PEFT form: the run's LoRA layers <-> a PEFT LORA adapter (`base_model.model.<module>.lora_A/B.weight`).

xlpt injects PEFT's own LoRA layers into the model in place (adapter.py), so the modules and their names
are PEFT's: export copies the weights name for name into a PeftModel built with the same LoraConfig, import
loads them with PEFT's own `set_peft_model_state_dict`, every tensor accounted for. Options that change what
an adapter computes and that xlpt's LoRA lacks (DoRA, rsLoRA, biases, per-layer ranks, ...) are refused.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch

from xlpt.errors import ConfigError
from xlpt.export.forms import KEY, copy_checked

PEFT_TYPE = "LORA"
UNSUPPORTED_LORA = ("use_dora", "use_rslora", "bias", "fan_in_fan_out", "rank_pattern", "alpha_pattern",
                    "layers_to_transform", "modules_to_save", "lora_bias", "trainable_token_indices")
"""LoRA options that change what the adapter computes and that xlpt's LoRA does not have: each must be off, or
as xlpt's own injection set it (PEFT sets fan_in_fan_out for GPT-2's Conv1D layers)."""
OFF = (None, False, "none", {}, [])


@dataclass
class LoraForm:
    """LoRA layers (already PEFT's) as a PEFT LoRA adapter with the LoraConfig they were injected with."""

    lora_config: object
    tensors: dict[str, torch.Tensor]
    """Module-tree names inside the LM (`model.layers.0.self_attn.q_proj.lora_A.default.weight`) -> tensor."""
    peft_type = PEFT_TYPE
    feeds_start_tokens = True
    virtual_start_tokens = 0

    @property
    def covers(self) -> set[str]:
        return {f"backbone.lm.{name}" for name in self.tensors}

    def config(self, lm):
        config = copy.deepcopy(self.lora_config)
        config.task_type = "CAUSAL_LM"
        config.inference_mode = False
        return config

    def write(self, peft_model) -> None:
        inner = peft_model.base_model.model  # the LM with PEFT's LoRA layers, as in xlpt
        params = {name: p for name, p in inner.named_parameters() if "lora_" in name}
        missing, unexpected = params.keys() - self.tensors.keys(), self.tensors.keys() - params.keys()
        if missing or unexpected:
            raise ConfigError(f"the PEFT LoRA model and the run's LoRA layers differ: PEFT has {sorted(missing)[:3]} "
                              f"that the run lacks, the run has {sorted(unexpected)[:3]} that PEFT lacks")
        for name, param in params.items():
            copy_checked(param, self.tensors[name], name)

    def describe(self) -> str:
        return f"LORA r={self.lora_config.r}, alpha={self.lora_config.lora_alpha} on {', '.join(_modules(self.tensors))}"


def _modules(names) -> list[str]:
    """The adapted modules' leaf names (`q_proj`, ...) of LoRA tensor names."""
    return sorted({name.split(".lora_")[0].rsplit(".", 1)[-1] for name in names if ".lora_" in name})


def form_of(model, method_cfg, tokenizer, start_tokens_in_prompt: bool = False) -> LoraForm:
    """The run's LoRA layers (their tensors and the LoraConfig they were injected with) as a LoraForm."""
    lm = model.backbone.lm
    tensors = {name: p.detach().cpu().clone() for name, p in lm.named_parameters() if "lora_" in name}
    if not tensors:
        raise ConfigError("this LoRA run's model holds no LoRA layers (was the checkpoint made by another method?)")
    return LoraForm(lm.peft_config["default"], tensors)


def load(model, method_cfg, tokenizer, config, weights: dict, manifest: dict | None) -> None:
    """Load the adapter's LoRA weights into the run's LoRA layers, after checking its options, rank, scale
    and adapted modules against the run's settings."""
    from peft.utils import set_peft_model_state_dict

    own = model.backbone.lm.peft_config["default"]  # as xlpt injected it (GPT-2's Conv1D: fan_in_fan_out=True)
    for option in UNSUPPORTED_LORA:
        value, ours = getattr(config, option, None), getattr(own, option, None)
        if value not in OFF and value != ours:
            raise ConfigError(f"{KEY}: the adapter uses LoRA option {option}={value!r}, which xlpt's LoRA does not "
                              f"have here ({option}={ours!r})")
    for option, key in (("r", "lora_r"), ("lora_alpha", "lora_alpha")):
        if getattr(config, option) != getattr(method_cfg, key):
            raise ConfigError(f"{KEY}: the adapter has {option}={getattr(config, option)}; set "
                              f"method.{key}={getattr(config, option)}")
    result = set_peft_model_state_dict(model.backbone.lm, weights, adapter_name="default")
    missing = [name for name in result.missing_keys if "lora_" in name]
    unexpected = list(result.unexpected_keys)
    if missing or unexpected:
        raise ConfigError(f"{KEY}: the adapter adapts {', '.join(_modules(weights))} (missing here: {missing[:2]}, "
                          f"not in this run: {unexpected[:2]}); set method.lora_targets={','.join(_modules(weights))}")
