"""The one YAML reader for every file a user writes (xlpt.schema.load_yaml / read_yaml_file): YAML 1.2
scalars, duplicate keys refused with file:line, bounded size and alias expansion, clear decoding errors."""

import re
import time

import pytest

from xlpt.errors import ConfigError
from xlpt.schema import MAX_YAML_BYTES, load_yaml, parse_value, read_yaml_file


def test_duplicate_keys_are_refused_with_both_lines():
    text = "train:\n  learning_rate: 0.1\n  batch_size: 8\n  learning_rate: 0.2\n"
    with pytest.raises(ConfigError, match=re.escape("f.yaml:4: duplicate key 'learning_rate' (first at line 2)")):
        load_yaml(text, "f.yaml")


def test_duplicate_keys_in_flow_maps_and_top_level():
    with pytest.raises(ConfigError, match=re.escape("f.yaml:1: duplicate key 'a' (first at line 1)")):
        load_yaml("x: {a: 1, a: 2}\n", "f.yaml")
    with pytest.raises(ConfigError, match=re.escape("f.yaml:3: duplicate key 'name' (first at line 1)")):
        load_yaml("name: a\nlabels: [x, y]\nname: b\n", "f.yaml")


def test_equal_keys_after_yaml_typing_are_duplicates():
    # 1e-3 and 0.001 are the same number: a grid axis or label map keyed by both would collapse silently
    with pytest.raises(ConfigError, match="duplicate key 0.001"):
        load_yaml("{1e-3: a, 0.001: b}", "f.yaml")


def test_anchors_and_merge_keys_in_normal_use_still_work():
    text = "base: &b {lr: 1e-3, steps: 10}\nrun: {<<: *b, steps: 20}\nsame: *b\n"
    assert load_yaml(text, "f.yaml") == {"base": {"lr": 0.001, "steps": 10}, "run": {"lr": 0.001, "steps": 20},
                                         "same": {"lr": 0.001, "steps": 10}}


def test_alias_bomb_is_refused_fast():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
    start = time.monotonic()
    with pytest.raises(ConfigError, match=r"bomb\.yaml: aliases expand to more than [\d,]+ values"):
        load_yaml("\n".join(lines) + "\n", "bomb.yaml")
    assert time.monotonic() - start < 2


def test_recursive_alias_is_refused():
    with pytest.raises(ConfigError, match=r"f\.yaml: an alias refers to a value that contains it"):
        load_yaml("a: &a [1, *a]\n", "f.yaml")


def test_deep_nesting_is_one_line():
    with pytest.raises(ConfigError, match=r"f\.yaml:1: .*nested too deeply"):
        load_yaml("[" * 5000 + "]" * 5000, "f.yaml")


def test_oversized_text_is_refused(tmp_path):
    text = "a: " + "x" * (MAX_YAML_BYTES + 1)
    with pytest.raises(ConfigError, match=r"f\.yaml: .*larger than 10 MB"):
        load_yaml(text, "f.yaml")
    path = tmp_path / "big.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=r"big\.yaml: .*larger than 10 MB"):
        read_yaml_file(path)


def test_non_utf8_file_is_one_line_naming_it(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=r"latin1\.yaml: not UTF-8 text \(byte 0xe9 at offset 9\)"):
        read_yaml_file(path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ConfigError, match=r"YAML file .*nope\.yaml does not exist"):
        read_yaml_file(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="is a folder"):
        read_yaml_file(tmp_path)


def test_utf8_bom_is_accepted(tmp_path):
    path = tmp_path / "bom.yaml"
    path.write_bytes("\ufeffa: 1\n".encode("utf-8"))
    assert read_yaml_file(path) == {"a": 1}


@pytest.mark.parametrize("text, value", [
    ("1e-5", 1e-5), ("017", 17), ("0o17", 15), ("0x1F", 31), ("1_000", 1000), ("1:30", "1:30"),
    ("1:30:00", "1:30:00"), ("2020-13-45", "2020-13-45"), ("2024-01-01", "2024-01-01"), ("=", "="),
    ("yes", "yes"), ("off", "off"), ("true", True), ("~", None), ("-0b101", "-0b101"),
])
def test_yaml_1_2_scalars(text, value):
    assert load_yaml(f"v: {text}\n", "f.yaml") == {"v": value}
    assert parse_value(text) == value


def test_bad_yaml_is_one_line_with_the_line_number():
    with pytest.raises(ConfigError, match=r"^f\.yaml:2: not valid YAML \(mapping values"):
        load_yaml("a: 1\nb: c: d\n", "f.yaml")
    with pytest.raises(ConfigError, match=r"^f\.yaml: not valid YAML \(.*#x0000"):
        load_yaml("a: \x00\n", "f.yaml")
    with pytest.raises(ConfigError, match=r"^f\.yaml:1: not valid YAML \(.*tag"):
        load_yaml("a: !!python/object:os.system x\n", "f.yaml")
    with pytest.raises(ConfigError, match=r"^f\.yaml:1: not valid YAML \(.*unhashable"):
        load_yaml("? [a, b]\n: 1\n", "f.yaml")


@pytest.mark.parametrize("raw", ["[0.1", "{a", "{a: [1}", "[1, 2]]", "{a: 1}}"])
def test_malformed_flow_value_is_one_line(raw):
    with pytest.raises(ConfigError, match=re.escape(f"train.x={raw}: not a valid") + ".*flow"):
        parse_value(raw, "train.x")


def test_plain_text_values_stay_text():
    assert parse_value("a: b: c") == "a: b: c"
    assert parse_value("") == ""
    assert parse_value("[1, 2]") == [1, 2]
    assert parse_value("{a: 1}") == {"a": 1}
