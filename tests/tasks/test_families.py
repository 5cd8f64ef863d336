"""The family registry guards its families, and generic code asks the family instead of branching on flags."""

from __future__ import annotations

import dataclasses
import re
import sys
import types
from pathlib import Path

import pytest

import xlpt
from xlpt.data.examples import Example, TaggedSentence, is_labeled
from xlpt.errors import ConfigError
from xlpt.tasks import get_task
from xlpt.tasks.families import FAMILIES, FAMILY_PACKAGES, family_record, load_family
from xlpt.tasks.families.record import REQUIRED_METHODS

SRC = Path(xlpt.__file__).parent
FAMILIES_DIR = SRC / "tasks" / "families"


def test_every_family_is_a_package_with_a_complete_record_and_one_registration_line():
    packages = sorted(p.name for p in FAMILIES_DIR.iterdir() if (p / "__init__.py").is_file())
    assert packages == sorted(FAMILIES), "every family package is registered, and nothing else"
    registry = (FAMILIES_DIR / "__init__.py").read_text()
    for name in packages:
        assert registry.count(f'"xlpt.tasks.families.{name}"') == 1
        record = FAMILIES[name]
        assert record.missing() == []
        assert record.name == name and record.fields and record.metrics


def test_family_packages_import_no_torch_at_registration():
    # The registry is read by every command (task YAML validation): it must stay cheap.
    source = "\n".join((FAMILIES_DIR / f"{name}" / "__init__.py").read_text() for name in FAMILIES)
    assert not re.search(r"^\s*(import torch|from torch)", source, re.M)


def _fake_package(monkeypatch, name: str, body: dict) -> str:
    module = types.ModuleType(f"xlpt.tasks.families.{name}")
    module.__dict__.update(body)
    monkeypatch.setitem(sys.modules, module.__name__, module)
    return module.__name__


def test_a_record_lacking_a_required_method_is_refused_in_one_line(monkeypatch):
    incomplete = dataclasses.replace(FAMILIES["text_classification"], name="broken", score=None, check_run=None)
    package = _fake_package(monkeypatch, "broken", {"FAMILY": incomplete})
    with pytest.raises(ConfigError) as info:
        load_family(package)
    message = str(info.value)
    assert "\n" not in message
    assert "xlpt.tasks.families.broken" in message and "check_run" in message and "score" in message


def test_a_package_without_family_or_with_a_misnamed_record_is_refused(monkeypatch):
    with pytest.raises(ConfigError, match="no FAMILY = FamilyRecord"):
        load_family(_fake_package(monkeypatch, "empty", {}))
    misnamed = _fake_package(monkeypatch, "other", {"FAMILY": FAMILIES["tagging"]})
    with pytest.raises(ConfigError, match="named 'tagging'"):
        load_family(misnamed)
    with pytest.raises(ConfigError, match="unknown task family 'nope'; valid families: pair_classification"):
        family_record("nope")


def test_required_methods_are_the_documented_contract():
    assert {"check_task", "row_to_example", "score", "head_parameters", "model_texts"} <= set(REQUIRED_METHODS)


FLAG_READ = re.compile(r"\.(has_verbalizer|pretokenized)\b|family_info\b")


def test_generic_code_reads_no_family_flags():
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        if path.parent == FAMILIES_DIR and path.name == "record.py":
            continue  # where the deprecated properties are defined
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            code = line.split("#", 1)[0]
            if FLAG_READ.search(code.replace("is_pretokenized=", "")):
                offenders.append(f"{path.relative_to(SRC)}:{number}: {line.strip()}")
    assert offenders == [], "ask the family record instead:\n" + "\n".join(offenders)


def test_one_generic_example_carries_the_fields_the_task_declares():
    xnli, sib = get_task("xnli"), get_task("sib200")
    pair = xnli.family_record.row_to_example(xnli, {"text_a": "A cat.", "text_b": "An animal.", "id": 7}, "en", "x:1")
    assert pair == Example({"text_a": "A cat.", "text_b": "An animal."}, None, "en", "7")
    assert pair.text_a == "A cat." and dict(pair.fields) == {"text_a": "A cat.", "text_b": "An animal."}
    assert hash(pair) == hash(Example({"text_a": "A cat.", "text_b": "An animal."}, None, "en", "7"))
    assert not is_labeled(pair) and is_labeled(dataclasses.replace(pair, label="neutral"))
    text = sib.family_record.row_to_example(sib, {"text": "Radar"}, "eng_Latn", "in:3")
    assert text.id == "in:3" and tuple(text.fields) == ("text",)
    with pytest.raises(ValueError, match="field 'text_b' is empty"):
        xnli.family_record.row_to_example(xnli, {"text_a": "a", "text_b": "  "}, "en", "x")
    with pytest.raises(ValueError, match="unpaired surrogate"):
        sib.family_record.row_to_example(sib, {"text": "a\ud800"}, "en", "x")


def test_tagging_keeps_its_sentence_type_and_answers_like_any_example():
    udpos = get_task("udpos")
    record = udpos.family_record
    sentence = record.row_to_example(udpos, {"words": ["a", "dog"], "label": ("DET", "NOUN")}, "en", "s")
    assert isinstance(sentence, TaggedSentence) and sentence.label == ("DET", "NOUN") and is_labeled(sentence)
    with pytest.raises(ValueError, match="word 2 of 'words' must be a non-empty string"):
        record.row_to_example(udpos, {"words": ["a", ""]}, "en", "s")
    assert record.word_lists(sentence) == [["a", "dog"]]
    assert record.score(udpos, [("DET", "NOUN")], [("DET", "VERB")])["accuracy"] == 0.5


def test_families_answer_the_questions_generic_code_asks():
    xnli, panx = get_task("xnli"), get_task("panx")
    head = types.SimpleNamespace(formulation="verbalizer", word_repr="first")
    cfg = types.SimpleNamespace(head=head, data=types.SimpleNamespace(template=None, max_length=8))
    assert xnli.family_record.head_parameters(xnli, cfg, 16) == 0  # label words: no new parameters
    assert panx.family_record.head_parameters(panx, cfg, 16) == 16 * 7 + 7
    assert xnli.family_record.formulation(xnli, cfg) == "verbalizer"
    assert panx.family_record.formulation(panx, cfg) == "tagging_head"
    assert "first subword" in panx.family_record.head_reads(panx, cfg)
    assert xnli.family_record.fed_tokens(100, 8) == 8 and panx.family_record.fed_tokens(100, 8) == 100
    pair = Example({"text_a": " A ", "text_b": "B"}, None, "en", "1")
    assert xnli.family_record.model_texts(xnli, cfg, pair, False) == [
        xnli.resolve_template(None).text.format(text_a="A", text_b="B")]
    cfg.data.template = "nope"
    with pytest.raises(ConfigError):
        xnli.family_record.check_run(xnli, cfg)
    with pytest.raises(ValueError, match="has no templates"):
        panx.family_record.check_run(panx, cfg)


def test_a_task_declares_its_own_fields(tmp_path):
    from xlpt.tasks.registry import task_from_tree

    tree = {"name": "claims", "family": "pair_classification", "labels": ["yes", "no"], "metric": "accuracy",
            "fields": ["claim", "evidence"],
            "data": {"path": "{lang}/{split}.jsonl", "format": "jsonl", "columns": {"claim": "c"}},
            "template": "{claim} {evidence} True?", "label_words": {"yes": " yes", "no": " no"}}
    spec = task_from_tree(tree, "claims.yaml")
    assert spec.example_fields == ("claim", "evidence")
    with pytest.raises(ConfigError, match="never uses field"):
        task_from_tree({**tree, "template": "{claim} True?"}, "claims.yaml")
    with pytest.raises(ConfigError, match="unknown fields"):
        task_from_tree({**tree, "data": {**tree["data"], "columns": {"text_a": "x"}}}, "claims.yaml")
    assert get_task("xnli").example_fields == ("text_a", "text_b")  # the family's default
    assert FAMILY_PACKAGES[0] == "xlpt.tasks.families.pair_classification"
