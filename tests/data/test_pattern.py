"""A task's data.path pattern: discovery of every file under its prefix, the real SIB-200 folder, hostile copies."""

from __future__ import annotations

import json
import re
from pathlib import PurePosixPath

import pytest

from xlpt.cli import main
from xlpt.data.layout import discover, resolve
from xlpt.data.pattern import compile_pattern
from xlpt.errors import ConfigError
from xlpt.tasks import get_task

SIB_LIKE = """
name: topics
family: text_classification
labels: [science, travel]
metric: accuracy
data:
  path: "topics/{lang}/src/{split}.tsv"
  format: tsv
  columns: {text: text, label: category, id: index_id}
  train_lang: eng_Latn
  label_parallel: true
template: "{text} Topic:"
label_words: {science: " science", travel: " travel"}
"""
HEADER = "index_id\tcategory\ttext\n"
ROWS = {"train": [(1, "science"), (2, "travel"), (3, "science")], "dev": [(4, "travel"), (5, "science")],
        "test": [(6, "science"), (7, "travel")]}


def write_language(kit, lang: str, splits=("train", "dev", "test"), prefix="topics"):
    for split in splits:
        body = "".join(f"{i}\t{label}\t{lang} sentence {i}\n" for i, label in ROWS[split])
        kit.write(f"{prefix}/{lang}/src/{split}.tsv", HEADER + body)
    kit.write(f"{prefix}/{lang}/src/labels.txt", "science\ntravel\n")


@pytest.fixture
def topics(kit, user_task):
    user_task(SIB_LIKE)
    for lang in ("eng_Latn", "deu_Latn", "zho_Hans"):
        write_language(kit, lang)
    kit.write("topics/README.md", "about")
    kit.write("elsewhere/eng_Latn/src/dev.tsv", "not under the prefix: not looked at")
    return kit


@pytest.mark.parametrize("text, words", [
    ("/abs/{lang}/{split}.tsv", "relative path inside --data-dir"),
    ("../up/{lang}/{split}.tsv", "relative path inside --data-dir"),
    ("{lang}/{split}/{name}.tsv", "unknown placeholder(s) {name}"),
    ("{lang}/{split}}.tsv", "unbalanced braces"),
])
def test_bad_patterns_are_one_line_config_errors(text, words):
    with pytest.raises(ConfigError, match=re.escape(words)):
        compile_pattern(text)


def test_pattern_matching():
    pattern = compile_pattern("data/{split}-{lang}.jsonl")
    assert pattern.match(PurePosixPath("data/dev-eng_Latn.jsonl")) == ("eng_Latn", "dev")
    assert pattern.match(PurePosixPath("data/validation-en.jsonl")) is None
    assert pattern.language_of(PurePosixPath("data/validation-en.jsonl")) == "en"
    twice = compile_pattern("{lang}/{split}.{lang}.txt")
    assert twice.match(PurePosixPath("de/test.de.txt")) == ("de", "test")
    assert twice.match(PurePosixPath("de/test.fr.txt")) is None


def test_every_file_under_the_prefix_is_used_or_ignored(topics):
    resolved = resolve(get_task("topics"), topics.root)
    contract = resolved.contract
    assert contract.ok and sorted(resolved.sources) == ["deu_Latn", "eng_Latn", "zho_Hans"]
    assert {split: len(files) for split, files in contract.used["zho_Hans"].items()} == {"train": 1, "dev": 1, "test": 1}
    reasons = sorted((contract.relative(i.path), i.reason) for i in contract.ignored)
    assert reasons == [("topics/README.md", "documentation, not data")] + [
        (f"topics/{lang}/src/labels.txt", "not a data file of data.path 'topics/{lang}/src/{split}.tsv'")
        for lang in ("deu_Latn", "eng_Latn", "zho_Hans")]
    source = resolved.sources["deu_Latn"]["test"]
    assert (source.fmt, source.labeled, source.origin) == ("tsv", True, "topics/{lang}/src/{split}.tsv")


HOSTILE = {
    "backup copy": ("topics/deu_Latn/src/test.tsv.bak", "a copy of 'test.tsv'? Two files must not claim deu_Latn test",
                    ["deu_Latn"]),
    "numbered copy": ("topics/deu_Latn/src/test (1).tsv", "a copy of 'test.tsv'?", ["deu_Latn"]),
    "wrong split name": ("topics/deu_Latn/src/validation.tsv", "looks like data but does not match data.path",
                         ["deu_Latn"]),
    "other folder": ("topics/deu_Latn/old/test.tsv", "looks like data but does not match data.path", ["deu_Latn"]),
    "copied language folder": ("topics/deu_Latn (1)/src/test.tsv", "'deu_Latn (1)' is not a language id",
                               ["deu_Latn (1)"]),
    "empty file": ("topics/deu_Latn/src/dev.tsv", "empty file (no examples)", ["deu_Latn"]),
    "another format": ("topics/deu_Latn/src/test.csv", "'test.csv' is deu_Latn test in another format",
                       ["deu_Latn"]),
    "compressed": ("topics/deu_Latn/src/test.tsv.gz", "'test.tsv.gz' is deu_Latn test in another format",
                   ["deu_Latn"]),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_files_make_their_language_unusable(topics, case):
    relative, words, langs = HOSTILE[case]
    topics.write(relative, "" if case == "empty file" else HEADER + "9\tscience\tx\n")
    resolved = resolve(get_task("topics"), topics.root)
    (problem,) = resolved.contract.problems
    assert problem.path == str(topics.root / relative) and words in problem.problem, problem
    assert list(problem.langs) == langs
    assert set(resolved.contract.blocked()) == set(langs)
    assert {"eng_Latn", "zho_Hans"} <= set(resolved.sources)  # the other languages are untouched


def test_an_unlisted_language_is_refused_when_the_task_lists_its_languages(kit, user_task):
    user_task(SIB_LIKE + "languages: [eng_Latn, deu_Latn]\n")
    for lang in ("eng_Latn", "deu_Latn", "xxx_Latn"):
        write_language(kit, lang)
    blocked = resolve(get_task("topics"), kit.root).contract.blocked()
    assert list(blocked) == ["xxx_Latn"] and "unknown language 'xxx_Latn' for topics" in blocked["xxx_Latn"]


def test_a_missing_prefix_folder_or_no_match_is_a_config_error(kit, user_task):
    user_task(SIB_LIKE)
    with pytest.raises(ConfigError, match="no topics data folder .*topics"):
        discover(get_task("topics"), kit.root)
    kit.write("topics/eng_Latn/src/notes.txt", "x")
    with pytest.raises(ConfigError, match=r"nothing matches data.path 'topics/\{lang\}/src/\{split\}.tsv'"):
        discover(get_task("topics"), kit.root)


def test_check_verifies_parallel_rows_of_a_label_parallel_task(capsys, topics):
    assert main(["data", "check", "--task", "topics", "--data-dir", str(topics.root)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "OK: topics: 9 files, 21 examples, 3 languages, no problems"
    # swap two labels in German test: still a valid file, but no longer the same items as English
    topics.write("topics/deu_Latn/src/test.tsv", HEADER + "6\ttravel\tx\n7\ttravel\ty\n")
    topics.write("topics/zho_Hans/src/dev.tsv", HEADER + "5\tscience\tx\n4\ttravel\ty\n")
    assert main(["data", "check", "--task", "topics", "--data-dir", str(topics.root)]) == 1
    out = capsys.readouterr().out.replace(str(topics.root) + "/", "")
    assert "topics/deu_Latn/src/test.tsv:2: row 1: label 'travel' where eng_Latn test has 'science'" in out
    assert "topics/zho_Hans/src/dev.tsv:2: row 1: id '5' where eng_Latn dev has '4'" in out


# --- the real SIB-200 folder ------------------------------------------------------------------------


def test_sib200_stats_lists_199_languages_with_701_99_204(capsys, data_dir):
    code = main(["data", "stats", "--task", "sib200", "--data-dir", str(data_dir), "--json", "--no-progress"])
    stats = json.loads(capsys.readouterr().out)
    assert code == 0 and stats["ok"] and not stats["unusable"] and not stats["errors"]
    assert len(stats["languages"]) == 199
    assert {lang: tuple(s[split]["examples"] for split in ("train", "dev", "test"))
            for lang, s in stats["languages"].items()} == {lang: (701, 99, 204) for lang in stats["languages"]}
    assert {"eng_Latn", "zho_Hans", "zho_Hant", "arb_Latn", "arb_Arab"} <= set(stats["languages"])
    eng = stats["languages"]["eng_Latn"]["test"]
    assert sum(eng["labels"].values()) == 204 and set(eng["labels"]) == {
        "science/technology", "travel", "politics", "sports", "health", "entertainment", "geography"}
    assert eng["files"] == ["sib200/eng_Latn/sib200-github/test.tsv"] and eng["words"] > 204 * 10
    assert len(stats["data"]["ignored"]) == 201  # 199 labels.txt, README.md and manifest.jsonl, each named


def test_sib200_rows_are_parallel_and_ids_are_the_flores_index(data_dir):
    from xlpt.data.loading import load_split

    eng = load_split(get_task("sib200"), "eng_Latn", "test", data_dir).examples
    zho = load_split(get_task("sib200"), "zho_Hans", "test", data_dir).examples
    assert [(e.id, e.label) for e in eng] == [(e.id, e.label) for e in zho]
    assert eng[0].lang == "eng_Latn" and zho[0].lang == "zho_Hans" and eng[0].text != zho[0].text
    import csv

    with open(data_dir / "sib200/zho_Hans/sib200-github/test.tsv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))  # an independent reading of the same file
    assert [(r["index_id"], r["category"], r["text"]) for r in rows] == [(e.id, e.label, e.text) for e in zho]
