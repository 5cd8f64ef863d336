"""Fixtures of the model tests: small GPT-2, BLOOM and Llama-style models beside the tiny XGLM, each with a
real tokenizer of its own kind (byte-level BPE trained here; GPT-2 and BLOOM add no start token, Llama adds
`<s>`), saved and loaded through `from_pretrained` like real models."""

import pytest
import torch

from xlpt.models.tiny import default_corpus, template_lines


def _tokenizer(kind: str):
    """A byte-level BPE trained on the tiny corpus; Llama's adds <s> before every text."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["<|endoftext|>"] if kind != "llama" else ["<unk>", "<s>", "</s>"]
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=700, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(default_corpus() + template_lines(), trainer)
    if kind == "llama":
        bos = tokenizer.token_to_id("<s>")
        tokenizer.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A $B",
                                                                 special_tokens=[("<s>", bos)])
        return PreTrainedTokenizerFast(tokenizer_object=tokenizer, bos_token="<s>", eos_token="</s>",
                                       unk_token="<unk>", pad_token="</s>")
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, bos_token="<|endoftext|>",
                                   eos_token="<|endoftext|>", pad_token="<|endoftext|>")


def _config(kind: str, vocab: int):
    from transformers import BloomConfig, GPT2Config, LlamaConfig

    if kind == "llama":
        return LlamaConfig(vocab_size=vocab, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                           num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256)
    if kind == "bloom":
        return BloomConfig(vocab_size=vocab, hidden_size=64, n_layer=2, n_head=4)
    return GPT2Config(vocab_size=vocab, n_embd=64, n_layer=2, n_head=4, n_positions=256)


@pytest.fixture(scope="session", params=["gpt2", "bloom", "llama"])
def other_model(request, tmp_path_factory):
    from transformers import AutoModelForCausalLM

    kind, folder = request.param, tmp_path_factory.mktemp(request.param)
    tokenizer = _tokenizer(kind)
    torch.manual_seed(0)
    config = _config(kind, len(tokenizer))
    config.pad_token_id, config.eos_token_id = tokenizer.pad_token_id, tokenizer.eos_token_id
    config.bos_token_id = tokenizer.bos_token_id
    AutoModelForCausalLM.from_config(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return kind, folder




@pytest.fixture
def other_model_dir(other_model):
    """The folder of `other_model` (each architecture in turn)."""
    return other_model[1]
