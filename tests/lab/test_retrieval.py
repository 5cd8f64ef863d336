"""Retrieval: the identity language is found perfectly, pooling ignores padding, accuracy is top-1."""

import pytest
import torch

from xlpt.lab.grammar import build_lexicon
from xlpt.lab.languages import build_languages
from xlpt.lab.retrieval import retrieval_by_layer, retrieval_report, sentence_vectors, top1_accuracy
from xlpt.models.loading import load_causal_lm

from .conftest import make_spec


@pytest.fixture(scope="module")
def model(tiny_model_dir):
    return load_causal_lm(tiny_model_dir, device="cpu")


def test_top1_accuracy_counts_rows_whose_nearest_key_is_their_own():
    keys = torch.eye(4)
    assert top1_accuracy(keys, keys) == 1.0
    assert top1_accuracy(keys[[1, 0, 2, 3]], keys) == 0.5
    assert top1_accuracy(2.0 * keys + 0.01, keys) == 1.0  # cosine: scale does not matter


def test_pooling_is_independent_of_batch_padding(model):
    lm, tokenizer = model
    sentences = [s.split() for s in ["the cat and the house", "a dog", "the red book in the small house near the river"]]
    together = sentence_vectors(lm, tokenizer, sentences)
    alone = torch.cat([sentence_vectors(lm, tokenizer, [s]) for s in sentences], dim=1)
    assert together.shape == (lm.config.num_layers + 1, 3, lm.config.d_model)
    assert torch.allclose(together, alone, atol=1e-5)


def test_mean_excludes_the_start_token(model):
    lm, tokenizer = model
    ids = tokenizer("the cat")["input_ids"]
    hidden = lm.base_model(input_ids=torch.tensor([ids]), output_hidden_states=True).hidden_states
    expected = torch.stack([layer[0, 1:].mean(dim=0) for layer in hidden])
    assert torch.allclose(sentence_vectors(lm, tokenizer, [["the", "cat"]])[:, 0], expected, atol=1e-5)


def test_excluded_words_leave_the_mean_and_an_all_excluded_sentence_keeps_everything(model):
    lm, tokenizer = model
    words = ["the", "cat", "and", "the", "house"]
    encoded = tokenizer(words, is_split_into_words=True)
    hidden = lm.base_model(input_ids=torch.tensor([encoded["input_ids"]]), output_hidden_states=True).hidden_states
    kept = [k for k, w in enumerate(encoded.word_ids()) if w is not None and words[w] != "the"]
    expected = torch.stack([layer[0, kept].mean(dim=0) for layer in hidden])
    keep = [[w != "the" for w in words]]
    assert torch.allclose(sentence_vectors(lm, tokenizer, [words], keep)[:, 0], expected, atol=1e-5)
    everything = sentence_vectors(lm, tokenizer, [words])
    assert torch.allclose(sentence_vectors(lm, tokenizer, [words], [[False] * 5]), everything)


def test_identity_language_is_retrieved_perfectly_and_a_shuffled_one_is_not(model):
    """With the base's own words (any model, even random), parallel sentences are identical texts."""
    lm, tokenizer = model
    spec = make_spec(languages=[{"name": "same", "lexicon": "identity", "share": 0.5}])
    from xlpt.lab.corpus import task_meanings

    lexicon = build_lexicon(spec.grammar)
    languages = build_languages(spec, lexicon)
    clauses = task_meanings(spec, lexicon).sentences["test"][:40]
    words = {name: [lang.words(c) for c in clauses] for name, lang in languages.items()}
    report = retrieval_report(lm, tokenizer, words, "base")
    assert [row["mean"] for row in report["same"]["layers"]] == [1.0] * (lm.config.num_layers + 1)
    assert report["same"]["chance"] == 1 / 40
    shuffled = dict(words, same=words["same"][1:] + words["same"][:1])
    assert retrieval_report(lm, tokenizer, shuffled, "base")["same"]["best"] == 0.0
    # every word of an identity language is shared: excluded means fall back to all tokens, and say so
    shared = {"same": ([languages["same"].shared_with(languages["base"], s) for s in words["same"]],
                       [languages["base"].shared_with(languages["same"], s) for s in words["base"]])}
    excluded = retrieval_report(lm, tokenizer, words, "base", shared=shared)["same"]
    assert excluded["best"] == 1.0 and excluded["sentences_all_shared"] == 40


def test_shared_flags_mark_exactly_the_anchor_words(spec, lexicon, languages):
    from xlpt.lab.corpus import task_meanings

    greek, base = languages["greek"], languages["base"]  # greek keeps the base's names as anchors
    for clause in task_meanings(spec, lexicon).sentences["test"]:
        tokens = greek.realize(clause)
        flags = greek.shared_with(base, [t.word for t in tokens])
        assert flags == [t.lexeme in greek.anchors for t in tokens]
        assert flags == [t.entity in ("B-PER", "I-PER") for t in tokens]


def test_centering_removes_a_constant_language_offset():
    torch.manual_seed(0)
    base = torch.randn(2, 30, 8)
    shifted = base + 0.3 * torch.randn(2, 30, 8) + torch.full((1, 1, 8), 25.0)  # a large offset in every sentence
    raw = retrieval_by_layer(shifted, base, center=False)
    centered = retrieval_by_layer(shifted, base, center=True)
    assert centered["best"] == 1.0 and raw["best"] < 0.5
    with pytest.raises(ValueError, match="parallel sentences"):
        retrieval_by_layer(shifted[:, :10], base)


def test_topic_agreement_detects_topics_aligned_to_the_wrong_ones():
    topics = ["a"] * 10 + ["b"] * 10 + ["c"] * 10 + ["d"] * 10
    base = torch.randn(1, 40, 16)
    exact = retrieval_by_layer(base.clone(), base, topics=topics)
    assert exact["topic_at_best"] == 1.0 and exact["topic_chance"] == pytest.approx(0.25) and not exact["topics_permuted"]
    within = torch.cat([base[:, torch.roll(torch.arange(10), 1) + 10 * k] for k in range(4)], dim=1)
    same_topic = retrieval_by_layer(within, base, topics=topics)  # the wrong sentence, the right topic
    assert same_topic["best"] == 0.0 and same_topic["topic_at_best"] == 1.0
    permuted = retrieval_by_layer(torch.roll(base, 10, dims=1), base, topics=topics)  # every topic -> another
    assert permuted["topic_at_best"] == 0.0 and permuted["topics_permuted"]
