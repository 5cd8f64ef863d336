"""The architecture table's claims hold for every model type xlpt tests, on a tiny random model of that type
with a tokenizer of its family trained here (models/tiny_architectures.py): LoRA auto targets exist, are
Linear/Conv1D and inject; tied embeddings, the embedding factor and the start token are what the table says;
`Backbone` reproduces the model's own forward (embeddings in, logits out: Gemma's normalizer, Gemma-2's
soft-capping); prefix tuning's cache reaches every layer. Unknown types fall back with a notice, and what a
type cannot do is one line. (Training every method on every type is tests/quirks/.)"""

from __future__ import annotations

import inspect
import logging
import math
import shutil

import pytest
import torch
from torch import nn
from transformers.pytorch_utils import Conv1D

from xlpt.config import load_config
from xlpt.errors import ConfigError
from xlpt.methods.lora.adapter import target_modules
from xlpt.models.architectures import ARCHITECTURES, architecture, decoder_projection_names
from xlpt.models.attention import attention_in_use, use_attention
from xlpt.models.backbone import Backbone
from xlpt.models.build import load_task_model
from xlpt.models.loading import load_causal_lm
from xlpt.models.tiny_architectures import TINY_MODEL_TYPES, build_tiny_architecture

TEXTS = ["the cat sleeps on the chair", "a house"]


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """One tiny model folder per type, built once for the module (about 2 s in all)."""
    root = tmp_path_factory.mktemp("architectures")
    return {kind: build_tiny_architecture(kind, root / kind) for kind in TINY_MODEL_TYPES}


@pytest.fixture(scope="module")
def loaded(folders):
    cache = {}

    def get(kind):
        if kind not in cache:
            lm, tokenizer = load_causal_lm(folders[kind], device="cpu")
            cache[kind] = lm.eval(), tokenizer, Backbone(lm)
        return cache[kind]
    return get


@pytest.mark.parametrize("kind", TINY_MODEL_TYPES)
def test_every_tested_type_has_a_row_and_its_targets_are_every_projection(kind, loaded):
    lm, _, backbone = loaded(kind)
    row = architecture(lm)
    assert row.known and row.model_type == kind and backbone.architecture.model_type == kind
    assert set(row.lora_targets) == set(decoder_projection_names(lm))  # attention and feed-forward, all of them
    for target in row.lora_targets:
        hits = [m for name, m in lm.named_modules() if name.endswith("." + target)]
        assert hits and all(isinstance(m, (nn.Linear, Conv1D)) for m in hits), target


@pytest.mark.parametrize("kind", TINY_MODEL_TYPES)
def test_tied_embeddings_and_the_embedding_factor_are_what_the_table_says(kind, loaded):
    lm, _, backbone = loaded(kind)
    row = architecture(lm)
    tied = lm.get_output_embeddings().weight is lm.get_input_embeddings().weight
    assert row.tied(lm.config) == tied
    measured = backbone._module_scale() * backbone.embed_multiplier
    assert math.isclose(row.scale(lm.config), measured, rel_tol=1e-4), (row.embedding_scale, measured)
    assert backbone.architecture == row  # the check found nothing to correct
    assert (row.scale(lm.config) != 1.0) == (kind in {"xglm", "gemma", "gemma2", "gemma3_text"})


@pytest.mark.parametrize("kind", TINY_MODEL_TYPES)
def test_the_start_token_is_the_family_s(kind, loaded):
    lm, tokenizer, _ = loaded(kind)
    row = architecture(lm)
    ids = tokenizer(TEXTS[0]).input_ids
    starts = len(tokenizer("").input_ids)
    if row.start_token == "none":
        assert starts == 0 and ids == tokenizer(TEXTS[0], add_special_tokens=False).input_ids
    else:
        expected = tokenizer.bos_token_id if row.start_token == "bos" else tokenizer.eos_token_id
        assert starts == 1 and ids[0] == expected


@pytest.mark.parametrize("kind", TINY_MODEL_TYPES)
def test_backbone_reproduces_the_model_s_own_forward(kind, loaded):
    """Embeddings via Backbone.embed + the decoder give the model's hidden states; Backbone.logits gives its
    logits (Gemma-2's soft-capping included) and the verbalizer's label-word rows are the same columns."""
    lm, tokenizer, backbone = loaded(kind)
    ids = torch.tensor([tokenizer(TEXTS[0]).input_ids])
    mask = torch.ones_like(ids)
    with torch.no_grad():
        own = lm(input_ids=ids, attention_mask=mask, output_hidden_states=True)
        hidden = backbone.hidden_states(backbone.embed(ids), mask)
        assert torch.allclose(hidden, own.hidden_states[-1], atol=1e-5)
        assert torch.allclose(backbone.logits(hidden), own.logits, atol=1e-4)
        weight, bias = backbone.output_rows(torch.tensor([5, 9]))
        rows = backbone.finish_logits(hidden @ weight.T + (0 if bias is None else bias))
        assert torch.allclose(rows, own.logits[..., [5, 9]], atol=1e-4)


@pytest.mark.parametrize("kind", TINY_MODEL_TYPES)
def test_the_preferred_kernel_and_the_cache_keyword(kind, loaded):
    lm, _, backbone = loaded(kind)
    row = architecture(lm)
    assert row.cache_argument in inspect.signature(backbone.decoder.forward).parameters
    assert use_attention(lm, "sdpa") == attention_in_use(lm) == ("eager" if row.attention == "eager" else "sdpa")


@pytest.mark.parametrize("kind", TINY_MODEL_TYPES)
def test_a_prefix_cache_reaches_every_layer(kind, loaded):
    """Prefix tuning's start: the text after a cache of P vectors' keys/values equals the text read after
    the P vectors themselves (rotary, ALiBi, learned and sinusoidal positions alike)."""
    from xlpt.methods.prefix_tuning.deep_prefix import DeepPrefix, initial_key_values

    lm, tokenizer, backbone = loaded(kind)
    assert architecture(lm).supports_prefix
    vectors = backbone.embed(torch.arange(20, 23))
    prefix = DeepPrefix(*initial_key_values(backbone, vectors))
    ids = torch.tensor([tokenizer(TEXTS[0]).input_ids])
    length, total = ids.shape[1], ids.shape[1] + 3
    with torch.no_grad():
        cached = backbone.hidden_states(backbone.embed(ids), torch.ones(1, total, dtype=torch.long),
                                        torch.arange(3, total)[None], past_key_values=prefix.cache(1, torch.float32))
        plain = backbone.hidden_states(torch.cat([vectors[None], backbone.embed(ids)], 1),
                                       torch.ones(1, total, dtype=torch.long), torch.arange(total)[None])
    assert torch.allclose(cached, plain[:, 3:], atol=1e-4) and cached.shape[1] == length


@pytest.mark.parametrize("kind", TINY_MODEL_TYPES)
def test_lora_auto_injects_on_the_table_s_targets(kind, folders):
    """The default `method.lora_targets=auto` adapts every target; at B = 0 nothing changes; merging the
    update reproduces the adapted output (for GPT-2's Conv1D this needs PEFT's fan_in_fan_out)."""
    cfg = load_config(None, [f"model.name={folders[kind]}", "method.name=lora"])
    model, tokenizer = load_task_model(cfg, device="cpu")
    lm = model.backbone.lm
    adapted = {name for name, m in lm.named_modules() if hasattr(m, "lora_A")}
    fresh, _ = load_causal_lm(folders[kind], device="cpu")
    expected = {name for name, m in fresh.named_modules()
                if isinstance(m, (nn.Linear, Conv1D)) and name.rsplit(".", 1)[-1] in architecture(lm).lora_targets}
    assert adapted == expected and adapted
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n or n.startswith("head.") for n in trainable)
    ids = torch.tensor([tokenizer(TEXTS[0]).input_ids])
    model.eval()
    with torch.no_grad():
        base = model.hidden(ids, torch.ones_like(ids))
        for name, m in lm.named_modules():
            if name in adapted:
                torch.nn.init.normal_(m.lora_B["default"].weight, std=0.5)
        moved = model.hidden(ids, torch.ones_like(ids))
        for name, m in lm.named_modules():
            if name in adapted:
                m.merge()
        merged = model.hidden(ids, torch.ones_like(ids))
    assert not torch.allclose(base, moved, atol=1e-3)
    assert torch.allclose(moved, merged, atol=1e-4)


def test_an_unmatched_lora_target_lists_the_conv1d_names(loaded):
    lm, _, _ = loaded("gpt2")
    with pytest.raises(ConfigError) as err:
        target_modules(lm, "q_proj,c_attn")
    message = str(err.value)
    assert "\n" not in message and "q_proj" in message and "c_attn, c_fc, c_proj" in message


def test_an_unknown_type_gets_a_generic_row_with_a_notice(tmp_path, caplog):
    """OPT is not in the table: its targets come from inspection, the scale is measured, and a notice says so."""
    from transformers import AutoConfig, AutoModelForCausalLM

    assert "opt" not in ARCHITECTURES
    config = AutoConfig.for_model("opt", vocab_size=120, hidden_size=32, ffn_dim=64, num_hidden_layers=2,
                                  num_attention_heads=4, word_embed_proj_dim=32, max_position_embeddings=64)
    lm = AutoModelForCausalLM.from_config(config).eval()
    with caplog.at_level(logging.WARNING, logger="xlpt.models"):
        row = architecture(lm)
        backbone = Backbone(lm)
    assert not row.known and row.lora_targets == ("fc1", "fc2", "k_proj", "out_proj", "q_proj", "v_proj")
    assert "not in xlpt's architecture table" in caplog.text and "opt" in row.notice
    assert backbone.architecture.embedding_scale == 1.0  # measured, replacing "measure"
    assert target_modules(lm, "auto") == list(row.lora_targets)


def test_prefix_tuning_on_a_model_without_a_key_value_cache_is_one_line():
    from transformers import AutoConfig, AutoModelForCausalLM

    from xlpt.methods.prefix_tuning.deep_prefix import initial_key_values

    config = AutoConfig.for_model("mamba", vocab_size=120, hidden_size=32, state_size=4, num_hidden_layers=2)
    backbone = Backbone(AutoModelForCausalLM.from_config(config).eval())
    with pytest.raises(ConfigError) as err:
        initial_key_values(backbone, torch.zeros(3, 32))
    message = str(err.value)
    assert "\n" not in message and "'mamba'" in message and "prefix tuning" in message


def test_a_gemma_tokenizer_without_bos_is_refused_in_one_line(folders, tmp_path):
    """Gemma was trained with <bos> first; a tokenizer that adds none would silently degrade it."""
    folder = shutil.copytree(folders["gemma"], tmp_path / "gemma")
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(folders["qwen2"] / name, folder / name)  # same vocabulary size, no BOS
    with pytest.raises(ConfigError) as err:
        load_causal_lm(folder, device="cpu")
    message = str(err.value)
    assert "\n" not in message and "gemma" in message and "BOS" in message
