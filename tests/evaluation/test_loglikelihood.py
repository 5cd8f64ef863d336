"""The chunked, prefix-sharing scorer equals a plain Hugging Face forward, whatever the batching and
whichever path (packed rows, or the cached path for models that cannot take the packed mask).

Reference: `lm(input_ids).logits.float().log_softmax(-1)` gathered at the scored positions, one sequence
at a time, no padding, no cache: the textbook definition the fast path must reproduce.
"""

import pytest
import torch

from xlpt.errors import ConfigError
from xlpt.evaluation import loglikelihood as ll
from xlpt.evaluation.loglikelihood import Scored, loglikelihoods, plan_group
from xlpt.models.backbone import Backbone


@pytest.fixture(scope="module")
def assert_matches_reference(reference_loglik):
    def check(lm, groups, scores, tol=2e-4):
        assert [len(g) for g in scores] == [len(g) for g in groups]
        for group, got in zip(groups, scores):
            for cand, value in zip(group, got):
                assert value == pytest.approx(reference_loglik(lm, cand.tokens, cand.start), abs=tol), cand
    return check


@pytest.fixture(scope="module")
def tiny(tiny_lm):
    return tiny_lm


def prompt_groups(tokenizer):
    """Three-candidate groups as zero-shot builds them (shared premise, differing word), plus edge cases."""
    def enc(text):
        return tokenizer(text).input_ids

    premises = ["The cat sleeps on the mat", "A man walks his dog in the park every single morning before work", "Hi"]
    groups = [[Scored(enc(f"{p}, right? {w}, the animal rests."), 1) for w in ("Yes", "Also", "No")] for p in premises]
    same = enc("Two identical candidates score the same.")
    groups.append([Scored(same, 1), Scored(same, 1)])                       # identical candidates
    groups.append([Scored([5, 9, 14, 3], 1), Scored([7, 9, 14, 3, 8, 8], 1)])  # differ at token 0: no shared prefix
    groups.append([Scored([2, 40, 41], 1), Scored([2, 40, 41, 42, 43], 1)])   # one candidate is a prefix of the other
    groups.append([Scored(enc("Only the end is scored here."), 4), Scored(enc("Only the end counts too."), 6)])
    groups.append([Scored([2, 11], 2), Scored([2], 1)])                       # nothing scored: 0.0
    return groups


def test_equals_plain_forward_for_mixed_groups_in_one_padded_batch(tiny, assert_matches_reference):
    lm, tokenizer, backbone = tiny
    groups = prompt_groups(tokenizer)  # one right-padded batch: short prefixes leave masked holes in the cache
    scores = loglikelihoods(backbone, groups, token_budget=100_000, pad_id=tokenizer.pad_token_id)
    assert_matches_reference(lm, groups, scores)
    assert scores[3][0] == scores[3][1]
    assert scores[-1] == [0.0, 0.0]
    # Shared prefixes are real: the XNLI-style groups share the premise, and the first-token group shares nothing.
    assert plan_group(0, groups[1]).prefix_length > 10 and plan_group(0, groups[4]).prefix_length == 0


@pytest.mark.parametrize("budget", [1, 7, 40])
def test_any_token_budget_gives_the_same_values_even_below_one_sequence(tiny, budget):
    lm, tokenizer, backbone = tiny
    groups = prompt_groups(tokenizer)
    reference_scores = loglikelihoods(backbone, groups, token_budget=100_000, pad_id=tokenizer.pad_token_id)
    scores = loglikelihoods(backbone, groups, token_budget=budget, pad_id=tokenizer.pad_token_id)
    for got, want in zip(scores, reference_scores):
        assert got == pytest.approx(want, abs=1e-4)


def test_vocabulary_chunks_do_not_change_the_log_sum_exp(tiny, monkeypatch, assert_matches_reference):
    lm, tokenizer, backbone = tiny
    groups = prompt_groups(tokenizer)[:3]
    # Force chunks of 64 vocabulary rows (the tiny vocabulary has ~580): the chunked log-sum-exp must still be exact.
    monkeypatch.setattr(ll, "MIN_VOCAB_CHUNK", 64)
    monkeypatch.setattr(ll, "LOGIT_ELEMENTS", 64)
    assert_matches_reference(lm, groups, loglikelihoods(backbone, groups, token_budget=50, pad_id=1))


def test_padding_value_is_irrelevant(tiny):
    lm, tokenizer, backbone = tiny
    groups = prompt_groups(tokenizer)[:4]
    a = loglikelihoods(backbone, groups, pad_id=1)
    b = loglikelihoods(backbone, groups, pad_id=57)
    for x, y in zip(a, b):
        assert x == pytest.approx(y, abs=1e-5)


def test_scored_rejects_a_start_without_context():
    with pytest.raises(ValueError, match="token 0 has no context"):
        Scored([2, 5, 6], 0)
    with pytest.raises(ValueError, match="at least one token"):
        Scored([], 1)
    with pytest.raises(ValueError):
        Scored([2, 5], 3)


def test_budget_must_be_positive(tiny):
    _, _, backbone = tiny
    with pytest.raises(ConfigError, match="token_budget"):
        loglikelihoods(backbone, [[Scored([2, 5], 1)]], token_budget=0)


def test_gpt2_byte_level_bpe_without_start_token(gpt2_bpe, assert_matches_reference):
    lm, tokenizer = gpt2_bpe
    eos = tokenizer.eos_token_id
    texts = [f"The cat sleeps on the mat, right? {w}, the animal rests." for w in ("Yes", "No")]
    raw = [tokenizer(t).input_ids for t in texts]
    assert raw[0][0] != eos  # the tokenizer adds nothing: the first token would go unscored without a prefix
    groups = [[Scored([eos] + ids, 1) for ids in raw],  # lm-eval's way: EOS as the start
              [Scored(ids, 1) for ids in raw],          # no prefix: the first token is context only
              [Scored(tokenizer(" leading space").input_ids, 1), Scored(tokenizer("leading space").input_ids, 1)]]
    backbone = Backbone(lm)
    scores = loglikelihoods(backbone, groups, token_budget=64, pad_id=eos)
    assert_matches_reference(lm, groups, scores)
    assert groups[2][0].tokens != groups[2][1].tokens  # byte-level BPE sees the leading space; SentencePiece would not


def test_a_soft_capped_model_is_scored_as_its_own_forward_scores_it():
    # Gemma-2 soft-caps its logits: the chunked scorer applies the model's final-logit transforms
    # (Backbone.finish_logits) chunk by chunk and must equal the model's own log-probabilities.
    from transformers import Gemma2Config, Gemma2ForCausalLM

    torch.manual_seed(0)
    config = Gemma2Config(vocab_size=300, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                          num_attention_heads=2, num_key_value_heads=1, head_dim=16, final_logit_softcapping=0.5)
    backbone = Backbone(Gemma2ForCausalLM(config).eval())
    tokens = [2, 5, 6]
    with torch.no_grad():
        logprobs = backbone.lm(input_ids=torch.tensor([tokens])).logits.float().log_softmax(-1)[0]
    expected = float(logprobs[0, 5] + logprobs[1, 6])
    (score,), = loglikelihoods(backbone, [[Scored(tokens, 1)]])
    assert score == pytest.approx(expected, abs=1e-4)


def test_batches_trade_padding_against_forwards_within_the_budget():
    lengths = [100] * 4 + [10] * 20
    batches = ll._batches(list(range(24)), lengths, budget=10_000)
    assert [len(b) for b in batches] == [4, 20]  # one more forward (256) saves 20 x 90 padded tokens
    assert [len(b) for b in ll._batches(list(range(4)), [30, 29, 28, 27], budget=10_000)] == [4]
    batches = ll._batches(list(range(24)), lengths, budget=250, extra=5)
    assert all(len(b) * (5 + lengths[b[0]]) <= 250 for b in batches) and sum(map(len, batches)) == 24
    assert [len(b) for b in ll._batches([0, 1], [500, 400], budget=100)] == [1, 1]  # over budget: one at a time


class _Head(torch.nn.Module):
    """A bare LM head plus the backbone calls token_logprobs uses, with optional soft-capping."""

    def __init__(self, vocab, d, softcap=None, bias=True):
        super().__init__()
        self.linear = torch.nn.Linear(d, vocab, bias=bias)
        self.softcap = softcap
        self.lm = self

    def get_output_embeddings(self):
        return self.linear

    def finish_logits(self, logits):
        return logits if self.softcap is None else torch.tanh(logits / self.softcap) * self.softcap


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("softcap", [None, 0.5])
@pytest.mark.parametrize("elements,min_chunk", [(1 << 19, 1024), (64, 16), (50, 7)])
def test_online_log_sum_exp_equals_full_log_softmax(monkeypatch, softcap, elements, min_chunk, bias):
    # The single online pass (running max and sum per vocabulary chunk, target logits picked on the way)
    # equals the plain full-vocabulary log_softmax, soft-capping (Backbone.finish_logits) included, for any
    # tiling: several targets per row, targets in the first/last chunk, a last chunk shorter than the others,
    # with a bias (a fresh tile per chunk) and without (one reused buffer).
    torch.manual_seed(0)
    monkeypatch.setattr(ll, "LOGIT_ELEMENTS", elements)
    monkeypatch.setattr(ll, "MIN_VOCAB_CHUNK", min_chunk)
    head = _Head(301, 24, softcap, bias)
    with torch.no_grad():
        head.linear.weight.mul_(8)  # logits of a few units: exp overflows without the max shift
        hidden = torch.randn(13, 24)
        reference = head.finish_logits(head.linear(hidden)).float().log_softmax(-1)
    rows = [0, 0, 1, 5, 12, 12, 7, 3]
    targets = [0, 300, 299, 17, 150, 1, 42, 42]
    got = ll.token_logprobs(head, hidden, rows, targets)
    assert got == pytest.approx([float(reference[r, t]) for r, t in zip(rows, targets)], abs=1e-5)


@pytest.mark.parametrize("elements,min_chunk", [(1 << 21, 256), (7, 1)])
def test_online_log_sum_exp_of_a_real_backbone_equals_its_log_softmax(tiny, monkeypatch, elements, min_chunk):
    # Through the tiny XGLM's own head (tied to its embeddings, no bias: the reused-buffer path); (7, 1) is
    # one vocabulary row per chunk, the most online rescalings there can be.
    _, _, backbone = tiny
    monkeypatch.setattr(ll, "LOGIT_ELEMENTS", elements)
    monkeypatch.setattr(ll, "MIN_VOCAB_CHUNK", min_chunk)
    torch.manual_seed(0)
    vocab = backbone.lm.get_input_embeddings().num_embeddings
    hidden = torch.randn(7, backbone.lm.config.d_model) * 3
    rows, targets = [0, 0, 1, 3, 6, 6, 2], [0, 5, vocab - 1, 17, 17, 3, 250]
    with torch.no_grad():
        full = backbone.logits(hidden).float().log_softmax(-1)
    expected = [float(full[r, t]) for r, t in zip(rows, targets)]
    assert ll.token_logprobs(backbone, hidden, rows, targets) == pytest.approx(expected, abs=1e-5)


def test_packed_rows_equal_the_cached_path(tiny, monkeypatch, assert_matches_reference):
    # One packed row per group (the prefix, then every candidate's continuation under a block mask, position
    # ids restarting after the prefix) gives what the cached path gives (prefix cached, one row per candidate
    # on its own copy of the cache), and both give the plain forward's values.
    lm, tokenizer, backbone = tiny
    groups = prompt_groups(tokenizer)
    assert ll.packable(backbone, groups)
    for budget in (100_000, 60):
        packed = loglikelihoods(backbone, groups, token_budget=budget, pad_id=tokenizer.pad_token_id)
        with monkeypatch.context() as patch:
            patch.setattr(ll, "packable", lambda backbone, groups: False)
            patch.setattr(ll, "_read_packed", lambda *a: pytest.fail("packed path used"))
            rows = loglikelihoods(backbone, groups, token_budget=budget, pad_id=tokenizer.pad_token_id)
        for a, b in zip(packed, rows):
            assert a == pytest.approx(b, abs=1e-5)
        assert_matches_reference(lm, groups, packed)
        assert_matches_reference(lm, groups, rows)


def test_packed_batches_respect_the_token_budget_and_the_mask_size(tiny, monkeypatch):
    # Every packed forward holds at most `token_budget` padded tokens and PACK_ATTENTION_ELEMENTS mask cells
    # (unless it is a single row), and every group with something to read is read exactly once.
    _, tokenizer, backbone = tiny
    plans = [ll.plan_group(g, group) for g, group in enumerate(prompt_groups(tokenizer))]
    monkeypatch.setattr(ll, "PACK_ATTENTION_ELEMENTS", 3000)
    for budget in (1, 40, 100_000):
        batches = ll._packed_batches(plans, budget)
        for batch in batches:
            width = max(p.tokens_read for p in batch)
            assert len(batch) == 1 or (len(batch) * width <= budget and len(batch) * width ** 2 <= 3000)
        read = sorted(p.index for batch in batches for p in batch)
        assert read == [p.index for p in plans if p.tokens_read]
    assert [p.tokens_read for p in plans][-1] == 1  # [2, 11] and [2]: the shared [2] is read, nothing else


def test_the_probe_refuses_a_decoder_that_ignores_the_mask(tiny, monkeypatch):
    """A decoder that drops the custom mask (plain causal attention across candidates) disagrees on the probe."""
    _, _, backbone = tiny
    assert ll._probe(backbone) is True
    original = backbone.hidden_states

    def causal_only(embeds, mask, position_ids=None, past_key_values=None):
        if mask.dim() == 4:
            mask = torch.ones(embeds.shape[:2], dtype=torch.long)
        return original(embeds, mask, position_ids=position_ids, past_key_values=past_key_values)

    monkeypatch.setattr(backbone, "hidden_states", causal_only)
    assert ll._probe(backbone) is False


def test_a_sliding_window_shorter_than_a_sequence_is_not_packed(tiny, monkeypatch):
    _, _, backbone = tiny
    groups = [[Scored((2, 5, 6, 7, 8), 2), Scored((2, 5, 9), 2)]]
    monkeypatch.setattr(backbone.lm.config, "sliding_window", 4, raising=False)
    assert not ll.packable(backbone, groups)
    monkeypatch.setattr(backbone.lm.config, "sliding_window", 5, raising=False)
    assert ll.packable(backbone, groups)


def test_bloom_s_alibi_is_scored_the_cached_way(monkeypatch, assert_matches_reference):
    # BLOOM takes no position ids (ALiBi counts unmasked tokens): it cannot be packed, and the cached path
    # still gives its own forward's values.
    from transformers import BloomConfig, BloomForCausalLM

    torch.manual_seed(0)
    lm = BloomForCausalLM(BloomConfig(vocab_size=300, hidden_size=32, n_layer=2, n_head=4)).eval()
    backbone = Backbone(lm)
    groups = [[Scored([2, 5, 6, 7], 1), Scored([2, 5, 6, 9, 10], 2)], [Scored([3, 8], 1)]]
    assert not ll.packable(backbone, groups)
    monkeypatch.setattr(ll, "_read_packed", lambda *a: pytest.fail("packed path used"))
    assert_matches_reference(lm, groups, loglikelihoods(backbone, groups, token_budget=7, pad_id=0))


def test_a_bare_backbone_scores_with_sdpa_and_gives_the_model_its_kernel_back(tiny_model_dir, monkeypatch):
    from xlpt.models import attention
    from xlpt.models.loading import load_causal_lm

    lm, tokenizer = load_causal_lm(tiny_model_dir, device="cpu")
    lm.eval()
    seen = []
    real = ll._loglikelihoods
    monkeypatch.setattr(ll, "_loglikelihoods", lambda *a: (seen.append(attention.attention_in_use(lm)), real(*a))[1])
    groups = prompt_groups(tokenizer)[:2]
    backbone = Backbone(lm)
    assert attention.attention_in_use(lm) == "eager"  # transformers' XGLM is eager-only
    fast = loglikelihoods(backbone, groups)
    assert seen == ["sdpa"] and attention.attention_in_use(lm) == "eager"
    backbone.use_attention("eager")  # asked for: kept while scoring
    slow = loglikelihoods(backbone, groups)
    assert seen == ["sdpa", "eager"]
    for a, b in zip(fast, slow):
        assert a == pytest.approx(b, abs=1e-5)
