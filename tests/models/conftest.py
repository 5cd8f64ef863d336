"""Fixtures of the model tests: small Llama-style, BLOOM and GPT-2 models beside the tiny XGLM."""

import pytest
import torch

from xlpt.models.tokenizer import load_tokenizer


def _config(kind, vocab):
    from transformers import BloomConfig, GPT2Config, LlamaConfig

    if kind == "llama":
        return LlamaConfig(vocab_size=vocab, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                           num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256)
    if kind == "bloom":
        return BloomConfig(vocab_size=vocab, hidden_size=64, n_layer=2, n_head=4)
    return GPT2Config(vocab_size=vocab, n_embd=64, n_layer=2, n_head=4, n_positions=256)


@pytest.fixture(params=["llama", "bloom", "gpt2"])
def other_model_dir(request, tiny_model_dir, tmp_path):
    from transformers import AutoModelForCausalLM

    tokenizer = load_tokenizer(tiny_model_dir)
    torch.manual_seed(0)
    config = _config(request.param, len(tokenizer))
    config.pad_token_id, config.eos_token_id = tokenizer.pad_token_id, tokenizer.eos_token_id
    AutoModelForCausalLM.from_config(config).save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    return tmp_path
