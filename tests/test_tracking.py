"""train.report_to: TensorBoard receives what train_log.jsonl records, read back with TensorBoard's own reader."""

import importlib.util
import json

import pytest

from xlpt.cli import main
from xlpt.errors import ConfigError

FAST = ["data.max_train_examples=48", "data.max_dev_examples=8", "train.max_steps=4", "train.eval_every=2",
        "train.log_every=1", "train.batch_size=8", "train.learning_rate=0.1", "model.device=cpu"]


def train(out, tiny_model_dir, data_dir, *overrides):
    return main(["train", "--task", "pawsx", "--method", "prompt_tuning", "--model", str(tiny_model_dir), "--data-dir",
                 str(data_dir), "--out", str(out), "--quiet", "method.prompt_length=4", *FAST, *overrides])


def read_scalars(folder) -> dict[str, list[tuple[int, float]]]:
    from tensorboard.backend.event_processing.event_multiplexer import EventMultiplexer

    events = EventMultiplexer().AddRunsFromDirectory(str(folder))
    events.Reload()
    scalars = {}
    for run, tags in events.Runs().items():
        for tag in tags["scalars"]:
            scalars[tag] = [(event.step, event.value) for event in events.Scalars(run, tag)]
    return scalars


def test_tensorboard_logs_equal_train_log_jsonl(tmp_path, tiny_model_dir, data_dir):
    out = tmp_path / "run"
    assert train(out, tiny_model_dir, data_dir, "train.report_to=tensorboard") == 0
    records = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    expected: dict[str, list] = {}
    for record in records:
        for key, value in record.items():
            if key != "step" and isinstance(value, (int, float)):
                expected.setdefault(key, []).append((record["step"], value))
    assert {"loss", "lr", "grad_norm", "tokens_per_s", "dev_score", "best"} <= set(expected)
    assert len(expected["loss"]) == 4 and len(expected["dev_score"]) == 2
    logged = read_scalars(out / "tensorboard")
    assert set(logged) == set(expected)
    for key, points in expected.items():
        assert [step for step, _ in logged[key]] == [step for step, _ in points], key
        assert [v for _, v in logged[key]] == pytest.approx([v for _, v in points], rel=1e-6), key  # float32 in TB
    # the run config goes in once as hyper-parameters (accelerate's tracker also writes them as YAML)
    hparams = list((out / "tensorboard").glob("*/hparams.yml"))
    assert len(hparams) == 1 and "method.prompt_length: 4" in hparams[0].read_text()
    assert "report_to: tensorboard" in (out / "config.yaml").read_text()


def test_no_tracker_by_default_and_the_key_stays_out_of_the_config(tmp_path, tiny_model_dir, data_dir):
    """Runs made before train.report_to existed keep their config.yaml, hence their run id."""
    out = tmp_path / "run"
    assert train(out, tiny_model_dir, data_dir) == 0
    assert not (out / "tensorboard").exists() and not (out / "wandb").exists()
    assert "report_to" not in (out / "config.yaml").read_text()


@pytest.mark.skipif(importlib.util.find_spec("wandb") is not None, reason="wandb is installed here")
def test_a_missing_tracker_package_fails_before_training(tmp_path, tiny_model_dir, data_dir, capsys):
    out = tmp_path / "run"
    assert train(out, tiny_model_dir, data_dir, "train.report_to=wandb") == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("xlpt: error: train.report_to=wandb needs the wandb package") and "\n" not in error
    assert not (out / "train_log.jsonl").exists() and not (out / "checkpoint").exists()


def test_an_unknown_tracker_is_a_config_error(tiny_model_dir):
    from xlpt.config import load_config

    with pytest.raises(ConfigError, match="train.report_to"):
        load_config(None, [f"model.name={tiny_model_dir}", "train.report_to=mlflow"])


def test_only_numbers_are_logged():
    from xlpt.tracking import hyperparameters, scalars

    assert scalars({"step": 3, "loss": None, "grad_norm": 1.5, "diverged": True, "note": "x"}) == \
        {"grad_norm": 1.5, "diverged": 1.0}
    assert hyperparameters({"train": {"seed": 1, "max_steps": None}, "data": {"template": {"a": [1, 2]}}}) == \
        {"train.seed": 1, "train.max_steps": "null", "data.template.a": "[1, 2]"}
