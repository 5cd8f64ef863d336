"""Multiple choice end to end through the CLI: XCOPA trains (prompt tuning) and evaluates with the tiny model on
the shared files, head_only is refused in one line, and a new multiple-choice task is one YAML in an
--include-path folder (train, evaluate, predict; no source edit)."""

from __future__ import annotations

import json

import pytest

from xlpt.cli import main

FAST = ["train.max_steps=2", "train.eval_every=2", "train.batch_size=4", "data.max_dev_examples=8",
        "method.prompt_length=4", "model.device=cpu"]
METRICS = ("accuracy", "acc_norm", "acc_bytes", "acc_tokens")


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def xcopa_run(tmp_path_factory, tiny_model_dir, data_dir):
    """2 steps of prompt tuning on English COPA, evaluated on 20 test items of en and th (th: the language whose
    `question` field upstream XCOPA gets wrong most often)."""
    out = tmp_path_factory.mktemp("xcopa-prompt")
    code = main(["train", "--task", "xcopa", "--method", "prompt_tuning", "--model", str(tiny_model_dir),
                 "--data-dir", str(data_dir), "--out", str(out), "--evaluate", "--quiet", *FAST,
                 "data.eval_languages=en,th", "data.max_eval_examples=20"])
    assert code == 0
    return out


def test_xcopa_prompt_tuning_trains_and_evaluates(xcopa_run):
    results = json.loads((xcopa_run / "results.json").read_text())
    assert results["task"] == "xcopa" and results["formulation"] == "choice_loglikelihood"
    assert results["training"]["steps"] == 2 and results["training"]["n_train"] == 400  # English COPA train
    assert set(results["languages"]) == {"en", "th"}
    for lang, scores in results["languages"].items():
        assert (scores["split"], scores["n"], scores["n_labeled"], scores["n_available"]) == ("test", 20, 20, 500)
        assert all(0.0 <= scores[name] <= 1.0 for name in METRICS), scores
        # English train is COPA items 1-400, XCOPA test is items 501-1000: no evaluation row translates a training
        # or selection row (data.parallel: row compares rows of the same split only).
        assert scores["excluded_parallel"] == 0 and scores["parallel_to_selection"] == 0
        rows = [json.loads(line) for line in (xcopa_run / "predictions/test" / f"{lang}.jsonl").read_text().splitlines()]
        assert len(rows) == 20 and {r["pred"] for r in rows} <= {"choice1", "choice2"}
        assert sum(r["pred"] == r["gold"] for r in rows) / 20 == pytest.approx(scores["accuracy"])
    assert results["parallel"] == {"by": "row", "checked": True}
    # XCOPA's wrong th `question` fields are taken from English COPA at the same idx, counted in the log and the
    # results (th test: 250 of 500 rows upstream; English is the reference and is never repaired).
    assert results["languages"]["th"]["read_counts"]["question_repaired"] == 250
    assert "question_repaired" not in results["languages"]["en"].get("read_counts", {})
    assert "question_repaired 250" in (xcopa_run / "run.log").read_text()


def test_xcopa_predict_writes_one_prediction_per_row(xcopa_run, data_dir, tmp_path, capsys):
    """`xlpt predict` on XCOPA rows gives what `xlpt evaluate` gave for the same items (et: nothing repaired)."""
    code, _, err = run_cli(capsys, "evaluate", "--run", xcopa_run, "--languages", "et", "--limit", "6",
                           "--split", "dev", "--quiet")
    assert code == 0, err
    (path,) = xcopa_run.glob("predictions/*/et.jsonl")
    evaluated = {r["id"]: r["pred"] for r in map(json.loads, path.read_text().splitlines())}
    rows = [json.loads(line) for line in
            (data_dir / "xcopa/et/xcopa-github/val.jsonl").read_text(encoding="utf-8").splitlines()]
    wanted = [dict(row, id=str(row["idx"])) for row in rows if str(row["idx"]) in evaluated]
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in wanted), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    code, _, err = run_cli(capsys, "predict", "--run", xcopa_run, "--input", source, "--lang", "et", "--out", out,
                           "--quiet")
    assert code == 0, err
    predicted = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(predicted) == len(wanted) == 6
    assert {p["id"]: p["pred"] for p in predicted} == evaluated
    assert all(p["premise"] == w["premise"] for p, w in zip(predicted, wanted))  # the input passes through


@pytest.mark.parametrize("method, extra, words", [
    ("head_only", [], ("task xcopa has none", "choices are scored by the LM head")),
    ("lora", ["head.formulation=linear_head"], ("head.formulation=linear_head", "has no task head")),
    ("lora", ["data.template=plain"], ("data.template", "has no templates")),
])
def test_a_task_head_on_xcopa_is_refused_in_one_line(capsys, tiny_model_dir, data_dir, tmp_path, method, extra,
                                                     words):
    code, _, err = run_cli(capsys, "train", "--task", "xcopa", "--method", method, "--model", tiny_model_dir,
                           "--data-dir", data_dir, "--out", tmp_path / "run", "--quiet", *extra)
    lines = [line for line in err.splitlines() if line.startswith("xlpt: error:")]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert all(word in lines[0] for word in words), lines[0]
    assert not (tmp_path / "run").exists()


# --- a new multiple-choice task is one YAML ---------------------------------------------------------------

PICK_YAML = """
name: mypick
family: multiple_choice
description: Toy three-way choice, defined outside the repository.
fields: [question, a, b, c]
labels: [a, b, c]
metric: acc_norm
data:
  path: "{lang}/{split}.jsonl"
  format: jsonl
  columns: {label: answer, id: qid}
  train_lang: en
prompt:
  context: "Question: {question}\\nAnswer:"
  choices: ["{a}", "{b}", "{c}"]
"""
COLOURS = ["red", "green", "blue", "black", "white"]


def pick_rows(lang: str, split: str, n: int) -> list[dict]:
    """Rows whose answer is a label name on odd rows and its index in `labels` on even ones."""
    rows = []
    for i in range(n):
        a, b, c = (COLOURS[(i + k) % len(COLOURS)] for k in range(3))
        answer = "abc"[i % 3]
        rows.append({"qid": f"{lang}-{split}-{i}", "question": f"{lang} which colour is thing {i}?", "a": a, "b": b,
                     "c": c, "answer": answer if i % 2 else "abc".index(answer)})
    return rows


@pytest.fixture
def pick_task(tmp_path, monkeypatch):
    """(tasks folder, data folder) of mypick; the task registry is restored after the test."""
    from xlpt.tasks import registry

    registry._builtin()
    monkeypatch.setattr(registry, "_TASKS", dict(registry._TASKS))
    tasks, data = tmp_path / "tasks", tmp_path / "data"
    tasks.mkdir()
    (tasks / "mypick.yaml").write_text(PICK_YAML, encoding="utf-8")
    for lang, splits in {"en": {"train": 12, "dev": 6, "test": 6}, "de": {"test": 9}}.items():
        for split, n in splits.items():
            path = data / lang / f"{split}.jsonl"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("".join(json.dumps(r) + "\n" for r in pick_rows(lang, split, n)), encoding="utf-8")
    return tasks, data


@pytest.mark.parametrize("method", ["lora", "zero_shot"])
def test_a_user_multiple_choice_task_is_one_yaml(capsys, tmp_path, tiny_model_dir, pick_task, method):
    tasks, data = pick_task
    run = tmp_path / "run"
    code, _, err = run_cli(capsys, "train", "--task", "mypick", "--include-path", tasks, "--data-dir", data,
                           "--model", tiny_model_dir, "--method", method, "--out", run, "--evaluate", "--quiet",
                           *(FAST[:-2] if method == "lora" else ["model.device=cpu"]))
    assert code == 0, err
    results = json.loads((run / "results.json").read_text())
    assert results["metric"] == "acc_norm" and results["formulation"] == "choice_loglikelihood"
    assert {lang: (e["split"], e["n"]) for lang, e in results["languages"].items()} == {
        "en": ("test", 6), "de": ("test", 9)}
    records = [json.loads(line) for line in (run / "predictions/test/de.jsonl").read_text().splitlines()]
    assert [r["id"] for r in records] == [row["qid"] for row in pick_rows("de", "test", 9)]
    assert [r["gold"] for r in records] == ["a", "b", "c"] * 3  # index answers mapped through `labels`
    assert all(set(r["loglik"]) == {"a", "b", "c"} for r in records)
    assert sum(r["pred"] == r["gold"] for r in records) / 9 == pytest.approx(results["languages"]["de"]["acc_norm"])

    # predict reads the task's fields from JSON lines (the run's task.yaml defines the task: no --include-path).
    source = tmp_path / "in.jsonl"
    inputs = [{k: row[k] for k in ("qid", "question", "a", "b", "c")} for row in pick_rows("de", "test", 9)]
    source.write_text("".join(json.dumps(dict(row, id=row["qid"])) + "\n" for row in inputs), encoding="utf-8")
    code, out, err = run_cli(capsys, "predict", "--run", run, "--input", source, "--lang", "de", "--quiet")
    assert code == 0, err
    predicted = [json.loads(line) for line in out.splitlines()]
    assert [p["pred"] for p in predicted] == [r["pred"] for r in records]


@pytest.mark.parametrize("old, new, words", [
    ('["{a}", "{b}", "{c}"]', '["{a}", "{b}", "{d}"]', ("prompt: {d} in '{d}' is not a field (a, b, c, question)",)),
    ('["{a}", "{b}", "{c}"]', '["{a}", "{b}"]', ("prompt: 2 choices for 3 labels (a, b, c)",)),
    ("prompt:", "promt:", ("promt",)),
    ("metric: acc_norm", "metric: macro_f1", ("macro_f1",)),
])
def test_a_broken_multiple_choice_yaml_is_one_line(capsys, pick_task, old, new, words):
    tasks, data = pick_task
    (tasks / "mypick.yaml").write_text(PICK_YAML.replace(old, new), encoding="utf-8")
    code, _, err = run_cli(capsys, "data", "check", "--task", "mypick", "--include-path", tasks, "--data-dir", data)
    lines = [line for line in err.splitlines() if line.startswith("xlpt: error:")]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert "mypick.yaml" in lines[0] and all(word in lines[0] for word in words), lines[0]
