"""Fixtures shared by the scoring tests: the tiny XGLM loaded once, a GPT-2 with its own BPE, and the
plain-forward reference every fast path is compared with."""

from __future__ import annotations

import pytest
import torch


def plain_loglik(lm, tokens, start: int = 1) -> float:
    """sum_{t >= start} log p(tokens[t] | tokens[:t]) from `lm(ids).logits.float().log_softmax(-1)`: one
    sequence, no padding, no cache (the textbook definition)."""
    with torch.no_grad():
        logprobs = lm(input_ids=torch.tensor([list(tokens)])).logits.float().log_softmax(-1)[0]
    return sum(float(logprobs[t - 1, tokens[t]]) for t in range(start, len(tokens)))


@pytest.fixture(scope="session")
def reference_loglik():
    return plain_loglik


@pytest.fixture(scope="session")
def tiny_lm(tiny_model_dir):
    """(lm, tokenizer, backbone) of the session's tiny XGLM, in eval mode."""
    from xlpt.models.backbone import Backbone
    from xlpt.models.loading import load_causal_lm

    lm, tokenizer = load_causal_lm(tiny_model_dir, device="cpu")
    lm.eval()
    return lm, tokenizer, Backbone(lm)


@pytest.fixture(scope="session")
def gpt2_bpe():
    """(lm, tokenizer): a GPT-2-config model with a byte-level BPE trained here with `tokenizers`; like
    GPT-2 and BLOOM, its tokenizer adds no start token (BOS = EOS = <|endoftext|>)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    corpus = ["The cat sleeps on the mat, right? Yes, the animal rests.",
              "Der Hund schläft, richtig? Nein, er läuft.", "A man walks his dog in the park, right? Also, no."] * 20
    bpe.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=300, special_tokens=["<|endoftext|>"],
                                                        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<|endoftext|>", eos_token="<|endoftext|>",
                                        pad_token="<|endoftext|>")
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=len(tokenizer), n_positions=128, n_embd=32, n_layer=2, n_head=4,
                        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
    return GPT2LMHeadModel(config).eval(), tokenizer
