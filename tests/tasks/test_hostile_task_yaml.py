"""Hostile task YAMLs: each is one line naming the file and the key (or an exact, documented result), read
through the project's one YAML reader (duplicate keys, alias bombs, non-UTF-8 files)."""

from __future__ import annotations

import re
import time

import pytest

from xlpt.cli import main
from xlpt.errors import ConfigError
from xlpt.tasks.registry import load_task_file, parse_task

TOPIC = """name: mytopic
family: text_classification
labels: [science, travel, sports]
metric: accuracy
data:
  path: "{lang}/{split}.tsv"
  format: tsv
  columns: {text: sentence, label: topic}
  label_aliases: {sport: sports}
template: "{text} Topic:"
label_words: {science: " science", travel: " travel", sports: " sports"}
"""

PAIR = """name: mypairs
family: pair_classification
labels: [same, different]
metric: macro_f1
data: {path: "pairs/{split}-{lang}.jsonl", format: jsonl}
template: "{text_a} / {text_b} Same meaning?"
label_words: {same: " yes", different: " no"}
"""

BOMB = "\n".join(["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
                 + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]) + "\n"

HOSTILE = {
    # listed in the issue
    "duplicate key": (TOPIC + "labels: [a, b]\n", "task.yaml:12: duplicate key 'labels' (first at line 3)"),
    "pair template omits text_b": (PAIR.replace("{text_a} / {text_b}", "{text_a}"),
                                   "templates.default: the template never uses field(s) text_b"),
    "text template omits text": (TOPIC.replace('"{text} Topic:"', '"Topic:"'),
                                 "templates.default: the template never uses field(s) text"),
    "positional {}": (TOPIC.replace('"{text} Topic:"', '"{} {text} Topic:"'),
                      "templates.default: positional placeholder {} in"),
    "positional {0}": (TOPIC.replace('"{text} Topic:"', '"{0} {text} Topic:"'),
                       "templates.default: positional placeholder {0} in"),
    "alias to a label outside the set": (TOPIC.replace("{sport: sports}", "{sport: football}"),
                                         "data.label_aliases: 'sport' maps to 'football', which is not a label"),
    "alias bomb": (TOPIC.replace("labels: [science, travel, sports]", BOMB + "labels: *a8"),
                   "task.yaml: aliases expand to more than"),
    "alias bomb in a free-form section": (TOPIC + "hub: {" + BOMB.strip().replace("\n", ", ") + "}\n",
                                          "task.yaml: aliases expand to more than"),  # hung in definition_hash
    # own cases
    "empty label": (TOPIC.replace("[science, travel, sports]", '[science, travel, sports, ""]'),
                    "labels: label '' is empty"),
    "label with outer spaces": (TOPIC.replace("[science, travel, sports]", '[science, travel, " sports"]'),
                                "labels: label ' sports' has leading or trailing spaces"),
    "format spec": (TOPIC.replace('"{text} Topic:"', '"{text:d} Topic:"'),
                    "templates.default: {text:d}: conversions (!r) and format specs (:d) are not supported"),
    "conversion": (TOPIC.replace('"{text} Topic:"', '"{text!r} Topic:"'),
                   "templates.default: {text!r}: conversions (!r) and format specs (:d) are not supported"),
    "single }": (TOPIC.replace('"{text} Topic:"', '"{text} Topic:}"'),
                 "templates.default: not a valid template (Single '}' encountered"),
    "alias key in upper case": (TOPIC.replace("{sport: sports}", "{Sport: sports}"),
                                "data.label_aliases: 'Sport' must be lower case"),
    "alias that is a label": (TOPIC.replace("{sport: sports}", "{travel: sports}"),
                              "data.label_aliases: 'travel' is itself a label"),
    "two fields read one column": (TOPIC.replace("{text: sentence, label: topic}", "{text: topic, label: topic}"),
                                   "data.columns: label and text both read column 'topic'"),
    "zero-shot positional {}": (PAIR + 'zero_shot: {format: "{} {text_a} {text_b} {word}", words: {en: [q, a, b]}}\n',
                                "zero_shot.format: positional placeholder {} in"),
    "zero-shot unknown field": (PAIR + 'zero_shot: {format: "{text_a} {text_b} {wrd}", words: {en: [q, a, b]}}\n',
                                "zero_shot.format: placeholders ['wrd'] are not"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_task_yaml_is_one_line(case):
    text, expected = HOSTILE[case]
    start = time.monotonic()
    with pytest.raises(ConfigError) as caught:
        parse_task(text, "task.yaml")
    message = str(caught.value)
    assert expected in message and message.startswith("task.yaml"), message
    assert "\n" not in message and time.monotonic() - start < 2


@pytest.mark.parametrize("text", [TOPIC.replace('"{text} Topic:"', '"{{braces}} {text} Topic:"'),
                                  TOPIC.replace("[science, travel, sports]", "[yes, no, maybe]")
                                  .replace("{sport: sports}", "{}")
                                  .replace('science: " science", travel: " travel", sports: " sports"',
                                           'yes: " y", no: " n", maybe: " m"')])
def test_escaped_braces_and_yes_no_labels_are_read_exactly(text):
    spec = parse_task(text, "task.yaml")
    assert spec.labels in (("science", "travel", "sports"), ("yes", "no", "maybe"))  # YAML 1.1 read True/False
    template = spec.templates["default"]
    assert template.text.format(text="T").endswith("T Topic:")


def test_non_utf8_task_file_is_one_line_naming_it(tmp_path):
    path = tmp_path / "mytopic.yaml"
    path.write_bytes(TOPIC.replace("Topic:", "Th\xe8me:").encode("latin-1"))
    with pytest.raises(ConfigError, match=re.escape(f"{path}: not UTF-8 text")):
        load_task_file(path)


def test_tasks_command_names_the_duplicate_key(tmp_path, capsys, monkeypatch):
    from xlpt.tasks import registry

    registry._builtin()
    monkeypatch.setattr(registry, "_TASKS", dict(registry._TASKS))
    (tmp_path / "mytopic.yaml").write_text(TOPIC + "metric: macro_f1\n", encoding="utf-8")
    code = main(["tasks", "--include-path", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.endswith("mytopic.yaml:12: duplicate key 'metric' (first at line 4)"), err
    assert len(err.splitlines()) == 1
