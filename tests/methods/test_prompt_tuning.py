"""Soft prompt tuning: initialisation space, sequence layout, padding, and parity with PEFT."""

import pytest
import torch

from xlpt.config import load_config
from xlpt.models.build import load_task_model
from xlpt.models.loading import load_causal_lm
from xlpt.tasks.collate import pad_right


def _model(tiny_model_dir, **method):
    cfg = load_config(None, [f"model.name={tiny_model_dir}", "data.task=xnli"]
                      + [f"method.{key}={value}" for key, value in method.items()])
    model, tokenizer = load_task_model(cfg, device="cpu")
    model.eval()
    return model, tokenizer


def test_vocab_init_rows_are_real_scaled_token_embeddings(tiny_model_dir):
    model, tokenizer = _model(tiny_model_dir, prompt_init="vocab", prompt_length=8)
    table = model.backbone.embed(torch.arange(len(tokenizer)))
    for row in model.prompt.weight:
        distances = (table - row).abs().max(dim=1).values
        assert distances.min() < 1e-6  # each prompt vector is exactly some token's embedding
    assert len({tuple(r.tolist()) for r in model.prompt.weight}) == 8  # distinct tokens


def test_text_init_equals_embeddings_of_the_text_without_special_tokens(tiny_model_dir):
    text = "the cat and the house"
    model, tokenizer = _model(tiny_model_dir, prompt_init="text", init_text=text, prompt_length=4)
    ids = tokenizer(text, add_special_tokens=False).input_ids
    assert tokenizer.eos_token_id not in ids
    expected = model.backbone.embed(torch.tensor((ids * 4)[:4]))
    assert torch.equal(model.prompt.weight, expected)


def test_random_init_matches_the_spread_of_real_embeddings(tiny_model_dir):
    model, tokenizer = _model(tiny_model_dir, prompt_init="random", prompt_length=64)
    real_std = model.backbone.embed(torch.arange(4, len(tokenizer))).std()
    assert 0.7 < float(model.prompt.weight.detach().std() / real_std) < 1.3


@pytest.mark.parametrize("position", ["after_bos", "start"])
def test_sequence_layout_and_position_ids(tiny_model_dir, position):
    model, tokenizer = _model(tiny_model_dir, prompt_position=position, prompt_length=5)
    ids, mask = pad_right([tokenizer("a b c").input_ids, tokenizer("a").input_ids], tokenizer.pad_token_id)
    embeds, full_mask, positions = model.assemble(ids, mask)
    assert embeds.shape[1] == ids.shape[1] + 5
    assert torch.equal(positions[0], torch.arange(ids.shape[1] + 5))
    k = 1 if position == "after_bos" else 0
    assert torch.equal(embeds[0, k : k + 5], model.prompt.weight)
    bos_at = 0 if position == "after_bos" else 5
    assert torch.equal(embeds[0, bos_at], model.backbone.embed(torch.tensor(tokenizer.eos_token_id)))
    # prompt positions are attended; padding stays masked and at the end (right padding)
    assert full_mask[1].tolist() == [1] * (5 + int(mask[1].sum())) + [0] * int((mask[1] == 0).sum())
    # the last real text token maps past the prompt
    last = mask.sum(1) - 1
    assert model.text_to_full_index(last).tolist() == (last + 5).tolist()


def test_padding_does_not_change_predictions(tiny_model_dir):
    model, tokenizer = _model(tiny_model_dir)
    long_ids = tokenizer("The cat sleeps on the warm red chair near the window. Answer:").input_ids
    short_ids = tokenizer("A dog. Answer:").input_ids
    ids, mask = pad_right([long_ids, short_ids], tokenizer.pad_token_id)
    batched = model(ids, mask, mask.sum(1) - 1)
    alone = model(torch.tensor([short_ids]), torch.ones(1, len(short_ids), dtype=torch.long),
                  torch.tensor([len(short_ids) - 1]))
    assert torch.allclose(batched[1], alone[0], atol=1e-5)


def test_matches_peft_prompt_tuning_forward(tiny_model_dir):
    """Same prompt vectors in PEFT's PromptTuningConfig and in ours (placement `start`) give the same logits.

    PEFT puts the prompt before every token (including XGLM's leading </s>) and lets positions run 0..P+T-1;
    that is our `start` placement. Our default (`after_bos`) differs on purpose: see models/task_model.py."""
    from peft import PromptTuningConfig, TaskType, get_peft_model

    model, tokenizer = _model(tiny_model_dir, prompt_position="start", prompt_length=6)
    ids, mask = pad_right([tokenizer("The cat sleeps. Answer:").input_ids,
                           tokenizer("A man walks his dog in the park. Answer:").input_ids], tokenizer.pad_token_id)
    ours = model(ids, mask, mask.sum(1) - 1)

    lm, _ = load_causal_lm(tiny_model_dir, device="cpu")
    peft_config = PromptTuningConfig(task_type=TaskType.CAUSAL_LM, num_virtual_tokens=6,
                                     num_attention_heads=lm.config.attention_heads)  # XGLM names it attention_heads
    peft_model = get_peft_model(lm, peft_config)
    with torch.no_grad():
        peft_model.prompt_encoder["default"].embedding.weight.copy_(model.prompt.weight)
    peft_model.eval()
    logits = peft_model(input_ids=ids, attention_mask=mask).logits  # (B, P+T, V)
    last = mask.sum(1) - 1 + 6
    label_ids = model.head.token_ids
    theirs = logits[torch.arange(2), last][:, label_ids]
    assert torch.allclose(ours, theirs, atol=1e-5)


def test_after_bos_equals_a_hand_built_forward(tiny_model_dir):
    model, tokenizer = _model(tiny_model_dir, prompt_position="after_bos", prompt_length=3)
    text = tokenizer("Question: yes? Answer:").input_ids
    embed = model.backbone.embed
    manual = torch.cat([embed(torch.tensor(text[:1])), model.prompt.weight, embed(torch.tensor(text[1:]))]).unsqueeze(0)
    lm = model.backbone.lm
    logits = lm(inputs_embeds=manual, position_ids=torch.arange(manual.shape[1]).unsqueeze(0)).logits[0, -1]
    ours = model(torch.tensor([text]), torch.ones(1, len(text), dtype=torch.long), torch.tensor([len(text) - 1]))
    assert torch.allclose(ours[0], logits[model.head.token_ids], atol=1e-5)
