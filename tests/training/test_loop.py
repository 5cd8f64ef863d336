"""The training loop: only trainable weights change, resumption is exact, the loss ignores padding."""


import json

import pytest
import torch

from xlpt.config import load_config
from xlpt.demo.sample_data import corpus_lines
from xlpt.models.build import load_task_model
from xlpt.models.tiny import build_tiny_model, default_corpus
from xlpt.training.loop import train


@pytest.fixture(scope="module")
def demo_model_dir(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("demo-tiny"), default_corpus() + corpus_lines())


def setup(model_dir, method, toy_pairs, **train):
    cfg = load_config(None, [f"model.name={model_dir}", "data.task=pawsx", f"method.name={method}",
                             "train.batch_size=16", "train.eval_every=100", "train.log_every=50"]
                      + [f"train.{key}={value}" for key, value in train.items()])
    torch.manual_seed(0)
    model, tokenizer = load_task_model(cfg, device="cpu")
    return cfg, model, toy_pairs.objective(tokenizer, 600, 100)


def quiet(*_):
    pass


@pytest.mark.parametrize("method, lr, steps, minimum", [("prompt_tuning", 0.3, 600, 0.85),
                                                        ("full_finetune", 1e-3, 300, 0.9)])
def test_each_method_learns_a_learnable_task(demo_model_dir, tmp_path, method, lr, steps, minimum, toy_pairs):
    """Non-paraphrase pairs insert a negation word: a tiny random model can learn to spot it.
    (A frozen random model gives the prompt little to steer, so prompt tuning needs more steps.)"""
    cfg, model, objective = setup(demo_model_dir, method, toy_pairs, max_steps=steps)
    chance = objective.dev_score(model)
    summary = train(model, objective, cfg.train, lr, tmp_path, torch.device("cpu"), quiet, progress=False)
    assert summary.best_dev_score >= minimum, (chance, summary.dev_history)
    assert summary.best_dev_score > chance + 0.2


def test_prompt_tuning_changes_only_the_prompt(demo_model_dir, tmp_path, toy_pairs):
    cfg, model, objective = setup(demo_model_dir, "prompt_tuning", toy_pairs, max_steps=20)
    frozen_before = {k: v.clone() for k, v in model.backbone.state_dict().items()}
    prompt_before = model.prompt.weight.detach().clone()
    train(model, objective, cfg.train, 0.1, tmp_path, torch.device("cpu"), quiet, progress=False)
    after = model.backbone.state_dict()
    assert all(torch.equal(frozen_before[k], after[k]) for k in frozen_before)
    assert not torch.equal(prompt_before, model.prompt.weight)
    assert [n for n, p in model.named_parameters() if p.requires_grad] == ["prompt.weight"]


@pytest.mark.parametrize("row_groups", [False, True], ids=["whole-batches", "row-groups"])
def test_resuming_after_an_interruption_gives_the_same_result(demo_model_dir, tmp_path, toy_pairs, interrupting,
                                                              row_groups, monkeypatch):
    """Also with the rows of each batch run in length groups (models/task_model.py; the tiny model would
    run its batches whole, so a call is made to cost one position here)."""
    if row_groups:
        from xlpt.models import task_model

        monkeypatch.setattr(task_model, "call_cost", lambda hidden_size: 1)
    cfg, model, objective = setup(demo_model_dir, "prompt_tuning", toy_pairs, max_steps=60, eval_every=20, epochs=1,
                                  checkpoint_every=20)
    straight = train(model, objective, cfg.train, 0.1, tmp_path / "straight", torch.device("cpu"), quiet, progress=False)
    expected = model.prompt.weight.detach().clone()

    cfg, model, objective = setup(demo_model_dir, "prompt_tuning", toy_pairs, max_steps=60, eval_every=20, epochs=1,
                                  checkpoint_every=20)
    with pytest.raises(interrupting.Interrupt):  # dies after 50 batches: last checkpoint at step 40
        train(model, interrupting(objective, 50), cfg.train, 0.1, tmp_path / "cut", torch.device("cpu"),
              quiet, progress=False)
    cfg, model, objective = setup(demo_model_dir, "prompt_tuning", toy_pairs, max_steps=60, eval_every=20, epochs=1,
                                  checkpoint_every=20)
    resumed = train(model, objective, cfg.train, 0.1, tmp_path / "cut", torch.device("cpu"), quiet, progress=False)
    assert resumed.resumed_from_step == 40
    assert torch.equal(model.prompt.weight, expected)
    assert resumed.best_dev_score == straight.best_dev_score
    assert [h["step"] for h in resumed.dev_history] == [20, 40, 60]


def test_loss_ignores_padding_tokens(demo_model_dir, toy_pairs):
    _, model, objective = setup(demo_model_dir, "full_finetune", toy_pairs, max_steps=1)
    batch = objective.batch(list(range(8)), torch.device("cpu"))
    assert (batch["attention_mask"] == 0).any()
    loss, n_tokens = objective.loss(model, batch)
    scrambled = dict(batch, input_ids=torch.where(batch["attention_mask"].bool(), batch["input_ids"],
                                                  torch.randint(5, 100, batch["input_ids"].shape)))
    assert torch.allclose(objective.loss(model, scrambled)[0], loss, atol=1e-6)
    assert n_tokens == int(batch["attention_mask"].sum())


def test_time_spent_on_checkpoints_is_measured_and_is_part_of_the_run(demo_model_dir, tmp_path, toy_pairs):
    cfg, model, objective = setup(demo_model_dir, "full_finetune", toy_pairs, max_steps=12, eval_every=4,
                                  checkpoint_every=4)
    summary = train(model, objective, cfg.train, 1e-3, tmp_path, torch.device("cpu"), quiet, progress=False)
    # best weights handed over at each improvement, snapshots at steps 4 and 8 and at the end
    assert 0 < summary.checkpoint_seconds < summary.seconds
    assert (tmp_path / "checkpoint" / "best.safetensors").exists() and (tmp_path / "checkpoint" / "last.pt").exists()


def test_the_loop_writes_where_its_checkpointer_says(demo_model_dir, tmp_path, toy_pairs, interrupting):
    """The loop names no file: a checkpointer with another layout gets every write and every read (resume)."""
    from xlpt.training.checkpointer import Checkpointer
    from xlpt.run_dir import safetensors_metadata

    def elsewhere():
        return Checkpointer(tmp_path / "kept" / "weights.bin", tmp_path / "snapshots" / "resume.state",
                            tmp_path / "records.txt", metadata={"base": "tiny"})

    def fresh():
        return setup(demo_model_dir, "prompt_tuning", toy_pairs, max_steps=8, eval_every=4, checkpoint_every=4,
                     epochs=1)

    cfg, model, objective = fresh()
    with pytest.raises(interrupting.Interrupt):  # dies after 6 batches: the snapshot of step 4 is on disk
        train(model, interrupting(objective, 6), cfg.train, 0.1, elsewhere(), torch.device("cpu"), quiet,
              progress=False)
    cfg, model, objective = fresh()
    summary = train(model, objective, cfg.train, 0.1, elsewhere(), torch.device("cpu"), quiet, progress=False)

    assert summary.resumed_from_step == 4 and summary.steps == 8
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert written == ["kept/weights.bin", "records.txt", "snapshots/resume.state"]
    metadata = safetensors_metadata(tmp_path / "kept" / "weights.bin")
    assert metadata["base"] == "tiny" and int(metadata["step"]) == summary.best_step
    records = [json.loads(line) for line in (tmp_path / "records.txt").read_text().splitlines()]
    assert [r["step"] for r in records if "dev_score" in r] == [4, 8]  # both runs appended to the same log


def test_the_spine_names_no_run_file():
    """training/loop.py and training/run.py leave file names to xlpt.run_dir (the loop gets a Checkpointer)."""
    import ast
    import re
    from pathlib import Path

    import xlpt.training.loop
    import xlpt.training.run

    file_name = re.compile(r"\.(json|jsonl|safetensors|pt|yaml|log)$|^checkpoint$")
    for module in (xlpt.training.loop, xlpt.training.run):
        tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)) and node.body
                      and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
        named = [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)
                 and id(node) not in docstrings and file_name.search(node.value.strip())]
        assert named == [], f"{module.__name__} names run files: {named}"
