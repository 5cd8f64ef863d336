"""Sweeps as submitit jobs (real submitit LocalExecutor processes, the tiny model): a preempted job is
requeued and resumes, a SIGKILLed job is resumed by the next sweep, a diverged run is reported and left
alone, every run ends listed once, and the results equal those of uninterrupted in-process runs.
On a machine with Slurm, the same through a real job array."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from xlpt.cli import main
from xlpt.sweeps.grid import expand, load_sweep

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1"}


def xlpt(*args) -> list[str]:
    return [sys.executable, "-m", "xlpt", *map(str, args)]


def mid_training(run_dir: Path) -> bool:
    """A job is training the run: a resumable snapshot exists, training has not finished."""
    return ((run_dir / "checkpoint" / "last.pt").exists() and not (run_dir / "train_summary.json").exists()
            and (run_dir / "status.json").exists())


def job_pid(run_dir: Path) -> int:
    """The pid of the process working on the run (status.json's owner is host:pid)."""
    return int(json.loads((run_dir / "status.json").read_text())["owner"].rsplit(":", 1)[1])


def listed(out: Path) -> list[dict]:
    return json.loads(subprocess.run(xlpt("runs", "list", "--out", out, "--json"), capture_output=True, text=True,
                                     check=True, env=ENV).stdout)


def test_submitit_sweep_survives_preemption_and_a_killed_job(fast_sweep, tmp_path, capsys):
    config = fast_sweep({"method.name": ["prompt_tuning", "full_finetune"]},
                        per_method={"prompt_tuning": {"train.learning_rate": 0.1, "method.prompt_length": 4},
                                    "full_finetune": {"train.learning_rate": [1.0e-3, 1.0e6]}})
    preempted, killed, diverging = expand(load_sweep(config))
    assert (preempted.method, killed.cfg.train.learning_rate, diverging.cfg.train.learning_rate) == (
        "prompt_tuning", 1e-3, 1e6)
    out = tmp_path / "out"
    command = xlpt("sweep", "--config", config, "--out", out, "--executor", "submitit-local", "--quiet")

    # 1. One job at a time. Preempt the first mid-training (SIGUSR2, what Slurm sends before a time limit),
    #    SIGKILL the second mid-training; the third diverges on its own.
    with open(tmp_path / "first.log", "w") as log:
        driver = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=ENV)
        deadline, signalled = time.monotonic() + 400, []
        while time.monotonic() < deadline and driver.poll() is None and len(signalled) < 2:
            for run, sig in ((preempted, signal.SIGUSR2), (killed, signal.SIGKILL)):
                if run.id not in signalled and mid_training(out / run.id):
                    pid = job_pid(out / run.id)
                    os.kill(pid, signal.SIGSTOP)  # freeze, then confirm it is still mid-training
                    if mid_training(out / run.id):
                        os.kill(pid, sig)
                        if sig != signal.SIGKILL:
                            os.kill(pid, signal.SIGCONT)
                        signalled.append(run.id)
                    else:
                        os.kill(pid, signal.SIGCONT)
            time.sleep(0.005)
        driver.wait(timeout=400)
    first = (tmp_path / "first.log").read_text()
    assert signalled == [preempted.id, killed.id], first
    assert driver.returncode == 1, first
    assert re.search(rf"\[1/3\] {preempted.id} pawsx prompt_tuning lr=0.1 L=4 done by job \d+ after", first), first
    assert f"1 done now, 0 already done, 1 INTERRUPTED ({killed.id}), 1 DIVERGED ({diverging.id})" in first

    # the preempted job checkpointed and was requeued by submitit, then resumed from its snapshot
    job = json.loads((out / preempted.id / "job.json").read_text())
    submitit_log = Path(job["log"]).read_text()
    assert "this job is preempted" in submitit_log and "Requeued job" in submitit_log
    status = json.loads((out / preempted.id / "status.json").read_text())
    assert status["attempts"] == 2 and status["job_id"] == job["job_id"]  # the same job, started twice
    summary = json.loads((out / preempted.id / "train_summary.json").read_text())
    assert summary["resumed_from_step"] > 0 and summary["steps"] == 12

    by_id = {row["id"]: row for row in listed(out)}
    assert {rid: row["status"] for rid, row in by_id.items()} == {
        preempted.id: "done", killed.id: "interrupted", diverging.id: "diverged"}
    assert main(["sweep", "--config", str(config), "--out", str(out), "--status", "--json"]) == 1  # one diverged
    status = {row["id"]: row for row in json.loads(capsys.readouterr().out)["runs"]}
    assert (status[killed.id]["status"], status[killed.id]["job"]) == (
        "interrupted", json.loads((out / killed.id / "job.json").read_text())["job_id"])
    assert status[diverging.id]["status"] == "diverged" and status[preempted.id]["status"] == "done"

    # 2. The next sweep resubmits only the killed run, which resumes from its last snapshot.
    again = subprocess.run(command, capture_output=True, text=True, env=ENV, timeout=400)
    assert again.returncode == 1, again.stdout + again.stderr  # the diverged run still counts
    assert f"{diverging.id} pawsx full_finetune lr=1000000.0 diverged before (not retried" in again.stdout
    assert "1 done now, 1 already done" in again.stdout and again.stdout.count("submitted as job") == 1
    killed_log = (out / killed.id / "run.log").read_text()
    assert "resumed from step" in killed_log and killed_log.count("training on") == 2
    assert json.loads((out / killed.id / "train_summary.json").read_text())["resumed_from_step"] > 0
    assert (out / diverging.id / "run.log").read_text().count("training on") == 1

    # 3. Every run listed exactly once; the diverged one is no result.
    rows = listed(out)
    assert sorted(row["id"] for row in rows) == sorted([preempted.id, killed.id, diverging.id])
    by_id = {row["id"]: row for row in rows}
    assert [by_id[r.id]["status"] for r in (preempted, killed, diverging)] == ["done", "done", "diverged"]
    assert by_id[diverging.id]["average"] is None and "nan" in by_id[diverging.id]["error"].lower()
    for run in (preempted, killed):
        results = json.loads((out / run.id / "results.json").read_text())
        assert by_id[run.id]["average"] == results["average"]
        assert by_id[run.id]["finished"] == results["provenance"]["created"]

    # 4. The interrupted runs end exactly as uninterrupted in-process runs of the same configs.
    reference = tmp_path / "reference"
    assert main(["sweep", "--config", str(config), "--out", str(reference), "--quiet",
                 "--only", f"{preempted.id},{killed.id}"]) == 0
    for run in (preempted, killed):
        ours = json.loads((out / run.id / "results.json").read_text())
        theirs = json.loads((reference / run.id / "results.json").read_text())
        assert ours["languages"] == theirs["languages"] and ours["average"] == theirs["average"]
        ours, theirs = (json.loads((d / run.id / "train_summary.json").read_text()) for d in (out, reference))
        assert (ours["best_step"], ours["best_dev_score"], ours["dev_history"]) == (
            theirs["best_step"], theirs["best_dev_score"], theirs["dev_history"])


def slurm_missing() -> str | None:
    """Why no Slurm test can run here, or None. It runs on the one-node Slurm of .ci/start-slurm, or on any
    Slurm with XLPT_TEST_SLURM=1 (it submits two 1-CPU jobs to the default partition)."""
    if shutil.which("sbatch") is None:
        return "no Slurm here (sbatch not on PATH); .ci/start-slurm starts a one-node Slurm as root"
    ours = "written by xlpt .ci/start-slurm" in Path("/etc/slurm/slurm.conf").read_text(errors="replace") \
        if Path("/etc/slurm/slurm.conf").is_file() else False
    if not ours and os.environ.get("XLPT_TEST_SLURM") != "1":
        return "this Slurm is not the test one of .ci/start-slurm; set XLPT_TEST_SLURM=1 to submit test jobs to it"
    try:
        answer = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        return "Slurm is installed but sinfo did not answer in 30 s"
    if answer.returncode != 0 or not any(s.startswith(("idle", "mix", "alloc")) for s in answer.stdout.split()):
        return f"Slurm is installed but no node is up (sinfo: {(answer.stdout + answer.stderr).strip()[:200]})"
    return None


def test_a_sweep_runs_as_a_slurm_job_array(request, tmp_path):
    missing = slurm_missing()  # asked here, not at collection: sinfo can take seconds to give up
    if missing:
        pytest.skip(missing)
    fast_sweep = request.getfixturevalue("fast_sweep")  # only now build the workspace
    config = fast_sweep({"method.name": ["prompt_tuning", "full_finetune"]})
    runs = expand(load_sweep(config))
    out = tmp_path / "out"
    done = subprocess.run(xlpt("sweep", "--config", config, "--out", out, "--executor", "slurm", "--time", "15",
                               "--cpus", "1", "--mem", "1G", "--quiet"), capture_output=True, text=True, env=ENV,
                          timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    jobs = [json.loads((out / run.id / "job.json").read_text())["job_id"] for run in runs]
    array = {job.split("_")[0] for job in jobs}
    assert len(array) == 1 and sorted(jobs) == sorted(f"{next(iter(array))}_{k}" for k in range(len(runs)))
    for run, job in zip(runs, jobs):
        assert json.loads((out / run.id / "status.json").read_text())["job_id"] == job  # the job ran it
    rows = listed(out)
    assert sorted(row["id"] for row in rows) == sorted(run.id for run in runs)
    assert {row["status"] for row in rows} == {"done"} and all(row["job_id"] for row in rows)
