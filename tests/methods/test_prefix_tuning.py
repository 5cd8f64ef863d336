"""Prefix tuning: what trains, the forward against HF's cache path and PEFT, padding, checkpoints, learning."""


import pytest
import torch

from xlpt.config import load_config
from xlpt.models.build import load_task_model
from xlpt.models.loading import count_parameters, load_causal_lm
from xlpt import checkpoints
from xlpt.tasks.collate import pad_right
from xlpt.training.schedule import param_groups



def _model(tiny_model_dir, task="xnli", method="prefix_tuning", **settings):
    cfg = load_config(None, [f"model.name={tiny_model_dir}", f"data.task={task}", f"method.name={method}"]
                      + [f"method.{key}={value}" for key, value in settings.items()])
    model, tokenizer = load_task_model(cfg, device="cpu")
    model.eval()
    return model, tokenizer, cfg


def _batch(tokenizer):
    ids, mask = pad_right([tokenizer("The cat sleeps. Answer:").input_ids,
                           tokenizer("A man walks his dog in the park near the river. Answer:").input_ids],
                          tokenizer.pad_token_id)
    return ids, mask, mask.sum(1) - 1


def _scramble(model, seed=0):
    """Move the prefix away from its initialisation, so checks do not rely on the starting point."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in (model.prefix.prefix_keys, model.prefix.prefix_values):
            param.add_(torch.randn(param.shape, generator=generator) * param.std())


def test_only_the_prefix_trains_and_its_size_is_two_per_layer_per_position(tiny_model_dir):
    model, _, _ = _model(tiny_model_dir, prompt_length=7)
    config = model.backbone.lm.config
    heads, head_dim = config.attention_heads, config.d_model // config.attention_heads
    assert [n for n, p in model.named_parameters() if p.requires_grad] == ["prefix.prefix_keys", "prefix.prefix_values"]
    assert model.prefix.prefix_keys.shape == (config.num_layers, heads, 7, head_dim)
    trainable, total = count_parameters(model)
    assert trainable == 2 * config.num_layers * 7 * config.d_model
    assert total == trainable + sum(p.numel() for p in model.backbone.parameters())
    # the prefix adds no input positions: a soft prompt is absent and text indices are not shifted
    assert model.prompt is None and model.text_to_full_index(torch.tensor([3])).tolist() == [3]


def test_prefix_is_kept_out_of_weight_decay(tiny_model_dir):
    model, _, _ = _model(tiny_model_dir)
    groups = param_groups(model, weight_decay=0.01, lr=0.1)
    assert [g["weight_decay"] for g in groups] == [0.0]  # the only group: prefix keys and values, not decayed
    assert {id(p) for p in groups[0]["params"]} == {id(model.prefix.prefix_keys), id(model.prefix.prefix_values)}


@pytest.mark.parametrize("init", ["vocab", "random"])
def test_at_init_equals_prompt_tuning_with_the_same_starting_vectors(tiny_model_dir, init):
    """The prefix starts as the keys/values of the soft prompt's starting vectors, and the text sits after
    them (positions P..): so at step 0 it is exactly prompt tuning with the prompt first (placement `start`)."""
    prefixed, tokenizer, _ = _model(tiny_model_dir, prompt_length=6, prompt_init=init)
    prompted, _, _ = _model(tiny_model_dir, method="prompt_tuning", prompt_length=6, prompt_init=init,
                            prompt_position="start")
    ids, mask, last = _batch(tokenizer)
    assert torch.allclose(prefixed(ids, mask, last), prompted(ids, mask, last), atol=1e-5)


def test_equals_the_hf_model_reading_a_cache_that_holds_the_prefix(tiny_model_dir):
    """Reference: XGLMForCausalLM's own forward with a DynamicCache filled layer by layer, the attention mask
    covering prefix + text, and positions continuing after the prefix."""
    from transformers import DynamicCache

    model, tokenizer, _ = _model(tiny_model_dir, prompt_length=4)
    _scramble(model)
    ids, mask, last = _batch(tokenizer)
    ours = model(ids, mask, last)

    cache, batch = DynamicCache(), ids.shape[0]
    for layer, (k, v) in enumerate(zip(model.prefix.prefix_keys, model.prefix.prefix_values)):
        cache.update(k.detach().repeat(batch, 1, 1, 1), v.detach().repeat(batch, 1, 1, 1), layer)
    full_mask = torch.cat([torch.ones(batch, 4, dtype=mask.dtype), mask], dim=1)
    positions = torch.arange(4, 4 + ids.shape[1]).unsqueeze(0).expand(batch, -1)
    logits = model.backbone.lm(input_ids=ids, attention_mask=full_mask, position_ids=positions,
                               cache=cache).logits
    reference = logits[torch.arange(batch), last][:, model.head.token_ids]
    assert torch.allclose(ours, reference, atol=1e-5)
    # and the prefix matters: without it the scores differ
    plain = model.backbone.lm(input_ids=ids, attention_mask=mask).logits[torch.arange(batch), last][:, model.head.token_ids]
    assert not torch.allclose(ours, plain, atol=1e-3)


def test_matches_peft_prefix_tuning_forward(tiny_model_dir):
    """PEFT's PrefixTuningConfig works on XGLM with transformers 5.x (it builds a DynamicCache and lets positions
    continue from the cache length); with the same prefix its logits equal ours."""
    from peft import PrefixTuningConfig, TaskType, get_peft_model

    model, tokenizer, _ = _model(tiny_model_dir, prompt_length=5)
    _scramble(model, seed=1)
    ids, mask, last = _batch(tokenizer)
    ours = model(ids, mask, last)

    lm, _ = load_causal_lm(tiny_model_dir, device="cpu")
    config = lm.config
    peft_model = get_peft_model(lm, PrefixTuningConfig(
        task_type=TaskType.CAUSAL_LM, num_virtual_tokens=5, num_layers=config.num_layers, token_dim=config.d_model,
        num_attention_heads=config.attention_heads))  # XGLM calls it attention_heads: PEFT cannot find it alone
    # PEFT's table is (P, layers * 2 * d): for each virtual token, layer 0 key, layer 0 value, layer 1 key, ...
    kv = torch.stack([model.prefix.prefix_keys, model.prefix.prefix_values], dim=1)  # (L, 2, H, P, hd)
    with torch.no_grad():
        peft_model.prompt_encoder["default"].embedding.weight.copy_(kv.permute(3, 0, 1, 2, 4).reshape(5, -1))
    peft_model.eval()
    logits = peft_model(input_ids=ids, attention_mask=mask).logits  # (B, T, V): the prefix yields no outputs
    theirs = logits[torch.arange(2), last][:, model.head.token_ids]
    assert torch.allclose(ours, theirs, atol=1e-5)


def test_padding_does_not_change_predictions(tiny_model_dir):
    model, tokenizer, _ = _model(tiny_model_dir, prompt_length=4)
    _scramble(model)
    ids, mask, last = _batch(tokenizer)
    assert (mask[0] == 0).any()  # the short example really is padded
    batched = model(ids, mask, last)
    short = tokenizer("The cat sleeps. Answer:").input_ids
    alone = model(torch.tensor([short]), torch.ones(1, len(short), dtype=torch.long), torch.tensor([len(short) - 1]))
    assert torch.allclose(batched[0], alone[0], atol=1e-5)


def test_training_moves_only_the_prefix_and_checkpoints_round_trip(tiny_model_dir, tmp_path, toy_pairs):
    model, tokenizer, cfg = _model(tiny_model_dir, task="pawsx", prompt_length=4)
    frozen = {k: v.clone() for k, v in model.backbone.state_dict().items()}
    start = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
    toy_pairs.train(model, toy_pairs.objective(tokenizer, 64), cfg, tmp_path / "run", steps=5, lr=0.1)
    after = model.backbone.state_dict()
    assert all(torch.equal(frozen[k], after[k]) for k in frozen)
    assert all(not torch.equal(start[n], p) for n, p in model.named_parameters() if p.requires_grad)  # keys and values

    checkpoints.atomic_save(checkpoints.trainable_state(model), tmp_path / "prefix.pt")
    rebuilt, _, _ = _model(tiny_model_dir, task="pawsx", prompt_length=4)
    ids, mask, last = _batch(tokenizer)
    assert not torch.equal(rebuilt(ids, mask, last), model(ids, mask, last))
    checkpoints.load_trainable_state(rebuilt, checkpoints.load(tmp_path / "prefix.pt"))
    assert torch.equal(rebuilt(ids, mask, last), model(ids, mask, last))


def test_prefix_stays_float32_and_follows_a_bfloat16_model(tiny_model_dir):
    cfg = load_config(None, [f"model.name={tiny_model_dir}", "data.task=xnli", "method.name=prefix_tuning",
                             "method.prompt_length=4"])
    model, tokenizer = load_task_model(cfg, device="cpu", dtype="bfloat16")
    assert model.prefix.prefix_keys.dtype == torch.float32
    assert model.prefix.cache(2, torch.bfloat16).layers[0].keys.dtype == torch.bfloat16
    ids, mask, last = _batch(tokenizer)
    model(ids, mask, last).float().sum().backward()
    assert model.prefix.prefix_keys.grad.abs().sum() > 0


def test_works_with_the_word_tagger(tiny_model_dir):
    """Tagging shares TaskModel.hidden: its words read the same states the pair classifier would."""
    model, tokenizer, _ = _model(tiny_model_dir, task="udpos", prompt_length=3)
    _scramble(model)
    assert {n for n, p in model.named_parameters() if p.requires_grad} == {
        "prefix.prefix_keys", "prefix.prefix_values", "head.weight", "head.bias"}
    ids, mask, _ = _batch(tokenizer)
    starts, ends = torch.tensor([[1, 2], [1, 3]]), torch.tensor([[2, 3], [3, 4]])
    scores = model(ids, mask, starts, ends)
    expected = model.head(model.hidden(ids, mask)[torch.arange(2).unsqueeze(1), ends - 1])
    assert torch.allclose(scores, expected)
    scores.sum().backward()
    assert model.prefix.prefix_keys.grad.abs().sum() > 0 and model.prefix.prefix_values.grad.abs().sum() > 0


def test_learns_a_toy_pair_task(tiny_model_dir, tmp_path, toy_pairs):
    """Non-paraphrases insert "never" into sentence 2: a frozen tiny random model plus a prefix can spot it."""
    model, tokenizer, cfg = _model(tiny_model_dir, task="pawsx")
    objective = toy_pairs.objective(tokenizer, 600)
    chance = objective.dev_score(model)
    summary = toy_pairs.train(model, objective, cfg, tmp_path, steps=400, lr=0.1)
    assert summary.best_dev_score >= 0.85, summary.dev_history
    assert summary.best_dev_score > chance + 0.2
