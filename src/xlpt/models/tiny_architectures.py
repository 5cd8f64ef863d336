"""Tiny random causal LMs of fourteen transformers model types, each with a tokenizer of its family's kind.

`build_tiny_architecture(model_type, out_dir)` writes a 2-layer, 64-wide model of `model_type` (random
weights) and a tokenizer trained here on the tiny corpus, both with `save_pretrained`, so the folder loads
through `AutoModelForCausalLM` / `AutoTokenizer.from_pretrained` like a real checkpoint. They exist to test
each architecture's quirks (tests/models/test_architectures.py, tests/quirks/); numbers from them mean nothing.

Tokenizers. XGLM gets its SentencePiece tokenizer in fairseq order (models.tiny); every other type a
byte-level BPE with the special tokens of its family and, above all, the family's real start-token
policy (what the published tokenizer puts before every text with `add_special_tokens=True`):

    model type    published tokenizer (example)        first token       pad (here)
    xglm          facebook/xglm-564M                   </s>              <pad>
    gpt2          gpt2, ai-forever/mGPT                 none              <|endoftext|> (eos)
    bloom         bigscience/bloom-560m                 none              <pad>
    llama         meta-llama/Llama-3.2-1B, EuroLLM      <|begin_of_text|> <|end_of_text|> (eos)
    mistral       mistralai/Mistral-7B-v0.3             <s>               </s> (eos)
    qwen2         Qwen/Qwen2.5-0.5B                     none (no BOS)     <|endoftext|>
    qwen3         Qwen/Qwen3-0.6B-Base                  none (no BOS)     <|endoftext|>
    gemma         google/gemma-2b                       <bos>             <pad>
    gemma2        google/gemma-2-2b                     <bos>             <pad>
    gemma3_text   google/gemma-3-1b-pt                  <bos>             <pad>
    gpt_neox      EleutherAI/pythia-160m                none              <|endoftext|> (eos)
    phi3          microsoft/Phi-3-mini-4k-instruct      none (add_bos_token false)  <|endoftext|>
    falcon        tiiuae/falcon-7b                      none              <|endoftext|> (eos)
    olmo2         allenai/OLMo-2-0425-1B                none              <|pad|>

(Llama-3 style for llama: Llama-2 and EuroLLM use `<s>`, the policy — one BOS — is the same. Phi-3's and
Mistral's real tokenizers are SentencePiece BPE with byte fallback; a byte-level BPE has the same start-token
and special-token behaviour, which is what the quirk tests need.)

Weights. Initialised with std 1/sqrt(d) instead of the usual 0.02, as models.tiny explains for XGLM: at
width 64 a 0.02 start leaves attention and content too weak for a frozen model to be steered by a prompt.
Small checkpoints of Llama-3.2, Qwen2.5, Qwen3 and Gemma tie input and output embeddings; the tiny ones
do too, so that quirk is exercised. Gemma-2's soft-capping and every type's defaults are left as
transformers sets them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from xlpt.errors import ConfigError

HIDDEN, LAYERS, HEADS, KV_HEADS, FFN, HEAD_DIM, POSITIONS = 64, 2, 4, 2, 128, 16, 512
BPE_VOCAB = 700


@dataclass(frozen=True)
class TinyTokenizer:
    """The special tokens of a family's tokenizer and which of them goes before every text."""
    specials: tuple[str, ...]
    """Added first, in this order (so they take ids 0..n-1, as in most real vocabularies)."""
    bos: str | None
    eos: str
    pad: str
    unk: str | None = None
    adds_bos: bool = False
    """True: the tokenizer puts `bos` before every text (its post-processor), as the real one does."""


ENDOFTEXT = TinyTokenizer(("<|endoftext|>",), bos="<|endoftext|>", eos="<|endoftext|>", pad="<|endoftext|>")
TOKENIZERS: dict[str, TinyTokenizer] = {
    "gpt2": ENDOFTEXT,
    "gpt_neox": ENDOFTEXT,
    "falcon": ENDOFTEXT,
    "bloom": TinyTokenizer(("<unk>", "<s>", "</s>", "<pad>"), bos="<s>", eos="</s>", pad="<pad>", unk="<unk>"),
    "llama": TinyTokenizer(("<|begin_of_text|>", "<|end_of_text|>"), bos="<|begin_of_text|>",
                           eos="<|end_of_text|>", pad="<|end_of_text|>", adds_bos=True),
    "mistral": TinyTokenizer(("<unk>", "<s>", "</s>"), bos="<s>", eos="</s>", pad="</s>", unk="<unk>", adds_bos=True),
    "qwen2": TinyTokenizer(("<|endoftext|>", "<|im_start|>", "<|im_end|>"), bos=None, eos="<|endoftext|>",
                           pad="<|endoftext|>"),
    "phi3": TinyTokenizer(("<unk>", "<s>", "</s>", "<|endoftext|>"), bos="<s>", eos="<|endoftext|>",
                          pad="<|endoftext|>", unk="<unk>"),
    "olmo2": TinyTokenizer(("<|endoftext|>", "<|pad|>"), bos="<|endoftext|>", eos="<|endoftext|>", pad="<|pad|>"),
}
TOKENIZERS["qwen3"] = TOKENIZERS["qwen2"]
GEMMA = TinyTokenizer(("<pad>", "<eos>", "<bos>", "<unk>"), bos="<bos>", eos="<eos>", pad="<pad>", unk="<unk>",
                      adds_bos=True)
TOKENIZERS.update(gemma=GEMMA, gemma2=GEMMA, gemma3_text=GEMMA)

_LLAMA_LIKE = dict(hidden_size=HIDDEN, intermediate_size=FFN, num_hidden_layers=LAYERS, num_attention_heads=HEADS,
                   num_key_value_heads=KV_HEADS, max_position_embeddings=POSITIONS)
CONFIGS: dict[str, dict] = {
    "gpt2": dict(n_embd=HIDDEN, n_layer=LAYERS, n_head=HEADS, n_positions=POSITIONS, resid_pdrop=0.0,
                 embd_pdrop=0.0, attn_pdrop=0.0),
    "bloom": dict(hidden_size=HIDDEN, n_layer=LAYERS, n_head=HEADS, hidden_dropout=0.0, attention_dropout=0.0),
    "llama": dict(_LLAMA_LIKE, tie_word_embeddings=True),
    "mistral": dict(_LLAMA_LIKE),
    "qwen2": dict(_LLAMA_LIKE, tie_word_embeddings=True),
    "qwen3": dict(_LLAMA_LIKE, head_dim=HEAD_DIM, tie_word_embeddings=True),
    "gemma": dict(_LLAMA_LIKE, head_dim=HEAD_DIM),
    "gemma2": dict(_LLAMA_LIKE, head_dim=HEAD_DIM, query_pre_attn_scalar=HEAD_DIM),
    "gemma3_text": dict(_LLAMA_LIKE, head_dim=HEAD_DIM, query_pre_attn_scalar=HEAD_DIM),
    "gpt_neox": dict(hidden_size=HIDDEN, intermediate_size=FFN, num_hidden_layers=LAYERS, num_attention_heads=HEADS,
                     max_position_embeddings=POSITIONS, hidden_dropout=0.0, attention_dropout=0.0),
    "phi3": dict(_LLAMA_LIKE, original_max_position_embeddings=POSITIONS),
    "falcon": dict(hidden_size=HIDDEN, num_hidden_layers=LAYERS, num_attention_heads=HEADS,
                   max_position_embeddings=POSITIONS, hidden_dropout=0.0, attention_dropout=0.0),
    "olmo2": dict(_LLAMA_LIKE),
}
TINY_MODEL_TYPES = ("xglm", *CONFIGS)
# Buildable beyond the tested 14, for what a type cannot do (mamba: no key/value cache, so no prefix tuning).
CONFIGS["mamba"] = dict(hidden_size=HIDDEN, state_size=8, num_hidden_layers=LAYERS)
TOKENIZERS["mamba"] = ENDOFTEXT


def train_bpe_tokenizer(kind: TinyTokenizer, lines: list[str], vocab_size: int = BPE_VOCAB):
    """A byte-level BPE (GPT-2's scheme) trained on `lines`, with `kind`'s special tokens and start policy."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(kind.specials), show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(lines, trainer)
    if kind.adds_bos:
        bos = (kind.bos, tokenizer.token_to_id(kind.bos))
        tokenizer.post_processor = processors.TemplateProcessing(
            single=f"{kind.bos} $A", pair=f"{kind.bos} $A {kind.bos}:1 $B:1", special_tokens=[bos])
    else:
        tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, bos_token=kind.bos, eos_token=kind.eos,
                                   pad_token=kind.pad, unk_token=kind.unk)


def tiny_config(model_type: str, tokenizer):
    """The transformers config of a tiny `model_type` model for `tokenizer` (ids and vocabulary size from it)."""
    from transformers import AutoConfig

    return AutoConfig.for_model(
        model_type, vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id, bos_token_id=tokenizer.bos_token_id,
        initializer_range=HIDDEN ** -0.5,  # see the module docstring
        **CONFIGS[model_type])


def build_tiny_architecture(model_type: str, out_dir: str | os.PathLike, seed: int = 0) -> Path:
    """Write a tiny random `model_type` causal LM with its family's tokenizer to `out_dir`; returns it.

    `model_type` is one of TINY_MODEL_TYPES (transformers' `config.model_type` names), or `mamba` (a model
    without a key/value cache, for the one-line refusal of prefix tuning)."""
    import torch
    from transformers import AutoModelForCausalLM

    from xlpt.models.origin import mark_model
    from xlpt.models.tiny import TinyModelSpec, build_tiny_model, default_corpus, template_lines

    if model_type == "xglm":
        return build_tiny_model(out_dir, spec=TinyModelSpec(seed=seed))
    if model_type not in CONFIGS:
        raise ConfigError(f"no tiny model for model type {model_type!r}; known: {', '.join(['xglm', *CONFIGS])}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = train_bpe_tokenizer(TOKENIZERS[model_type], default_corpus() + template_lines())
    tokenizer.save_pretrained(out)
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(tiny_config(model_type, tokenizer))
    model.save_pretrained(out)
    n_params = sum(p.numel() for p in model.parameters())
    mark_model(out, "xlpt tiny architecture", f"a random {n_params:,}-parameter {model_type} ({LAYERS} layers, "
               f"d={HIDDEN}) with a tokenizer trained on a small corpus")
    return out
