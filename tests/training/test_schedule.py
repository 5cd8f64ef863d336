"""Optimizer groups and the warm-up + linear-decay schedule."""

import torch

from xlpt.config import load_config
from xlpt.models.build import load_task_model
from xlpt.training.schedule import make_optimizer, param_groups, warmup_linear


def test_head_gets_its_own_learning_rate_and_prompt_is_not_decayed(tiny_model_dir):
    cfg = load_config(None, [f"model.name={tiny_model_dir}", "head.formulation=linear_head"])
    model, tokenizer = load_task_model(cfg, device="cpu")
    groups = param_groups(model, weight_decay=0.01, lr=0.03, head_lr=1e-3)
    by_id = {id(p): g for g in groups for p in g["params"]}
    assert by_id[id(model.prompt.weight)]["lr"] == 0.03 and by_id[id(model.prompt.weight)]["weight_decay"] == 0.0
    assert by_id[id(model.head.weight)]["lr"] == 1e-3 and by_id[id(model.head.weight)]["weight_decay"] == 0.01
    assert by_id[id(model.head.bias)]["lr"] == 1e-3 and by_id[id(model.head.bias)]["weight_decay"] == 0.0
    assert len(by_id) == 3  # nothing of the frozen model is in the optimizer


def test_warmup_then_linear_decay_to_zero():
    optimizer = make_optimizer(torch.nn.Linear(1, 1), lr=1.0, weight_decay=0.0)
    schedule = warmup_linear(optimizer, warmup_steps=4, total_steps=10)
    seen = []
    for _ in range(10):
        seen.append(schedule.get_last_lr()[0])
        optimizer.step()
        schedule.step()
    assert seen[:4] == [0.25, 0.5, 0.75, 1.0]
    assert seen[4:] == [1.0, 5 / 6, 4 / 6, 3 / 6, 2 / 6, 1 / 6] and schedule.get_last_lr()[0] == 0.0
