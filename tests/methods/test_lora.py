"""LoRA: what trains and how much, the frozen base, identity at init, checkpoints, learning."""


import pytest
import torch

from xlpt.config import load_config
from xlpt.errors import ConfigError
from xlpt.models.build import load_task_model
from xlpt.models.loading import count_parameters, load_causal_lm
from xlpt import checkpoints
from xlpt.tasks.collate import pad_right



HEAD_KEYS = {"formulation": "head", "word_repr": "head"}  # the run config's head section


def _model(tiny_model_dir, name="lora", task="xnli", seed=42, **method):
    cfg = load_config(None, [f"model.name={tiny_model_dir}", f"data.task={task}", f"method.name={name}",
                             f"train.seed={seed}"]
                      + [f"{HEAD_KEYS.get(key, 'method')}.{key}={value}" for key, value in method.items()])
    model, tokenizer = load_task_model(cfg, device="cpu")
    model.eval()
    return model, tokenizer, cfg


def _batch(tokenizer):
    ids, mask = pad_right([tokenizer("The cat sleeps. Answer:").input_ids,
                           tokenizer("A man walks his dog in the park near the river. Answer:").input_ids],
                          tokenizer.pad_token_id)
    return ids, mask, mask.sum(1) - 1


@pytest.mark.parametrize("targets", ["q_proj,k_proj,v_proj,out_proj,fc1,fc2", "q_proj,v_proj", "fc2"])
def test_only_lora_weights_train_and_their_count_is_r_times_in_plus_out(tiny_model_dir, targets):
    model, _, _ = _model(tiny_model_dir, lora_r=4, lora_targets=targets)
    config = model.backbone.lm.config
    d, ffn = config.d_model, config.ffn_dim
    shapes = {"q_proj": (d, d), "k_proj": (d, d), "v_proj": (d, d), "out_proj": (d, d), "fc1": (d, ffn), "fc2": (ffn, d)}
    chosen = targets.split(",")
    expected = config.num_layers * sum(4 * (shapes[t][0] + shapes[t][1]) for t in chosen)
    trainable_names = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable_names and all(".lora_A." in n or ".lora_B." in n for n in trainable_names)
    assert {n.split(".lora_")[0].rsplit(".", 1)[-1] for n in trainable_names} == set(chosen)
    trainable, total = count_parameters(model)
    assert trainable == expected
    assert total - trainable == sum(p.numel() for p in load_causal_lm(tiny_model_dir, device="cpu")[0].parameters())


def test_adapters_sit_inside_the_decoder_the_backbone_runs(tiny_model_dir):
    """In-place injection: Backbone.decoder is still lm.base_model, and its layers now hold the LoRA layers."""
    from peft.tuners.lora import LoraLayer

    model, _, _ = _model(tiny_model_dir, lora_r=4, lora_alpha=12)
    backbone = model.backbone
    assert backbone.decoder is backbone.lm.base_model
    attention = backbone.decoder.layers[0].self_attn
    assert isinstance(attention.q_proj, LoraLayer) and isinstance(backbone.decoder.layers[1].fc2, LoraLayer)
    assert attention.q_proj.scaling["default"] == 12 / 4  # alpha / r from the config
    assert not isinstance(backbone.lm.get_output_embeddings(), LoraLayer)  # the verbalizer's rows stay the frozen ones


def test_output_equals_the_base_model_at_init_then_differs_after_training(tiny_model_dir, tmp_path, toy_pairs):
    base, tokenizer, _ = _model(tiny_model_dir, task="pawsx", name="full_finetune")  # the unchanged model, same head
    model, _, cfg = _model(tiny_model_dir, task="pawsx")
    ids, mask, last = _batch(tokenizer)
    with torch.no_grad():
        assert torch.equal(model(ids, mask, last), base(ids, mask, last))  # B = 0: exactly the base model

    frozen = {n: p.detach().clone() for n, p in model.named_parameters() if "lora_" not in n}
    frozen_buffers = {n: b.clone() for n, b in model.named_buffers()}
    toy_pairs.train(model, toy_pairs.objective(tokenizer, 64), cfg, tmp_path, steps=5, lr=1e-2)
    params = dict(model.named_parameters())
    assert all(torch.equal(frozen[n], params[n]) for n in frozen)
    assert all(torch.equal(b, dict(model.named_buffers())[n]) for n, b in frozen_buffers.items())
    assert any(p.abs().sum() > 0 for n, p in params.items() if ".lora_B." in n)
    with torch.no_grad():
        assert not torch.allclose(model(ids, mask, last), base(ids, mask, last), atol=1e-4)


def test_linear_head_trains_alongside_the_adapters(tiny_model_dir):
    model, _, _ = _model(tiny_model_dir, formulation="linear_head")
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert {"head.weight", "head.bias"} <= set(trainable)
    assert all(n.startswith("head.") or "lora_" in n for n in trainable)


def test_unknown_target_is_a_config_error_that_lists_the_real_names(tiny_model_dir):
    with pytest.raises(ConfigError, match="query_key_value.*fc1.*q_proj"):
        _model(tiny_model_dir, lora_targets="q_proj,query_key_value")


def test_init_is_seeded_and_a_checkpoint_restores_a_trained_model(tiny_model_dir, tmp_path, toy_pairs):
    model, tokenizer, cfg = _model(tiny_model_dir, task="pawsx", formulation="linear_head")
    again, _, _ = _model(tiny_model_dir, task="pawsx", formulation="linear_head")
    other_seed, _, _ = _model(tiny_model_dir, task="pawsx", formulation="linear_head", seed=7)
    a = "backbone.lm.model.layers.0.self_attn.q_proj.lora_A.default.weight"
    assert torch.equal(dict(model.named_parameters())[a], dict(again.named_parameters())[a])
    assert not torch.equal(dict(model.named_parameters())[a], dict(other_seed.named_parameters())[a])

    toy_pairs.train(model, toy_pairs.objective(tokenizer, 64), cfg, tmp_path / "run", steps=5, lr=1e-2)
    checkpoints.atomic_save(checkpoints.trainable_state(model), tmp_path / "lora.pt")
    ids, mask, last = _batch(tokenizer)
    assert not torch.equal(again(ids, mask, last), model(ids, mask, last))
    checkpoints.load_trainable_state(again, checkpoints.load(tmp_path / "lora.pt"))
    assert torch.equal(again(ids, mask, last), model(ids, mask, last))


def test_adapters_stay_float32_on_a_bfloat16_model(tiny_model_dir):
    cfg = load_config(None, [f"model.name={tiny_model_dir}", "data.task=xnli", "method.name=lora"])
    model, tokenizer = load_task_model(cfg, device="cpu", dtype="bfloat16")
    adapters = [p for n, p in model.named_parameters() if p.requires_grad]
    assert adapters and all(p.dtype == torch.float32 for p in adapters)
    assert model.backbone.lm.model.layers[0].fc1.base_layer.weight.dtype == torch.bfloat16
    ids, mask, last = _batch(tokenizer)
    model(ids, mask, last).float().sum().backward()
    assert all(p.grad is not None for p in adapters)


def test_works_with_the_word_tagger(tiny_model_dir):
    model, tokenizer, _ = _model(tiny_model_dir, task="udpos")
    ids, mask, _ = _batch(tokenizer)
    scores = model(ids, mask, torch.tensor([[1, 2], [1, 3]]), torch.tensor([[2, 3], [3, 4]]))
    scores.sum().backward()
    grads = {n: p.grad for n, p in model.named_parameters() if p.requires_grad}
    assert {"head.weight", "head.bias"} <= grads.keys()
    assert all(g is not None for g in grads.values())
    # at init B = 0, so only B (and the head) get a gradient; every adapted layer's B must get one
    assert all(g.abs().sum() > 0 for n, g in grads.items() if ".lora_B." in n)


def test_learns_a_toy_pair_task(tiny_model_dir, tmp_path, toy_pairs):
    """Non-paraphrases insert "never" into sentence 2: a frozen tiny random model plus LoRA can spot it."""
    model, tokenizer, cfg = _model(tiny_model_dir, task="pawsx")
    objective = toy_pairs.objective(tokenizer, 600)
    chance = objective.dev_score(model)
    summary = toy_pairs.train(model, objective, cfg, tmp_path, steps=150, lr=1e-2)
    assert summary.best_dev_score >= 0.9, summary.dev_history
    assert summary.best_dev_score > chance + 0.2
