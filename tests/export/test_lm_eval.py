"""lm-evaluation-harness loads exported adapters (`HFLM(pretrained=..., peft=...)`) and its log-likelihoods are
xlpt's, computed on the same tokens by the run's own model."""

import pytest
import torch

REQUESTS = [("The cat sleeps on the mat. Question: is it true? Answer:", " yes"),
            ("Der Hund läuft im Park.", " und die Sonne scheint"),
            ("A man walks his dog near the river, and", " nobody walks")]

RUNS = {
    "prompt_start": (("prompt_tuning", "method.prompt_position=start", "method.prompt_length=6"), False),
    "prompt_after_bos": (("prompt_tuning", "method.prompt_length=6"), True),
    "prefix": (("prefix_tuning", "method.prompt_length=5"), False),
    "lora": (("lora", "method.lora_r=4", "head.formulation=linear_head", "train.learning_rate=0.01"), False),
}


def xlpt_loglikelihood(model, ids: list[int], continuation: int) -> float:
    """log p(last `continuation` tokens | the tokens before them) under the xlpt task model."""
    with torch.no_grad():
        tensor = torch.tensor([ids])
        hidden = model.hidden(tensor, torch.ones_like(tensor))
        logp = torch.log_softmax(model.backbone.lm.get_output_embeddings()(hidden).float(), dim=-1)[0]
    full = model.text_to_full_index(torch.arange(len(ids)))  # text positions past the soft prompt, if any
    return float(sum(logp[full[i] - 1, ids[i]] for i in range(len(ids) - continuation, len(ids))))


def harness(folder, tiny_model_dir, **model_args):
    from lm_eval.models.huggingface import HFLM

    return HFLM(pretrained=str(tiny_model_dir), peft=str(folder), device="cpu", batch_size=2, **model_args)


def loglikelihoods(lm, requests) -> list[float]:
    from lm_eval.api.instance import Instance

    instances = [Instance("loglikelihood", {}, request, i) for i, request in enumerate(requests)]
    return [value for value, _greedy in lm.loglikelihood(instances, disable_tqdm=True)]


@pytest.mark.parametrize("kind", list(RUNS))
def test_lm_eval_log_likelihoods_equal_xlpt_on_the_same_tokens(kind, trained, exported, run_model, tiny_model_dir):
    settings, start_tokens_in_prompt = RUNS[kind]
    run = trained(*settings)
    folder, manifest = exported(run, start_tokens_in_prompt=start_tokens_in_prompt)
    model, tokenizer, _, _ = run_model(run)
    keep = manifest["input"]["start_tokens"] == "keep"
    lm = harness(folder, tiny_model_dir, **({} if keep else {"add_bos_token": False}))
    theirs = loglikelihoods(lm, REQUESTS)
    start = tokenizer("", add_special_tokens=True).input_ids  # XGLM: [</s>]
    for (context, continuation), value in zip(REQUESTS, theirs):
        context_ids, continuation_ids = lm._encode_pair(context, continuation)  # lm-eval's own tokenization
        ids = context_ids + continuation_ids
        assert ids[: len(start)] == start if keep else ids[: len(start)] != start
        text_ids = ids if keep else start + ids  # xlpt always reads the tokenizer's start tokens
        assert value == pytest.approx(xlpt_loglikelihood(model, text_ids, len(continuation_ids)), abs=1e-4)
    # and the adapter is not a no-op for lm-eval: the base model alone gives other numbers
    from lm_eval.models.huggingface import HFLM

    base = HFLM(pretrained=str(tiny_model_dir), device="cpu", batch_size=2, **({} if keep else {"add_bos_token": False}))
    assert all(abs(a - b) > 1e-3 for a, b in zip(loglikelihoods(base, REQUESTS), theirs))


def test_an_empty_context_conditions_on_the_start_token_when_lm_eval_is_told_so(trained, exported, run_model,
                                                                                 tiny_model_dir):
    """lm-eval conditions an empty context on the tokenizer's BOS (`<s>` for XGLM); xlpt's zero-shot scoring and
    the tokenizer itself start texts with `</s>`. With prefix_token_id=</s> the two read the same tokens."""
    run = trained("prompt_tuning", "method.prompt_position=start", "method.prompt_length=6")
    folder, _ = exported(run)
    model, tokenizer, _, _ = run_model(run)
    text = " The cat sleeps on the mat."
    ids = tokenizer(text).input_ids  # </s> + text, as xlpt reads it
    ours = xlpt_loglikelihood(model, ids, len(ids) - 1)
    told = loglikelihoods(harness(folder, tiny_model_dir, prefix_token_id=tokenizer.eos_token_id), [("", text)])[0]
    assert told == pytest.approx(ours, abs=1e-4)
    assert tokenizer.bos_token_id != tokenizer.eos_token_id
    default = loglikelihoods(harness(folder, tiny_model_dir), [("", text)])[0]  # conditioned on <s>
    assert abs(default - ours) > 1e-3
