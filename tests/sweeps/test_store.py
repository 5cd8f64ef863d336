"""The results store as an index of run directories: incremental sync, one row per run, what each file says.

The run directories here are written through xlpt.run_dir, as training and evaluation write them; their
results are small hand-made dicts (the store only reads them; real runs are indexed in the other tests)."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys

import pytest

from xlpt.config import load_config
from xlpt.errors import ConfigError
from xlpt.run_dir import RunDir, run_id
from xlpt.sweeps.grid import PlannedRun
from xlpt.sweeps.manifest import write_manifest
from xlpt.run_dir import RunLock
from xlpt.sweeps.store import RunStore, effective_status, open_index
from xlpt.tasks import get_task

CREATED = "2020-01-02T03:04:05+00:00"


def claimed(out, seed: int):
    cfg = load_config(None, ["data.task=pawsx", f"train.seed={seed}"])
    run = RunDir(out / run_id(cfg))
    run.claim(cfg, get_task("pawsx"))
    return cfg, run


def results_of(cfg, average=0.5) -> dict:
    return {"split": "test", "metric": "accuracy", "average": average, "average_without_en": 0.4, "run_id": run_id(cfg),
            "config": cfg.to_dict(), "provenance": {"created": CREATED, "git_commit": "abc"},
            "languages": {"en": {"accuracy": 0.6, "n": 10, "split": "test", "n_words": 7},
                          "de": {"accuracy": 0.4, "n": 10, "split": "dev"}}}


def test_sync_reads_each_changed_directory_once_and_keeps_one_row_per_run(tmp_path):
    out = tmp_path / "out"
    cfg, run = claimed(out, 1)
    run.write_results("test", results_of(cfg))
    with RunStore.for_out(out) as store:
        assert store.sync().reread == 1
        again = store.sync()
        assert again.reread == 0 and again.indexed == {"done": 1}  # nothing changed: nothing read
        rows = store.db.execute("SELECT lang, metric, value, n, source_split FROM metrics").fetchall()
        assert sorted(map(tuple, rows)) == [("de", "accuracy", 0.4, 10, "dev"), ("en", "accuracy", 0.6, 10, "test")]
        got = store.get(run_id(cfg)[:6])
        assert got["status"] == "done" and got["average"] == 0.5 and got["finished"] == CREATED
        assert got["provenance"]["git_commit"] == "abc" and got["run_dir"] == run_id(cfg)

        # a changed file is read again; the metrics are replaced, not added
        run.write_results("test", results_of(cfg, average=0.25))
        assert store.sync().reread == 1
        assert store.get(run_id(cfg))["average"] == 0.25
        assert store.db.execute("SELECT COUNT(*) FROM metrics").fetchone()[0] == 2

        # a copy of the run folder elsewhere below: still one row, and the copy is reported
        shutil.copytree(run.path, out / "copies" / "again")
        report = store.sync()
        assert store.ids() == [run_id(cfg)] and any("same run" in line for line in report.skipped)

        # a folder that is gone takes its row with it
        shutil.rmtree(out / "copies")
        shutil.rmtree(run.path)
        assert store.sync().dropped == 1 and store.ids() == []


def test_status_comes_from_the_files_and_the_lock(tmp_path):
    out = tmp_path / "out"
    cfg, run = claimed(out, 2)
    with RunStore.for_out(out) as store:
        store.sync()
        assert store.status(run_id(cfg)) == "pending"
        # a process that died mid-training left status.json saying running: reported interrupted
        run.write_status(status="running", started=CREATED, first_started=CREATED)
        store.sync()
        assert store.status(run_id(cfg)) == "interrupted"
        lock = RunLock(run.path)
        assert lock.acquire()
        try:
            run.write_status(status="running", attempts=2)
            store.sync()
            assert store.status(run_id(cfg)) == "running"
            # a second claimant (another process: within one process the lock is shared) is refused
            other = subprocess.run([sys.executable, "-c", "import sys; from xlpt.run_dir import RunLock; "
                                    "print(RunLock(sys.argv[1]).acquire())", str(run.path)],
                                   capture_output=True, text=True, timeout=60)
            assert other.stdout.strip() == "False", other.stderr
        finally:
            lock.release()
        # the holder was killed (the kernel released its lock); nothing changed on disk
        assert store.sync().reread == 0 and store.status(run_id(cfg)) == "interrupted"
        assert effective_status("running", run.path) == "interrupted"

        run.write_status(status="failed", error="RuntimeError: boom", finished=CREATED)
        store.sync()
        row = store.get(run_id(cfg))
        assert (row["status"], row["error"], row["finished"], row["attempts"]) == ("failed", "RuntimeError: boom",
                                                                                     CREATED, 2)
        # a job was submitted after the failure and has not started: submitted, not failed
        os.utime(run.status_path, ns=(1, 1))
        run.write_job(executor="slurm", job_id="77_3", submitted=CREATED)
        store.sync()
        assert store.get(run_id(cfg))["status"] == "submitted" and store.get(run_id(cfg))["job_id"] == "77_3"
        # the job started it (its status.json names the job): no longer waiting for it
        run.write_status(status="running", job_id="77_3")
        store.sync()
        assert store.status(run_id(cfg)) == "interrupted"  # ...and then died: nothing holds the lock

        run.write_summary({"status": "diverged", "error": "the loss became nan at step 3", "finished": CREATED})
        store.sync()
        row = store.get(run_id(cfg))
        assert row["status"] == "diverged" and "nan" in row["error"] and row["average"] is None


def test_planned_runs_without_a_directory_are_pending_and_bad_files_are_reported(tmp_path):
    out = tmp_path / "out"
    cfg, run = claimed(out, 3)
    other = load_config(None, ["data.task=udpos", "train.seed=4"])
    plan = [PlannedRun(run_id(cfg), cfg, 1), PlannedRun(run_id(other), other, 2)]
    write_manifest(out, "s", plan)
    broken = out / "broken"
    broken.mkdir()
    (broken / "config.yaml").write_text("model: [unclosed\n", encoding="utf-8")
    (out / "sweep-bad.json").write_text("{not json", encoding="utf-8")
    store, notes = open_index(out)
    with store:
        report = store.sync()
        assert notes == []
        listed = {r["id"]: r for r in store.list_runs()}
        assert set(listed) == {run_id(cfg), run_id(other)}
        assert listed[run_id(other)]["status"] == "pending" and listed[run_id(other)]["task"] == "udpos"
        assert [listed[r]["sweep"] for r in (run_id(cfg), run_id(other))] == ["s", "s"]
        assert [listed[r]["position"] for r in (run_id(cfg), run_id(other))] == [1, 2]
        assert any(line.startswith(f"{broken}: ") and "config.yaml" in line for line in report.skipped)
        assert any("sweep-bad.json" in line and "unreadable" in line for line in report.skipped)
        assert store.list_runs(task="udpos")[0]["id"] == run_id(other)
        with pytest.raises(ConfigError, match="no run"):
            store.get("zz")


def test_a_damaged_or_old_store_is_moved_aside_and_rebuilt(tmp_path):
    out = tmp_path / "out"
    cfg, run = claimed(out, 5)
    run.write_results("test", results_of(cfg))
    old = sqlite3.connect(out / "runs.sqlite")  # the schema of xlpt <= 0.1's store
    old.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    old.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    old.commit()
    old.close()
    store, notes = open_index(out)
    with store:
        assert len(notes) == 1 and "schema version 1" in notes[0] and "moved it to" in notes[0]
        store.sync()
        assert store.status(run_id(cfg)) == "done"
    assert len(list(out.glob("runs.sqlite.broken-*"))) == 1
    # the index is not WAL: WAL needs shared memory between processes, which NFS cannot give
    assert sqlite3.connect(out / "runs.sqlite").execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    with pytest.raises(ConfigError, match="no results store"):
        RunStore(tmp_path / "elsewhere.sqlite", create=False)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write a read-only folder")
def test_a_read_only_folder_gets_a_temporary_index(tmp_path):
    out = tmp_path / "out"
    cfg, run = claimed(out, 6)
    run.write_results("test", results_of(cfg))
    out.chmod(0o555)
    try:
        store, notes = open_index(out)
        with store:
            assert "temporary index" in notes[0]
            store.sync()
            assert store.status(run_id(cfg)) == "done"
    finally:
        out.chmod(0o755)
    assert not (out / "runs.sqlite").exists()


def test_manifest_lists_every_planned_run(tmp_path):
    cfg = load_config(None, ["data.task=pawsx"])
    path = write_manifest(tmp_path, "s", [PlannedRun(run_id(cfg), cfg, 1)])
    data = json.loads(path.read_text())
    assert path.name == "sweep-s.json" and data["sweep"] == "s"
    assert data["runs"] == [{"position": 1, "id": run_id(cfg), "dir": run_id(cfg), "config": cfg.to_dict()}]


def test_a_store_that_cannot_be_written_gives_a_temporary_index(tmp_path):
    out = tmp_path / "out"
    cfg, run = claimed(out, 7)
    run.write_results("test", results_of(cfg))
    (out / "runs.sqlite").mkdir()  # in the way: SQLite cannot open it (as in a folder of someone else's runs)
    store, notes = open_index(out)
    with store:
        assert "temporary index" in notes[0]
        store.sync()
        assert store.status(run_id(cfg)) == "done"


def test_the_average_without_source_is_stored_for_new_and_older_results(tmp_path, capsys):
    """Older results name it average_without_en (it left out data.train_lang already); newer ones
    average_without_source beside source_language. `xlpt runs show` names the language."""
    from xlpt.cli import main

    out = tmp_path / "out"
    old_cfg, old_run = claimed(out, 1)
    old_run.write_results("test", results_of(old_cfg))
    new_cfg, new_run = claimed(out, 2)
    newer = results_of(new_cfg)
    del newer["average_without_en"]
    newer.update(average_without_source=0.6, source_language="de")
    new_run.write_results("test", newer)
    with RunStore.for_out(out) as store:
        store.sync()
        old, new = store.get(run_id(old_cfg)), store.get(run_id(new_cfg))
    assert (old["average_without_source"], old["source_language"]) == (0.4, "en")  # pawsx's train_lang
    assert (new["average_without_source"], new["source_language"]) == (0.6, "de")
    assert main(["runs", "show", run_id(new_cfg), "--out", str(out)]) == 0
    assert "without the source language (de) 60.00" in capsys.readouterr().out
