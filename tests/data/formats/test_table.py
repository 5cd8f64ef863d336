"""Readers of a task's own tsv / csv / jsonl files, by its data.columns: exact text, exact line numbers."""

from __future__ import annotations

import json

import pytest

from xlpt.data.examples import PairExample, TextExample
from xlpt.data.formats import read_file
from xlpt.tasks import get_task
from xlpt.data.problems import ProblemSink
from xlpt.errors import ConfigError, DataFormatError

TOPIC_YAML = """
name: topics
family: text_classification
labels: [science, travel, sports]
metric: accuracy
data:
  path: "{{lang}}/{{split}}.{ext}"
  format: {fmt}
  columns: {{text: sentence, label: topic{id_column}}}
  label_aliases: {{sport: sports}}
template: "{{text}} Topic:"
label_words: {{science: " science", travel: " travel", sports: " sports"}}
"""

PAIR_YAML = """
name: pairs
family: pair_classification
labels: ["yes", "no"]
metric: accuracy
data:
  path: "{lang}/{split}.jsonl"
  format: jsonl
  columns: {text_a: premise, text_b: hypothesis, label: gold}
template: "{text_a} Question: {text_b}? Answer:"
label_words: {"yes": " Yes", "no": " No"}
"""

TRICKY = ['He said "hi"\tthen left', 'a, b and "c"', "plain", "naïve – ünïcode"]


@pytest.fixture
def topics(user_task):
    def make(fmt="tsv", id_column=""):
        ext = {"tsv": "tsv", "csv": "csv", "jsonl": "jsonl"}[fmt]
        return user_task(TOPIC_YAML.format(fmt=fmt, ext=ext, id_column=id_column))
    return make


def read(path, fmt, task, lang="en"):
    return list(read_file(path, fmt, task=get_task(task) if isinstance(task, str) else task, lang=lang))


def collect(path, fmt, task, lang="en"):
    sink = ProblemSink(collect=True)
    task = get_task(task) if isinstance(task, str) else task
    return list(read_file(path, fmt, task=task, lang=lang, problems=sink)), sink.errors


@pytest.mark.parametrize("fmt, sep", [("tsv", "\t"), ("csv", ",")])
def test_files_written_by_pandas_read_back_exactly(kit, topics, fmt, sep):
    import pandas as pd

    topics(fmt, ", id: key")
    frame = pd.DataFrame({"key": [7, 3, 11, 5], "sentence": TRICKY, "topic": ["science", "travel", "sport", "2"],
                          "extra": ["x"] * 4})
    path = kit.root / f"en/dev.{fmt}"
    path.parent.mkdir(parents=True)
    frame.to_csv(path, sep=sep, index=False)
    examples = read(path, fmt, "topics")
    assert examples == [TextExample(text, label, "en", str(key)) for text, label, key in
                        zip(TRICKY, ["science", "travel", "sports", "sports"], [7, 3, 11, 5])]


def test_pair_jsonl_by_columns(kit, user_task):
    user_task(PAIR_YAML)
    rows = [{"premise": "p1", "hypothesis": "h1", "gold": "yes"}, {"gold": 1, "hypothesis": "h2", "premise": "p2"}]
    path = kit.write("de/test.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    assert read(path, "jsonl", "pairs", "de") == [PairExample("p1", "h1", "yes", "de", "test.jsonl:1"),
                                                 PairExample("p2", "h2", "no", "de", "test.jsonl:2")]


HEADER = "sentence\ttopic\n"


@pytest.mark.parametrize("text, line, words", [
    ("sentence\tcategory\nx\tscience\n", 1, ("header lacks column(s) 'topic' (label)", "sentence, category")),
    ("sentence\ttopic\tsentence\nx\tscience\ty\n", 1, ("'sentence'", "more than once")),
    (HEADER + "a\tscience\nb\tcooking\n", 3, ("unknown label 'cooking'", "column 'topic'")),
    (HEADER + "a\tscience\n \ttravel\n", 3, ("empty text (column 'sentence')",)),
    (HEADER + "a\tscience\nb\ttravel\textra\n", 3, ("expected 2 tab-separated fields", "header on line 1")),
    (HEADER + "a\tscience\n\nb\ttravel\n", 3, ("blank line inside the file",)),
    (HEADER + 'a\tscience\n"b\ttravel\nc\tsports\n', 3, ("bad CSV quoting", "unbalanced quote")),
    (HEADER + "a\t\n", 2, ("unknown label ''",)),
    (HEADER, None, ("no examples",)),
    (HEADER + "a\tscience\nb\x00\ttravel\n", 3, ("NUL byte",)),
])
def test_tsv_problems_name_the_line(kit, topics, text, line, words):
    topics()
    kit.expect_error(kit.write("en/dev.tsv", text), "tsv", "topics", line, *words)


def test_an_explicit_id_column_must_exist_and_ids_must_be_unique(kit, topics):
    topics("tsv", ", id: key")
    kit.expect_error(kit.write("en/dev.tsv", HEADER + "a\tscience\n"), "tsv", "topics", 1, "'key' (id)")
    path = kit.write("en/test.tsv", "key\tsentence\ttopic\n1\ta\tscience\n2\tb\ttravel\n1\tc\tsports\n")
    kit.expect_error(path, "tsv", "topics", 4, "duplicate id '1': already used on line 2")


def test_an_id_column_named_id_is_used_without_being_declared(kit, topics):
    topics()
    path = kit.write("en/dev.tsv", "id\tsentence\ttopic\nq1\ta\tscience\n")
    assert read(path, "tsv", "topics")[0].id == "q1"
    path = kit.write("en/test.tsv", HEADER + "a\tscience\n")
    assert read(path, "tsv", "topics")[0].id == "test.tsv:2"


def test_line_numbers_stay_exact_after_damage_and_crlf_bom_are_counted(kit, topics):
    topics()
    text = "\ufeff" + HEADER + "a\tscience\r\n" + '"b\ttravel\r\n' + "c\tsports\r\n" + "d\tnope\r\n" + "e\ttravel\r\n"
    examples, errors = collect(kit.write("en/dev.tsv", text), "tsv", "topics")
    assert [(e.line, e.problem.split(" (")[0].split(":")[0]) for e in errors] == [
        (3, "bad CSV quoting"), (5, "unknown label 'nope'")]
    # reading resumes after the damaged record: the rows after it keep their own line numbers
    assert [(e.text, e.id) for e in examples] == [("a", "dev.tsv:2"), ("c", "dev.tsv:4"), ("e", "dev.tsv:6")]
    from collections import Counter

    counts = Counter()
    list(read_file(kit.write("en/test.tsv", "\ufeffsentence\ttopic\r\na\tscience\r\n"), "tsv", task=get_task("topics"), lang="en",
                   counts=counts))
    assert counts["bom"] == 1 and counts["crlf_lines"] == 2


@pytest.mark.parametrize("line_text, words", [
    ("{not json", ("invalid JSON",)),
    ("[1, 2]", ("expected a JSON object",)),
    ('{"premise": "p", "gold": "yes"}', ("missing key(s) 'hypothesis' (text_b)", "the row has: premise, gold")),
    ('{"premise": 3, "hypothesis": "h", "gold": "yes"}', ("text_a must be a string, got int",)),
    ('{"premise": "p", "hypothesis": "h", "gold": true}', ("unknown label True",)),
    ('{"premise": "p", "hypothesis": "h", "gold": 5}', ("unknown label id 5",)),
])
def test_jsonl_problems_name_the_line(kit, user_task, line_text, words):
    user_task(PAIR_YAML)
    good = '{"premise": "p", "hypothesis": "h", "gold": "no"}\n'
    kit.expect_error(kit.write("en/dev.jsonl", good + line_text + "\n" + good), "jsonl", "pairs", 2, *words)


def test_a_format_the_family_does_not_allow_is_refused(kit, topics):
    topics()
    with pytest.raises(ConfigError, match="format 'conllu' cannot hold topics data"):
        read(kit.write("en/dev.tsv", HEADER), "conllu", "topics")
    with pytest.raises(ConfigError, match="unknown data format 'tsv3'"):
        read(kit.write("en/dev.tsv", HEADER), "tsv3", "topics")


def test_every_real_sib200_file_reads_its_manifest_count(data_dir):
    rows = [json.loads(line) for line in (data_dir / "sib200" / "manifest.jsonl").read_text().splitlines()]
    assert len(rows) == 597
    for row in rows[:: 37]:  # a spread of languages and splits (all 597 are read by the stats test)
        examples = read(data_dir / row["dest"], "tsv", "sib200", row["lang"])
        assert len(examples) == row["n"] and all(tuple(e.fields) == ("text",) for e in examples)


def test_a_damaged_reader_error_is_a_data_format_error(kit, topics):
    topics()
    with pytest.raises(DataFormatError):
        read(kit.write("en/dev.tsv", b"sentence\ttopic\n\xff\tscience\n"), "tsv", "topics")
