"""Load any Hugging Face causal LM (XGLM first; BLOOM, mGPT, Llama, Qwen, Gemma, ... work the same way; their
quirks come from models/architectures.py)."""

from __future__ import annotations

import os

import torch

from xlpt.errors import ConfigError
from xlpt.models.hub_access import local_files_only
from xlpt.models.tokenizer import load_tokenizer

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device {device!r} requested but CUDA is not available")
    return torch.device(device)


def load_causal_lm(name_or_path: str | os.PathLike, dtype: str = "float32", device: str = "auto"):
    """Returns (model, tokenizer). The tokenizer is checked (see models.tokenizer) and right-padded."""
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # per-shard bars drown our own progress output
    if dtype not in DTYPES:
        raise ConfigError(f"dtype {dtype!r} is not one of {', '.join(DTYPES)}")
    tokenizer = load_tokenizer(name_or_path)
    try:
        model = AutoModelForCausalLM.from_pretrained(str(name_or_path), dtype=DTYPES[dtype],
                                                     local_files_only=local_files_only(str(name_or_path)))
    except (OSError, ValueError) as err:
        raise ConfigError(f"cannot load model {str(name_or_path)!r}: {' '.join(str(err).split())}") from err
    from xlpt.models.architectures import architecture, check_start_tokens

    check_start_tokens(architecture(model), tokenizer, str(name_or_path))  # Gemma without BOS: one line
    if len(tokenizer) > model.get_input_embeddings().num_embeddings:
        raise ConfigError(f"{name_or_path}: tokenizer has {len(tokenizer)} entries but the model only "
                          f"{model.get_input_embeddings().num_embeddings} embeddings")
    return model.to(resolve_device(device)), tokenizer


def count_parameters(module: torch.nn.Module) -> tuple[int, int]:
    """(trainable, total), counting shared (tied) tensors once."""
    seen, trainable, total = set(), 0, 0
    for param in module.parameters():
        if id(param) in seen:
            continue
        seen.add(id(param))
        total += param.numel()
        trainable += param.numel() if param.requires_grad else 0
    return trainable, total


def max_positions(name_or_path: str) -> int | None:
    """The longest sequence the model's position scheme supports, from its config alone (no weights);
    None when it has no fixed limit (ALiBi models such as BLOOM) or the config cannot be read."""
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(str(name_or_path), local_files_only=local_files_only(str(name_or_path)))
    except (OSError, ValueError):
        return None  # load_causal_lm reports an unloadable model in its own words
    for key in ("max_position_embeddings", "n_positions", "max_sequence_length"):
        value = getattr(config, key, None)
        if isinstance(value, int) and value > 0:
            return value
    return None


def check_positions(cfg) -> None:
    """Fail before loading weights when text + soft prompt cannot fit the model's positions."""
    limit = max_positions(cfg.model.name)
    prompt = cfg.method_record.input_positions(cfg.method)  # the method's own count (prompt_length or 0)
    if limit is not None and cfg.data.max_length + prompt > limit:
        raise ConfigError(f"data.max_length={cfg.data.max_length} + method.prompt_length={prompt} = "
                          f"{cfg.data.max_length + prompt} positions, but {cfg.model.name} has {limit}; lower one of them")
