"""PEFT forms: how a method's trained parameters are written as a PEFT adapter, and read back.

A form belongs to its method (`methods/<m>/peft.py`, named by the method record's `peft`); export/ only
asks the record for it, never guesses the method from what is attached to the model:

    prompt_tuning  soft prompt `prompt.weight` (n, d)             <-> PROMPT_TUNING `prompt_embeddings` (n [+k], d)
    prefix_tuning  `prefix.prefix_keys` / `prefix_values`         <-> PREFIX_TUNING `prompt_embeddings`
    lora           `backbone.lm.<module>.lora_A/B.default.weight` <-> LORA `base_model.model.<module>.lora_A/B.weight`

A method's peft module defines `PEFT_TYPE`, `form_of(model, method_cfg, tokenizer, start_tokens_in_prompt)`
and `load(model, method_cfg, tokenizer, peft_config, weights, manifest)`. A form keeps copies of the tensors
it needs (so the task model can be freed before the PEFT model is built) and has: `peft_type`, `covers`
(the task model's parameter names it holds), `feeds_start_tokens`, `virtual_start_tokens`, `config(lm)`
(the PEFT config), `write(peft_model)` and `describe()`. Each is checked against PEFT itself by tests/export
and tests/quirks. This module holds what the forms share.
"""

from __future__ import annotations

from xlpt.errors import ConfigError

KEY = "method.init_from"
"""The setting adapter import errors name."""


def form_of(model, cfg, tokenizer, start_tokens_in_prompt: bool = False):
    """The PEFT form of a trained task model; ConfigError for what PEFT cannot hold.

    Everything trainable must be accounted for by the form or the head, so nothing is dropped silently."""
    record = cfg.method_record
    refuse_without_form(record)
    form = record.peft_module().form_of(model, cfg.method, tokenizer, start_tokens_in_prompt)
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    left = trainable - set(form.covers) - set(head_state(model))
    if left:
        raise ConfigError(f"cannot export: trainable tensors {sorted(left)[:3]} have no PEFT form")
    return form


def refuse_without_form(record, where: str = "") -> None:
    """One line for a method PEFT cannot hold: nothing trained, every weight trained, or no adapter form."""
    method = f"{where}method {record.name}"
    if not record.trains:
        raise ConfigError(f"{method} trains nothing, so there is no adapter to export")
    if record.updates_all_weights:
        raise ConfigError(f"{method} changes every weight of the model; a PEFT adapter holds added parameters only: "
                          "use --format hf for a Hugging Face model folder (checkpoint/best.safetensors has the whole "
                          "trained state)")
    if record.peft is None:
        raise ConfigError(f"{method} trains {record.trained_parts}: PEFT has no adapter form for that "
                          "(checkpoint/best.safetensors has the trained tensors)")


def head_state(model) -> dict:
    """The trainable tensors of the task head under their xlpt names (`head.weight`, ...); empty for a verbalizer."""
    return {f"head.{name}": p.detach().cpu().clone() for name, p in model.head.named_parameters() if p.requires_grad}


def decoder_sizes(lm) -> dict[str, int]:
    """The sizes PEFT's prompt-learning configs need, read from the model itself (PEFT reads config.to_dict(),
    where XGLM calls its head count `attention_heads`, so PEFT cannot find it alone)."""
    config = lm.config
    return {"token_dim": lm.get_input_embeddings().embedding_dim, "num_layers": config.num_hidden_layers,
            "num_attention_heads": config.num_attention_heads}


def start_token_ids(tokenizer) -> list[int]:
    from xlpt.tasks.word_alignment import start_ids

    return start_ids(tokenizer)


def table_of(weights: dict, name: str = "prompt_embeddings"):
    """A prompt-learning adapter's table, or one line saying it is missing."""
    if name not in weights:
        raise ConfigError(f"{KEY}: the adapter's weights have no {name!r} (found {sorted(weights)[:3]})")
    return weights[name].float()


def copy_checked(target, value, name: str) -> None:
    """Copy a run's tensor into PEFT's, refusing a shape PEFT did not expect (a layout error)."""
    import torch

    if tuple(target.shape) != tuple(value.shape):
        raise ConfigError(f"{name}: PEFT expects shape {tuple(target.shape)}, the run has {tuple(value.shape)}")
    with torch.no_grad():
        target.copy_(value.to(target.device, target.dtype))
