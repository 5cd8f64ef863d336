"""The results store, `xlpt runs`, `xlpt sweep --dry-run`, failure handling and reindexing."""

from __future__ import annotations

import json
import sqlite3

import pytest

from xlpt.cli import main
from xlpt.errors import ConfigError
from xlpt.sweeps.estimate import CHARS_PER_TOKEN, heuristic_tokens
from xlpt.sweeps.grid import expand, load_sweep
from xlpt.sweeps.reindex import reindex
from xlpt.sweeps.rundir import RunLock
from xlpt.sweeps.store import RunStore, effective_status

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


def test_store_records_once_and_tells_interrupted_from_running(tmp_path):
    from xlpt.config import RunConfig

    cfg = RunConfig()
    results = {"split": "test", "metric": "accuracy", "average": 0.5, "average_without_en": 0.4,
               "languages": {"en": {"accuracy": 0.6, "n": 10, "split": "test", "n_words": 7},
                             "de": {"accuracy": 0.4, "n": 10, "split": "dev"}},
               "provenance": {"git_commit": "abc"}}
    with RunStore(tmp_path / "runs.sqlite") as store:
        store.register([("r1", cfg, tmp_path / "r1", 1)], "s")
        store.register([("r1", cfg, tmp_path / "r1", 1)], "s")  # registering twice is harmless
        store.record_results("r1", results)
        store.record_results("r1", results)  # and so is recording twice
        rows = store.db.execute("SELECT lang, metric, value, n, source_split FROM metrics").fetchall()
        assert sorted(map(tuple, rows)) == [("de", "accuracy", 0.4, 10, "dev"), ("en", "accuracy", 0.6, 10, "test")]
        assert store.list_runs(status="done")[0]["average"] == 0.5
        with pytest.raises(ConfigError, match="no run"):
            store.get("zz")
    # a `running` row is only running while its process holds the run's lock
    (tmp_path / "r2").mkdir()
    assert effective_status("running", tmp_path / "r2") == "interrupted"
    lock = RunLock(tmp_path / "r2")
    assert lock.acquire()
    try:
        assert effective_status("running", tmp_path / "r2") == "running"
        assert not RunLock(tmp_path / "r2").acquire()  # a second claimant is refused
    finally:
        lock.release()
    assert effective_status("running", tmp_path / "r2") == "interrupted"
    with pytest.raises(ConfigError, match="no results store"):
        RunStore(tmp_path / "elsewhere.sqlite", create=False)
    assert sqlite3.connect(tmp_path / "runs.sqlite").execute("PRAGMA journal_mode").fetchone()[0] == "wal"
