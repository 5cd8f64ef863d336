"""Label words of several tokens are scored exactly: the class score is the word's summed log-probability
at the answer slot, equal to a plain Hugging Face forward over the text followed by the word."""

from __future__ import annotations

import pytest
import torch

from xlpt.config import load_config
from xlpt.models.build import load_task_model
from xlpt.models.heads import MultiTokenVerbalizer, VerbalizerHead
from xlpt.tasks import get_task
from xlpt.tasks.classification_encoding import encode_examples
from xlpt.tasks.collate import collate_classification
from xlpt.tasks.templates import label_word_tokens
from xlpt.data.examples import PairExample

# Words the tiny vocabulary cannot hold in one piece, and one that it can.
WORDS = {"entailment": " zebrafinch", "neutral": " Maybe", "contradiction": " quasarwolf"}
TEMPLATE = ('{template: "{text_a} Question: {text_b} Answer:", label_words: '
            '{entailment: " zebrafinch", neutral: " Maybe", contradiction: " quasarwolf"}}')
EXAMPLES = [PairExample("The cat sleeps.", "A cat is asleep.", "entailment", "en", "a"),
            PairExample("A man walks his dog in the park every morning.", "Nobody walks.", "contradiction", "en", "b"),
            PairExample("Rain.", "It is wet outside, maybe.", "neutral", "en", "c")]


def _model(tiny_model_dir, method):
    cfg = load_config(None, [f"model.name={tiny_model_dir}", "data.task=xnli", f"method.name={method}",
                             f"data.template={TEMPLATE}"])
    model, tokenizer = load_task_model(cfg, device="cpu")
    return model.eval(), tokenizer, cfg


def _batch(tokenizer, cfg):
    task = get_task("xnli")
    items, _ = encode_examples(EXAMPLES, task.resolve_template(cfg.data.template), tokenizer, task.labels, 256)
    return items, collate_classification(items, [0, 1, 2], tokenizer.pad_token_id)


def test_some_words_are_several_tokens_and_take_the_exact_path(tiny_model_dir):
    model, tokenizer, cfg = _model(tiny_model_dir, "full_finetune")
    tokens = label_word_tokens(get_task("xnli").resolve_template(cfg.data.template), get_task("xnli").labels, tokenizer)
    assert max(len(t) for t in tokens) > 1 and min(len(t) for t in tokens) == 1
    assert isinstance(model.head, MultiTokenVerbalizer)


def test_scores_equal_a_plain_forward_summed_over_the_word(tiny_model_dir):
    model, tokenizer, cfg = _model(tiny_model_dir, "full_finetune")
    items, batch = _batch(tokenizer, cfg)
    with torch.no_grad():
        scores = model(batch["input_ids"], batch["attention_mask"], batch["last_index"])
    lm = model.backbone.lm
    tokens = model.head.token_lists
    for row, item in enumerate(items):
        for label, word in enumerate(tokens):
            ids = torch.tensor([item.input_ids + word[:-1]])
            with torch.no_grad():
                logprobs = lm(input_ids=ids).logits.float().log_softmax(-1)[0]
            start = len(item.input_ids) - 1
            expected = sum(logprobs[start + j, token].item() for j, token in enumerate(word))
            assert scores[row, label].item() == pytest.approx(expected, abs=1e-4)


def test_padding_and_batch_company_do_not_change_scores(tiny_model_dir):
    model, tokenizer, cfg = _model(tiny_model_dir, "prompt_tuning")
    items, batch = _batch(tokenizer, cfg)
    with torch.no_grad():
        together = model(batch["input_ids"], batch["attention_mask"], batch["last_index"])
        for row in range(len(items)):
            alone = collate_classification(items, [row], tokenizer.pad_token_id)
            single = model(alone["input_ids"], alone["attention_mask"], alone["last_index"])
            assert torch.allclose(single[0], together[row], atol=1e-4)


def test_cross_entropy_equals_the_single_token_path_when_every_word_is_one_token(tiny_model_dir):
    """The normaliser cancels: CE over summed log-probs = CE over label-row logits."""
    cfg = load_config(None, [f"model.name={tiny_model_dir}", "data.task=xnli", "method.name=full_finetune"])
    fast, tokenizer = load_task_model(cfg, device="cpu")
    assert isinstance(fast.head, VerbalizerHead)
    ids = [[t] for t in fast.head.token_ids.tolist()]
    exact = MultiTokenVerbalizer(fast.backbone, ids, tokenizer.pad_token_id)
    _, batch = _batch(tokenizer, cfg)
    fast.eval()
    with torch.no_grad():
        logits = fast(batch["input_ids"], batch["attention_mask"], batch["last_index"])
        scores = exact.scores(fast, batch["input_ids"], batch["attention_mask"], batch["last_index"])
    labels = torch.tensor([0, 2, 1])
    assert torch.allclose(torch.nn.functional.cross_entropy(logits, labels),
                          torch.nn.functional.cross_entropy(scores, labels), atol=1e-5)
    assert torch.equal(logits.argmax(-1), scores.argmax(-1))
