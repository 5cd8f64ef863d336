"""Published shapes of the real multilingual models the presets in configs/models/ name (torch-free data).

Each entry is the model's hub name -> its transformers `model_type`, the config values that size it (copied
from the model's published config.json) and the parameter count its authors publish. The planner builds the
config from these without the network (sweeps/planner.py `KNOWN_MODELS`); tests/models/test_presets.py checks
that every preset names one of them and that the shape implies the published parameter count.

Gemma-3-4B is multimodal (`gemma3`: a SigLIP vision tower + a Gemma-3 text decoder). xlpt loads it with
AutoModelForCausalLM as transformers does (Gemma3ForConditionalGeneration) and feeds text only: its decoder
is the `gemma3_text` row of the architecture table; the vision tower (about 0.4B parameters) is loaded and
never run. Its sizes here are those of its text part plus the vision tower in `parameters`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Published:
    model_type: str
    sizes: dict
    """transformers config keyword arguments that size the model (AutoConfig.for_model(model_type, **sizes))."""
    parameters: float
    """Parameters as the authors count them (embeddings included; tied embeddings once)."""
    languages: str = ""


def _xglm(layers, d, heads, ffn, params):
    return Published("xglm", dict(num_layers=layers, d_model=d, attention_heads=heads, ffn_dim=ffn,
                                  vocab_size=256008, max_position_embeddings=2048), params, "30 (4.5B: 134)")


def _bloom(layers, d, heads, params):
    return Published("bloom", dict(n_layer=layers, hidden_size=d, n_head=heads, vocab_size=250880), params, "46")


def _decoder(model_type, layers, d, heads, kv, ffn, vocab, positions, tied, params, head_dim=None, **extra):
    sizes = dict(num_hidden_layers=layers, hidden_size=d, num_attention_heads=heads, num_key_value_heads=kv,
                 intermediate_size=ffn, vocab_size=vocab, max_position_embeddings=positions,
                 tie_word_embeddings=tied, **extra)
    if head_dim is not None:
        sizes["head_dim"] = head_dim
    return Published(model_type, sizes, params)


PUBLISHED: dict[str, Published] = {
    "facebook/xglm-564M": _xglm(24, 1024, 16, 4096, 564e6),
    "facebook/xglm-1.7B": _xglm(24, 2048, 16, 8192, 1.7e9),
    "facebook/xglm-2.9B": _xglm(48, 2048, 16, 8192, 2.9e9),
    "facebook/xglm-4.5B": _xglm(48, 2048, 16, 16384, 4.5e9),
    "facebook/xglm-7.5B": _xglm(32, 4096, 32, 16384, 7.5e9),
    "bigscience/bloom-560m": _bloom(24, 1024, 16, 559e6),
    "bigscience/bloom-1b1": _bloom(24, 1536, 16, 1.065e9),
    "bigscience/bloom-1b7": _bloom(24, 2048, 16, 1.722e9),
    "bigscience/bloom-3b": _bloom(30, 2560, 32, 3.003e9),
    "bigscience/bloom-7b1": _bloom(30, 4096, 32, 7.069e9),
    # mGPT: GPT-2 architecture (Conv1D layers), 61 languages; "1.3B" in its name, 1.42B counted with embeddings
    "ai-forever/mGPT": Published("gpt2", dict(n_layer=24, n_embd=2048, n_head=16, n_positions=2048,
                                              vocab_size=100000), 1.42e9, "61"),
    "meta-llama/Llama-3.2-1B": _decoder("llama", 16, 2048, 32, 8, 8192, 128256, 131072, True, 1.24e9, head_dim=64),
    "meta-llama/Llama-3.2-3B": _decoder("llama", 28, 3072, 24, 8, 8192, 128256, 131072, True, 3.21e9, head_dim=128),
    "Qwen/Qwen2.5-0.5B": _decoder("qwen2", 24, 896, 14, 2, 4864, 151936, 32768, True, 0.49e9),
    "Qwen/Qwen2.5-1.5B": _decoder("qwen2", 28, 1536, 12, 2, 8960, 151936, 131072, True, 1.54e9),
    "Qwen/Qwen3-0.6B-Base": _decoder("qwen3", 28, 1024, 16, 8, 3072, 151936, 32768, True, 0.6e9, head_dim=128),
    "Qwen/Qwen3-1.7B-Base": _decoder("qwen3", 28, 2048, 16, 8, 6144, 151936, 32768, True, 1.7e9, head_dim=128),
    "google/gemma-3-1b-pt": _decoder("gemma3_text", 26, 1152, 4, 1, 6912, 262144, 32768, True, 1.0e9, head_dim=256,
                                     query_pre_attn_scalar=256, sliding_window=512),
    # multimodal: the text decoder's sizes (what xlpt runs) + the SigLIP-so400m vision tower it loads but never runs
    "google/gemma-3-4b-pt": Published("gemma3", dict(
        text_config=dict(num_hidden_layers=34, hidden_size=2560, num_attention_heads=8, num_key_value_heads=4,
                         head_dim=256, intermediate_size=10240, vocab_size=262208, max_position_embeddings=131072,
                         query_pre_attn_scalar=256, sliding_window=1024),
        vision_config=dict(hidden_size=1152, intermediate_size=4304, num_hidden_layers=27, num_attention_heads=16,
                           image_size=896, patch_size=14)), 4.3e9),
    "utter-project/EuroLLM-1.7B": _decoder("llama", 24, 2048, 16, 8, 5632, 128000, 4096, False, 1.66e9),
}
