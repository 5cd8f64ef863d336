"""Hostile protocols (issue #16): a label-sorted file under a cap, one-label training data, a parallel user
task, a source language that is not evaluated, a source that is not English. Each gives one clear line or an
exact, recorded result — never a number computed silently on a broken protocol."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.hostile.conftest import assert_one_line_error

PARALLEL_YAML = """
name: partopics
family: text_classification
labels: [science, travel, sports]
metric: accuracy
data:
  path: "{lang}/{split}.tsv"
  format: tsv
  columns: {text: sentence, label: topic, id: sid}
  train_lang: en
  parallel: row
template: "{text} Topic:"
label_words: {science: " science", travel: " travel", sports: " sports"}
"""
WORDS = {"science": "atom", "travel": "hotel", "sports": "goal"}
FAST = ["train.max_steps=2", "train.eval_every=2", "train.batch_size=4", "train.learning_rate=0.1"]


def write_task(root: Path, yaml_text: str, rows_per_split: dict[str, dict[str, list[str]]]) -> tuple[Path, Path]:
    """(tasks folder, data folder): one YAML and `lang/split.tsv` files whose row i has label rows[i]."""
    tasks, data = root / "tasks", root / "data"
    tasks.mkdir(parents=True)
    name = yaml_text.split("name: ")[1].split()[0]
    (tasks / f"{name}.yaml").write_text(yaml_text, encoding="utf-8")
    for lang, splits in rows_per_split.items():
        for split, labels in splits.items():
            path = data / lang / f"{split}.tsv"
            path.parent.mkdir(parents=True, exist_ok=True)
            lines = ["sid\tsentence\ttopic"] + [f"r{i}\t{lang} the {WORDS[label]} number {i}\t{label}"
                                                for i, label in enumerate(labels)]
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return tasks, data


def train(xlpt, tasks, data, model, run, *extra):
    return xlpt("train", "--task", yaml_name(tasks), "--include-path", tasks, "--data-dir", data, "--model", model,
                "--method", "prompt_tuning", "--out", run, "--quiet", *FAST, *extra)


def yaml_name(tasks: Path) -> str:
    return next(tasks.glob("*.yaml")).stem


@pytest.fixture(autouse=True)
def _registry_restored(monkeypatch):
    """`--include-path` registers the test's tasks for the whole process: undo it, so later tests see the
    built-in tasks only."""
    from xlpt.tasks import registry

    registry._builtin()
    monkeypatch.setattr(registry, "_TASKS", dict(registry._TASKS))


SORTED = ["science"] * 30 + ["travel"] * 30 + ["sports"] * 30  # a label-sorted file


def test_a_cap_on_a_label_sorted_file_trains_on_every_label(xlpt, tmp_path, tiny_model_dir):
    tasks, data = write_task(tmp_path, PARALLEL_YAML, {"en": {"train": SORTED, "dev": SORTED[::10]},
                                                      "de": {"test": SORTED[::5]}})
    run = tmp_path / "run"
    result = train(xlpt, tasks, data, tiny_model_dir, run, "data.max_train_examples=30", "--evaluate")
    assert result.code == 0, result.err
    summary = json.loads((run / "train_summary.json").read_text())
    assert summary["train_label_counts"] == {"science": 10, "sports": 10, "travel": 10}  # the prefix: 30 science
    assert summary["samples"]["train"]["n"] == 30 and summary["samples"]["train"]["of"] == 90
    assert summary["samples"]["dev"] is None and summary["label_imbalance"] is None
    results = json.loads((run / "results.json").read_text())
    assert results["training"]["train_label_counts"] == summary["train_label_counts"]


def test_one_label_training_data_stops_with_one_line_unless_allowed(xlpt, tmp_path, tiny_model_dir):
    one = ["travel"] * 40
    tasks, data = write_task(tmp_path, PARALLEL_YAML, {"en": {"train": one, "dev": SORTED[::10]},
                                                      "de": {"test": SORTED[::5]}})
    result = train(xlpt, tasks, data, tiny_model_dir, tmp_path / "run")
    assert_one_line_error(result, "every training example has the label 'travel' (40 examples)",
                          "data.allow_label_imbalance=true")
    run = tmp_path / "allowed"
    result = train(xlpt, tasks, data, tiny_model_dir, run, "data.allow_label_imbalance=true", "--evaluate")
    assert result.code == 0, result.err
    record = json.loads((run / "results.json").read_text())["training"]["label_imbalance"]
    assert record == {"allowed": True, "problems": ["every training example has the label 'travel' (40 examples)"]}
    assert "WARNING" in (run / "run.log").read_text()


def test_a_parallel_user_task_never_scores_a_translation_of_a_training_row(xlpt, tmp_path, tiny_model_dir):
    dev = SORTED[::3]  # 30 rows, parallel in en/de/fr by row
    tasks, data = write_task(tmp_path, PARALLEL_YAML, {lang: {"dev": dev} for lang in ("en", "de", "fr")})
    run = tmp_path / "run"
    dry = xlpt("train", "--task", "partopics", "--include-path", tasks, "--data-dir", data, "--model", tiny_model_dir,
               "--dry-run", "data.eval_split=dev", "data.heldout_fraction=0.3")
    assert dry.code == 0 and ("left out as translations of training rows: 21 of 30 rows in de dev, fr dev" in dry.out)
    result = train(xlpt, tasks, data, tiny_model_dir, run, "data.eval_split=dev", "data.heldout_fraction=0.3",
                   "--evaluate")
    assert result.code == 0, result.err
    results = json.loads((run / "results-dev.json").read_text())  # the run's own evaluation of dev
    assert results["parallel"] == {"by": "row", "checked": True}
    from xlpt.data.plan import heldout_order

    held = heldout_order(30, 0.3, 42)  # what selection read; training read the other 21
    for lang in ("de", "fr"):
        entry = results["languages"][lang]
        assert (entry["excluded_parallel"], entry["n"], entry["parallel_to_selection"]) == (21, 9, 9)
        scored = [int(json.loads(line)["id"][1:]) for line in (run / "predictions/dev" / f"{lang}.jsonl").open()]
        assert set(scored) == held
    assert results["languages"]["en"]["split"] == "dev-heldout"

    # The same task without the declaration is not screened, and the results say it was not checked.
    undeclared = tmp_path / "undeclared"
    write_task(undeclared, PARALLEL_YAML.replace("name: partopics", "name: undeclared").replace("  parallel: row\n", ""),
               {lang: {"dev": dev} for lang in ("en", "de")})
    run = tmp_path / "run2"
    result = train(xlpt, undeclared / "tasks", undeclared / "data", tiny_model_dir, run, "data.eval_split=dev",
                   "--evaluate")
    assert result.code == 0, result.err
    results = json.loads((run / "results-dev.json").read_text())
    assert results["parallel"] == {"by": None, "checked": False} and results["languages"]["de"]["n"] == 30


@pytest.mark.parametrize("source", ["en", "de"])
def test_the_average_without_source_leaves_out_the_runs_own_source(xlpt, tmp_path, tiny_model_dir, source):
    splits = {"train": SORTED[::3], "dev": SORTED[::6], "test": SORTED[::9]}
    tasks, data = write_task(tmp_path, PARALLEL_YAML, {lang: dict(splits) for lang in ("en", "de", "fr")})
    run = tmp_path / "run"
    result = train(xlpt, tasks, data, tiny_model_dir, run, f"data.train_lang={source}", "--evaluate")
    assert result.code == 0, result.err
    results = json.loads((run / "results.json").read_text())
    scores = {lang: entry["accuracy"] for lang, entry in results["languages"].items()}
    others = [value for lang, value in scores.items() if lang != source]
    assert results["source_language"] == source
    assert results["average_without_source"] == pytest.approx(sum(others) / 2)
    # a source language that is not evaluated: every evaluated language is a target
    result = xlpt("evaluate", "--run", run, "--languages", ",".join(x for x in ("en", "de", "fr") if x != source),
                  "--quiet", "--include-path", tasks)
    assert result.code == 0, result.err
    partial = json.loads(next(run.glob("results-*.json")).read_text())
    assert source not in partial["languages"]
    assert partial["average_without_source"] == pytest.approx(partial["average"])


def _as_written_by_an_older_xlpt(run: Path) -> None:
    """An older xlpt wrote no data.sample_seed (its caps kept the first N rows): strip the key."""
    import yaml

    config = yaml.safe_load((run / "config.yaml").read_text())
    del config["data"]["sample_seed"], config["data"]["allow_label_imbalance"]
    (run / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def test_an_older_runs_prefix_caps_are_reconstructed_and_never_resumed_as_samples(xlpt, tmp_path, tiny_model_dir):
    labels = SORTED[::3]  # 30 rows, dev only: training reads a part of dev, selection the held-back rest
    tasks, data = write_task(tmp_path, PARALLEL_YAML, {lang: {"dev": labels} for lang in ("en", "de")})
    run = tmp_path / "run"
    caps = ["data.eval_split=dev", "data.max_train_examples=6", "data.max_dev_examples=3"]
    assert train(xlpt, tasks, data, tiny_model_dir, run, *caps).code == 0
    _as_written_by_an_older_xlpt(run)
    result = xlpt("evaluate", "--run", run, "--quiet", "--include-path", tasks)
    assert result.code == 0, result.err
    results = json.loads((run / "results-dev.json").read_text())
    assert results["legacy_caps"] is True and any("older xlpt" in notice for notice in results["notices"])
    from xlpt.data.plan import heldout_order

    held = sorted(heldout_order(30, 0.2, 42))
    trained_prefix = [i for i in range(30) if i not in held][:6]  # what the older xlpt trained on
    selected_prefix = held[:3]
    scored = {int(json.loads(line)["id"][1:]) for line in (run / "predictions/dev/en.jsonl").open()}
    assert scored == set(range(30)) - set(trained_prefix) - set(selected_prefix)
    de = results["languages"]["de"]
    assert de["excluded_parallel"] == 6 and de["n"] == 24 and de["parallel_to_selection"] == 3

    # An unfinished run of an older xlpt is not resumed with other training rows: one line
    (run / "train_summary.json").unlink()
    result = train(xlpt, tasks, data, tiny_model_dir, run, *caps)
    assert_one_line_error(result, "unfinished run of an older xlpt", "use a new --out directory")
