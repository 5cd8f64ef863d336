"""XGLM's last layer run at the answer slots only (models/answer_layer.py) gives the states the full
forward gives there, for every method and with or without the shared prefix; it runs only where it may."""

import pytest
import torch
from transformers.models.xglm.modeling_xglm import XGLMDecoderLayer

from xlpt.config import load_config
from xlpt.models.build import load_task_model
from xlpt.tasks.collate import pad_right

TEXTS = ["Sentence 1: The cat sleeps on the warm chair near the window. Answer:", "Sentence 1: Yes. Answer:",
         "Sentence 1: A dog walks home near the house, slowly and happily."]


def _model(model_dir, method, *overrides):
    prompt = ["method.prompt_length=5"] if method in ("prompt_tuning", "prefix_tuning") else []
    cfg = load_config(None, [f"model.name={model_dir}", f"method.name={method}", *prompt, *overrides])
    torch.manual_seed(0)
    model, tokenizer = load_task_model(cfg, device="cpu")
    if method == "lora":  # B starts at zero; give the adapters a real effect
        with torch.no_grad():
            for name, param in model.named_parameters():
                if "lora_B" in name:
                    param.normal_(0, 0.1)
    model.eval()
    sequences = [tokenizer(t).input_ids for t in TEXTS]
    ids, mask = pad_right(sequences, tokenizer.pad_token_id)
    return model, sequences, ids, mask


def _last_layer_widths(model) -> list[int]:
    """The sequence length the last decoder layer returns, per call (1: it ran at the answer slots only)."""
    widths = []
    model.backbone.decoder.layers[-1].register_forward_hook(lambda module, args, out: widths.append(out.shape[1]))
    return widths


def _reference(model, ids, mask):
    """Class scores read from the full hidden states of every position (the path before answer_layer)."""
    hidden = model.plain_hidden(ids, mask)
    rows = torch.arange(ids.shape[0])
    return model.head(hidden[rows, model.text_to_full_index(mask.sum(1) - 1)])


CASES = [("full_finetune", []), ("prompt_tuning", []), ("prompt_tuning", ["method.prompt_position=start"]),
         ("prefix_tuning", []), ("lora", []), ("bitfit", [])]


@pytest.mark.parametrize("method,overrides", CASES)
def test_answer_slots_only_give_the_full_forwards_scores(tiny_model_dir, method, overrides):
    model, sequences, ids, mask = _model(tiny_model_dir, method, *overrides)
    last = mask.sum(1) - 1
    with torch.no_grad():
        full_before = model.plain_hidden(ids, mask)  # the layer's own class still
        reference = _reference(model, ids, mask)
        widths = _last_layer_widths(model)
        plain = model(ids, mask, last)
        with model.shared_prefix(sequences) as shared:
            reused = model(ids, mask, last)
    assert shared is not None
    assert widths == [1, shared.positions, 1]  # the batch's answer slots; the shared prefix once; answer slots
    assert torch.allclose(plain, reference, atol=1e-5) and torch.allclose(reused, reference, atol=1e-5)
    assert isinstance(model.backbone.decoder.layers[-1], XGLMDecoderLayer)
    with torch.no_grad():  # outside a call that asks for positions, the last layer is exactly the whole layer
        assert torch.equal(model.plain_hidden(ids, mask), full_before)
    assert widths[-1] == ids.shape[1] + model.prompt_length


def test_hidden_at_equals_the_full_states_at_those_positions(tiny_model_dir):
    """Any position per row, not only the last real token; padded rows included."""
    model, _, ids, mask = _model(tiny_model_dir, "prompt_tuning")
    at = torch.tensor([3, 8, model.prompt_length + 2])
    with torch.no_grad():
        full = model.hidden(ids, mask)
        picked = model.hidden(ids, mask, at=at)
    assert picked.shape == (3, full.shape[-1])
    assert torch.allclose(picked, full[torch.arange(3), at], atol=1e-5)


@pytest.mark.parametrize("method", ["prompt_tuning", "prefix_tuning"])
def test_training_and_gradients_keep_the_full_forward(tiny_model_dir, method):
    """Only inference takes the answer-only layer: a training step runs every layer at every position, in
    training mode and in eval mode (train.dropout=off runs the layers in eval mode, and gradient checkpointing
    would recompute the last layer as a whole in backward); without gradients it is taken."""
    model, _, ids, mask = _model(tiny_model_dir, method)
    last = mask.sum(1) - 1
    widths = _last_layer_widths(model)
    model.train()
    model(ids, mask, last).sum().backward()
    assert 1 not in widths
    trained = [p for p in model.parameters() if p.requires_grad]
    train_grads = [p.grad.clone() for p in trained]
    model.eval()
    for p in trained:
        p.grad = None
    widths.clear()
    model(ids, mask, last).sum().backward()
    assert 1 not in widths
    for p, expected in zip(trained, train_grads):
        assert torch.allclose(p.grad, expected, atol=1e-5, rtol=1e-4)
    widths.clear()
    with torch.no_grad():
        model(ids, mask, last)
    assert widths[-1] == 1  # (a soft prompt's `</s> P1..Pn` runs once before it)


def test_eager_attention_keeps_the_whole_last_layer(tiny_model_dir):
    """`model.attention=eager` asks for transformers' own kernel everywhere: no answer-only layer then."""
    model, _, ids, mask = _model(tiny_model_dir, "prompt_tuning", "model.attention=eager")
    widths = _last_layer_widths(model)
    with torch.no_grad():
        scores = model(ids, mask, mask.sum(1) - 1)
    assert widths == [ids.shape[1] + 5]
    assert torch.allclose(scores, _reference(model, ids, mask), atol=1e-6)


def test_other_architectures_gather_the_positions_from_the_full_states(other_model):
    """GPT-2, BLOOM, Llama: the decoder runs unchanged and Backbone.hidden_states picks the positions."""
    from xlpt.models.backbone import Backbone
    from xlpt.models.loading import load_causal_lm

    kind, folder = other_model
    lm, tokenizer = load_causal_lm(str(folder), device="cpu")
    backbone = Backbone(lm).eval()
    ids, mask = pad_right([tokenizer(t).input_ids for t in TEXTS], tokenizer.pad_token_id)
    at = mask.sum(1) - 1
    with torch.no_grad():
        embeds = backbone.embed(ids)
        full = backbone.hidden_states(embeds, mask)
        picked = backbone.hidden_states(embeds, mask, at=at)
    assert torch.equal(picked, full[torch.arange(len(TEXTS)), at])
