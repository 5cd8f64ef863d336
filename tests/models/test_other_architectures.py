"""Any Hugging Face causal LM works, not only XGLM: GPT-2/mGPT (learned positions), BLOOM (ALiBi, no
position ids) and Llama-style (RoPE), each with a real tokenizer of its own kind trained in the test
(byte-level BPE; GPT-2 and BLOOM add no start token, Llama adds `<s>`), saved and loaded through
`from_pretrained`. The soft prompt goes where the tokenizer's own start tokens end: position 0 when
there are none."""

from __future__ import annotations

import pytest
import torch

from xlpt.config import load_config
from xlpt.models.build import load_task_model
from xlpt.models.loading import load_causal_lm
from xlpt.tasks.collate import pad_right

START_TOKENS = {"gpt2": 0, "bloom": 0, "llama": 1}  # the other_model fixture: tests/models/conftest.py
TEXTS = ["The cat sleeps on the chair. Answer:", "Yes. Answer:"]


def _model(folder, method="prompt_tuning", *settings):
    cfg = load_config(None, [f"model.name={folder}", f"method.name={method}", *settings])
    model, tokenizer = load_task_model(cfg, device="cpu")
    return model.eval(), tokenizer


def test_the_tokenizers_are_what_the_families_use(other_model):
    kind, folder = other_model
    _, tokenizer = load_causal_lm(folder, device="cpu")
    ids = tokenizer("the cat").input_ids
    assert len(tokenizer("").input_ids) == START_TOKENS[kind]
    assert (ids[0] == tokenizer.bos_token_id) == (kind == "llama")


def test_the_prompt_follows_the_tokenizer_s_own_start_tokens(other_model):
    """after_bos inserts after the start tokens the tokenizer emits: at position 0 for GPT-2 and BLOOM
    (never after the first word), after <s> for Llama."""
    kind, folder = other_model
    model, tokenizer = _model(folder, "prompt_tuning", "method.prompt_length=3")
    assert model.start_tokens == START_TOKENS[kind] and model.insert_at == START_TOKENS[kind]
    ids = torch.tensor([tokenizer(TEXTS[0]).input_ids])
    embeds, mask, positions = model.assemble(ids, torch.ones_like(ids))
    k = START_TOKENS[kind]
    text = model.backbone.embed(ids)[0]
    assert torch.equal(embeds[0, k:k + 3], model.prompt.weight.to(embeds.dtype))
    assert torch.equal(embeds[0, :k], text[:k]) and torch.equal(embeds[0, k + 3:], text[k:])
    assert positions[0].tolist() == list(range(ids.shape[1] + 3)) and mask.sum() == ids.shape[1] + 3


@pytest.mark.parametrize("method", ["prompt_tuning", "full_finetune"])
def test_classifier_is_padding_invariant_and_trains(other_model, method):
    _, folder = other_model
    model, tokenizer = _model(folder, method)
    assert model.backbone.embed_multiplier == 1.0  # none of these scales embeddings
    ids, mask = pad_right([tokenizer(t).input_ids for t in TEXTS], tokenizer.pad_token_id)
    batched = model(ids, mask, mask.sum(1) - 1)
    short = torch.tensor([tokenizer(TEXTS[1]).input_ids])
    alone = model(short, torch.ones_like(short), torch.tensor([short.shape[1] - 1]))
    assert torch.allclose(batched[1], alone[0], atol=1e-5)
    model.train()
    torch.nn.functional.cross_entropy(model(ids, mask, mask.sum(1) - 1), torch.tensor([0, 2])).backward()
    trained = [name for name, p in model.named_parameters() if p.grad is not None]
    if method == "prompt_tuning":
        assert trained == ["prompt.weight"]
    else:  # every block's weights receive gradients
        assert sum("layer" in name or ".h." in name for name in trained) >= 2 * 4


def test_matches_peft_prompt_tuning(other_model):
    """PEFT puts the prompt before every token; with `start` placement (and, for tokenizers without a start
    token, also with the default) our logits equal PEFT's for the same prompt vectors."""
    from peft import PromptTuningConfig, TaskType, get_peft_model

    kind, folder = other_model
    placements = ["start"] + (["after_bos"] if START_TOKENS[kind] == 0 else [])
    for placement in placements:
        model, tokenizer = _model(folder, "prompt_tuning", "method.prompt_length=5",
                                  f"method.prompt_position={placement}")
        ids, mask = pad_right([tokenizer(t).input_ids for t in TEXTS], tokenizer.pad_token_id)
        ours = model(ids, mask, mask.sum(1) - 1)
        lm, _ = load_causal_lm(folder, device="cpu")
        peft_model = get_peft_model(lm, PromptTuningConfig(task_type=TaskType.CAUSAL_LM, num_virtual_tokens=5))
        with torch.no_grad():
            peft_model.prompt_encoder["default"].embedding.weight.copy_(model.prompt.weight)
        peft_model.eval()
        logits = peft_model(input_ids=ids, attention_mask=mask).logits
        theirs = logits[torch.arange(2), mask.sum(1) - 1 + 5][:, model.head.token_ids]
        assert torch.allclose(ours, theirs, atol=1e-4), (kind, placement)
