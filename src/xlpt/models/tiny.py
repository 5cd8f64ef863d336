"""A tiny, randomly initialised XGLM with a SentencePiece tokenizer trained in-process.

It is saved in standard Hugging Face format, so tests, the demo and real runs all load models through
the same `from_pretrained` path. Nothing here needs the network.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from xlpt.errors import ConfigError


@dataclass
class TinyModelSpec:
    vocab_size: int = 1000
    """Requested SentencePiece size; the trainer may settle lower on a small corpus."""
    d_model: int = 64
    num_layers: int = 2
    attention_heads: int = 4
    ffn_dim: int = 128
    max_position_embeddings: int = 512
    seed: int = 0


def default_corpus() -> list[str]:
    """The small multilingual corpus shipped with xlpt (written for this project)."""
    text = resources.files("xlpt.models").joinpath("assets/tiny_corpus.txt").read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line.strip()]


def template_lines(repeat: int = 30) -> list[str]:
    """Lines that make every template's label words single pieces in a tiny vocabulary (the verbalizer
    formulation requires single-token label words, and a small corpus would otherwise split them).
    Built-in tasks only: the same call must give the same tokenizer whatever tasks this process registered
    before (with every registered task, a test's tiny model depended on the tests that ran before it)."""
    from xlpt.tasks.registry import builtin_tasks

    lines = []
    for task in builtin_tasks().values():
        for template in task.templates.values():
            filled = template.text.format(**{name: "x" for name in template.placeholders()})
            lines += [filled + word for word in template.label_words.values()] * repeat
    return lines


def train_sentencepiece(lines: list[str], model_prefix: str, vocab_size: int) -> str:
    """Train a unigram SentencePiece model on `lines`; returns the `.model` path."""
    import sentencepiece as spm

    if not lines:
        raise ConfigError("cannot train a tokenizer on an empty corpus")
    corpus = model_prefix + ".corpus.txt"
    Path(corpus).write_text("\n".join(lines) + "\n", encoding="utf-8")
    spm.SentencePieceTrainer.train(
        input=corpus, model_prefix=model_prefix, vocab_size=vocab_size, model_type="unigram",
        character_coverage=1.0, hard_vocab_limit=False,  # small corpora cannot always fill vocab_size
        unk_id=0, bos_id=1, eos_id=2, pad_id=-1, minloglevel=2, num_threads=1, seed_sentencepiece_size=100000,
        input_sentence_size=200000, shuffle_input_sentence=True,
    )
    return model_prefix + ".model"


def build_tiny_model(out_dir: str | os.PathLike, corpus: list[str] | None = None,
                     spec: TinyModelSpec | None = None) -> Path:
    """Write a tiny XGLM (config + random weights + tokenizer) to `out_dir` and return it."""
    import torch
    from transformers import XGLMConfig, XGLMForCausalLM

    from xlpt.models.origin import mark_model
    from xlpt.models.tokenizer import load_tokenizer, xglm_tokenizer_from_spm

    spec = spec or TinyModelSpec()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    lines = (corpus if corpus is not None else default_corpus()) + template_lines()
    with tempfile.TemporaryDirectory() as tmp:
        spm_path = train_sentencepiece(lines, os.path.join(tmp, "spm"), spec.vocab_size)
        tokenizer = xglm_tokenizer_from_spm(spm_path)
    tokenizer.save_pretrained(out)

    torch.manual_seed(spec.seed)
    config = XGLMConfig(
        vocab_size=len(tokenizer), d_model=spec.d_model, num_layers=spec.num_layers,
        attention_heads=spec.attention_heads, ffn_dim=spec.ffn_dim,
        max_position_embeddings=spec.max_position_embeddings,
        # init_std 1/sqrt(d) instead of XGLM's 0.02: at width 64 the default makes attention outputs ~1e-3 of
        # the residual stream and token embeddings (even after the sqrt(d) scale) 8x smaller than the
        # sinusoidal positions, so the last position sees neither other tokens nor content and a frozen model
        # gives a soft prompt nothing to steer. Unit-scale embeddings and real attention, as in trained XGLM.
        init_std=spec.d_model ** -0.5, pad_token_id=tokenizer.pad_token_id,
        dropout=0.0, attention_dropout=0.0, activation_dropout=0.0,  # deterministic tiny runs
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
    )
    model = XGLMForCausalLM(config)
    model.save_pretrained(out)
    n_params = sum(p.numel() for p in model.parameters())
    mark_model(out, "xlpt model tiny", f"a random {n_params:,}-parameter XGLM ({spec.num_layers} layers, "
               f"d={spec.d_model}) with a tokenizer trained on a small corpus")
    load_tokenizer(out)  # round-trip check: the saved folder must load as a working tokenizer
    return out
