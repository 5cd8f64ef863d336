"""Run configuration: precedence, composition, validation, and every shipped YAML."""

import re
from pathlib import Path

import pytest

from xlpt.config import load_config
from xlpt.errors import ConfigError

# Run configs (lab presets under configs/lab are lab specs, checked in tests/lab).
CONFIGS = sorted(p for p in (Path(__file__).resolve().parents[2] / "configs").rglob("*.yaml") if p.parent.name != "lab")


def test_precedence_defaults_then_files_then_overrides(tmp_path):
    model = tmp_path / "model.yaml"
    model.write_text("model: {name: some/model}\ntrain: {batch_size: 4, learning_rate: 0.5}\n")
    task = tmp_path / "task.yaml"
    task.write_text("data: {task: pawsx}\ntrain: {batch_size: 8}\n")
    cfg = load_config([model, task], ["train.learning_rate=0.1", "method.prompt_length=50"])
    assert cfg.model.name == "some/model"
    assert cfg.data.task == "pawsx"
    assert cfg.train.batch_size == 8          # the later file wins
    assert cfg.train.learning_rate == 0.1     # overrides win over files
    assert cfg.method.prompt_length == 50 and isinstance(cfg.method.prompt_length, int)
    assert cfg.train.epochs == 3.0            # untouched default


@pytest.mark.parametrize("override, message", [
    ("train.learnin_rate=0.1", "unknown config key 'train.learnin_rate' (did you mean train.learning_rate?)"),
    ("method.prompt_length=many", "method.prompt_length='many': must be a whole number"),
    ("method.prompt_init=zeros", "method.prompt_init='zeros': must be one of 'random', 'vocab' or 'text'"),
    ("data.task=mnli", "unknown task 'mnli'"),
    ("method.name=adapter", "method.name='adapter': unknown method; valid methods: zero_shot, head_only, prompt_tuning"),
    ("train.batch_size=0", "train.batch_size=0: must be >= 1"),
    ("learning_rate", "must look like section.key=value"),
])
def test_bad_values_fail_with_a_clear_message(override, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(None, [override])


def test_text_init_requires_text():
    with pytest.raises(ConfigError, match="init_text"):
        load_config(None, ["method.prompt_init=text"])


@pytest.mark.parametrize("path", CONFIGS, ids=[str(p.relative_to(p.parents[1])) for p in CONFIGS])
def test_every_shipped_config_loads(path):
    cfg = load_config(path)
    assert cfg.model.name


def test_model_and_task_configs_compose():
    root = Path(__file__).resolve().parents[2] / "configs"
    cfg = load_config([root / "models/xglm-7.5b.yaml", root / "xnli/prompt_tuning.yaml"])
    # the task file names xglm-564M; composing puts the later file's model first, so order matters
    assert cfg.model.name == "facebook/xglm-564M"
    cfg = load_config([root / "xnli/prompt_tuning.yaml", root / "models/xglm-7.5b.yaml"])
    assert cfg.model.name == "facebook/xglm-7.5B" and cfg.model.dtype == "bfloat16"
    assert cfg.method.name == "prompt_tuning"
