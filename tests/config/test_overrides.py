"""Hostile `section.key=value` overrides: each is one clear line naming key and value, or the exact value."""

import re

import pytest

from xlpt.config import load_config
from xlpt.errors import ConfigError


@pytest.mark.parametrize("override, message", [
    ("train.learning_rate=[0.1", "train.learning_rate=[0.1: not a valid flow list"),
    ("model.name=[0.1", "model.name=[0.1: not a valid flow list"),      # was silently the model "[0.1"
    ("method.x={a", "method.x={a: not a valid flow mapping"),
    ("data.template={template: x", "data.template={template: x: not a valid flow mapping"),
    ("train.seed={a: 1, a: 2}", "train.seed={a: 1, a: 2}: duplicate key 'a'"),
    ("train.max_steps=1:30", "train.max_steps='1:30': must be a whole number"),  # YAML 1.1 read 90
    ("train.learning_rate=2020-13-45", "train.learning_rate='2020-13-45': must be a number"),  # was a traceback
    ("train.learning_rate=1e-3e", "train.learning_rate='1e-3e': must be a number"),
    ("train.learning_rate==", "train.learning_rate='=': must be a number"),
    ("data.=x", "'data.' is not a config key"),
    ("train.lr=", "unknown config key 'train.lr'"),
    # a nested flow map was shown as the type name: "train.learning_rate='dict': must be a number"
    ("train.learning_rate={a: {b: 1}}", "train.learning_rate={'a': {'b': 1}}: must be a number"),
    ("train.batch_size=[8, 16]", "train.batch_size=[8, 16]: must be a whole number"),
])
def test_hostile_override_is_one_clear_line(override, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(None, [override])


def test_leading_zero_is_decimal_not_octal():
    # YAML 1.1 read 017 as octal 15: max_steps=017 silently trained 15 steps
    assert load_config(None, ["train.max_steps=017"]).train.max_steps == 17
    assert load_config(None, ["train.max_steps=0x10"]).train.max_steps == 16
