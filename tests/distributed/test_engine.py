"""The engine in one process: activation checkpointing, how a global micro-batch is shared, summed losses.

(Several processes: tests/training/test_distributed.py.)
"""

from __future__ import annotations

from contextlib import nullcontext

import pytest
import torch

from xlpt.config import load_config
from xlpt.distributed.context import Context
from xlpt.distributed.engine import Engine
from xlpt.errors import ConfigError
from xlpt.models.build import load_task_model
from xlpt.training.memory import TensorMeter


def setup(tiny_model_dir, toy_pairs, method: str, *extra: str):
    cfg = load_config(None, [f"model.name={tiny_model_dir}", "data.task=pawsx", f"method.name={method}",
                             "train.dropout='off'", *extra])
    torch.manual_seed(0)
    model, tokenizer = load_task_model(cfg, device="cpu")
    return cfg, model, toy_pairs.objective(tokenizer, 64, 8)


def step(cfg, model, objective, indices) -> tuple[float, dict, int]:
    """(loss, gradients, peak tensor bytes) of one forward + backward through the engine."""
    engine = Engine(model, cfg.train, Context())
    model.train()
    model.backbone.eval()  # train.dropout=off: transformers' own checkpointing would be silently off here
    meter = TensorMeter(*model.parameters(), *model.buffers())
    with meter:
        loss, _, to_backprop = engine.forward(objective, indices, torch.device("cpu"), nullcontext())
        engine.backward(to_backprop, 1)
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    return float(loss), grads, meter.peak


@pytest.mark.parametrize("method", ["full_finetune", "prompt_tuning", "lora"])
def test_gradient_checkpointing_gives_the_same_gradients_with_less_memory(tiny_model_dir, toy_pairs, method):
    indices = list(range(32))
    cfg, model, objective = setup(tiny_model_dir, toy_pairs, method)
    model.share_prompt_in_training = False  # as the engine sets it under checkpointing: same arithmetic, same bits
    loss, grads, peak = step(cfg, model, objective, indices)
    cfg, model, objective = setup(tiny_model_dir, toy_pairs, method, "train.gradient_checkpointing=true")
    loss_ckpt, grads_ckpt, peak_ckpt = step(cfg, model, objective, indices)
    assert loss_ckpt == loss and sorted(grads_ckpt) == sorted(grads) and grads
    for name, grad in grads.items():
        torch.testing.assert_close(grads_ckpt[name], grad, rtol=1e-5, atol=1e-7, msg=name)
    assert peak_ckpt < 0.8 * peak


def test_gradient_checkpointing_refuses_prefix_tuning(tiny_model_dir, toy_pairs):
    cfg, model, _ = setup(tiny_model_dir, toy_pairs, "prefix_tuning", "train.gradient_checkpointing=true")
    with pytest.raises(ConfigError, match="prefix"):
        Engine(model, cfg.train, Context())


def test_every_example_of_a_micro_batch_goes_to_exactly_one_process():
    indices = [7, 3, 9, 1, 4]
    for world in (1, 2, 3, 8):
        shares = [Engine.share(_Sharer(rank, world), indices) for rank in range(world)]
        real = [i for mine, weight in shares if weight for i in mine]
        assert sorted(real) == sorted(indices)
        assert all(mine == indices[:1] for mine, weight in shares if not weight)  # stand-ins: weight 0
        assert sum(1 for _, weight in shares if not weight) == max(0, world - len(indices))


class _Sharer:
    """What Engine.share reads of an engine: its context."""

    def __init__(self, rank, world):
        self.context = Context(rank=rank, world_size=world)


@pytest.mark.parametrize("task", ["pawsx", "udpos"])
def test_summed_loss_over_units_is_the_mean_loss(tiny_model_dir, data_dir, task):
    """What processes add up (loss_terms) divided by the units is what one process averages (loss)."""
    from xlpt.data.sources import TaskData
    from xlpt.tasks import get_task

    cfg = load_config(None, [f"model.name={tiny_model_dir}", f"data.task={task}", "method.name=full_finetune"])
    spec = get_task(task)
    examples = TaskData(spec, str(data_dir)).load("en", "dev").examples[:24]
    model, tokenizer = load_task_model(cfg, device="cpu")
    objective = spec.family_record.load().objective(spec, cfg, tokenizer, examples, examples[:4], lambda *_: None)
    batch = objective.batch(list(range(12)), torch.device("cpu"))
    mean, tokens = objective.loss(model, batch)
    total, units, tokens_too = objective.loss_terms(model, batch)
    assert tokens_too == tokens and units > 0
    torch.testing.assert_close(total / units, mean)
    halves = [objective.loss_terms(model, objective.batch(part, torch.device("cpu")))
              for part in (list(range(0, 12, 2)), list(range(1, 12, 2)))]
    torch.testing.assert_close(sum(t for t, _, _ in halves) / sum(u for _, u, _ in halves), mean)
