"""The multiple-choice zero-shot scores (evaluation.loglikelihood, the scorer zero-shot classification uses too)
give the reference numbers on multiple-choice shapes.

Its fast path (each example's shared prefix and all its choices in one packed row, one forward per batch, the
LM head only at scored positions with an online log-sum-exp) must equal its cached path and a plain full
forward of every choice, to float32 rounding, for XCOPA-shaped (multi-token choices), belebele-shaped
(single-token choices), multiple-input (one context per choice) and odd groups, whatever the batching;
predictions must be the same. A model that cannot take the packed mask gets the cached path.
"""

import random

import pytest
import torch

from xlpt.data.examples import Example
from xlpt.evaluation import loglikelihood as ll
from xlpt.evaluation import multiple_choice as mc
from xlpt.evaluation.loglikelihood import Scored, loglikelihoods, plan_group
from xlpt.tasks.families.multiple_choice.encoding import encode_examples
from xlpt.tasks.families.multiple_choice.prompt import parse_prompt

XCOPA_FIELDS = ("premise", "choice1", "choice2", "question")
XCOPA_PROMPT = {"derive": {"connector": {"lookup": "question",
                                          "values": {"en": {"cause": "because", "effect": "so"}}}},
                "transforms": {"premise": ["strip", "drop_last_char"], "choice1": ["lower_first"],
                               "choice2": ["lower_first"]},
                "context": "{premise} {connector}", "choices": ["{choice1}", "{choice2}"]}
XCOPA_ROWS = [("The man turned on the faucet.", "The toilet filled with water.", "Water flowed from the spout.",
               "effect"),
              ("My body cast a shadow over the grass.", "The sun was rising.", "The grass was cut.", "cause"),
              ("The girl found a bug in her cereal.", "She poured milk in the bowl.", "She lost her appetite.",
               "effect"),
              ("The women met for coffee.", "The cafe reopened.", "They wanted to catch up.", "cause")]
MC4_FIELDS = ("passage", "question", "a1", "a2", "a3", "a4")
MC4_PROMPT = {"context": "P: {passage}\nQ: {question}\nA: {a1}\nB: {a2}\nC: {a3}\nD: {a4}\nAnswer:",
              "choices": ["A", "B", "C", "D"]}
WINO_FIELDS = ("option1", "option2", "after")
WINO_PROMPT = {"context": ["The trophy did not fit because {option1}", "The trophy did not fit because {option2}"],
               "choices": "{after}"}


@pytest.fixture(scope="module")
def tiny(tiny_model_dir):
    from xlpt.models.backbone import Backbone
    from xlpt.models.loading import load_causal_lm

    lm, tokenizer = load_causal_lm(tiny_model_dir, device="cpu")
    lm.eval()
    return Backbone(lm), tokenizer


def encoded(tokenizer, fields, prompt, rows):
    """(encoded examples, examples, labels) of `rows` under a prompt section, as the family encodes them."""
    n = len(prompt["choices"]) if isinstance(prompt["choices"], list) else len(prompt["context"])
    labels = tuple(f"c{i}" for i in range(n))
    spec = parse_prompt(prompt, fields, labels)
    examples = [Example(dict(zip(fields, row)), labels[i % n], "en", f"ex{i}") for i, row in enumerate(rows)]
    return encode_examples(examples, spec, tokenizer, labels, 128)[0], examples, labels


def groups_of(items):
    return [[Scored(c.tokens, c.start) for c in item.choices] for item in items]


def odd_groups(vocab: int, seed: int = 0):
    """Random groups: no common prefix, identical candidates, scoring inside the prefix, one candidate, one
    scored token, long and short mixed."""
    rng = random.Random(seed)
    groups = []
    for g in range(24):
        prefix = [rng.randrange(4, vocab) for _ in range(rng.choice([0, 1, 2, 5, 9]))]
        candidates = []
        for _ in range(rng.randint(1, 4)):
            tokens = prefix + [rng.randrange(4, vocab) for _ in range(rng.randint(1, 6))]
            tokens = tokens if len(tokens) > 1 else [2, *tokens]
            candidates.append(Scored(tokens, rng.randint(1, len(tokens) - 1) if g % 3 == 0 else max(1, len(prefix))))
        if g % 5 == 0:
            candidates.append(candidates[0])
        groups.append(candidates)
    return groups


def all_groups(tokenizer, vocab):
    xcopa, _, _ = encoded(tokenizer, XCOPA_FIELDS, XCOPA_PROMPT, XCOPA_ROWS)
    rows4 = [(" ".join(row[:3]) * 3, "What happened first?", *row[:4]) for row in XCOPA_ROWS]
    mc4, _, _ = encoded(tokenizer, MC4_FIELDS, MC4_PROMPT, rows4)
    wino, _, _ = encoded(tokenizer, WINO_FIELDS, WINO_PROMPT,
                         [("it was too big", "it was too small", " and so it stayed outside."),
                          ("the case", "the trophy", " was too small.")])
    return groups_of(xcopa) + groups_of(mc4) + groups_of(wino) + odd_groups(vocab)


@torch.no_grad()
def plain(backbone, groups):
    """Every candidate run in full through the model's own forward: log_softmax of its logits."""
    out = []
    for group in groups:
        row = []
        for cand in group:
            ids = torch.tensor([cand.tokens])
            logits = backbone.lm(input_ids=ids, attention_mask=torch.ones_like(ids)).logits.float()
            logprobs = logits.log_softmax(-1)[0]
            row.append(sum(float(logprobs[t - 1, cand.tokens[t]]) for t in range(cand.start, len(cand.tokens))))
        out.append(row)
    return out


def assert_close(ours, reference, tol=1e-4):
    assert [len(r) for r in ours] == [len(r) for r in reference]
    for mine, theirs in zip(ours, reference):
        assert mine == pytest.approx(theirs, rel=1e-5, abs=tol)


def cached(backbone, groups, budget, pad_id, monkeypatch):
    """The cached path's scores (prefix in a key/value cache, one row per candidate), packing ruled out."""
    with monkeypatch.context() as patch:
        patch.setattr(ll, "packable", lambda backbone, groups: False)
        patch.setattr(ll, "_read_packed", lambda *a: pytest.fail("packed path used"))
        return loglikelihoods(backbone, groups, token_budget=budget, pad_id=pad_id)


@pytest.mark.parametrize("budget", [1, 40, 4096])
def test_packed_equals_cached_and_plain_forward(tiny, budget, monkeypatch):
    backbone, tokenizer = tiny
    groups = all_groups(tokenizer, backbone.lm.get_input_embeddings().num_embeddings)
    assert ll.packable(backbone, groups)
    packed = loglikelihoods(backbone, groups, token_budget=budget, pad_id=tokenizer.pad_token_id)
    assert_close(packed, cached(backbone, groups, budget, tokenizer.pad_token_id, monkeypatch))
    assert_close(packed, plain(backbone, groups))


def test_packed_reads_each_shared_context_once(tiny, monkeypatch):
    """One forward for the batch, over prefix + each choice's own tokens (no per-choice copy of the context)."""
    backbone, tokenizer = tiny
    items, _, _ = encoded(tokenizer, XCOPA_FIELDS, XCOPA_PROMPT, XCOPA_ROWS)
    groups = groups_of(items)
    ll.check_plain_head(backbone)  # once per model (its probe forward is not the scoring's)
    assert ll.packable(backbone, groups)  # likewise
    seen = []
    original = backbone.hidden_states
    monkeypatch.setattr(backbone, "hidden_states", lambda embeds, mask, **kw: seen.append(embeds.shape) or
                        original(embeds, mask, **kw))
    loglikelihoods(backbone, groups, token_budget=4096, pad_id=tokenizer.pad_token_id)
    assert len(seen) == 1
    plans = [plan_group(g, group) for g, group in enumerate(groups)]
    longest = max(p.prefix_length + sum(len(p.rest(i)) for i in range(len(p.candidates))) for p in plans)
    assert seen[0][:2] == (len(groups), longest)
    assert longest < max(len(c.tokens) for group in groups for c in group) * 2


def test_predictions_and_metrics_equal_the_cached_path(tiny, monkeypatch):
    backbone, tokenizer = tiny

    class Task:
        labels, metric = ("c0", "c1"), "accuracy"

    items, examples, _ = encoded(tokenizer, XCOPA_FIELDS, XCOPA_PROMPT, XCOPA_ROWS)
    fast = mc.zero_shot_logliks(backbone, items, 4096, tokenizer.pad_token_id, False, "t")
    reference = cached(backbone, groups_of(items), 4096, tokenizer.pad_token_id, monkeypatch)
    assert_close(fast, reference)
    ours, records = mc.metrics_and_records(Task, examples, items, fast)
    theirs, reference_records = mc.metrics_and_records(Task, examples, items, reference)
    assert ours == theirs
    assert [r["pred"] for r in records] == [r["pred"] for r in reference_records]
    assert ([mc.predictions(i, s) for i, s in zip(items, fast)]
            == [mc.predictions(i, s) for i, s in zip(items, reference)])


def test_a_model_that_refuses_the_packed_mask_gets_the_cached_path(tiny, monkeypatch):
    backbone, tokenizer = tiny
    items, _, _ = encoded(tokenizer, XCOPA_FIELDS, XCOPA_PROMPT, XCOPA_ROWS)
    monkeypatch.setitem(ll._PACKING_OK, backbone.lm, False)
    monkeypatch.setattr(ll, "_read_packed", lambda *a, **k: pytest.fail("packed path used"))
    scores = mc.zero_shot_logliks(backbone, items, 4096, tokenizer.pad_token_id, False, "t")
    assert_close(scores, plain(backbone, groups_of(items)))
