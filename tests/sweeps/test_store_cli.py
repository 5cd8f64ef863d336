"""`xlpt runs`, `xlpt sweep --dry-run`, failure handling, reindexing, and runs made by `xlpt train`."""

from __future__ import annotations

import json
import shutil

import pytest

from xlpt.cli import main
from xlpt.errors import ConfigError
from xlpt.sweeps.estimate import CHARS_PER_TOKEN, heuristic_tokens
from xlpt.sweeps.grid import expand, load_sweep
from xlpt.sweeps.reindex import reindex
from xlpt.sweeps.store import RunStore

GRID = {"data.task": ["pawsx", "udpos"], "method.name": ["prompt_tuning", "full_finetune"]}


def run_cli(capsys, *args) -> tuple[int, str]:
    code = main([str(a) for a in args])
    return code, capsys.readouterr().out


def test_dry_run_lists_runs_with_positive_estimates_and_writes_nothing(make_sweep, tmp_path, capsys):
    config = make_sweep(GRID)
    out = tmp_path / "out"
    code, text = run_cli(capsys, "sweep", "--config", config, "--out", out, "--dry-run", "--json")
    assert code == 0 and not out.exists()
    plan = json.loads(text)
    assert [r["id"] for r in plan["runs"]] == [r.id for r in expand(load_sweep(config))]
    for run in plan["runs"]:
        cost = run["estimate"]
        assert run["status"] == "pending" and cost["error"] == ""
        assert cost["lengths_from"] == "tokenizer"  # the tiny model's tokenizer loads from its folder
        assert cost["steps"] == 30 and cost["n_train"] > 0
        assert cost["train_tokens"] > 0 and cost["dev_tokens"] > 0 and cost["eval_tokens"] > 0
        # max_steps given: steps x batch x mean length; the sample's pairs are ~20-40 tokens long
        assert 30 * 8 * 5 < cost["train_tokens"] < 30 * 8 * 200
        assert cost["eval_examples"] == 20 * cost["languages"]
    prompt = {r["task"]: r["estimate"]["eval_tokens"] for r in plan["runs"] if r["method"] == "prompt_tuning"}
    finetune = {r["task"]: r["estimate"]["eval_tokens"] for r in plan["runs"] if r["method"] == "full_finetune"}
    for task in prompt:  # the 4-vector soft prompt adds 4 positions to every evaluated example
        languages = next(r["estimate"]["languages"] for r in plan["runs"] if r["task"] == task)
        assert prompt[task] - finetune[task] == pytest.approx(4 * 20 * languages, abs=languages)
    assert plan["totals"]["train_tokens"] == sum(r["estimate"]["train_tokens"] for r in plan["runs"])

    code, text = run_cli(capsys, "sweep", "--config", config, "--out", out, "--dry-run",
                         "--only", plan["runs"][1]["id"][:8])
    assert code == 0 and plan["runs"][1]["id"] in text and plan["runs"][0]["id"] not in text
    assert "total:" in text and "lengths from tokenizer" in text


def test_dry_run_falls_back_to_the_heuristic_without_a_local_tokenizer(make_sweep, tmp_path, capsys):
    config = make_sweep({"method.name": ["full_finetune"]})
    code, text = run_cli(capsys, "sweep", "--config", config, "--out", tmp_path / "o", "--dry-run", "--json",
                         f"model.name={tmp_path / 'no-such-model'}")
    cost = json.loads(text)["runs"][0]["estimate"]
    assert code == 0 and cost["lengths_from"] == "heuristic" and cost["train_tokens"] > 0 and cost["eval_tokens"] > 0
    assert heuristic_tokens("a" * 40) == 40 / CHARS_PER_TOKEN + 2
    assert heuristic_tokens("猫" * 30) > heuristic_tokens("a" * 30)  # CJK packs more per character


def test_a_failing_run_is_recorded_and_the_sweep_goes_on(make_sweep, workspace, tmp_path, capsys):
    # the second model does not exist: its run fails, the first one completes
    config = make_sweep({"model.name": [str(workspace / "tiny"), str(tmp_path / "missing-model")],
                         "method.name": ["full_finetune"]})
    out = tmp_path / "out"
    good, bad = expand(load_sweep(config))
    code, text = run_cli(capsys, "sweep", "--config", config, "--out", out, "--quiet")
    assert code == 1 and f"FAILED ({bad.id})" in text
    with RunStore.for_out(out) as store:
        assert store.get(good.id)["status"] == "done"
        failed = store.get(bad.id)
        assert failed["status"] == "failed" and "missing-model" in failed["error"] and failed["metrics"] == []
    status = json.loads((out / bad.id / "status.json").read_text())
    assert status["status"] == "failed" and "missing-model" in status["error"]

    # listing filters by status; the run is retried by the next sweep (and fails again)
    code, text = run_cli(capsys, "runs", "list", "--out", out, "--status", "failed", "--json")
    assert [r["id"] for r in json.loads(text)] == [bad.id]
    code, text = run_cli(capsys, "sweep", "--config", config, "--out", out, "--quiet")
    assert code == 1 and "1 already done" in text
    with RunStore.for_out(out) as store:
        assert store.get(bad.id)["attempts"] == 2 and store.get(good.id)["attempts"] == 1

    # the store is an index: delete it, reindex, and everything (status, error, metrics) comes back
    with RunStore.for_out(out) as store:
        before = store.get(good.id)
    for path in out.glob("runs.sqlite*"):
        path.unlink()
    code, text = run_cli(capsys, "runs", "reindex", "--out", out)
    assert code == 0 and "1 done" in text and "1 failed" in text
    with RunStore.for_out(out) as store:
        after = store.get(good.id)
        assert store.get(bad.id)["status"] == "failed" and "missing-model" in store.get(bad.id)["error"]
    assert after["metrics"] == before["metrics"] and after["average"] == before["average"]
    assert after["provenance"] == before["provenance"] and after["sweep"] == "test-sweep"

    # a corrupt store is moved aside (never deleted) and rebuilt
    for path in out.glob("runs.sqlite*"):
        path.unlink()
    (out / "runs.sqlite").write_bytes(b"this is not a database" * 100)
    with pytest.raises(ConfigError, match="not a usable results store"):
        RunStore.for_out(out)
    report = reindex(out)
    assert report.moved_aside and report.indexed == {"done": 1, "failed": 1}
    code, text = run_cli(capsys, "runs", "show", good.id, "--out", out)
    assert code == 0 and "average" in text and good.id in text


def test_runs_made_by_xlpt_train_are_listed_with_their_true_times(single_run, tmp_path, monkeypatch, capsys):
    _, trained = single_run
    run_dir = tmp_path / "runs" / "study" / "x"
    shutil.copytree(trained, run_dir)
    monkeypatch.chdir(tmp_path)
    # plain `xlpt runs list`: the default folder runs/, searched recursively
    code, text = run_cli(capsys, "runs", "list", "--json")
    [row] = json.loads(text)
    summary = json.loads((run_dir / "train_summary.json").read_text())
    status = json.loads((run_dir / "status.json").read_text())
    assert code == 0 and row["run_dir"] == "study/x" and row["status"] == "trained"
    assert row["finished"] == summary["finished"] and row["started"] == status["first_started"] <= row["finished"]
    assert row["average"] is None

    code, _ = run_cli(capsys, "evaluate", "--run", run_dir, "--quiet")
    results = json.loads((run_dir / "results.json").read_text())
    code, text = run_cli(capsys, "runs", "list", "--json")
    [row] = json.loads(text)
    assert row["status"] == "done" and row["average"] == results["average"]
    assert row["finished"] == results["provenance"]["created"] and row["finished"] >= summary["finished"]
    code, text = run_cli(capsys, "runs", "list")
    assert code == 0 and row["id"] in text and row["finished"] in text and "1 runs under runs" in text

    # nothing there: a clear message; no such folder: one line, exit 2
    (tmp_path / "empty").mkdir()
    code, text = run_cli(capsys, "runs", "list", "--out", tmp_path / "empty")
    assert code == 0 and "no runs under" in text and "config.yaml" in text
    monkeypatch.chdir(tmp_path / "empty")
    assert main(["runs", "list"]) == 2
    assert "no folder runs" in capsys.readouterr().err
