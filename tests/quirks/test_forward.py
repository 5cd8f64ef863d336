"""The quirk matrix, forward checks: for every tiny architecture, what each method computes is what the
model itself computes (padding, embedding space, shared prefixes) and what PEFT computes from the adapter
xlpt exports. Each architecture x check is its own test id (conftest.py builds the models once)."""

from __future__ import annotations

import pytest
import torch

from xlpt.models.tiny_architectures import TINY_MODEL_TYPES as ARCHITECTURES
from xlpt.tasks.collate import pad_right

PEFT_METHODS = ("prompt_tuning", "prefix_tuning", "lora")
KNOWN: dict[tuple[str, str], str] = {}
"""(architecture, check) -> reason: failures whose fix belongs to another module's owner (run, expected to fail)."""


def expect_known(request, arch: str, check: str) -> None:
    if (arch, check) in KNOWN:
        request.applymarker(pytest.mark.xfail(reason=KNOWN[arch, check], strict=False))

TEXTS = ("The cat sleeps on the warm mat near the door. Topic:", "A dog runs. Topic:", "The team won the match. Topic:")
SHARED = ("Sentence: the cat sleeps on the mat. Topic:", "Sentence: a goal in the match. Topic:",
          "Sentence: the hotel near the airport was new and big. Topic:")


def _batch(tokenizer, texts):
    ids, mask = pad_right([tokenizer(t).input_ids for t in texts], tokenizer.pad_token_id)
    return ids, mask, mask.sum(1) - 1


def _moved(model, seed: int = 0):
    """Make an adapter matter: LoRA's B starts at zero (the adapted model equals the base until trained)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.copy_(torch.randn(param.shape, generator=generator) * 0.2)
    return model


@pytest.mark.parametrize("method", PEFT_METHODS)
@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_padding_invariance(arch, method, task_model, record):
    """A right-padded batch scores each text as it is scored alone."""
    record(arch, f"padding ({method})")
    model, tokenizer, _ = task_model(arch, method)
    _moved(model)
    ids, mask, last = _batch(tokenizer, TEXTS)
    with torch.no_grad():
        batched = model(ids, mask, last)
        for row, text in enumerate(TEXTS):
            alone = torch.tensor([tokenizer(text).input_ids])
            single = model(alone, torch.ones_like(alone), torch.tensor([alone.shape[1] - 1]))
            assert torch.allclose(batched[row], single[0], atol=1e-4), (row, batched[row], single[0])


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_soft_prompt_is_in_the_model_s_own_embedding_space(arch, task_model, tiny_architecture, record):
    """A prompt initialised from the embeddings of some words, placed first, makes the model compute exactly
    what its own forward computes for those words followed by the text: the vectors are in the space the
    model's forward feeds its decoder (scaled as it scales token embeddings, e.g. Gemma's sqrt(hidden))."""
    record(arch, "embedding space")
    words = "the cat sleeps"
    _, tokenizer, _ = task_model(arch, "zero_shot")
    word_ids = tokenizer(words, add_special_tokens=False).input_ids
    model, tokenizer, _ = task_model(arch, "prompt_tuning", "method.prompt_position=start", "method.prompt_init=text",
                                     f"method.init_text={words}", f"method.prompt_length={len(word_ids)}")
    text_ids = tokenizer(TEXTS[1]).input_ids
    ids = torch.tensor([text_ids])
    with torch.no_grad():
        ours = model.hidden(ids, torch.ones_like(ids))
        full = torch.tensor([word_ids + text_ids])
        theirs = model.backbone.decoder(input_ids=full, attention_mask=torch.ones_like(full),
                                        use_cache=False).last_hidden_state
    assert ours.shape == theirs.shape
    assert torch.allclose(ours, theirs, atol=1e-4), float((ours - theirs).abs().max())
    # and the start is in the spread of real token embeddings (random init is scaled to it as well)
    reference = model.backbone.embed(torch.tensor(word_ids)).float()
    assert torch.allclose(model.prompt.weight, reference, atol=1e-6)


@pytest.mark.parametrize("method", PEFT_METHODS)
@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_shared_prefix_equals_the_plain_path(arch, method, task_model, record):
    """Inputs that share their first tokens reuse those positions' states; the result is the plain path's."""
    record(arch, f"shared prefix ({method})")
    model, tokenizer, _ = task_model(arch, method)
    _moved(model)
    sequences = [tokenizer(t).input_ids for t in SHARED]
    ids, mask, _ = _batch(tokenizer, SHARED)
    with torch.no_grad():
        plain = model.plain_hidden(ids, mask)
        with model.shared_prefix(sequences) as shared:
            assert shared is not None and shared.token_ids.numel() >= 2  # "Sentence:" (and any start tokens)
            reused = model.hidden(ids, mask)
    real = model.assemble(ids, mask)[1].bool()
    assert torch.allclose(reused[real], plain[real], atol=1e-4), float((reused[real] - plain[real]).abs().max())


@pytest.mark.parametrize("method", PEFT_METHODS)
@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_peft_parity(arch, method, task_model, tiny_architecture, tmp_path, record, request):
    """xlpt's forward equals a real PeftModel's, loaded by PEFT itself from the adapter xlpt's form writes
    (prompt placed first: PEFT's placement), at every position of the probe texts."""
    from peft import PeftModel, get_peft_model

    from xlpt.export.check import largest_difference, peft_logprobs, xlpt_logprobs
    from xlpt.export.forms import form_of
    from xlpt.models.loading import load_causal_lm

    record(arch, f"PEFT parity ({method})")
    expect_known(request, arch, "PEFT parity")
    settings = ("method.prompt_position=start",) if method == "prompt_tuning" else ()
    model, tokenizer, cfg = task_model(arch, method, *settings)
    _moved(model, seed=1)
    form = form_of(model, cfg, tokenizer)
    ours = xlpt_logprobs(model, tokenizer)
    lm, _ = load_causal_lm(tiny_architecture(arch), device="cpu")
    built = get_peft_model(lm, form.config(lm))
    form.write(built)
    built.save_pretrained(str(tmp_path / "adapter"))
    base, _ = load_causal_lm(tiny_architecture(arch), device="cpu")
    loaded = PeftModel.from_pretrained(base, str(tmp_path / "adapter")).eval()
    difference = largest_difference(ours, peft_logprobs(loaded, tokenizer, form.feeds_start_tokens))
    assert difference <= 1e-4, difference
    with loaded.disable_adapter():  # the adapter is not a no-op: without it PEFT's model computes otherwise
        plain = peft_logprobs(loaded, tokenizer, True)
    assert largest_difference(ours, plain) > 1e-3


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_zero_shot_loglikelihoods_equal_the_model_s_own_forward(arch, task_model, record):
    """The exact scorer (evaluation.loglikelihood: packed rows where the model takes them, else the cached
    path) gives what the model's own forward gives, final-logit transforms included, for candidates that
    share a prefix and for a group that shares none; every architecture but ALiBi's takes the packed path."""
    from xlpt.evaluation import loglikelihood as ll

    record(arch, "zero-shot log-likelihoods")
    model, tokenizer, _ = task_model(arch, "zero_shot")
    backbone, lm = model.backbone, model.backbone.lm
    encoded = [tokenizer(text).input_ids for text in SHARED]
    groups = [[ll.Scored(ids, 1) for ids in encoded], [ll.Scored(encoded[0][1:], 1), ll.Scored(encoded[1][2:], 2)]]
    assert ll.plan_group(0, groups[0]).prefix_length >= 2 and ll.plan_group(1, groups[1]).prefix_length == 0
    assert ll.packable(backbone, groups) == (arch != "bloom")
    scores = ll.loglikelihoods(backbone, groups, token_budget=64, pad_id=tokenizer.pad_token_id or 0)
    with torch.no_grad():
        for group, got in zip(groups, scores):
            for cand, value in zip(group, got):
                ids = torch.tensor([cand.tokens])
                logprobs = lm(input_ids=ids, attention_mask=torch.ones_like(ids)).logits.float().log_softmax(-1)[0]
                expected = sum(float(logprobs[t - 1, cand.tokens[t]]) for t in range(cand.start, len(cand.tokens)))
                assert value == pytest.approx(expected, abs=2e-4), (cand.tokens, value, expected)
