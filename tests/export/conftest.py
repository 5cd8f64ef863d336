"""Trained tiny runs and their exports, made once per session (each takes a few seconds)."""

from __future__ import annotations

import pytest

FAST = ["data.max_train_examples=64", "data.max_dev_examples=16", "train.max_steps=4", "train.eval_every=2",
        "train.batch_size=8", "train.learning_rate=0.1"]


@pytest.fixture(scope="session")
def trained(tmp_path_factory, tiny_model_dir, data_dir):
    """trained(method, *overrides, task="pawsx") -> the directory of a short real run on the shared data."""
    from xlpt.cli import main

    runs = {}

    def make(method: str, *overrides: str, task: str = "pawsx"):
        key = (method, task, overrides)
        if key not in runs:
            out = tmp_path_factory.mktemp(f"{task}-{method}")
            assert main(["train", "--task", task, "--method", method, "--model", str(tiny_model_dir), "--data-dir",
                         str(data_dir), "--out", str(out), "--quiet", "model.device=cpu", *FAST, *overrides]) == 0
            runs[key] = out
        return runs[key]

    return make


@pytest.fixture(scope="session")
def exported(tmp_path_factory):
    """exported(run_dir, start_tokens_in_prompt=False) -> (folder, manifest) of `xlpt export --format peft`."""
    from xlpt.export.peft_export import export_run

    folders = {}

    def make(run, start_tokens_in_prompt: bool = False):
        key = (str(run), start_tokens_in_prompt)
        if key not in folders:
            out = tmp_path_factory.mktemp("export")
            folders[key] = out, export_run(run, out, start_tokens_in_prompt, device="cpu")
        return folders[key]

    return make


@pytest.fixture(scope="session")
def run_model():
    """run_model(run_dir) -> (task model with the run's best weights, tokenizer, config, task), in eval mode."""
    from xlpt.evaluation.evaluate import load_trained_model
    from xlpt.run_dir import RunDir
    from xlpt.tasks import get_task

    def make(run):
        cfg = RunDir(run).read_config()
        cfg.model.device = "cpu"
        task = get_task(cfg.data.task)
        model, tokenizer = load_trained_model(RunDir(run), cfg, task)
        return model.eval(), tokenizer, cfg, task

    return make


@pytest.fixture(scope="session")
def peft_model():
    """peft_model(folder, base_dir) -> PeftModel.from_pretrained on a freshly loaded base model, in eval mode."""

    def make(folder, base_dir):
        from peft import PeftModel
        from transformers import AutoModelForCausalLM

        base = AutoModelForCausalLM.from_pretrained(str(base_dir))
        return PeftModel.from_pretrained(base, str(folder)).eval()

    return make
