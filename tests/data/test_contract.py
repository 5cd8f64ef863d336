"""The data contract: every file under a task folder is used, ignored with the reason, or a problem that makes
its language unusable, and a damaged language never changes another language's data or goes missing quietly."""

from __future__ import annotations

import json

import pytest

from xlpt.cli import main
from xlpt.data.layout import resolve
from xlpt.data.plan import plan_languages
from xlpt.data.sources import TaskData
from xlpt.errors import DataFormatError
from xlpt.tasks import get_task

ROW = "p\th\tneutral\n"
SHARD_HEADER = "id\tsentence1\tsentence2\tlabel\n"


def clean_xnli(kit):
    """en and de, each with a dev and a test file; de's rows differ from en's so a mix-up would show."""
    kit.write("xnli/en/xtreme-mesh/dev-en.tsv", ROW * 3)
    kit.write("xnli/en/xtreme-mesh/test-en.tsv", "p\th\tentailment\n" * 4)
    kit.write("xnli/de/xtreme-mesh/dev-de.tsv", "a\tb\tcontradiction\n" * 5)
    kit.write("xnli/de/xtreme-mesh/test-de.tsv", "a\tb\tneutral\n" * 6)


def rename(kit, old, new):
    (kit.root / old).rename(kit.root / new)


# Each way of damaging German's files, and the words its one-line problem must contain. Every one of these
# used to be silently ignored (de scored on dev instead of test, or not at all) or concatenated.
HOSTILE_DE = {
    "second file for one split in one folder": (lambda kit: kit.write("xnli/de/xtreme-mesh/dev.tsv", ROW * 2),
                                               ("2 files for de dev in one source folder", "keep one")),
    "backup copy .bak": (lambda kit: kit.write("xnli/de/xtreme-mesh/test-de.tsv.bak", ROW),
                         ("a copy of 'test-de.tsv'",)),
    "backup copy (1)": (lambda kit: kit.write("xnli/de/xtreme-mesh/test-de (1).tsv", ROW),
                        ("a copy of 'test-de.tsv'",)),
    "two sources of equal rank": (lambda kit: kit.write("xnli/de/xtreme-topro/test-de.tsv", ROW),
                                  ("two sources of equal rank for de test", "xtreme-topro/test-de.tsv")),
    "misnamed test file": (lambda kit: rename(kit, "xnli/de/xtreme-mesh/test-de.tsv", "xnli/de/xtreme-mesh/test_de.tsv"),
                           ("unrecognised xnli file name 'test_de.tsv'",)),
    "file of another language": (lambda kit: kit.write("xnli/de/xtreme-mesh/test-fr.tsv", ROW),
                                 ("file name says language 'fr' but it is filed under 'de'",)),
    "empty test file": (lambda kit: kit.write("xnli/de/xtreme-mesh/test-de.tsv", "\n \n"),
                        ("empty file (no examples)",)),
    "renamed language folder": (lambda kit: rename(kit, "xnli/de", "xnli/de_old"), ("not a language folder",)),
    "incomplete shard set": (lambda kit: kit.write("xnli/de/hf-mesh/test-00001-of-00002.tsv", SHARD_HEADER + "1\ta\tb\t0\n"),
                             ("incomplete or mixed shard set for de test",)),
}


@pytest.fixture
def xnli_cfg(config):
    return config(data__task="xnli")


def test_a_clean_folder_uses_every_file(kit):
    clean_xnli(kit)
    kit.write("xnli/de/README.md", "notes")
    kit.write("xnli/de/xtreme-mesh/.DS_Store", "x")
    contract = resolve(get_task("xnli"), kit.root).contract
    assert contract.ok and contract.blocked() == {}
    assert contract.used == {"de": {"dev": [kit.root / "xnli/de/xtreme-mesh/dev-de.tsv"],
                                    "test": [kit.root / "xnli/de/xtreme-mesh/test-de.tsv"]},
                             "en": {"dev": [kit.root / "xnli/en/xtreme-mesh/dev-en.tsv"],
                                    "test": [kit.root / "xnli/en/xtreme-mesh/test-en.tsv"]}}
    assert {(item.path.name, item.reason) for item in contract.ignored} == {
        ("README.md", "documentation, not data"), (".DS_Store", "hidden file (not read)")}


@pytest.mark.parametrize("damage", list(HOSTILE_DE))
def test_a_damaged_language_is_unusable_and_the_others_are_unchanged(kit, xnli_cfg, damage):
    clean_xnli(kit)
    clean_en = [TaskData(get_task("xnli"), kit.root).load("en", split).examples for split in ("dev", "test")]
    make, words = HOSTILE_DE[damage]
    make(kit)
    data = TaskData(get_task("xnli"), kit.root)
    why = data.unusable("de")
    assert why is not None and all(word in why for word in words), why
    assert "de" in data.languages()  # present, never silently dropped from "all languages"
    with pytest.raises(DataFormatError, match="xnli/de cannot be used until this is fixed"):
        data.load("de", "test")
    with pytest.raises(DataFormatError):
        data.labeled_splits("de")  # it never looks like a language that simply has no test split
    assert [data.load("en", split).examples for split in ("dev", "test")] == clean_en
    plan, missing = plan_languages(xnli_cfg, data, "test", None)
    assert plan == {"en": "test"} and missing["de"].startswith("its data is unusable: xnli/de")


@pytest.mark.parametrize("damage", list(HOSTILE_DE))
def test_check_and_stats_exit_1_naming_the_problem(capsys, kit, damage):
    clean_xnli(kit)
    make, words = HOSTILE_DE[damage]
    make(kit)
    code = main(["data", "check", "--task", "xnli", "--data-dir", str(kit.root)])
    out = capsys.readouterr().out.replace(str(kit.root) + "/", "")
    problem_lines = [line for line in out.splitlines() if line.startswith("xnli/")]
    assert code == 1 and len(problem_lines) == 1 and all(word in problem_lines[0] for word in words), out
    assert out.splitlines()[-1].startswith("xnli: 1 problem(s)")
    code = main(["data", "stats", "--task", "xnli", "--data-dir", str(kit.root), "--json"])
    stats = json.loads(capsys.readouterr().out)
    assert code == 1 and stats["ok"] is False and set(stats["languages"]) == {"en"}
    assert "de" in stats["unusable"] and stats["languages"]["en"]["test"]["examples"] == 4
    assert stats["data"]["problems"][0]["languages"][0] == "de"


def test_a_misplaced_file_blames_both_languages(kit):
    clean_xnli(kit)
    kit.write("xnli/en/xtreme-mesh/test-fr.tsv", ROW)
    blocked = resolve(get_task("xnli"), kit.root).contract.blocked()
    assert set(blocked) == {"en", "fr"}  # fr's test file may be this one: fr must not be scored on dev


def test_a_stray_file_nobody_can_be_blamed_for_stops_training_and_evaluation(kit):
    clean_xnli(kit)
    kit.write("xnli/notes.tsv", ROW)
    kit.write("xnli/German/dev.tsv", ROW)
    contract = resolve(get_task("xnli"), kit.root).contract
    assert [p.langs for p in contract.problems] == [(), ()]
    with pytest.raises(DataFormatError, match="data folder is in doubt until this is fixed") as info:
        TaskData(get_task("xnli"), kit.root)
    assert info.value.path.endswith("xnli/German")


def test_unknown_language_folder_fails_evaluation_of_all_languages(kit, xnli_cfg):
    clean_xnli(kit)
    kit.write("xnli/qq/xtreme-mesh/dev-qq.tsv", ROW)
    data = TaskData(get_task("xnli"), kit.root)
    plan, missing = plan_languages(xnli_cfg, data, "test", None)
    assert plan == {"de": "test", "en": "test"} and "unknown language 'qq'" in missing["qq"]


def test_the_documented_primary_picks_are_rules_not_silence(kit):
    clean_xnli(kit)
    kit.write("xnli/de/xglue-supergleber/dev.txt", "a\tb\tneutral\n")
    kit.write("xnli/de/hf-hkunlp/test.jsonl", '{"premise": "p", "hypothesis": "h", "label": 1}\n')
    resolved = resolve(get_task("xnli"), kit.root)
    rules = "\n".join(resolved.contract.rules)
    assert "xnli de dev: reads xtreme-mesh" in rules and "dev.txt (never used)" in rules
    assert "xnli de test: reads xtreme-mesh" in rules and "hf-hkunlp/test.jsonl" in rules
    reasons = {item.path.name: item.reason for item in resolved.contract.ignored}
    assert "re-split" in reasons["dev.txt"] and "lower in the source order" in reasons["test.jsonl"]
    assert resolved.sources["de"]["test"].origin == "xtreme-mesh"


def test_ud_treebanks_and_complete_shards_are_read_together_as_a_logged_rule(kit):
    row = "1\tx\t_\tNOUN\t_\t_\t_\t_\t_\t_\n"
    kit.write("udpos/de/ud-v2.5/de_pud-ud-test.conllu", row)
    kit.write("udpos/de/ud-v2.5/de_gsd-ud-test.conllu", row)
    resolved = resolve(get_task("udpos"), kit.root)
    assert resolved.contract.ok and len(resolved.sources["de"]["test"].files) == 2
    assert "udpos de test: 2 UD treebanks read together in name order" in resolved.contract.rules[0]
    for i in range(2):
        kit.write(f"pawsx/zh/hf-mesh/test-0000{i}-of-00002.tsv", SHARD_HEADER + f"{i}\ta\tb\t1\n")
    resolved = resolve(get_task("pawsx"), kit.root)
    assert resolved.contract.ok and [p.name for p in resolved.sources["zh"]["test"].files] == [
        "test-00000-of-00002.tsv", "test-00001-of-00002.tsv"]


def test_xtreme_download_leftovers_are_ignored_with_the_reason(kit):
    kit.write("download/panx/dev-en.tsv", "a\tO\n")
    kit.write("download/panx/AmazonPhotos.zip", "zip")
    kit.write("download/panx/panx_dataset/en.tar.gz", "tgz")
    kit.write("download/panx/panx_dataset/de.tar.gz", "tgz")
    contract = resolve(get_task("panx"), kit.root).contract
    assert contract.ok
    reasons = {item.path.name: item.reason for item in contract.ignored}
    assert reasons == {"AmazonPhotos.zip": "a file of XTREME's raw download (only <split>-<lang>.tsv is data)",
                       "panx_dataset": "folder of XTREME's raw download (2 files), not processed data"}


def test_the_contract_record_and_log_lines(kit):
    clean_xnli(kit)
    kit.write("xnli/de/xtreme-mesh/test-de.tsv.bak", ROW)
    data = TaskData(get_task("xnli"), kit.root)
    record = data.record()
    assert record["used"] == {"en": {"dev": ["xnli/en/xtreme-mesh/dev-en.tsv"], "test": ["xnli/en/xtreme-mesh/test-en.tsv"]}}
    assert {item["path"] for item in record["ignored"]} == {"xnli/de/xtreme-mesh/dev-de.tsv",
                                                           "xnli/de/xtreme-mesh/test-de.tsv"}
    assert record["problems"] == [{"path": "xnli/de/xtreme-mesh/test-de.tsv.bak", "line": None, "languages": ["de"],
                                   "problem": record["problems"][0]["problem"]}]
    json.dumps(record)
    lines = data.log_lines()
    assert lines[0] == f"data: xnli in {kit.root}: 2 files used for 1 languages, 2 ignored, 1 problem(s)"
    assert any(line.startswith("problem: xnli/de/xtreme-mesh/test-de.tsv.bak: unrecognised") for line in lines)
    assert any(line.startswith("unusable: de: xnli/de/xtreme-mesh/test-de.tsv.bak") for line in lines)


def test_ignored_files_of_one_name_are_one_log_line_with_a_pattern(data_dir):
    lines = TaskData(get_task("sib200"), data_dir).log_lines()
    assert "ignored: 199 files sib200/*/sib200-github/labels.txt: not a data file of data.path " \
           "'sib200/{lang}/sib200-github/{split}.tsv'" in lines
