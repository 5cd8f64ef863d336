"""Hostile configuration values: every one is refused before any data or model is read, in one line that
names the key, the value and what is allowed; none is silently reinterpreted (issue #8: "The README's own
override crashes", "Values silently reinterpreted")."""

from __future__ import annotations

import re

import pytest

from xlpt.config import load_config
from xlpt.errors import ConfigError

# override -> fragment of the one-line error
REFUSED = {
    # booleans are true/false only: pydantic's lax mode took yes/on/1 for the booleans below
    "train.tf32=yes": "train.tf32='yes': must be true or false",
    "train.gradient_checkpointing=1": "train.gradient_checkpointing=1: must be true or false",
    "data.allow_label_imbalance=on": "data.allow_label_imbalance='on': must be true or false",
    "data.sample_seed=-1": "data.sample_seed=-1: must be >= 0",
    "data.sample_seed=1.5": "data.sample_seed=1.5: must be a whole number",
    "train.learning_rate=.inf": "train.learning_rate=inf: must be a finite number",
    "train.learning_rate=-1e-3": "train.learning_rate=-0.001: must be > 0",
    "train.learning_rate=fast": "train.learning_rate='fast': must be a number",
    "train.patience=soon": "train.patience='soon': must be a whole number",
    "train.batch_size=8.5": "train.batch_size=8.5: must be a whole number",
    "train.batch_size=true": "train.batch_size=True: expected a number, got a boolean",
    "train.batch_size=0": "train.batch_size=0: must be >= 1",
    "train.seed=1.5": "train.seed=1.5: must be a whole number",
    "train.seed=-1": "train.seed=-1: must be >= 0",
    "train.eval_batch_size=0": "train.eval_batch_size=0: must be >= 1",
    "train.log_every=0": "train.log_every=0: must be >= 1",
    "train.warmup_ratio=.nan": "train.warmup_ratio=nan: must be a finite number",
    "train.warmup_ratio=1.5": "train.warmup_ratio=1.5: must be < 1",
    "train.max_steps=0": "train.max_steps=0: must be >= 1",
    "train.epochs=0": "train.epochs=0: must be > 0",
    "train.max_grad_norm=0": "train.max_grad_norm=0: must be > 0",
    "train.autocast=fp8": "train.autocast='fp8': must be one of",
    "model.device=gpu": "model.device='gpu': must be auto, cpu, mps, cuda or cuda:N",
    "model.dtype=fp8": "model.dtype='fp8': must be one of",
    "data.max_eval_examples=-3": "data.max_eval_examples=-3: must be >= 1",
    "data.max_train_examples=0": "data.max_train_examples=0: must be >= 1",
    "data.max_train_examples=-1": "data.max_train_examples=-1: must be >= 1",
    "data.max_dev_examples=0": "data.max_dev_examples=0: must be >= 1",
    "data.heldout_fraction=1": "data.heldout_fraction=1: must be < 1",
    "data.max_length=4": "data.max_length=4: must be >= 8",
    "data.train_split=foo": "data.train_split='foo': must be one of",
    "data.train_split=test": "data.train_split=test is also data.eval_split",
    "data.eval_split=train": "data.eval_split='train': must be one of",
    "data.eval_languages=de,,fr": "must be `all` or a comma-separated list",
    "data.task=mnli": "unknown task 'mnli'",
    "data.template=nope": "data.template='nope': task xnli has templates: default",
    "method.name=adapter": "method.name='adapter': unknown method",
    "method.prompt_length=100000": "method.prompt_length=100000: must be <= 4096",
    "method.prompt_length=0": "method.prompt_length=0: must be >= 1",
    "method.prompt_init=text": "method.prompt_init=text needs method.init_text",
    "method.lora_r=4": "method.lora_r is not a setting of method prompt_tuning",
    "train.learnin_rate=0.1": "unknown config key 'train.learnin_rate' (did you mean train.learning_rate?)",
    "trian.seed=1": "'trian.seed' is not a config key",
    "learning_rate": "must look like section.key=value",
}


@pytest.mark.parametrize("override", sorted(REFUSED))
def test_refused_in_one_line_naming_key_and_value(override):
    with pytest.raises(ConfigError) as caught:
        load_config(None, [override])
    message = str(caught.value)
    assert REFUSED[override] in message and "\n" not in message


@pytest.mark.parametrize("override, key, value", [
    ("train.learning_rate=1e-5", "learning_rate", 1e-5),   # YAML 1.1 would make this the string "1e-5"
    ("train.learning_rate=3E-2", "learning_rate", 0.03),
    ("train.learning_rate=.5", "learning_rate", 0.5),
    ("train.epochs=2", "epochs", 2.0),
    ("train.max_grad_norm=1e0", "max_grad_norm", 1.0),
])
def test_numbers_in_any_spelling_are_numbers(override, key, value):
    cfg = load_config(None, [override])
    got = getattr(cfg.train, key)
    assert isinstance(got, float) and got == value


def test_yaml_files_read_scientific_notation_too(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("train:\n  learning_rate: 1e-5\n  head_learning_rate: 2.5e-4\n")
    cfg = load_config(path)
    assert (cfg.train.learning_rate, cfg.train.head_learning_rate) == (1e-5, 2.5e-4)


@pytest.mark.parametrize("text, fragment", [
    ("train: [1, 2]\n", "section 'train' must be a mapping"),
    ("- a\n- b\n", "a config must be a YAML mapping"),
    ("train:\n  batch_size: [8\n", "not valid YAML"),
    ("evaluate:\n  split: dev\n", "unknown section 'evaluate'"),
    ("train:\n  batch_size: 8.5\n", "train.batch_size=8.5: must be a whole number"),
])
def test_broken_config_files_name_the_file(tmp_path, text, fragment):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert fragment in str(caught.value)
    assert "bad.yaml" in str(caught.value) or "config:" in str(caught.value)


def test_a_missing_config_file_is_named():
    with pytest.raises(ConfigError, match=re.escape("config file /nonexistent.yaml does not exist")):
        load_config("/nonexistent.yaml")


def test_every_method_key_belongs_to_its_method_only():
    """A key of another method is an error, not silently ignored (lora_r on a prompt-tuning run would
    otherwise look like it was used)."""
    for override in ("method.lora_alpha=4", "method.prompt_position=start"):
        with pytest.raises(ConfigError, match="is not a setting of method full_finetune"):
            load_config(None, ["method.name=full_finetune", override])


def test_yaml_1_1_booleans_stay_words():
    """YAML 1.1 reads on/off/yes/no as booleans; a choice like train.dropout=off must stay the word."""
    assert load_config(None, ["train.dropout=off"]).train.dropout == "off"
    from xlpt.schema import load_yaml

    assert load_yaml("labels: [yes, no, on, off]\nflag: true\n", "t.yaml") == {"labels": ["yes", "no", "on", "off"],
                                                                              "flag": True}
