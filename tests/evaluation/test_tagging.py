"""Tagging evaluation: every word of every sentence predicted once, windows vs one long pass, metrics."""

import pytest
import torch

from xlpt.config import load_config
from xlpt.data.examples import TaggedSentence
from xlpt.data.formats import read_file
from xlpt.evaluation.tagging import evaluate_tagging, predict_sentences
from xlpt.models.build import load_task_model
from xlpt.tasks import get_task

UPOS_TAGS = get_task('udpos').labels
from xlpt.tasks.word_alignment import encode_tagged, word_pieces


def _setup(tiny_model_dir, task="udpos", max_length=256, **method):
    cfg = load_config(None, [f"model.name={tiny_model_dir}", f"data.task={task}", f"data.max_length={max_length}",
                             "train.eval_batch_size=4"]
                      + [f"{'head' if key == 'word_repr' else 'method'}.{key}={value}" for key, value in method.items()])
    torch.manual_seed(0)
    model, tokenizer = load_task_model(cfg, device="cpu")
    with torch.no_grad():  # a head with a real spread of scores, so argmax ties cannot hide differences
        model.head.weight.normal_(0, 1.0)
    return model, tokenizer, cfg


def _long_sentence(n_words):
    vocab = ["the", "cat", "sleeps", "on", "warm", "red", "chair", "near", "window", "house", ".", "dog", "walks"]
    words = tuple(vocab[(i * 5 + i // 13) % len(vocab)] for i in range(n_words))
    return TaggedSentence(words, tuple(UPOS_TAGS[i % len(UPOS_TAGS)] for i in range(n_words)), "en", "long")


@torch.no_grad()
def _single_pass(model, tokenizer, words, start_at=0):
    """Tags from one forward pass over </s> + words[start_at:], reading each word's chosen position."""
    (pieces,) = word_pieces(tokenizer, [words[start_at:]])
    ids = torch.tensor([tokenizer("").input_ids + list(pieces.ids)])
    start = torch.tensor([[s + 1 for s, _ in pieces.spans]])
    end = torch.tensor([[e + 1 for _, e in pieces.spans]])
    logits = model(ids, torch.ones_like(ids), start, end)
    return [UPOS_TAGS[i] for i in logits[0].argmax(-1).tolist()]


@pytest.mark.parametrize("method", [{"prompt_length": 4}, {"prompt_length": 4, "word_repr": "mean"}])
def test_big_window_equals_one_long_pass(tiny_model_dir, method):
    model, tokenizer, cfg = _setup(tiny_model_dir, max_length=500, **method)
    sentence = _long_sentence(150)
    (pred,), counts = predict_sentences(get_task(cfg.data.task), model, tokenizer, cfg, [sentence], progress=False)
    assert counts["windows"] == 1
    assert pred == _single_pass(model, tokenizer, sentence.words)
    assert len(set(pred)) > 3  # the comparison is not trivially between constant predictions


def test_long_sentence_in_small_windows_predicts_every_word_once(tiny_model_dir):
    model, tokenizer, cfg = _setup(tiny_model_dir, max_length=24, prompt_length=4)
    sentence = _long_sentence(150)
    (pred,), counts = predict_sentences(get_task(cfg.data.task), model, tokenizer, cfg, [sentence], progress=False)
    assert counts["windows"] > 10 and counts["split_sentences"] == 1
    assert len(pred) == 150
    full = _single_pass(model, tokenizer, sentence.words)
    # Causal model: words of the first window see exactly what they see in one long pass.
    windows, _ = encode_tagged([sentence], tokenizer, UPOS_TAGS, 24)
    first_words = windows[0].words
    assert pred[: len(first_words)] == full[: len(first_words)]
    # Every later word is predicted exactly as in a pass over its own window (its left context).
    for window in windows[1:4]:
        context_from = _context_start(tokenizer, sentence.words, window)
        alone = _single_pass(model, tokenizer, sentence.words[: window.words[-1] + 1], start_at=context_from)
        offset = window.words[0] - context_from
        assert pred[window.words[0] : window.words[-1] + 1] == alone[offset:]


def _context_start(tokenizer, words, window):
    """Index of the first (context) word in a window, from its token ids."""
    (pieces,) = word_pieces(tokenizer, [words])
    n_context = window.spans[0][0] - 1  # tokens between </s> and the first predicted word
    word, held = window.words[0], 0
    while held < n_context:
        word -= 1
        held += pieces.spans[word][1] - pieces.spans[word][0]
    assert held == n_context
    return word


def test_udpos_metrics_records_and_tsv(tiny_model_dir, tmp_path):
    model, tokenizer, cfg = _setup(tiny_model_dir, max_length=16)
    sentences = [_long_sentence(40), TaggedSentence(("a", "dog"), ("DET", "NOUN"), "en", "short"),
                 TaggedSentence(("sinh viên", "\u200b"), ("NOUN", "PUNCT"), "vi", "odd")]
    metrics, records = evaluate_tagging(get_task(cfg.data.task), model, tokenizer, cfg, sentences, progress=False,
                                        write_tsv=tmp_path / "predictions" / "test" / "en.tsv")
    assert metrics["n"] == 3 and metrics["n_words"] == 44
    assert 0.0 <= metrics["accuracy"] <= 1.0 and "f1_xtreme" in metrics
    assert [r["id"] for r in records] == ["long", "short", "odd"]
    assert all(len(r["pred"]) == len(r["gold"]) for r in records)
    correct = sum(g == p for r in records for g, p in zip(r["gold"], r["pred"]))
    assert metrics["accuracy"] == pytest.approx(correct / 44)
    written = list(read_file(tmp_path / "predictions" / "test" / "en.tsv", "tag", task=get_task("udpos"), lang="en"))
    assert [s.words for s in written] == [s.words for s in sentences]
    assert [list(s.tags) for s in written] == [r["pred"] for r in records]


def test_panx_metrics_carry_entity_scores(tiny_model_dir):
    model, tokenizer, cfg = _setup(tiny_model_dir, task="panx")
    sentences = [TaggedSentence(("the", "cat", "near", "window"), ("O", "B-PER", "I-PER", "B-LOC"), "en", "1"),
                 TaggedSentence(("東", "#", "京"), ("B-LOC", "O", "I-LOC"), "ja", "2")]
    with torch.no_grad():  # the head now predicts O for every word: no entity found
        model.head.weight.zero_()
        model.head.bias.zero_()
        model.head.bias[0] = 1.0
    metrics, records = evaluate_tagging(get_task(cfg.data.task), model, tokenizer, cfg, sentences, progress=False)
    for key in ("f1", "precision", "recall", "f1_xtreme", "per_type", "n"):
        assert key in metrics
    assert metrics["n"] == 2 and metrics["n_gold_entities"] == 3  # strict IOB2: the I-LOC after `#` is none
    assert metrics["f1"] == 0.0 and metrics["recall"] == 0.0
    assert records[1]["pred"] == ["O", "O", "O"]


def test_unlabeled_sentences_are_predicted_but_not_scored(tiny_model_dir):
    model, tokenizer, cfg = _setup(tiny_model_dir)
    metrics, records = evaluate_tagging(get_task(cfg.data.task), model, tokenizer, cfg, [TaggedSentence(("a", "cat"), None, "en", "u")],
                                        progress=False)
    assert metrics["accuracy"] is None and metrics["n"] == 1
    assert records[0]["gold"] is None and len(records[0]["pred"]) == 2
