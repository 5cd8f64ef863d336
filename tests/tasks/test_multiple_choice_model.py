"""ChoiceModel: each choice's log-likelihood with the context read once equals running every choice in full,
with no method, a soft prompt and a deep prefix; gradients flow; the context runs once per example."""

import pytest
import torch
from torch import nn

from xlpt.data.examples import Example
from xlpt.tasks.families.multiple_choice.batch import collate_choices, real_tokens
from xlpt.tasks.families.multiple_choice.encoding import encode_examples
from xlpt.tasks.families.multiple_choice.model import ChoiceModel
from xlpt.tasks.families.multiple_choice.prompt import parse_prompt
from xlpt.tasks.word_alignment import start_ids

FIELDS = ("premise", "choice1", "choice2", "question")
LABELS = ("choice1", "choice2")
PROMPT = {"derive": {"connector": {"lookup": "question", "values": {"en": {"cause": "because", "effect": "so"}}}},
          "transforms": {"premise": ["strip", "drop_last_char"], "choice1": ["lower_first"],
                         "choice2": ["lower_first"]},
          "context": "{premise} {connector}", "choices": ["{choice1}", "{choice2}"]}
ROWS = [("The man turned on the faucet.", "The toilet filled with water.", "Water flowed from the spout.", "effect", 1),
        ("My body cast a shadow over the grass.", "The sun was rising.", "The grass was cut.", "cause", 0),
        ("The girl found a bug in her cereal.", "She poured milk in the bowl.", "She lost her appetite.", "effect", 1)]


@pytest.fixture(scope="module")
def tiny(tiny_model_dir):
    from xlpt.models.backbone import Backbone
    from xlpt.models.loading import load_causal_lm

    lm, tokenizer = load_causal_lm(tiny_model_dir, device="cpu")
    return Backbone(lm), tokenizer


def examples():
    return [Example(dict(zip(FIELDS, row[:4])), LABELS[row[4]], "en", f"ex{i}") for i, row in enumerate(ROWS)]


def encoded(tokenizer):
    items, _ = encode_examples(examples(), parse_prompt(PROMPT, FIELDS, LABELS), tokenizer, LABELS, 64)
    return items


def plain_scores(model, items) -> list[float]:
    """Every choice run in full through the plain path, one at a time."""
    head = model.backbone.lm.get_output_embeddings()
    out = []
    for item in items:
        for choice in item.choices:
            ids = torch.tensor([choice.tokens])
            hidden = model.plain_hidden(ids, torch.ones_like(ids))[0]
            positions = model.text_to_full_index(torch.arange(choice.start - 1, len(choice.tokens) - 1))
            logprobs = head(hidden[positions]).float().log_softmax(-1)
            picked = logprobs.detach()[torch.arange(len(positions)), torch.tensor(choice.tokens[choice.start:])]
            out.append(float(picked.sum()))
    return out


def with_method(backbone, tokenizer, method):
    model = ChoiceModel(backbone, nn.Identity(), len(start_ids(tokenizer))).eval()
    torch.manual_seed(0)
    if method == "prompt":
        from xlpt.methods.prompt_tuning.soft_prompt import SoftPrompt

        model.prompt = SoftPrompt(torch.randn(3, backbone.hidden_size) * 0.1)
    elif method == "prefix":
        from xlpt.methods.prefix_tuning.deep_prefix import DeepPrefix, initial_key_values

        model.prefix = DeepPrefix(*initial_key_values(backbone, torch.randn(2, backbone.hidden_size) * 0.1))
    return model


@pytest.mark.parametrize("method", ["none", "prompt", "prefix"])
def test_shared_context_equals_plain_path(tiny, method):
    backbone, tokenizer = tiny
    model = with_method(backbone, tokenizer, method)
    items = encoded(tokenizer)
    with torch.no_grad():
        ours = model(collate_choices(items, list(range(len(items))), tokenizer.pad_token_id)).tolist()
    assert ours == pytest.approx(plain_scores(model, items), abs=1e-4)


def test_context_is_read_once_per_example(tiny):
    _, tokenizer = tiny
    items = encoded(tokenizer)
    batch = collate_choices(items, [0, 1, 2], tokenizer.pad_token_id)
    assert batch["group_ids"].shape[0] == 3 and batch["rest_ids"].shape[0] == 6
    full = sum(len(c.tokens) - 1 for item in items for c in item.choices)
    shared = sum(item.shared for item in items)
    assert real_tokens(batch) == full - shared  # each context read once, not once per choice (2 choices)
    assert all(item.shared == item.choices[0].start for item in items)  # the whole context is shared


def test_gradient_reaches_the_soft_prompt(tiny):
    backbone, tokenizer = tiny
    model = with_method(backbone, tokenizer, "prompt")
    items = encoded(tokenizer)
    scores = model(collate_choices(items, [0, 1], tokenizer.pad_token_id))
    scores.sum().backward()
    assert model.prompt.weight.grad is not None and model.prompt.weight.grad.abs().sum() > 0


class XcopaLike:
    labels, metric = LABELS, "accuracy"


def test_training_steps_reduce_the_choice_loss(tiny):
    from xlpt.training.choice_objective import ChoiceObjective

    backbone, tokenizer = tiny
    model = with_method(backbone, tokenizer, "prompt").train()
    items = encoded(tokenizer)
    objective = ChoiceObjective(XcopaLike(), items, items, tokenizer.pad_token_id, 4)
    optimizer = torch.optim.Adam([model.prompt.weight], lr=0.05)
    batch = objective.batch([0, 1, 2], torch.device("cpu"))
    losses = []
    for _ in range(8):
        loss, tokens = objective.loss(model, batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    assert tokens == real_tokens(batch) and losses[-1] < losses[0] - 0.05
    assert 0.0 <= objective.dev_score(model) <= 1.0


@pytest.mark.parametrize("model_type", ["gemma2", "gpt2"])
def test_scores_equal_the_models_own_forward(tmp_path, model_type):
    """Gemma-2 soft-caps its final logits (config.final_logit_softcapping): the choice scores must be the
    model's own (its forward's logits), not the raw LM head's. GPT-2: no start token, Conv1D layers."""
    from transformers import AutoModelForCausalLM

    from xlpt.models.backbone import Backbone
    from xlpt.models.loading import load_causal_lm
    from xlpt.models.tiny_architectures import build_tiny_architecture

    folder = build_tiny_architecture(model_type, tmp_path / model_type)
    lm, tokenizer = load_causal_lm(folder, device="cpu")
    lm.eval()
    model = ChoiceModel(Backbone(lm), nn.Identity(), len(start_ids(tokenizer))).eval()
    items = encoded(tokenizer)
    with torch.no_grad():
        ours = model(collate_choices(items, list(range(len(items))), tokenizer.pad_token_id)).tolist()
        reference = AutoModelForCausalLM.from_pretrained(folder, attn_implementation="eager").eval()
        theirs = []
        for item in items:
            for choice in item.choices:
                logprobs = reference(torch.tensor([choice.tokens])).logits[0].float().log_softmax(-1)
                rows = torch.arange(choice.start - 1, len(choice.tokens) - 1)
                theirs.append(float(logprobs[rows, torch.tensor(choice.tokens[choice.start:])].sum()))
    if model_type == "gemma2":
        assert reference.config.final_logit_softcapping  # the quirk under test is there
    assert ours == pytest.approx(theirs, abs=1e-4)
