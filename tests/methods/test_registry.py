"""Every registered method builds on the tiny model, trains what it says, and can reload its own checkpoint."""

import pytest

from xlpt.config import load_config
from xlpt.methods import METHODS
from xlpt.models.build import load_task_model
from xlpt.models.loading import count_parameters

PROMPT_LENGTH = 5
NEEDS_A_HEAD = {"head_only"}  # the verbalizer formulation has no head to train


def expected_trainable(name: str, config, total: int) -> int:
    """What each method should train on the tiny XGLM (xnli: 3 classes). A new method needs a line here."""
    d, ffn, layers, r = config.d_model, config.ffn_dim, config.num_layers, METHODS["lora"].config().lora_r
    return {
        "prompt_tuning": PROMPT_LENGTH * d,
        "prefix_tuning": 2 * layers * PROMPT_LENGTH * d,  # a key and a value per layer and position
        "lora": layers * r * (4 * (d + d) + (d + ffn) + (ffn + d)),  # q, k, v, out; fc1; fc2
        "bitfit": layers * (4 * d + ffn + d + 2 * d) + d,  # q, k, v, out; fc1; fc2; two layer norms; final norm
        "full_finetune": total,
        "head_only": d * 3 + 3,
        "zero_shot": 0,
    }[name]


def _build(tiny_model_dir, name):
    settings = [f"method.prompt_length={PROMPT_LENGTH}"] if "prompt_length" in METHODS[name].config.model_fields else []
    settings += ["head.formulation=linear_head"] if name in NEEDS_A_HEAD else []
    cfg = load_config(None, [f"model.name={tiny_model_dir}", "data.task=xnli", f"method.name={name}"] + settings)
    return load_task_model(cfg, device="cpu")[0], cfg


@pytest.mark.parametrize("name", sorted(METHODS))
def test_method_builds_and_reports_its_trainable_share(tiny_model_dir, name):
    model, cfg = _build(tiny_model_dir, name)
    trainable, total = count_parameters(model)
    assert trainable == expected_trainable(name, model.backbone.lm.config, total)
    assert 0 <= trainable <= total
    assert cfg.learning_rate > 0 or not METHODS[name].trains  # every method that trains has a default LR

    # Checkpoints hold exactly the trainable parameters by name: a rebuilt model must ask for the same ones.
    rebuilt, _ = _build(tiny_model_dir, name)
    shapes = {n: tuple(p.shape) for n, p in model.named_parameters() if p.requires_grad}
    assert shapes == {n: tuple(p.shape) for n, p in rebuilt.named_parameters() if p.requires_grad}


def test_the_registry_holds_the_methods_the_study_compares():
    assert set(METHODS) == {"prompt_tuning", "prefix_tuning", "lora", "full_finetune", "head_only", "zero_shot",
                            "bitfit"}
