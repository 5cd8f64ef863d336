"""A task defined only by a YAML in a folder outside the repository: check, stats, train, evaluate through
--include-path, evaluate later from the run's task.yaml alone, and hostile task definitions and files."""

from __future__ import annotations

import json
import random

import pytest

from xlpt.cli import main

TOPIC_YAML = """
name: mytopic
family: text_classification
description: Toy topics, defined outside the repository.
labels: [science, travel, sports]
metric: accuracy
data:
  path: "{lang}/{split}.tsv"
  format: tsv
  columns: {text: sentence, label: topic, id: sid}
  train_lang: en
  label_aliases: {sport: sports}
template: "{text} Topic:"
label_words: {science: " science", travel: " travel", sports: " sports"}
"""

PAIR_YAML = """
name: mypairs
family: pair_classification
labels: ["same", "different"]
metric: macro_f1
data:
  path: "pairs/{split}-{lang}.jsonl"
  format: jsonl
  columns: {text_a: first, text_b: second, label: gold}
template: "{text_a} / {text_b} Same meaning?"
label_words: {same: " yes", different: " no"}
"""

WORDS = {"science": ["atom", "cell", "energy"], "travel": ["train", "hotel", "airport"],
         "sports": ["goal", "match", "team"]}
FAST = ["data.max_dev_examples=8", "train.max_steps=4", "train.eval_every=2", "train.batch_size=4",
        "train.learning_rate=0.1"]


def topic_rows(lang: str, n: int, seed: int) -> list[tuple[str, str, str]]:
    rng = random.Random(seed)
    labels = sorted(WORDS)
    rows = []
    for i in range(n):
        label = labels[i % 3]
        rows.append((f"{lang}{seed}-{i}", f"{lang} the {rng.choice(WORDS[label])} was {rng.choice(['big', 'new'])}",
                     label))
    return rows


def write_topics(folder, lang: str, split: str, rows) -> None:
    """The way a pandas user writes the file: to_csv(sep="\\t", index=False), csv quoting and all."""
    import pandas as pd

    path = folder / lang / f"{split}.tsv"
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=["sid", "sentence", "topic"]).to_csv(path, sep="\t", index=False)


@pytest.fixture
def topic_task(tmp_path, user_task):
    """(tasks folder, data folder) for mytopic: en train/dev/test, de dev/test, fr test, and a README."""
    tasks, data = tmp_path / "outside" / "tasks", tmp_path / "outside" / "data"
    (tasks).mkdir(parents=True)
    (tasks / "mytopic.yaml").write_text(TOPIC_YAML, encoding="utf-8")
    for lang, splits in {"en": {"train": 24, "dev": 9, "test": 9}, "de": {"dev": 6, "test": 9}, "fr": {"test": 6}}.items():
        for seed, (split, n) in enumerate(splits.items()):
            write_topics(data, lang, split, topic_rows(lang, n, seed))
    (data / "README.md").write_text("my data\n")
    return tasks, data


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(code: int, err: str, *words: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("xlpt: error:")]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert all(word in lines[0] for word in words), lines[0]
    return lines[0]


def test_a_yaml_task_outside_the_repo_checks_trains_and_evaluates(capsys, tmp_path, tiny_model_dir, topic_task,
                                                                  monkeypatch):
    tasks, data = topic_task
    code, out, _ = run_cli(capsys, "data", "check", "--task", "mytopic", "--include-path", tasks, "--data-dir", data)
    assert code == 0 and out.splitlines()[-1] == "OK: mytopic: 6 files, 63 examples, 3 languages, no problems"
    assert "ignored: README.md: documentation, not data" in out
    code, out, _ = run_cli(capsys, "data", "stats", "--task", "mytopic", "--include-path", tasks, "--data-dir", data,
                           "--json")
    stats = json.loads(out)
    assert code == 0 and {lang: {s: e["examples"] for s, e in splits.items()}
                          for lang, splits in stats["languages"].items()} == {
        "en": {"train": 24, "dev": 9, "test": 9}, "de": {"dev": 6, "test": 9}, "fr": {"test": 6}}
    assert stats["languages"]["en"]["test"]["labels"] == {"science": 3, "sports": 3, "travel": 3}

    run = tmp_path / "run"
    code, out, err = run_cli(capsys, "train", "--task", "mytopic", "--include-path", tasks, "--data-dir", data,
                             "--model", tiny_model_dir, "--method", "prompt_tuning", "--out", run, "--evaluate",
                             "--quiet", *FAST)
    assert code == 0, err
    first = json.loads((run / "results.json").read_text())
    assert {lang: (e["split"], e["n"]) for lang, e in first["languages"].items()} == {
        "en": ("test", 9), "de": ("test", 9), "fr": ("test", 6)}
    assert first["task"] == "mytopic" and not first["skipped_languages"]
    predictions = [json.loads(line) for line in (run / "predictions/test/de.jsonl").read_text().splitlines()]
    assert [p["id"] for p in predictions] == [row[0] for row in topic_rows("de", 9, 1)]  # the file's own ids

    # Later, without --include-path: the run directory's task.yaml defines the task.
    from xlpt.tasks import get_task, registry
    from xlpt.errors import ConfigError

    monkeypatch.delitem(registry._TASKS, "mytopic")
    with pytest.raises(ConfigError):
        get_task("mytopic")
    code, _, err = run_cli(capsys, "evaluate", "--run", run, "--quiet")
    assert code == 0, err
    assert json.loads((run / "results.json").read_text())["languages"] == first["languages"]

    # A backup copy beside French test makes French unusable: the command fails naming the file ...
    write_topics(data, "fr", "test (1)", topic_rows("fr", 6, 0))
    code, _, err = run_cli(capsys, "evaluate", "--run", run, "--quiet")
    one_line_error(code, err, "cannot evaluate fr", "fr/test (1).tsv", "a copy of 'test.tsv'")
    # ... and when asked to skip, French is listed with the reason and no other number changes.
    code, _, err = run_cli(capsys, "evaluate", "--run", run, "--quiet", "--skip-missing")
    assert code == 0, err
    skipped = json.loads((run / "results.json").read_text())
    assert set(skipped["languages"]) == {"en", "de"} and "fr/test (1).tsv" in skipped["skipped_languages"]["fr"]
    assert {lang: skipped["languages"][lang] for lang in ("en", "de")} == \
           {lang: first["languages"][lang] for lang in ("en", "de")}

    # A language folder with only a train file cannot be evaluated: an error unless skipping is asked for.
    (data / "fr" / "test (1).tsv").unlink()
    write_topics(data, "sw", "train", topic_rows("sw", 6, 0))
    code, _, err = run_cli(capsys, "evaluate", "--run", run, "--quiet")
    one_line_error(code, err, "cannot evaluate sw", "no labeled test or dev split")


def test_a_yaml_pair_task_trains_and_evaluates(capsys, tmp_path, tiny_model_dir):
    tasks, data = tmp_path / "tasks", tmp_path / "data"
    tasks.mkdir()
    (tasks / "mypairs.yaml").write_text(PAIR_YAML, encoding="utf-8")
    rng = random.Random(0)
    for lang, splits in {"en": ("train", "dev", "test"), "es": ("test",)}.items():
        for split in splits:
            rows = []
            for i in range(12):
                same = i % 2 == 0
                first = f"{lang} {rng.choice(['a cat', 'a dog'])} sleeps {i}"
                rows.append({"first": first, "second": first if same else f"{lang} nothing {i}",
                             "gold": "same" if same else 1})  # labels as names or as ids in label order
            path = data / "pairs" / f"{split}-{lang}.jsonl"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    run = tmp_path / "run"
    code, _, err = run_cli(capsys, "train", "--task", "mypairs", "--include-path", tasks, "--data-dir", data,
                           "--model", tiny_model_dir, "--method", "prompt_tuning", "--out", run, "--evaluate",
                           "--quiet", *FAST)
    assert code == 0, err
    results = json.loads((run / "results.json").read_text())
    assert results["metric"] == "macro_f1"
    assert {lang: (e["split"], e["n"]) for lang, e in results["languages"].items()} == {
        "en": ("test", 12), "es": ("test", 12)}
    gold = [json.loads(line)["gold"] for line in (run / "predictions/test/es.jsonl").read_text().splitlines()]
    assert gold == ["same", "different"] * 6


# --- hostile task definitions and files: one line each -------------------------------------------

HOSTILE_YAML = {
    "unknown data key": (TOPIC_YAML.replace("  format: tsv", "  formt: tsv"), ("formt",)),
    "not YAML": (TOPIC_YAML + "labels: [a\n", ("not valid YAML",)),
    "path without {split}": (TOPIC_YAML.replace('"{lang}/{split}.tsv"', '"{lang}/data.tsv"'),
                             ("data.path must be a pattern with {lang} and {split}",)),
    "format the family cannot read": (TOPIC_YAML.replace("format: tsv", "format: conllu"),
                                      ("data.format 'conllu' is not one of tsv, csv, jsonl",)),
    "label word missing": (TOPIC_YAML.replace(', sports: " sports"}', "}"), ("label_words must give one word per label",
                                                                         "missing ['sports']")),
    "unknown placeholder": (TOPIC_YAML.replace('"{lang}/{split}.tsv"', '"{lang}/{split}-{part}.tsv"'),
                            ("unknown placeholder(s) {part}",)),
    "path leaving the data folder": (TOPIC_YAML.replace('"{lang}/{split}.tsv"', '"../{lang}/{split}.tsv"'),
                                     ("must be a relative path inside --data-dir",)),
}


@pytest.mark.parametrize("case", list(HOSTILE_YAML))
def test_hostile_task_yaml_is_one_line(capsys, topic_task, case):
    tasks, data = topic_task  # (topic_task restores the task registry after the test)
    text, words = HOSTILE_YAML[case]
    (tasks / "mytopic.yaml").write_text(text, encoding="utf-8")
    code, _, err = run_cli(capsys, "data", "check", "--task", "mytopic", "--include-path", tasks, "--data-dir", data)
    one_line_error(code, err, *words)


HOSTILE_FILES = {
    "column missing from the header": ("en/dev.tsv", "sid\tsentence\tcategory\nx1\ta\tscience\n",
                                       "en/dev.tsv:1: header lacks column(s) 'topic' (label)"),
    "unknown label": ("de/dev.tsv", "sid\tsentence\ttopic\nx1\ta\tscience\nx2\tb\tcooking\n",
                      "de/dev.tsv:3: unknown label 'cooking'"),
    "duplicate id": ("de/dev.tsv", "sid\tsentence\ttopic\nx1\ta\tscience\nx1\tb\ttravel\n",
                     "de/dev.tsv:3: duplicate id 'x1': already used on line 2"),
    "header only": ("fr/test.tsv", "sid\tsentence\ttopic\n", "fr/test.tsv: no examples"),
    "wrong split name": ("fr/validation.tsv", "sid\tsentence\ttopic\nx1\ta\tscience\n",
                         "fr/validation.tsv: looks like data but does not match data.path"),
}


@pytest.mark.parametrize("case", list(HOSTILE_FILES))
def test_hostile_user_files_are_named_by_check(capsys, topic_task, case):
    tasks, data = topic_task
    relative, text, expected = HOSTILE_FILES[case]
    (data / relative).write_text(text, encoding="utf-8")
    code, out, _ = run_cli(capsys, "data", "check", "--task", "mytopic", "--include-path", tasks, "--data-dir", data)
    lines = [line.replace(str(data) + "/", "") for line in out.splitlines()]
    assert code == 1 and any(line.startswith(expected) for line in lines), lines
    assert lines[-1].startswith("mytopic: 1 problem(s)")


def test_a_second_different_definition_of_a_task_name_is_refused(capsys, topic_task, tmp_path):
    tasks, data = topic_task
    other = tmp_path / "other"
    other.mkdir()
    (other / "mytopic.yaml").write_text(TOPIC_YAML.replace("metric: accuracy", "metric: macro_f1"), encoding="utf-8")
    code, _, err = run_cli(capsys, "data", "check", "--task", "mytopic", "--include-path", tasks, "--include-path",
                           other, "--data-dir", data)
    one_line_error(code, err, "task 'mytopic' is defined twice, differently")


def test_training_refuses_a_source_language_with_a_copy_of_its_train_file(capsys, topic_task, tmp_path,
                                                                          tiny_model_dir):
    tasks, data = topic_task
    write_topics(data, "en", "train.tsv", topic_rows("en", 6, 0))  # en/train.tsv.tsv: a mis-saved copy beside train.tsv
    code, _, err = run_cli(capsys, "train", "--task", "mytopic", "--include-path", tasks, "--data-dir", data,
                           "--model", tiny_model_dir, "--out", tmp_path / "run", "--quiet", *FAST)
    one_line_error(code, err, "en/train.tsv.tsv", "mytopic/en cannot be used until this is fixed")
    assert not (tmp_path / "run").exists()  # refused before anything was created or loaded
