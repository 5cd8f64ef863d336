"""How each xlpt adapter is written as a PEFT adapter: one small class per PEFT type.

    PromptForm   soft prompt `prompt.weight` (n, d)            -> PROMPT_TUNING `prompt_embeddings` (n [+k], d)
    PrefixForm   `prefix.prefix_keys` / `prefix_values`        -> PREFIX_TUNING `prompt_embeddings` (P, layers*2*d)
                 (layers, heads, P, head_dim) each
    LoraForm     `backbone.lm.<module>.lora_A/B.default.weight` -> LORA `base_model.model.<module>.lora_A/B.weight`

Spaces and layouts, checked by tests/export against PEFT itself:
- Soft prompt. PEFT builds `inputs_embeds` with the model's own embedding module and puts its virtual
  tokens in front; xlpt feeds the same decoder the same kind of `inputs_embeds` (`Backbone.embed` equals
  the embedding module whenever the module applies the model's embed_scale, as XGLM's does since
  transformers 4.41). Both pass their prompt vectors to the decoder as they are, so the vectors are copied
  unchanged; only their placement can differ (see PromptForm).
- Prefix. PEFT's table holds, for each virtual token, layer 0's key, layer 0's value, layer 1's key, ...
  (`get_prompt` views it as (P, layers*2, heads, head_dim)); positions continue after the prefix in both.
- LoRA. xlpt injects PEFT's own LoRA layers into the model in place, so the modules and their names are
  PEFT's; the weights are copied name for name into a PeftModel built with the same LoraConfig.

A form is made from the trained task model (`form_of`), keeps copies of the tensors it needs (so the
task model can be freed before the PEFT model is built), and knows how the text must reach the adapter.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch

from xlpt.errors import ConfigError


@dataclass
class PromptForm:
    """A soft prompt as PEFT prompt tuning.

    `start_vectors` (k, d) are the embeddings of the tokenizer's start tokens when an `after_bos` prompt
    is converted: PEFT's virtual tokens are then `[start tokens][prompt]` and the text is fed without its
    start tokens, which reproduces xlpt's `</s> P1..Pn text` token for token and position for position."""

    vectors: torch.Tensor
    start_vectors: torch.Tensor | None = None
    peft_type = "PROMPT_TUNING"

    @property
    def virtual_start_tokens(self) -> int:
        return 0 if self.start_vectors is None else self.start_vectors.shape[0]

    @property
    def feeds_start_tokens(self) -> bool:
        """Whether the text reaches the adapter with the tokenizer's start tokens (its default)."""
        return self.start_vectors is None

    def weights(self) -> torch.Tensor:
        if self.start_vectors is None:
            return self.vectors
        return torch.cat([self.start_vectors, self.vectors])

    def config(self, lm):
        from peft import PromptTuningConfig, TaskType

        settings = decoder_sizes(lm)
        return PromptTuningConfig(task_type=TaskType.CAUSAL_LM, num_virtual_tokens=self.weights().shape[0],
                                  token_dim=settings["token_dim"], num_layers=settings["num_layers"],
                                  num_attention_heads=settings["num_attention_heads"], num_transformer_submodules=1)

    def write(self, peft_model) -> None:
        table = peft_model.prompt_encoder["default"].embedding.weight
        _copy_checked(table, self.weights(), "prompt_embeddings")

    def describe(self) -> str:
        extra = "" if self.start_vectors is None else \
            f" (the first {self.virtual_start_tokens} = the tokenizer's start tokens)"
        return f"PROMPT_TUNING, {self.weights().shape[0]} virtual tokens{extra}"


@dataclass
class PrefixForm:
    """Per-layer key/value prefixes as PEFT prefix tuning (no reparameterisation: `prefix_projection=False`)."""

    keys: torch.Tensor
    values: torch.Tensor
    peft_type = "PREFIX_TUNING"
    feeds_start_tokens = True
    virtual_start_tokens = 0

    def config(self, lm):
        from peft import PrefixTuningConfig, TaskType

        layers, heads, length, head_dim = self.keys.shape  # sizes of the cache itself (fewer heads under GQA)
        return PrefixTuningConfig(task_type=TaskType.CAUSAL_LM, num_virtual_tokens=length, num_layers=layers,
                                  num_attention_heads=heads, token_dim=heads * head_dim, prefix_projection=False,
                                  num_transformer_submodules=1)

    def weights(self) -> torch.Tensor:
        return prefix_to_peft(self.keys, self.values)

    def write(self, peft_model) -> None:
        _copy_checked(peft_model.prompt_encoder["default"].embedding.weight, self.weights(), "prompt_embeddings")

    def describe(self) -> str:
        layers, heads, length, head_dim = self.keys.shape
        return f"PREFIX_TUNING, {length} virtual tokens x {layers} layers"


@dataclass
class LoraForm:
    """LoRA layers (already PEFT's) as a PEFT LoRA adapter with the LoraConfig they were injected with."""

    lora_config: object
    tensors: dict[str, torch.Tensor]
    """Module-tree names inside the LM (`model.layers.0.self_attn.q_proj.lora_A.default.weight`) -> tensor."""
    peft_type = "LORA"
    feeds_start_tokens = True
    virtual_start_tokens = 0

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
            _copy_checked(param, self.tensors[name], name)

    def describe(self) -> str:
        modules = sorted({name.split(".lora_")[0].rsplit(".", 1)[-1] for name in self.tensors})
        return f"LORA r={self.lora_config.r}, alpha={self.lora_config.lora_alpha} on {', '.join(modules)}"


def decoder_sizes(lm) -> dict[str, int]:
    """The sizes PEFT's prompt-learning configs need, read from the model itself (PEFT reads config.to_dict(),
    where XGLM calls its head count `attention_heads`, so PEFT cannot find it alone)."""
    config = lm.config
    return {"token_dim": lm.get_input_embeddings().embedding_dim, "num_layers": config.num_hidden_layers,
            "num_attention_heads": config.num_attention_heads}


def prefix_to_peft(keys: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """(layers, heads, P, head_dim) keys and values -> PEFT's (P, layers * 2 * heads * head_dim) table."""
    layers, heads, length, head_dim = keys.shape
    return torch.stack([keys, values], dim=1).permute(3, 0, 1, 2, 4).reshape(length, layers * 2 * heads * head_dim)


def prefix_from_peft(table: torch.Tensor, layers: int, heads: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The inverse of `prefix_to_peft`."""
    length = table.shape[0]
    kv = table.reshape(length, layers, 2, heads, -1).permute(1, 2, 3, 0, 4)  # (layers, 2, heads, P, head_dim)
    return kv[:, 0].contiguous(), kv[:, 1].contiguous()


def lora_layers_present(model) -> bool:
    from peft.tuners.lora import LoraLayer

    return any(isinstance(module, LoraLayer) for module in model.backbone.lm.modules())


def head_state(model) -> dict[str, torch.Tensor]:
    """The trainable tensors of the task head under their xlpt names (`head.weight`, ...); empty for a verbalizer."""
    return {f"head.{name}": p.detach().cpu().clone() for name, p in model.head.named_parameters() if p.requires_grad}


def form_of(model, cfg, tokenizer, start_tokens_in_prompt: bool = False):
    """The PEFT form of a trained task model; ConfigError for what PEFT cannot hold.

    Everything trainable must be accounted for by the form or the head, so nothing is dropped silently."""
    record = cfg.method_record
    if not record.trains:
        raise ConfigError(f"method {cfg.method.name} trains nothing: there is no adapter to export")
    if record.updates_all_weights:
        raise ConfigError(f"method {cfg.method.name} changes every weight of the model: there is no adapter to "
                          "export (PEFT adapters hold added parameters only); use --format hf for a Hugging Face model "
                          "folder")
    if model.prompt is not None:
        form = prompt_form(model, cfg, tokenizer, start_tokens_in_prompt)
        covered = {"prompt.weight"}
    elif model.prefix is not None:
        prefix = model.prefix
        form = PrefixForm(prefix.prefix_keys.detach().cpu().clone(), prefix.prefix_values.detach().cpu().clone())
        covered = {"prefix.prefix_keys", "prefix.prefix_values"}
    elif lora_layers_present(model):
        lm = model.backbone.lm
        tensors = {name: p.detach().cpu().clone() for name, p in lm.named_parameters() if "lora_" in name}
        form = LoraForm(lm.peft_config["default"], tensors)
        covered = {f"backbone.lm.{name}" for name in tensors}
    else:
        raise ConfigError(f"method {cfg.method.name} trains only the task head: a PEFT adapter cannot hold a head "
                          "alone (checkpoint/best.safetensors has it)")
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    left = trainable - covered - set(head_state(model))
    if left:
        raise ConfigError(f"cannot export: trainable tensors {sorted(left)[:3]} have no PEFT form")
    return form


def prompt_form(model, cfg, tokenizer, start_tokens_in_prompt: bool) -> PromptForm:
    vectors = model.prompt.weight.detach().cpu().clone()
    if model.insert_at == 0:  # placement start, or a tokenizer that adds no start token: PEFT's own layout
        return PromptForm(vectors)
    if not start_tokens_in_prompt:
        raise ConfigError(
            f"this run puts its prompt after the tokenizer's start token(s) (method.prompt_position=after_bos: "
            f"{tokenizer.convert_ids_to_tokens(start_token_ids(tokenizer))} P1..P{vectors.shape[0]} text), but PEFT "
            "puts virtual tokens before every token. Export with --start-tokens-in-prompt to make the start tokens the "
            "first virtual tokens (exact when the text is then fed without its start tokens: add_special_tokens=False, "
            "lm-eval add_bos_token=False), or train with method.prompt_position=start")
    with torch.no_grad():
        ids = torch.tensor(start_token_ids(tokenizer), device=model.prompt.weight.device)
        start = model.backbone.embed(ids).float().cpu()
    return PromptForm(vectors, start)


def start_token_ids(tokenizer) -> list[int]:
    from xlpt.tasks.word_alignment import start_ids

    return start_ids(tokenizer)


def _copy_checked(target: torch.Tensor, value: torch.Tensor, name: str) -> None:
    if tuple(target.shape) != tuple(value.shape):
        raise ConfigError(f"{name}: PEFT expects shape {tuple(target.shape)}, the run has {tuple(value.shape)}")
    with torch.no_grad():
        target.copy_(value.to(target.device, target.dtype))
