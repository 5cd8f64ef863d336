"""Positions every input shares are computed once (models/shared_prefix.py) and give the plain path's
states: per evaluation for every method, per training step for a soft prompt without dropout."""

import pytest
import torch

from xlpt.config import load_config
from xlpt.models.build import load_task_model
from xlpt.models.shared_prefix import common_prefix_length
from xlpt.tasks.collate import pad_right

TEXTS = ["Sentence 1: The cat sleeps on the warm chair. Answer:", "Sentence 1: Yes. Answer:",
         "Sentence 1: A dog walks home near the house."]


def _model(model_dir, method, *overrides):
    prompt = ["method.prompt_length=5"] if method in ("prompt_tuning", "prefix_tuning") else []
    cfg = load_config(None, [f"model.name={model_dir}", f"method.name={method}", *prompt, *overrides])
    torch.manual_seed(0)
    model, tokenizer = load_task_model(cfg, device="cpu")
    model.eval()
    return model, tokenizer


def _positions_run(model):
    """Records the sequence length each decoder forward receives (what was actually computed)."""
    lengths = []
    model.backbone.decoder.register_forward_pre_hook(
        lambda module, args, kwargs: lengths.append(kwargs["inputs_embeds"].shape[1]), with_kwargs=True)
    return lengths


def test_common_prefix_leaves_every_input_a_token():
    assert common_prefix_length([[2, 5, 6, 7], [2, 5, 6, 9], [2, 5, 8]]) == 2
    assert common_prefix_length([[2, 5, 6], [2, 5, 6, 7]]) == 2  # the shorter one keeps its last token
    assert common_prefix_length([[2, 5], [3, 5]]) == 0
    assert common_prefix_length([[2]]) == 0 and common_prefix_length([]) == 0


CASES = [("full_finetune", []), ("prompt_tuning", []), ("prompt_tuning", ["method.prompt_position=start"]),
         ("prefix_tuning", []), ("lora", [])]


@pytest.mark.parametrize("method,overrides", CASES)
def test_evaluation_reuses_the_shared_positions_and_matches_the_plain_path(tiny_model_dir, method, overrides):
    model, tokenizer = _model(tiny_model_dir, method, *overrides)
    sequences = [tokenizer(t).input_ids for t in TEXTS]
    shared_tokens = common_prefix_length(sequences)
    assert shared_tokens >= 4  # </s> + "Sentence 1:" (a constant template head) in the tiny vocabulary
    ids, mask = pad_right(sequences, tokenizer.pad_token_id)
    last = mask.sum(1) - 1
    with torch.no_grad():
        plain_hidden, plain = model.plain_hidden(ids, mask), model(ids, mask, last)
        lengths = _positions_run(model)
        with model.shared_prefix(sequences) as shared:
            reused_hidden, reused = model.hidden(ids, mask), model(ids, mask, last)
    assert shared.positions == shared_tokens + (5 if method == "prompt_tuning" else 0)
    assert lengths[0] == shared.positions  # the shared part, once ...
    assert lengths[1:] == [ids.shape[1] - shared_tokens] * 2  # ... then only the rest, for both calls
    assert reused_hidden.shape == plain_hidden.shape
    real = model.text_to_full_index(torch.arange(ids.shape[1])).unsqueeze(0).expand_as(ids)[mask.bool()]
    rows = torch.arange(len(TEXTS)).unsqueeze(1).expand_as(ids)[mask.bool()]
    assert torch.allclose(reused_hidden[rows, real], plain_hidden[rows, real], atol=1e-5)
    assert torch.allclose(reused, plain, atol=1e-5)


def test_batches_that_do_not_start_with_the_shared_tokens_take_the_plain_path(tiny_model_dir):
    model, tokenizer = _model(tiny_model_dir, "prompt_tuning")
    sequences = [tokenizer(t).input_ids for t in TEXTS]
    other = [tokenizer("Question: is it? Answer:").input_ids]
    ids, mask = pad_right(other, tokenizer.pad_token_id)
    with torch.no_grad(), model.shared_prefix(sequences):
        lengths = _positions_run(model)
        out = model.hidden(ids, mask)
    assert lengths == [ids.shape[1] + 5]
    assert torch.allclose(out, model.plain_hidden(ids, mask))


def test_a_parameter_change_inside_the_block_is_never_served_stale_states(tiny_model_dir):
    model, tokenizer = _model(tiny_model_dir, "prompt_tuning")
    sequences = [tokenizer(t).input_ids for t in TEXTS]
    ids, mask = pad_right(sequences, tokenizer.pad_token_id)
    with torch.no_grad(), model.shared_prefix(sequences):
        before = model.hidden(ids, mask)
        model.prompt.weight.add_(1.0)  # what an optimizer step does
        after = model.hidden(ids, mask)
        assert torch.allclose(after, model.plain_hidden(ids, mask), atol=1e-6)
    assert not torch.allclose(before, after)


def test_gradients_never_flow_through_the_evaluation_cache(tiny_model_dir):
    model, tokenizer = _model(tiny_model_dir, "prompt_tuning")
    sequences = [tokenizer(t).input_ids for t in TEXTS]
    ids, mask = pad_right(sequences, tokenizer.pad_token_id)
    with model.shared_prefix(sequences) as shared:
        model(ids, mask, mask.sum(1) - 1).sum().backward()  # grad mode on: the cache must not be used
    assert shared is not None and model.prompt.weight.grad is not None
    assert model.prompt.weight.grad.abs().sum() > 0


def _train_step(model, ids, mask, labels):
    model.prompt.weight.grad = None
    loss = torch.nn.functional.cross_entropy(model(ids, mask, mask.sum(1) - 1), labels)
    loss.backward()
    return loss.detach(), model.prompt.weight.grad.clone()


@pytest.mark.parametrize("position", ["after_bos", "start"])
def test_training_computes_the_prompt_once_per_step_with_the_same_loss_and_gradient(tiny_model_dir, position):
    model, tokenizer = _model(tiny_model_dir, "prompt_tuning", f"method.prompt_position={position}")
    model.train()  # the tiny model has no dropout: deterministic in training mode
    assert model.backbone.deterministic()
    ids, mask = pad_right([tokenizer(t).input_ids for t in TEXTS], tokenizer.pad_token_id)
    labels = torch.tensor([0, 1, 2])
    lengths = _positions_run(model)
    shared_loss, shared_grad = _train_step(model, ids, mask, labels)
    assert lengths == [model.insert_at + 5, ids.shape[1] - model.insert_at]
    model.share_prompt_in_training = False
    plain_loss, plain_grad = _train_step(model, ids, mask, labels)
    assert lengths[2:] == [ids.shape[1] + 5]
    assert torch.allclose(shared_loss, plain_loss, atol=1e-6)
    assert torch.allclose(shared_grad, plain_grad, atol=1e-6, rtol=1e-4)


def test_training_with_dropout_gives_every_row_its_own_noise(tiny_model_dir):
    """With dropout on, sharing the prompt's computation would share its noise across the batch: the
    plain path runs instead. The determinism probe leaves the global random stream untouched."""
    model, tokenizer = _model(tiny_model_dir, "prompt_tuning")
    for module in model.backbone.decoder.modules():  # XGLM keeps its rates as float attributes
        if isinstance(getattr(module, "dropout", None), float):
            module.dropout = 0.1
    model.train()
    state = torch.get_rng_state()
    assert not model.backbone.deterministic()
    assert torch.equal(torch.get_rng_state(), state)
    ids, mask = pad_right([tokenizer(t).input_ids for t in TEXTS], tokenizer.pad_token_id)
    lengths = _positions_run(model)
    model(ids, mask, mask.sum(1) - 1)
    assert lengths == [ids.shape[1] + 5]
    model.backbone.eval()  # train.dropout=off: deterministic again, the prompt is shared
    model(ids, mask, mask.sum(1) - 1)
    assert lengths[1:] == [model.insert_at + 5, ids.shape[1] - model.insert_at]


@pytest.mark.parametrize("method", ["prompt_tuning", "prefix_tuning", "full_finetune"])
def test_other_architectures_share_positions_exactly(other_model_dir, method):
    model, tokenizer = _model(other_model_dir, method)
    sequences = [tokenizer(t).input_ids for t in TEXTS]
    ids, mask = pad_right(sequences, tokenizer.pad_token_id)
    last = mask.sum(1) - 1
    with torch.no_grad():
        plain = model(ids, mask, last)
        with model.shared_prefix(sequences) as shared:
            reused = model(ids, mask, last)
    assert shared is not None
    assert torch.allclose(reused, plain, atol=1e-5)
