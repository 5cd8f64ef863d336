"""Training steps run the rows of a batch in groups of similar length (models/task_model.py `row_groups`):
the same loss and gradients as the whole padded batch (the reference path), only without the padding."""

import pytest
import torch

from xlpt.config import load_config
from xlpt.models import task_model
from xlpt.models.build import load_task_model
from xlpt.models.task_model import row_groups
from xlpt.tasks.collate import collate_classification

TEXTS = ["Sentence 1: The cat sleeps on the warm chair near the window of the house. Answer:",
         "Sentence 1: Yes. Answer:", "Sentence 1: A dog walks home. Answer:",
         "Sentence 1: The cat sleeps on the warm chair near the window of the old house by the sea. Answer:",
         "Sentence 1: No. Answer:"]


def test_groups_cover_every_row_once_and_split_only_when_it_pays():
    lengths = [50, 60, 70, 120, 55, 90, 65, 130]
    for cost in (1, 32, 10_000):
        groups = row_groups(lengths, 20, cost)
        assert sorted(i for g in groups for i in g) == list(range(len(lengths)))
        assert all(lengths[a] <= lengths[b] for g in groups for a, b in zip(g, g[1:]))  # runs of sorted rows
    assert row_groups(lengths, 20, 10_000) == [[0, 4, 1, 6, 2, 5, 3, 7]]  # one call: splitting never pays
    assert 1 < len(row_groups(lengths, 20, 32)) < len(row_groups(lengths, 20, 1)) == len(lengths)
    assert row_groups([7, 7, 7], 0, 1) == [[0, 1, 2]]  # equal lengths: nothing to gain
    assert row_groups(lengths, 20, 32) == row_groups(lengths, 20, 32)  # deterministic


def test_groups_minimise_the_positions_computed():
    lengths, extra, cost = [3, 40, 4, 41, 5, 90], 2, 6
    groups = row_groups(lengths, extra, cost)
    computed = sum(len(g) * (max(lengths[i] for i in g) + extra) for g in groups) + cost * (len(groups) - 1)
    whole = len(lengths) * (max(lengths) + extra)
    assert computed < whole
    # exhaustive check over every cut of the sorted rows
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    best = whole
    for mask in range(1 << (len(order) - 1)):
        cuts = [0] + [i + 1 for i in range(len(order) - 1) if mask >> i & 1] + [len(order)]
        parts = [order[a:b] for a, b in zip(cuts, cuts[1:])]
        best = min(best, sum(len(p) * (lengths[p[-1]] + extra) for p in parts) + cost * (len(parts) - 1))
    assert computed == best


CASES = [("prompt_tuning", []), ("prompt_tuning", ["method.prompt_position=start"]), ("prefix_tuning", []),
         ("lora", []), ("full_finetune", [])]


@pytest.mark.parametrize("method,overrides", CASES)
def test_grouped_step_equals_the_padded_batch(tiny_model_dir, monkeypatch, method, overrides):
    """Dropout off (the tiny model has none), so both paths compute the same function: loss and every
    trainable gradient agree to float rounding, and the groups really ran (fewer positions)."""
    prompt = ["method.prompt_length=5"] if method in ("prompt_tuning", "prefix_tuning") else []
    cfg = load_config(None, [f"model.name={tiny_model_dir}", f"method.name={method}", "data.task=pawsx",
                             *prompt, *overrides])
    torch.manual_seed(0)
    model, tokenizer = load_task_model(cfg, device="cpu")
    model.train()
    assert model.backbone.deterministic()

    class Item:
        def __init__(self, ids, label):
            self.input_ids, self.label = ids, label

    items = [Item(tokenizer(t).input_ids, i % 2) for i, t in enumerate(TEXTS)]
    batch = collate_classification(items, list(range(len(items))), tokenizer.pad_token_id)
    widths = []
    model.backbone.decoder.register_forward_pre_hook(
        lambda module, args, kwargs: widths.append(kwargs["inputs_embeds"].shape[:2]), with_kwargs=True)

    def loss_and_grads(split: bool):
        model.split_rows = split
        model.zero_grad(set_to_none=True)
        widths.clear()
        logits = model(batch["input_ids"], batch["attention_mask"], batch["last_index"])
        loss = torch.nn.functional.cross_entropy(logits, batch["labels"])
        loss.backward()
        grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad}
        return logits.detach(), loss.detach(), grads, sum(b * t for b, t in widths)

    reference = loss_and_grads(False)
    monkeypatch.setattr(task_model, "call_cost", lambda hidden_size: 1)  # the tiny model would not split
    grouped = loss_and_grads(True)
    assert grouped[3] < reference[3]  # fewer positions computed
    torch.testing.assert_close(grouped[0], reference[0], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(grouped[1], reference[1], atol=1e-6, rtol=1e-5)
    assert grouped[2].keys() == reference[2].keys() and reference[2]
    for name in reference[2]:
        torch.testing.assert_close(grouped[2][name], reference[2][name], atol=1e-6, rtol=1e-4, msg=name)


def test_evaluation_and_accelerators_keep_one_call(tiny_model_dir, monkeypatch):
    cfg = load_config(None, [f"model.name={tiny_model_dir}", "method.name=prompt_tuning", "method.prompt_length=5"])
    model, _ = load_task_model(cfg, device="cpu")
    monkeypatch.setattr(task_model, "call_cost", lambda hidden_size: 1)
    last = torch.tensor([3, 30, 5])
    with torch.no_grad():
        assert model._row_groups(last) is None  # no gradient: evaluation batches are already sorted by length
    assert model._row_groups(last) is not None
    model.split_rows = False
    assert model._row_groups(last) is None
