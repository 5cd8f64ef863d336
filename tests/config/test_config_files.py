"""Run config files go through the project's one YAML reader: duplicate keys, alias bombs and YAML 1.1
scalars are refused or read as YAML 1.2, each problem one line naming the file (and line)."""

import re

import pytest

from xlpt.config import load_config
from xlpt.errors import ConfigError

BOMB = "\n".join(["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
                 + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)])


@pytest.mark.parametrize("text, message", [
    ("train: {seed: 1}\ntrain: {seed: 2}\n", "cfg.yaml:2: duplicate key 'train' (first at line 1)"),
    ("train:\n  seed: 1\n  learning_rate: 0.1\n  seed: 2\n", "cfg.yaml:4: duplicate key 'seed' (first at line 2)"),
    (BOMB + "\nmodel: {name: *a8}\n", "cfg.yaml: aliases expand to more than 100,000 values"),
    ("train: {seed: 1}\n---\ntrain: {seed: 2}\n", "cfg.yaml:2: not valid YAML (but found another document)"),
])
def test_bad_config_file_is_one_line(tmp_path, text, message):
    path = tmp_path / "cfg.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).startswith(str(tmp_path / message)), caught.value


def test_merge_keys_compose_and_local_keys_win(tmp_path):
    path = tmp_path / "cfg.yaml"
    path.write_text("train: {<<: {seed: 3, max_steps: 4}, max_steps: 5}\n", encoding="utf-8")
    cfg = load_config(path)
    assert (cfg.train.seed, cfg.train.max_steps) == (3, 5)


def test_non_utf8_config_names_the_file(tmp_path):
    path = tmp_path / "cfg.yaml"
    path.write_bytes("model: {name: caf\xe9}\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=re.escape(f"{path}: not UTF-8 text (byte 0xe9 at offset 17)")):
        load_config(path)
