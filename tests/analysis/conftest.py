"""Tokenizers for the analysis tests: a hand-made vocabulary (exact expectations), the tiny model's, and
the real 250k XLM-R vocabulary (loaded once per session: it takes a few seconds)."""

from __future__ import annotations

import pytest

# Hand-made SentencePiece-Unigram vocabulary in XGLM's fairseq order. Scores are chosen so that the
# segmentations are unambiguous: "Katze" -> ▁Kat ze, "the" -> ▁the, "東京" -> ▁ 東京, "xyz" -> ▁ x y z,
# and any character outside the vocabulary (e.g. "Ω") -> ▁ <unk>.
HAND_VOCAB = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -2.0), ("▁Kat", -1.0),
              ("ze", -1.0), ("▁the", -1.0), ("東京", -1.0)]
HAND_VOCAB += [(char, -5.0) for char in "abcdefghijklmnopqrstuvwxyz東京"]


@pytest.fixture(scope="session")
def hand_tokenizer():
    from transformers import XGLMTokenizer

    return XGLMTokenizer(vocab=HAND_VOCAB)


@pytest.fixture(scope="session")
def tiny_tokenizer(tiny_model_dir):
    from xlpt.models.tokenizer import load_tokenizer

    return load_tokenizer(tiny_model_dir)


@pytest.fixture(scope="session")
def xlmr_tokenizer(xlmr_tokenizer_dir):
    from xlpt.models.tokenizer import load_tokenizer

    return load_tokenizer(xlmr_tokenizer_dir)
