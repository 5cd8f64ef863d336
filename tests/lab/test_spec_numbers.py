"""Lab spec files: read by the project's one YAML reader, and every number finite (a `.inf` learning rate
or init std was accepted and failed deep in pretraining)."""

import math
import re

import pytest
import yaml

from xlpt.errors import ConfigError
from xlpt.lab.spec import load_spec

SPEC = {"base": {"name": "base", "share": 0.6},
        "languages": [{"name": "greek", "script": "greek", "share": 0.4}],
        "pretraining": {"tokens": 1000}}


def write(tmp_path, text: str):
    path = tmp_path / "lab.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def spec_text(section: str, key: str, value: str) -> str:
    tree = yaml.safe_load(yaml.safe_dump(SPEC))
    tree.setdefault(section, {})[key] = "@VALUE@"
    return yaml.safe_dump(tree).replace("'@VALUE@'", value)


@pytest.mark.parametrize("section, key", [
    ("pretraining", "learning_rate"), ("model", "init_std"), ("pretraining", "weight_decay"),
    ("pretraining", "warmup_ratio"), ("corpus", "sentences"), ("model", "d_model"),
])
@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan", "1e400"])
def test_non_finite_numbers_name_the_key(tmp_path, section, key, value):
    with pytest.raises(ConfigError) as caught:
        load_spec(write(tmp_path, spec_text(section, key, value)))
    message = str(caught.value)
    shown = "inf" if value == "1e400" else value.lstrip(".").replace("-.", "-")  # as Python prints the float
    shown = re.escape(shown)
    assert re.search(rf"lab\.yaml: {section}\.{key}={shown}: expected a finite .*number, got {shown}$", message), message
    assert "\n" not in message


def test_base_share_inf_names_the_key(tmp_path):
    text = yaml.safe_dump(SPEC).replace("share: 0.6", "share: .inf")
    with pytest.raises(ConfigError, match=r"lab\.yaml: base\.share=inf: expected a finite number, got inf"):
        load_spec(write(tmp_path, text))


def test_duplicate_key_names_both_lines(tmp_path):
    path = write(tmp_path, "base: {name: base, share: 1}\nbase: {name: b, share: 1}\n")
    with pytest.raises(ConfigError, match=re.escape(f"{path}:2: duplicate key 'base' (first at line 1)")):
        load_spec(path)


def test_alias_bomb_is_refused_fast(tmp_path):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    with pytest.raises(ConfigError, match=r"lab\.yaml: aliases expand to more than"):
        load_spec(write(tmp_path, "\n".join(lines) + "\n"))


def test_non_utf8_spec_is_one_line(tmp_path):
    path = tmp_path / "lab.yaml"
    path.write_bytes(b"base: {name: b\xe9se, share: 1}\n")
    with pytest.raises(ConfigError, match=r"lab\.yaml: not UTF-8 text"):
        load_spec(path)


def test_yaml_1_2_numbers_in_specs(tmp_path):
    # the shared reader: 2e6 is a number, 017 is seventeen (YAML 1.1 read octal 15)
    spec = load_spec(write(tmp_path, spec_text("model", "seed", "017")))
    assert spec.model.seed == 17
    assert not math.isnan(spec.pretraining.learning_rate)


@pytest.mark.parametrize("section", ["model", "pretraining"])
def test_seed_beyond_32_bits_names_the_key(tmp_path, section):
    # torch.manual_seed overflows past 64 bits deep inside pretraining; train.seed has the same 32-bit bound
    with pytest.raises(ConfigError, match=rf"lab\.yaml: {section}\.seed=18446744073709551617: must be <= 4294967295"):
        load_spec(write(tmp_path, spec_text(section, "seed", "18446744073709551617")))


def test_non_finite_study_setting_names_the_key(tmp_path):
    # accepted before: the lab was built, then every study run failed on it
    text = yaml.safe_dump(SPEC) + ("study:\n  methods:\n    prompt_tuning:\n      learning_rate: 0.3\n      steps: 10\n"
                                   "      settings: {train.warmup_ratio: .inf}\n")
    with pytest.raises(ConfigError, match=r"lab\.yaml: study\.methods\.prompt_tuning.*train\.warmup_ratio.*finite"):
        load_spec(write(tmp_path, text))
