"""A real sweep on the tiny model, killed with SIGKILL mid-training, then resumed by two concurrent sweeps:
every run must end complete exactly once, the killed one resumed from its checkpoint."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from xlpt.sweeps.grid import expand, load_sweep
from xlpt.sweeps.rundir import read_results

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1"}


def xlpt(*args) -> list[str]:
    return [sys.executable, "-m", "xlpt", *map(str, args)]


def mid_training(out: Path) -> list[Path]:
    """Run directories with a resumable checkpoint and no finished training."""
    return [d for d in out.glob("*/") if (d / "checkpoint" / "last.pt").exists()
            and not (d / "train_summary.json").exists()]


def test_sweep_killed_mid_run_resumes_and_completes_every_run_once(make_sweep, tmp_path):
    config = make_sweep({"data.task": ["pawsx", "udpos"], "method.name": ["prompt_tuning", "full_finetune"],
                         "train.seed": [1, 2]})
    planned = {run.id: run for run in expand(load_sweep(config))}
    assert len(planned) == 8
    out = tmp_path / "out"
    command = xlpt("sweep", "--config", config, "--out", out, "--quiet")

    # 1. Start, wait until one run is done and a later one is mid-training, then SIGKILL.
    with open(tmp_path / "first.log", "w") as log:
        first = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=ENV)
        deadline = time.monotonic() + 120
        def ready() -> bool:
            return out.exists() and bool(list(out.glob("*/results.json"))) and bool(mid_training(out))

        while time.monotonic() < deadline and first.poll() is None:
            if ready():
                os.kill(first.pid, signal.SIGSTOP)  # freeze, then confirm the state is still the one we want
                if ready():
                    os.kill(first.pid, signal.SIGKILL)
                    break
                os.kill(first.pid, signal.SIGCONT)
            time.sleep(0.005)
        first.wait(timeout=30)
    assert first.returncode == -signal.SIGKILL, (tmp_path / "first.log").read_text()[-3000:]
    victims = mid_training(out)  # the state the kill froze
    assert len(victims) == 1
    victim = victims[0].name
    finished_before = {p.parent.name for p in out.glob("*/results.json")}
    assert finished_before and victim not in finished_before

    # The kill left the victim's status.json saying running; nothing holds its lock, so it is listed as
    # interrupted. Every planned run is listed (those not started yet from the sweep's manifest).
    listed = json.loads(subprocess.run(xlpt("runs", "list", "--out", out, "--json"), capture_output=True,
                                       text=True, check=True, env=ENV).stdout)
    by_id = {run["id"]: run for run in listed}
    assert set(by_id) == set(planned) and len(listed) == len(planned)
    assert json.loads((out / victim / "status.json").read_text())["status"] == "running"
    assert by_id[victim]["status"] == "interrupted"
    assert {rid for rid, run in by_id.items() if run["status"] == "done"} == finished_before
    assert {run["status"] for rid, run in by_id.items() if rid not in finished_before | {victim}} <= {"pending"}

    # 2. Resume with two sweeps at once on the same folder: they share the work without clashing.
    logs = [open(tmp_path / f"resume{i}.log", "w") for i in (1, 2)]
    resumers = [subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=ENV) for log in logs]
    for proc, log in zip(resumers, logs):
        proc.wait(timeout=240)
        log.close()
    outputs = [(tmp_path / f"resume{i}.log").read_text() for i in (1, 2)]
    assert [p.returncode for p in resumers] == [0, 0], outputs

    # 3. Every run complete exactly once.
    db = sqlite3.connect(out / "runs.sqlite")
    rows = db.execute("SELECT id, status, attempts FROM runs").fetchall()
    assert sorted(r[0] for r in rows) == sorted(planned) and {r[1] for r in rows} == {"done"}
    assert db.execute("SELECT COUNT(*) FROM (SELECT 1 FROM metrics GROUP BY run_id, split, lang, metric "
                      "HAVING COUNT(*) > 1)").fetchone()[0] == 0
    for rid, run in planned.items():
        results, problem = read_results(out / rid, "test", rid)
        assert results is not None, problem
        n_metrics = db.execute("SELECT COUNT(*) FROM metrics WHERE run_id = ?", (rid,)).fetchone()[0]
        assert n_metrics >= len(results["languages"])
        stored = db.execute("SELECT average FROM runs WHERE id = ?", (rid,)).fetchone()[0]
        assert stored == results["average"]
        log = (out / rid / "run.log").read_text()
        assert log.count("wrote ") == 1, f"{rid} evaluated {log.count('wrote ')} times"
        expected_trainings = 2 if rid == victim else 1  # the victim started once and resumed once
        assert log.count("training on") == expected_trainings, log
    victim_log = (out / victim / "run.log").read_text()
    assert "resumed from step" in victim_log
    summary = json.loads((out / victim / "train_summary.json").read_text())
    assert summary["resumed_from_step"] and summary["steps"] == 30
    attempts = dict(db.execute("SELECT id, attempts FROM runs").fetchall())
    assert attempts[victim] == 2 and all(attempts[rid] == 1 for rid in finished_before)
    db.close()
    # each resumer ran some runs and skipped the ones the other held or had finished
    assert sum(o.count(" done in ") for o in outputs) == len(planned) - len(finished_before)

    # 4. A third sweep finds nothing to do and changes nothing.
    logs_before = {rid: (out / rid / "run.log").read_text() for rid in planned}
    again = subprocess.run(command, capture_output=True, text=True, env=ENV, timeout=120)
    assert again.returncode == 0 and "0 done now, 8 already done" in again.stdout
    assert logs_before == {rid: (out / rid / "run.log").read_text() for rid in planned}

    # 5. The store answers queries; `show` carries metrics and provenance.
    udpos = json.loads(subprocess.run(xlpt("runs", "list", "--out", out, "--task", "udpos", "--status", "done",
                                           "--json"), capture_output=True, text=True, check=True, env=ENV).stdout)
    assert sorted(r["id"] for r in udpos) == sorted(rid for rid, run in planned.items() if run.task == "udpos")
    shown = json.loads(subprocess.run(xlpt("runs", "show", victim[:7], "--out", out, "--json"),
                                      capture_output=True, text=True, check=True, env=ENV).stdout)
    assert shown["id"] == victim and shown["status"] == "done"
    assert {m["lang"] for m in shown["metrics"]} == set(json.loads((out / victim / "results.json").read_text())["languages"])
    assert "git_commit" in shown["provenance"] and shown["provenance"]["packages"]["torch"]
    assert shown["config"]["data"]["task"] == planned[victim].task
