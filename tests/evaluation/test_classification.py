"""Classification predictions: the fast paths (shared prefix, token-budget batches, SDPA) give the
plain path's predictions, checked on real template encodings and against a plain per-example loop."""

import threading

import pytest
import torch

from xlpt.config import load_config
from xlpt.evaluation.classification import evaluate_classification, predict_classes
from xlpt.models.build import load_task_model
from xlpt.tasks import get_task
from xlpt.tasks.classification_encoding import encode_examples


def _setup(tiny_model_dir, method, *overrides):
    prompt = ["method.prompt_length=8"] if method in ("prompt_tuning", "prefix_tuning") else []
    cfg = load_config(None, [f"model.name={tiny_model_dir}", f"method.name={method}", "data.task=pawsx",
                             "train.eval_batch_size=16", *prompt, *overrides])
    torch.manual_seed(0)
    model, tokenizer = load_task_model(cfg, device="cpu")
    if cfg.head.formulation == "linear_head":  # a head with a real spread of scores: predictions vary
        with torch.no_grad():
            model.head.weight.normal_(0, 1.0)
    return model, tokenizer, cfg


@torch.no_grad()
def _one_by_one(model, items) -> torch.Tensor:
    """Reference scores (N, K): every example alone, the plain path, no batching, no sharing."""
    model.eval()
    scores = []
    for item in items:
        ids = torch.tensor([item.input_ids])
        hidden = model.plain_hidden(ids, torch.ones_like(ids))
        scores.append(model.head(hidden[:, model.text_to_full_index(torch.tensor(ids.shape[1] - 1))]))
    return torch.cat(scores)


@torch.no_grad()
def _split_classes(model, items) -> list[int]:
    """Set the linear head's bias so the reference predictions split between the two classes, with the
    threshold in the middle of the widest gap near the median (far from any score: rounding cannot flip a
    prediction); returns the reference predictions."""
    margins = (lambda s: s[:, 1] - s[:, 0])(_one_by_one(model, items)).sort().values
    middle = len(margins) // 2
    gaps = margins[middle - 5:middle + 5].diff()
    at = middle - 5 + int(gaps.argmax())
    model.head.bias[1] -= float(margins[at] + margins[at + 1]) / 2
    return _one_by_one(model, items).argmax(-1).tolist()


@pytest.mark.parametrize("method", ["prompt_tuning", "prefix_tuning", "full_finetune"])
def test_batched_shared_prefix_predictions_equal_the_plain_per_example_loop(tiny_model_dir, toy_pairs, method):
    model, tokenizer, cfg = _setup(tiny_model_dir, method, "head.formulation=linear_head")
    task = get_task("pawsx")
    items, _ = encode_examples(toy_pairs.examples(60, 5), task.resolve_template(None), tokenizer, task.labels, 256)
    reference = _split_classes(model, items)
    assert 20 <= sum(reference) <= 40  # both classes occur: a constant prediction could not tell paths apart
    assert predict_classes(model, items, tokenizer.pad_token_id, 16, progress=False) == reference
    assert predict_classes(model, items, tokenizer.pad_token_id, 64, progress=False, max_tokens=600) == reference


def test_batches_run_side_by_side_give_the_same_predictions(tiny_model_dir, toy_pairs):
    """With 2 torch threads a small model's batches run on 2 workers (evaluation/batch_workers.py): the
    same predictions as one batch after another, and torch's thread count is left as it was."""
    model, tokenizer, cfg = _setup(tiny_model_dir, "prompt_tuning", "head.formulation=linear_head")
    task = get_task("pawsx")
    items, _ = encode_examples(toy_pairs.examples(60, 5), task.resolve_template(None), tokenizer, task.labels, 256)
    reference = _split_classes(model, items)
    threads, ran_on = torch.get_num_threads(), set()
    model.backbone.decoder.register_forward_pre_hook(lambda module, args: ran_on.add(threading.get_ident()))
    torch.set_num_threads(2)
    try:
        assert predict_classes(model, items, tokenizer.pad_token_id, 4, progress=False) == reference
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(threads)
    assert threading.get_ident() in ran_on and 2 <= len(ran_on) <= 3  # the shared prefix here; batches on workers


def test_token_budget_is_read_from_the_config(tiny_model_dir, toy_pairs):
    examples = toy_pairs.examples(40, 6)
    results = {}
    for budget in ("", "train.eval_batch_tokens=200"):
        model, tokenizer, cfg = _setup(tiny_model_dir, "prompt_tuning", "head.formulation=linear_head",
                                       *([budget] if budget else []))
        task = get_task("pawsx")
        _split_classes(model, encode_examples(examples, task.resolve_template(None), tokenizer, task.labels, 256)[0])
        batches = []
        model.backbone.decoder.register_forward_pre_hook(
            lambda module, args, kwargs: batches.append(kwargs["inputs_embeds"].shape[0]), with_kwargs=True)
        metrics, records = evaluate_classification(task, model, tokenizer, cfg, examples, progress=False)
        results[budget] = ([r["pred"] for r in records], batches[1:])  # batches[0]: the shared prefix
    (plain_preds, plain_rows), (budget_preds, budget_rows) = results[""], results["train.eval_batch_tokens=200"]
    assert plain_preds == budget_preds and len(set(plain_preds)) == 2
    assert max(plain_rows) == 16 and max(budget_rows) < 16  # the budget really cut the batches


def test_multi_token_label_words_use_the_shared_prefix_exactly(tiny_model_dir, toy_pairs):
    template = '{template: "Sentence 1: {text_a} Sentence 2: {text_b} Same?", label_words: {not_paraphrase: " not at all", paraphrase: " yes indeed"}}'
    model, tokenizer, cfg = _setup(tiny_model_dir, "prompt_tuning", f"data.template={template}")
    assert hasattr(model.head, "scores")  # the multi-token verbalizer
    task = get_task("pawsx")
    items, _ = encode_examples(toy_pairs.examples(24, 7), cfg.data.template, tokenizer, task.labels, 256)
    from xlpt.tasks.collate import collate_classification

    batch = collate_classification(items, list(range(len(items))), tokenizer.pad_token_id)
    args = (batch["input_ids"], batch["attention_mask"], batch["last_index"])
    model.eval()
    with torch.no_grad():
        plain = model(*args)
        with model.shared_prefix([item.input_ids for item in items]) as shared:
            reused = model(*args)
    assert shared is not None and shared.token_ids.numel() >= 4
    assert torch.allclose(reused, plain, atol=1e-5)
