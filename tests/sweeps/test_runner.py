"""The in-process runner: a diverged run is recorded as diverged, reported, never retried, never a result."""

from __future__ import annotations

import json

from xlpt.cli import main
from xlpt.sweeps.grid import expand, load_sweep


def run_cli(capsys, *args) -> tuple[int, str]:
    code = main([str(a) for a in args])
    return code, capsys.readouterr().out


def test_a_diverged_run_is_listed_as_diverged_and_not_retried(make_sweep, tmp_path, capsys):
    # full fine-tuning of the tiny model at learning rate 1e6: the loss is NaN within a few steps
    config = make_sweep({"method.name": ["full_finetune"]}, per_method={"full_finetune": {"train.learning_rate": 1.0e6}})
    [run] = expand(load_sweep(config))
    out = tmp_path / "out"
    code, text = run_cli(capsys, "sweep", "--config", config, "--out", out, "--quiet")
    assert code == 1 and f"1 DIVERGED ({run.id})" in text
    summary = json.loads((out / run.id / "train_summary.json").read_text())
    assert summary["status"] == "diverged" and "nan" in summary["error"].lower()  # it really diverged
    assert not list((out / run.id).glob("results*.json"))

    code, text = run_cli(capsys, "runs", "list", "--out", out, "--json")
    [row] = json.loads(text)
    assert (row["id"], row["status"], row["average"]) == (run.id, "diverged", None)
    assert row["error"] == summary["error"] and row["finished"] == summary["finished"]
    code, text = run_cli(capsys, "runs", "list", "--out", out, "--status", "done", "--json")
    assert json.loads(text) == []
    code, text = run_cli(capsys, "runs", "show", run.id, "--out", out, "--json")
    assert json.loads(text)["metrics"] == []

    # the next sweep reports it again and does not train it again
    code, text = run_cli(capsys, "sweep", "--config", config, "--out", out, "--quiet")
    assert code == 1 and "diverged before (not retried" in text and "0 done now" in text
    assert (out / run.id / "run.log").read_text().count("training on") == 1
    code, text = run_cli(capsys, "sweep", "--config", config, "--out", out, "--status")
    assert code == 1 and "diverged" in text and "nan" in text.lower()
