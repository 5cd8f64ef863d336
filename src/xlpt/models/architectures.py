"""What xlpt must know about each kind of causal LM, in one table keyed by `config.model_type`.

The pattern is PEFT's `TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING`: one row per transformers
model type, read wherever a model's quirk matters, so no other module branches on a model's name or class.
A row says:

- `lora_targets`: leaf names of the layers `method.lora_targets=auto` adapts: every projection of
  attention and feed-forward blocks (nn.Linear, or transformers' Conv1D in GPT-2 and mGPT). xlpt adapts all
  of them for every type (PEFT's defaults are q,v only, and none for XGLM) so methods compare alike across
  architectures.
- `attention`: the kernel to prefer. `sdpa` through transformers where the model has it; XGLM is
  eager-only upstream, and xlpt swaps in its own SDPA layer (models/attention.py); Gemma-2 keeps eager
  because SDPA drops its attention-logit soft-capping; BLOOM has no SDPA path.
- `start_token`: what the family's published tokenizers put before every text (`bos`, `eos` for XGLM's
  `</s>`, or `none`); `requires_start_token`: the model was trained with it and misbehaves without it
  (Gemma: a Gemma tokenizer that adds no BOS is refused at load, one line).
- `embedding_scale`: the factor between a raw embedding row and what the first layer sees: `sqrt_hidden`
  (XGLM's embed_scale when `scale_embedding`, Gemma's normalizer), a config key (Granite's
  `embedding_multiplier`, applied inside the model's forward to `inputs_embeds` too), or 1. It is
  *checked*, not trusted: `Backbone` still measures at start-up where the factor is applied and the
  measurement wins (see `check_embedding_scale`).
- `tied_embeddings`: None when it varies per checkpoint (Llama-3.2-1B ties, Llama-3-8B does not): read the
  config (`tied(config)`).
- `cache_argument`: the keyword the decoder's forward takes a key/value cache by (transformers >= 5.24:
  `cache`, before: `past_key_values`; `Backbone` confirms against the signature).
- `final_logit_softcap` / `logit_scale`: config keys of transforms the model applies to its logits after the
  LM head (Gemma-2's tanh soft-capping, Granite's division by `logits_scaling`, Cohere's `logit_scale`).
  Log-likelihoods (zero-shot, multiple choice) must see the same logits; `Backbone.finish_logits` applies them.
- `supports_prefix`: whether prefix tuning (a key/value cache of virtual tokens) can reach every layer.
  Recurrent models keep a state instead of a key/value cache: prefix tuning fails with one line naming the type.

Unknown model types get a generic row derived from the model itself (its Linear/Conv1D leaf names inside
the decoder layers, sdpa if it declares support, the scale measured) with a notice that says so.

The rows of the 14 types xlpt tests (tests/models/test_architectures.py checks each claim on a tiny
random model of the type; tests/quirks/ trains every method on them):

    type          LoRA targets (auto)                                     attention  start  scale        tied   prefix
    xglm          q_proj k_proj v_proj out_proj fc1 fc2                   xlpt-sdpa  eos    sqrt_hidden  yes    yes
    gpt2          c_attn c_proj c_fc (Conv1D)                             sdpa       none   1            yes    yes
    bloom         query_key_value dense dense_h_to_4h dense_4h_to_h       eager      none   1            yes    yes
    llama         q k v o gate up down _proj                              sdpa       bos    1            config yes
    mistral       q k v o gate up down _proj                              sdpa       bos    1            config yes
    qwen2, qwen3  q k v o gate up down _proj                              sdpa       none   1            config yes
    gemma         q k v o gate up down _proj                              sdpa       bos!   sqrt_hidden  yes    yes
    gemma2        q k v o gate up down _proj                              eager      bos!   sqrt_hidden  yes    yes (+softcap)
    gemma3_text   q k v o gate up down _proj                              sdpa       bos!   sqrt_hidden  yes    yes
    gpt_neox      query_key_value dense dense_h_to_4h dense_4h_to_h       sdpa       none   1            config yes
    phi3          qkv_proj o_proj gate_up_proj down_proj                  sdpa       none   1            config yes
    falcon        query_key_value dense dense_h_to_4h dense_4h_to_h       sdpa       none   1            config yes
    olmo2         q k v o gate up down _proj                              sdpa       none   1            config yes

Further rows: gemma3 (multimodal Gemma-3 4B+: text only, LoRA scoped to `language_model`), granite (embedding
and logit multipliers), cohere (logit scale), and the recurrent types that cannot take a prefix.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace

from xlpt.errors import ConfigError

log = logging.getLogger("xlpt.models")

START_TOKENS = ("bos", "eos", "none")


@dataclass(frozen=True)
class Architecture:
    model_type: str
    lora_targets: tuple[str, ...]
    attention: str = "sdpa"
    """sdpa | eager | xlpt-sdpa (xlpt's own SDPA layer, models/attention.py)."""
    start_token: str = "none"
    """What the family's tokenizers put before every text: bos | eos (XGLM's `</s>`) | none."""
    requires_start_token: bool = False
    embedding_scale: str | float = 1.0
    """sqrt_hidden | a config key (str) | a number: raw embedding row -> first layer input."""
    tied_embeddings: bool | None = None
    """None: per checkpoint, read `config.tie_word_embeddings`."""
    cache_argument: str = "cache"
    final_logit_softcap: str | None = None
    """Config key of a tanh soft-capping of the final logits (Gemma-2)."""
    logit_scale: tuple[str, str] | None = None
    """(config key, "divide" | "multiply") applied to the final logits (Granite, Cohere)."""
    positions: str = "rotary"
    """learned | sinusoidal | rotary | alibi (for reading; position ids are passed where the model takes them)."""
    supports_prefix: bool = True
    prefix_reason: str = ""
    lora_scope: str | None = None
    """A module-path segment LoRA targets must lie under (multimodal models: the text decoder only)."""
    known: bool = True
    notice: str = ""
    """For a generic (unknown type) record: what was guessed or measured, to log and record."""

    def scale(self, config) -> float:
        """The embedding factor this row states for `config` (1.0 when none)."""
        config = text_config(config)
        if self.embedding_scale == "sqrt_hidden":
            if self.model_type == "xglm" and not getattr(config, "scale_embedding", True):
                return 1.0
            return math.sqrt(hidden_size(config))
        if isinstance(self.embedding_scale, str):
            return float(getattr(config, self.embedding_scale, 1.0) or 1.0)
        return float(self.embedding_scale)

    def tied(self, config) -> bool:
        if self.tied_embeddings is not None:
            return self.tied_embeddings
        return bool(getattr(text_config(config), "tie_word_embeddings", False))

    def softcap(self, config) -> float | None:
        value = getattr(text_config(config), self.final_logit_softcap, None) if self.final_logit_softcap else None
        return float(value) if value else None

    def logit_factor(self, config) -> float:
        """Multiplier of the final logits (1.0 when the model applies none)."""
        if self.logit_scale is None:
            return 1.0
        key, how = self.logit_scale
        value = float(getattr(text_config(config), key, 1.0) or 1.0)
        return 1.0 / value if how == "divide" else value

    def check_prefix(self) -> None:
        """Prefix tuning needs a key/value cache in every attention layer: one line when there is none."""
        if not self.supports_prefix:
            raise ConfigError(f"prefix tuning is not supported for model type {self.model_type!r}: "
                              f"{self.prefix_reason}; use prompt_tuning or lora")


def text_config(config):
    """The text decoder's config (a multimodal config's `text_config`; the config itself otherwise)."""
    getter = getattr(config, "get_text_config", None)
    return getter() if callable(getter) else config


def hidden_size(config) -> int:
    config = text_config(config)
    for key in ("hidden_size", "d_model", "n_embd"):
        value = getattr(config, key, None)
        if isinstance(value, int):
            return value
    raise ConfigError(f"cannot find the hidden size of a {getattr(config, 'model_type', '?')} config")


LLAMA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
FUSED_QKV_TARGETS = ("query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h")
_RECURRENT = "it keeps a recurrent state, not a key/value cache a prefix can be put into"


def _row(model_type: str, lora_targets: tuple[str, ...], **fields) -> tuple[str, Architecture]:
    return model_type, Architecture(model_type, lora_targets, **fields)


ARCHITECTURES: dict[str, Architecture] = dict([
    _row("xglm", ("q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2"), attention="xlpt-sdpa",
         start_token="eos", embedding_scale="sqrt_hidden", tied_embeddings=True, positions="sinusoidal"),
    _row("gpt2", ("c_attn", "c_proj", "c_fc"), tied_embeddings=True, positions="learned"),
    _row("bloom", FUSED_QKV_TARGETS, attention="eager", tied_embeddings=True, positions="alibi"),
    _row("llama", LLAMA_TARGETS, start_token="bos"),
    _row("mistral", LLAMA_TARGETS, start_token="bos"),
    _row("qwen2", LLAMA_TARGETS),
    _row("qwen3", LLAMA_TARGETS),
    _row("gemma", LLAMA_TARGETS, start_token="bos", requires_start_token=True, embedding_scale="sqrt_hidden",
         tied_embeddings=True),
    _row("gemma2", LLAMA_TARGETS, attention="eager", start_token="bos", requires_start_token=True,
         embedding_scale="sqrt_hidden", tied_embeddings=True, final_logit_softcap="final_logit_softcapping"),
    _row("gemma3_text", LLAMA_TARGETS, start_token="bos", requires_start_token=True, embedding_scale="sqrt_hidden",
         tied_embeddings=True, final_logit_softcap="final_logit_softcapping"),
    # Gemma-3 4B and larger are multimodal: text in, the same decoder as gemma3_text; LoRA stays in the text decoder
    _row("gemma3", LLAMA_TARGETS, start_token="bos", requires_start_token=True, embedding_scale="sqrt_hidden",
         final_logit_softcap="final_logit_softcapping", lora_scope="language_model"),
    _row("gpt_neox", FUSED_QKV_TARGETS),
    _row("phi3", ("qkv_proj", "o_proj", "gate_up_proj", "down_proj")),
    _row("falcon", FUSED_QKV_TARGETS),  # alibi when config.alibi (falcon-rw), rotary otherwise
    _row("olmo2", LLAMA_TARGETS),
    # Beyond the tested 14: rows for quirks the table must know (not exercised by a tiny model here).
    _row("granite", LLAMA_TARGETS, embedding_scale="embedding_multiplier", logit_scale=("logits_scaling", "divide")),
    _row("cohere", LLAMA_TARGETS, start_token="bos", tied_embeddings=True, logit_scale=("logit_scale", "multiply")),
    *[_row(name, (), supports_prefix=False, prefix_reason=_RECURRENT, positions="none")
      for name in ("mamba", "mamba2", "falcon_mamba", "rwkv", "recurrent_gemma")],
])


def _model_type(config_or_model) -> tuple[str | None, object, object]:
    """(model_type, config, model) of a model_type string, a transformers config or a model."""
    if config_or_model is None or isinstance(config_or_model, str):
        return config_or_model, None, None
    config = getattr(config_or_model, "config", None)
    if config is not None and hasattr(config_or_model, "named_modules"):
        return getattr(config, "model_type", None), config, config_or_model
    return getattr(config_or_model, "model_type", None), config_or_model, None


def architecture(config_or_model_type, model=None) -> Architecture:
    """The row for a model type (a string, a transformers config, or a model). Unknown types get a generic row
    derived from `model` (or the model passed as the first argument) and a logged notice."""
    model_type, _, found = _model_type(config_or_model_type)
    model = model if model is not None else found
    if model_type in ARCHITECTURES:
        return ARCHITECTURES[model_type]
    return generic_architecture(model_type or "unknown", model)


def generic_architecture(model_type: str, model=None) -> Architecture:
    """A row for a type the table does not know: LoRA targets by inspection of `model` (every Linear/Conv1D
    leaf name inside its decoder layers), sdpa when the model class declares it, embedding scale measured by
    `Backbone` at start-up, prefix tuning allowed when the decoder takes a key/value cache."""
    targets = decoder_projection_names(model) if model is not None else ()
    attention = "sdpa" if model is not None and getattr(type(model), "_supports_sdpa", False) else "eager"
    supports_prefix, reason = True, ""
    if model is not None:
        import inspect

        parameters = inspect.signature(model.base_model.forward).parameters
        if not ({"cache", "past_key_values"} & set(parameters)):
            supports_prefix, reason = False, "its decoder takes no key/value cache argument"
    notice = (f"model type {model_type!r} is not in xlpt's architecture table (models/architectures.py): "
              f"LoRA auto targets found by inspection ({', '.join(targets) or 'none: the model was not given'}), "
              f"attention {attention}, embedding scale measured, start tokens as the tokenizer adds them")
    log.warning(notice)
    return Architecture(model_type, tuple(targets), attention=attention, embedding_scale="measure",
                        supports_prefix=supports_prefix, prefix_reason=reason, known=False, notice=notice)


def decoder_projection_names(model) -> tuple[str, ...]:
    """Sorted leaf names of the nn.Linear / transformers Conv1D modules inside `model`'s decoder layers
    (the LM head and anything outside the blocks left out)."""
    from torch import nn
    from transformers.modeling_layers import GradientCheckpointingLayer
    from transformers.pytorch_utils import Conv1D

    names = set()
    for layer in (m for m in model.modules() if isinstance(m, GradientCheckpointingLayer)):
        names.update(name.rsplit(".", 1)[-1] for name, module in layer.named_modules()
                     if isinstance(module, (nn.Linear, Conv1D)))
    return tuple(sorted(names))


def projection_names(model) -> list[str]:
    """Sorted leaf names of every nn.Linear / Conv1D module of `model` (for error messages)."""
    from torch import nn
    from transformers.pytorch_utils import Conv1D

    return sorted({name.rsplit(".", 1)[-1] for name, module in model.named_modules()
                   if isinstance(module, (nn.Linear, Conv1D))})


def check_start_tokens(row: Architecture, tokenizer, source: str) -> None:
    """One line when a tokenizer breaks a family's required start token (Gemma without BOS)."""
    if not row.requires_start_token:
        return
    ids = tokenizer("a", add_special_tokens=True)["input_ids"]
    if row.start_token == "bos" and (tokenizer.bos_token_id is None or not ids or ids[0] != tokenizer.bos_token_id):
        raise ConfigError(f"{source}: a {row.model_type} model needs its tokenizer to put the BOS token first "
                          f"(the model was trained with it), but this tokenizer gives {ids[:3]} for 'a'; "
                          "use the model's own tokenizer or set add_bos_token=True in its tokenizer_config.json")


def check_embedding_scale(row: Architecture, config, measured: float) -> Architecture:
    """Compare the row's embedding factor with the one `Backbone` measured; the measurement wins (logged)."""
    if row.embedding_scale == "measure":
        return replace(row, embedding_scale=measured)
    stated = row.scale(config)
    if not math.isclose(stated, measured, rel_tol=1e-3):
        log.warning("%s: the architecture table states embedding scale %.6g but the model applies %.6g; "
                    "using the measured value", row.model_type, stated, measured)
        return replace(row, embedding_scale=measured)
    return row
