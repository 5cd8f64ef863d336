"""Every model preset in configs/models/ loads through the config loader, names a model whose published shape
xlpt knows (models/published.py, what the planner sizes it by offline), of a type the architecture table has,
and that shape is self-consistent: the parameters it implies are the published count (within 2.5%), the
heads divide the width, the tied-embedding flag agrees with the table."""

from __future__ import annotations

from pathlib import Path

import pytest

from xlpt.config import load_config
from xlpt.models.architectures import ARCHITECTURES, text_config
from xlpt.models.published import PUBLISHED

PRESETS = sorted((Path(__file__).resolve().parents[2] / "configs" / "models").glob("*.yaml"))
REQUIRED = {  # the list: every one has a preset
    "facebook/xglm-564M", "facebook/xglm-1.7B", "facebook/xglm-2.9B", "facebook/xglm-4.5B", "facebook/xglm-7.5B",
    "bigscience/bloom-560m", "bigscience/bloom-1b1", "bigscience/bloom-1b7", "bigscience/bloom-3b",
    "bigscience/bloom-7b1", "ai-forever/mGPT", "meta-llama/Llama-3.2-1B", "meta-llama/Llama-3.2-3B",
    "Qwen/Qwen2.5-0.5B", "Qwen/Qwen2.5-1.5B", "Qwen/Qwen3-0.6B-Base", "Qwen/Qwen3-1.7B-Base",
    "google/gemma-3-1b-pt", "google/gemma-3-4b-pt", "utter-project/EuroLLM-1.7B",
}


def test_every_required_model_has_a_preset():
    names = {load_config(path).model.name for path in PRESETS}
    assert REQUIRED <= names, sorted(REQUIRED - names)


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.stem)
def test_a_preset_loads_and_its_shape_is_self_consistent(path):
    from transformers import AutoConfig

    from xlpt.sweeps.planner import KNOWN_MODELS, shape_of

    cfg = load_config(path)
    published = PUBLISHED[cfg.model.name]
    assert published.model_type in ARCHITECTURES and cfg.model.name in KNOWN_MODELS
    config = AutoConfig.for_model(published.model_type, **published.sizes)
    shape = shape_of(config, cfg.model.name)
    assert abs(shape.params / published.parameters - 1) < 0.025, (shape.params, published.parameters)
    text = text_config(config)
    heads = next(getattr(text, k) for k in ("attention_heads", "num_attention_heads", "n_head") if hasattr(text, k))
    head_dim = getattr(text, "head_dim", None) or shape.d_model // heads
    assert head_dim * heads == shape.d_model or getattr(text, "head_dim", None), "heads must divide the width"
    kv = getattr(text, "num_key_value_heads", None) or heads
    assert heads % kv == 0
    row = ARCHITECTURES[published.model_type]
    assert shape.tied_embeddings == row.tied(config)
