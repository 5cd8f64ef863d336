"""Pretraining through xlpt's loop: the loss matches HF's own, decreases, resumes exactly; the control
starts from the same weights; documents are cut at sentence boundaries; budgets become step counts."""

import math

import pytest
import torch

from xlpt.lab.corpus import pretraining_documents
from xlpt.lab.pretrain import CausalLMObjective, encode_documents, init_model, plan_steps, pretrain
from xlpt.lab.tokenizer import build_tokenizer

from .conftest import make_spec


@pytest.fixture(scope="module")
def setup(tmp_path_factory, spec, lexicon, languages):
    """A natural tokenizer and the causal-LM objective over the spec's small mixture."""
    from transformers import AutoTokenizer

    train, dev, _ = pretraining_documents(spec, lexicon, languages, [])
    folder = tmp_path_factory.mktemp("lab-tokenizer")
    build_tokenizer(spec, languages, [d for docs in train.values() for d in docs], None, folder)
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    periods = [spec.language(name).period for name, docs in train.items() for _ in docs]
    train_ids, _ = encode_documents(tokenizer, [d for docs in train.values() for d in docs], periods,
                                    spec.pretraining.max_length)
    dev_ids, _ = encode_documents(tokenizer, [d for docs in dev.values() for d in docs], ".", spec.pretraining.max_length)
    return tokenizer, CausalLMObjective(train_ids, dev_ids, tokenizer.pad_token_id)


def quiet(*_):
    pass


def test_loss_matches_the_models_own_loss_and_ignores_padding(spec, setup):
    tokenizer, objective = setup
    model = init_model(spec.model, tokenizer)
    batch = objective.batch(list(range(12)), torch.device("cpu"))
    assert (batch["attention_mask"] == 0).any()
    loss, n_tokens = objective.loss(model, batch)
    reference = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=batch["labels"]).loss
    assert torch.allclose(loss, reference, atol=1e-5)  # transformers' shifted causal-LM loss, computed independently
    scrambled = torch.where(batch["attention_mask"].bool(), batch["input_ids"], torch.randint(4, 50, batch["input_ids"].shape))
    assert torch.allclose(objective.loss(model, dict(batch, input_ids=scrambled))[0], loss, atol=1e-6)
    assert n_tokens == int(batch["attention_mask"].sum())


def test_pretraining_lowers_the_dev_loss_and_the_control_keeps_the_initial_weights(spec, setup, tmp_path):
    tokenizer, objective = setup
    control = init_model(spec.model, tokenizer)
    model = init_model(spec.model, tokenizer)
    assert all(torch.equal(a, b) for a, b in zip(control.state_dict().values(), model.state_dict().values()))
    before = objective.mean_loss(model, objective.dev_ids)
    result = pretrain(make_spec(pretraining={"steps": 40, "batch_size": 16, "learning_rate": 3e-3}), model, objective,
                      tmp_path, torch.device("cpu"), quiet, progress=False)
    after = objective.mean_loss(model, objective.dev_ids)
    assert after < before - 1.0, (before, after)
    assert result["train"]["steps"] == 40 and result["plan"]["budget"] == "steps"
    assert objective.mean_loss(control, objective.dev_ids) == pytest.approx(before)


def test_an_interrupted_pretraining_resumes_to_exactly_the_same_weights(spec, setup, tmp_path, interrupting):
    tokenizer, objective = setup
    budget = make_spec(pretraining={"steps": 30, "batch_size": 16, "checkpoint_every": 10})
    straight = init_model(spec.model, tokenizer)
    pretrain(budget, straight, objective, tmp_path / "straight", torch.device("cpu"), quiet, progress=False)
    cut = init_model(spec.model, tokenizer)
    with pytest.raises(interrupting.Interrupt):  # dies in step 25: the last checkpoint is at step 20
        pretrain(budget, cut, interrupting(objective, 25), tmp_path / "cut", torch.device("cpu"), quiet, progress=False)
    resumed = init_model(spec.model, tokenizer)
    result = pretrain(budget, resumed, objective, tmp_path / "cut", torch.device("cpu"), quiet, progress=False)
    assert result["train"]["resumed_from_step"] == 20
    assert all(torch.equal(a, b) for a, b in zip(straight.state_dict().values(), resumed.state_dict().values()))


def test_a_token_budget_becomes_steps_of_the_mean_document_length(setup):
    tokenizer, objective = setup
    spec = make_spec(pretraining={"tokens": 50_000, "batch_size": 16})
    plan = plan_steps(spec, None, objective, torch.device("cpu"))
    mean = sum(objective.train_lengths()) / len(objective.train_lengths())
    assert plan["steps"] == math.ceil(50_000 / (16 * mean))
    assert plan["mean_document_tokens"] == pytest.approx(mean)


def test_a_time_budget_becomes_steps_from_a_measured_step_time(spec, setup):
    tokenizer, objective = setup
    budget = make_spec(pretraining={"seconds": 5.0, "batch_size": 16})
    plan = plan_steps(budget, init_model(spec.model, tokenizer), objective, torch.device("cpu"))
    assert plan["budget"] == "seconds" and plan["steps"] == max(1, int(5.0 / plan["measured_seconds_per_step"]))


def test_long_documents_are_cut_after_their_last_whole_sentence(setup):
    tokenizer, _ = setup
    sentence = "ka pe . "
    document = (sentence * 30).strip()
    ids, counts = encode_documents(tokenizer, [document, "ka pe ."], ".", max_length=20)
    period = tokenizer(" .", add_special_tokens=False)["input_ids"]
    assert len(ids[0]) <= 20 and ids[0][-len(period):] == period
    assert ids[1] == tokenizer("ka pe .")["input_ids"]
    assert counts == {"documents": 2, "cut_at_sentence": 1, "cut_mid_sentence": 0}
    ids, counts = encode_documents(tokenizer, ["ka " * 40], ".", max_length=10)
    assert len(ids[0]) == 10 and counts["cut_mid_sentence"] == 1
