"""The run lifecycle made whole (issue 17): a run directory is locked while a process works in it,
`xlpt evaluate` refuses unfinished runs unless told and then says which checkpoint it scored and why,
compares config.yaml with the config training recorded, and a finished `train --evaluate` is not redone.
Each case ends in one clear line or an exact, reported result."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

FAST = ["train.max_steps=2", "train.eval_every=2", "data.max_train_examples=16", "data.max_dev_examples=8",
        "data.max_eval_examples=6", "train.batch_size=8", "--quiet"]
DIVERGING = ["method.name=full_finetune", "train.learning_rate=1e6", "train.max_grad_norm=1e9", "train.max_steps=20",
             "train.eval_every=1"]


def _train_args(tiny_model_dir, data_dir, out, *extra, task="xnli"):
    return ["train", "--task", task, "--model", str(tiny_model_dir), "--data-dir", str(data_dir), "--out", str(out),
            *FAST, *extra]


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory, tiny_model_dir, data_dir):
    """One tiny trained XNLI run (copied by tests that change it)."""
    from xlpt.cli import main

    out = tmp_path_factory.mktemp("lifecycle") / "run"
    assert main(_train_args(tiny_model_dir, data_dir, out, "data.eval_languages=en,de")) == 0
    return out


@pytest.fixture(scope="module")
def diverged_run(tmp_path_factory, tiny_model_dir, data_dir):
    """A run that diverged after its first dev evaluation (so a best checkpoint exists)."""
    from xlpt.cli import main

    out = tmp_path_factory.mktemp("lifecycle") / "diverged"
    assert main(_train_args(tiny_model_dir, data_dir, out, "data.eval_languages=en,de", *DIVERGING)) == 2
    assert json.loads((out / "train_summary.json").read_text())["status"] == "diverged"
    return out


def _copy(run: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(run, copy, ignore=shutil.ignore_patterns(".lock"))
    return copy


def _status(run: Path) -> dict:
    return json.loads((run / "status.json").read_text())


# ---------------------------------------------------------------------------------------------- the lock


def _start_training(tiny_model_dir, data_dir, out: Path, seed: int, log: Path) -> subprocess.Popen:
    args = ["train", "--task", "xnli", "--model", str(tiny_model_dir), "--data-dir", str(data_dir), "--out", str(out),
            "data.max_train_examples=64", "data.max_dev_examples=8", "data.eval_languages=en,de", "train.batch_size=2",
            "train.max_steps=100000", "train.eval_every=100000", "train.log_every=1", f"train.seed={seed}", "--quiet"]
    handle = open(log, "w", encoding="utf-8")
    return subprocess.Popen([sys.executable, "-m", "xlpt", *args], stdout=handle, stderr=subprocess.STDOUT, text=True)


def _wait_for_steps(out: Path, process: subprocess.Popen, log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"training ended early:\n{log.read_text()[-3000:]}")
        path = out / "train_log.jsonl"
        if path.exists() and '"loss"' in path.read_text():
            return
        time.sleep(0.1)
    pytest.fail("no training step in time")


def test_a_second_process_on_a_working_run_gets_one_line_naming_the_holder(xlpt_process, one_line_error,
                                                                            tiny_model_dir, data_dir, tmp_path):
    out = tmp_path / "run"
    first = _start_training(tiny_model_dir, data_dir, out, 1, tmp_path / "first.log")
    try:
        _wait_for_steps(out, first, tmp_path / "first.log")
        holder = f"{socket.gethostname()}:{first.pid}"
        # a second `xlpt train` with another seed: refused, nothing replaced
        second = xlpt_process(*_train_args(tiny_model_dir, data_dir, out, "data.eval_languages=en,de",
                                           "train.seed=2"))
        one_line_error(second, str(out), holder, "xlpt train")
        assert yaml.safe_load((out / "config.yaml").read_text())["train"]["seed"] == 1
        # `xlpt evaluate` while it trains: refused, the status still says running
        evaluating = xlpt_process("evaluate", "--run-dir", out, "--quiet")
        one_line_error(evaluating, holder, "xlpt train")
        assert not list(out.glob("results*.json")) and _status(out)["status"] == "running"
    finally:
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=120)
    assert first.returncode == 130, (tmp_path / "first.log").read_text()[-3000:]
    assert _status(out)["status"] == "interrupted"


def test_the_lock_is_shared_within_one_process(tmp_path):
    """A sweep holds a run's lock and runs `train` in this same process: train must not refuse its own sweep."""
    from xlpt.run_dir import RunDir, RunLock

    sweep_lock = RunLock(tmp_path)
    assert sweep_lock.acquire()
    try:
        with RunDir(tmp_path).hold("xlpt train"):
            assert RunDir(tmp_path).is_locked()
        assert RunDir(tmp_path).is_locked()  # still the sweep's
    finally:
        sweep_lock.release()
    assert not RunDir(tmp_path).is_locked()
    code = ("import sys; from xlpt.run_dir import RunDir; "
            "print(RunDir(sys.argv[1]).is_locked())")
    with RunDir(tmp_path).hold("xlpt evaluate"):
        out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True).stdout
    assert out.strip() == "True"


def test_a_read_only_run_directory_is_one_line(trained_run, tmp_path):
    """A read-only mount (root ignores file permissions, so the test mounts the copy read-only in its own mount
    namespace)."""
    run = _copy(trained_run, tmp_path)
    script = f"mount --bind -o ro {run} {run} && exec {sys.executable} -m xlpt evaluate --run-dir {run} --quiet"
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode:
        pytest.skip("no unshare -m here to mount a folder read-only")
    done = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    [line] = done.stderr.splitlines()
    assert str(run / ".lock") in line and "Read-only file system" in line and "writable" in line


# ---------------------------------------------------------------------------------------------- unfinished runs


def test_evaluate_refuses_a_diverged_run(xlpt, one_line_error, diverged_run, tmp_path):
    run = _copy(diverged_run, tmp_path)
    one_line_error(xlpt("evaluate", "--run-dir", run, "--quiet"), "diverged", "--allow-unfinished")
    assert not list(run.glob("results*.json")) and _status(run)["status"] == "diverged"


def test_evaluate_allow_unfinished_says_which_checkpoint_and_why(xlpt, diverged_run, tmp_path):
    run = _copy(diverged_run, tmp_path)
    before = _status(run)
    result = xlpt("evaluate", "--run-dir", run, "--quiet", "--allow-unfinished")
    assert result.code == 0, result.err
    results = json.loads((run / "results.json").read_text())
    assert results["unfinished"]["state"] == "diverged" and results["unfinished"]["checkpoint_step"] == 1
    assert "UNFINISHED" in result.out and "step 1" in result.out and "diverged" in result.out
    after = _status(run)
    assert after["status"] == "diverged" and after["error"] == before["error"]  # never "evaluated"


def test_runs_list_shows_a_diverged_run_evaluated_anyway_as_diverged(xlpt, diverged_run, tmp_path):
    """results.json of `--allow-unfinished` scores a checkpoint, not the run: the index must not call it done."""
    run = _copy(diverged_run, tmp_path)
    assert xlpt("evaluate", "--run-dir", run, "--quiet", "--allow-unfinished").code == 0
    listed = xlpt("runs", "list", "--out", tmp_path, "--json")
    assert listed.code == 0, listed.err
    rows = json.loads(listed.out)
    assert [row["status"] for row in rows] == ["diverged"]


def test_evaluate_refuses_an_interrupted_run(xlpt, one_line_error, trained_run, tmp_path):
    run = _copy(trained_run, tmp_path)
    (run / "train_summary.json").unlink()  # as a run stopped by a signal before its end leaves it
    json.dump({**_status(run), "status": "interrupted", "error": "stopped by signal 15 at step 1"},
              open(run / "status.json", "w"))
    one_line_error(xlpt("evaluate", "--run-dir", run, "--quiet"), "interrupted", "--allow-unfinished")
    result = xlpt("evaluate", "--run-dir", run, "--quiet", "--allow-unfinished")
    assert result.code == 0, result.err
    assert json.loads((run / "results.json").read_text())["unfinished"] == {
        "state": "interrupted", "checkpoint_step": 2, "reason": "stopped by signal 15 at step 1"}
    assert _status(run)["status"] == "interrupted"


def test_evaluate_refuses_a_run_killed_while_training(xlpt, one_line_error, trained_run, tmp_path):
    run = _copy(trained_run, tmp_path)
    (run / "train_summary.json").unlink()  # SIGKILL: status.json still says running, nobody holds the lock
    json.dump({**_status(run), "status": "running"}, open(run / "status.json", "w"))
    one_line_error(xlpt("evaluate", "--run-dir", run, "--quiet"), "did not finish", "--allow-unfinished")


# ---------------------------------------------------------------------------------------------- config.yaml


def test_evaluate_refuses_a_hand_edited_config(xlpt, one_line_error, trained_run, tmp_path):
    run = _copy(trained_run, tmp_path)
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    cfg["method"]["prompt_length"] = 3
    cfg["data"]["max_eval_examples"] = 2
    (run / "config.yaml").write_text(yaml.safe_dump(cfg))
    one_line_error(xlpt("evaluate", "--run-dir", run, "--quiet"), "config.yaml", "method.prompt_length",
                   "data.max_eval_examples")
    assert not (run / "results.json").exists()


# ---------------------------------------------------------------------------------------------- train again


def test_a_finished_train_evaluate_is_not_redone(xlpt, trained_run, tmp_path, tiny_model_dir, data_dir):
    run = _copy(trained_run, tmp_path)
    args = _train_args(tiny_model_dir, data_dir, run, "data.eval_languages=en,de", "--evaluate")[1:]
    first = xlpt("train", *args)
    assert first.code == 0, first.err
    assert "already trained:" in first.out  # it evaluated (not evaluated before) and said it did not train
    written = (run / "results.json").stat().st_mtime_ns
    again = xlpt("train", *args)
    assert again.code == 0, again.err
    assert "already trained and evaluated" in again.out and "xlpt evaluate --run-dir" in again.out
    assert (run / "results.json").stat().st_mtime_ns == written


# ---------------------------------------------------------------------------------------------- dry run


def test_dry_run_prints_the_resolved_config_and_the_files(xlpt, tiny_model_dir, data_dir):
    result = xlpt("train", "--task", "pawsx", "--model", tiny_model_dir, "--data-dir", data_dir, "--dry-run",
                  "data.eval_languages=en,de", "train.learning_rate=0.25")
    assert result.code == 0, result.err
    config_block = result.out.split("resolved config:\n", 1)[1].split("\n\n", 1)[0]
    tree = yaml.safe_load("\n".join(line[2:] for line in config_block.splitlines()))
    assert tree["train"]["learning_rate"] == 0.25 and tree["data"]["task"] == "pawsx" and "seed" in tree["train"]
    for lang, split, role in (("en", "dev", "(training, selection)"), ("en", "test", "(evaluation)"),
                              ("de", "test", "(evaluation)")):
        line = next(row for row in result.out.splitlines() if row.strip().startswith(f"{lang} {split}"))
        assert role in line and f"{data_dir}/pawsx/{lang}/" in line, line


# ---------------------------------------------------------------------------------------------- divergence


def test_the_divergence_message_names_what_the_run_used(diverged_run):
    error = json.loads((diverged_run / "train_summary.json").read_text())["error"]
    assert "full_finetune" in error and "1e+06" in error and "step" in error
    assert "train.learning_rate" in error and "train.max_grad_norm" in error


# ---------------------------------------------------------------------------------------------- run files


def test_a_task_yaml_that_is_not_utf8_is_one_line(xlpt, one_line_error, trained_run, tmp_path):
    run = _copy(trained_run, tmp_path)
    (run / "task.yaml").write_bytes(b"name: \xff\xfe broken\n")
    one_line_error(xlpt("evaluate", "--run-dir", run, "--quiet"), "task.yaml", "UTF-8")


def test_run_log_has_one_line_per_language_with_counts_and_rate(xlpt, trained_run, tmp_path):
    run = _copy(trained_run, tmp_path)
    assert xlpt("evaluate", "--run-dir", run).code == 0  # progress bars on: they must not reach run.log
    log = (run / "run.log").read_text()
    assert "\r" not in log and "it/s" not in log
    for lang in ("en", "de"):
        line = next(row for row in log.splitlines() if f"evaluated {lang} (test)" in row)
        assert "on 6 examples in" in line and "examples/s" in line
    assert "evaluating test -> results.json: 2 languages, 12 examples, checkpoint of step 2" in log


# ---------------------------------------------------------------------------------------------- own campaign


def test_an_empty_language_list_is_refused_not_read_as_all(xlpt, one_line_error, trained_run, tmp_path):
    run = _copy(trained_run, tmp_path)
    one_line_error(xlpt("evaluate", "--run-dir", run, "--languages", " , ", "--quiet"), "--languages names no language")
    assert not list(run.glob("results-*.json"))


def test_a_language_named_twice_is_evaluated_once(xlpt, trained_run, tmp_path):
    run = _copy(trained_run, tmp_path)
    assert xlpt("evaluate", "--run-dir", run, "--languages", "de,de", "--quiet").code == 0
    assert [path.name for path in run.glob("results-*.json")] == ["results-test-langs-de.json"]


def test_sigterm_during_evaluate_is_one_line_and_recorded(trained_run, tmp_path):
    run = _copy(trained_run, tmp_path)
    (run / "results.json").unlink(missing_ok=True)
    process = subprocess.Popen([sys.executable, "-m", "xlpt", "evaluate", "--run-dir", str(run), "--languages", "all"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and _status_or_none(run) != "evaluating":
        time.sleep(0.1)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err[-2000:]
    assert "Traceback" not in err and err.count("xlpt: ") == 1 and "signal 15" in err
    assert _status(run)["status"] == "interrupted" and not (run / "results.json").exists()
    # the run itself is still finished: the next evaluation runs
    assert subprocess.run([sys.executable, "-m", "xlpt", "evaluate", "--run-dir", str(run), "--quiet"],
                          capture_output=True, timeout=300).returncode == 0
    assert _status(run)["status"] == "evaluated"


def _status_or_none(run: Path):
    try:
        return _status(run).get("status")
    except (OSError, ValueError):
        return None


def test_a_stale_lock_file_of_a_killed_process_does_not_block(xlpt, trained_run, tmp_path):
    run = _copy(trained_run, tmp_path)
    (run / ".lock").write_text("otherhost:12345 xlpt train since 2026-01-01T00:00:00+00:00\n")  # SIGKILLed holder
    assert xlpt("evaluate", "--run-dir", run, "--quiet").code == 0


@pytest.mark.parametrize("name, fragment", [(".lock", "cannot be opened to lock the run"),
                                            ("status.json", "is a folder, not the run's status file")])
def test_a_folder_in_place_of_a_run_file_is_one_line(xlpt, one_line_error, trained_run, tmp_path, name, fragment):
    run = _copy(trained_run, tmp_path)
    (run / name).unlink(missing_ok=True)
    (run / name).mkdir()
    one_line_error(xlpt("evaluate", "--run-dir", run, "--quiet"), f"{run / name}", fragment)


@pytest.mark.parametrize("status", ["running", "banana"])
def test_a_summary_that_does_not_say_done_is_unfinished(xlpt, one_line_error, trained_run, tmp_path, status):
    run = _copy(trained_run, tmp_path)
    summary = json.loads((run / "train_summary.json").read_text())
    (run / "train_summary.json").write_text(json.dumps({**summary, "status": status}))
    one_line_error(xlpt("evaluate", "--run-dir", run, "--quiet"), f"says status {status!r}", "--allow-unfinished")


def test_a_finished_run_without_its_summary_must_be_finished_first(xlpt, one_line_error, trained_run, tmp_path,
                                                                   tiny_model_dir, data_dir):
    run = _copy(trained_run, tmp_path)
    (run / "train_summary.json").unlink()
    one_line_error(xlpt("evaluate", "--run-dir", run, "--quiet"), "did not finish", "rerun the same `xlpt train`")
    again = xlpt(*_train_args(tiny_model_dir, data_dir, run, "data.eval_languages=en,de"))  # resumes at its end
    assert again.code == 0, again.err
    assert xlpt("evaluate", "--run-dir", run, "--quiet").code == 0


def test_a_damaged_results_file_is_replaced_by_train_evaluate_with_a_note(xlpt, trained_run, tmp_path,
                                                                           tiny_model_dir, data_dir):
    run = _copy(trained_run, tmp_path)
    (run / "results.json").write_text("{half")
    result = xlpt(*_train_args(tiny_model_dir, data_dir, run, "data.eval_languages=en,de", "--evaluate"))
    assert result.code == 0, result.err
    assert "results.json: is damaged" in result.out and "evaluating again" in result.out
    assert json.loads((run / "results.json").read_text())["unfinished"] is None


def test_an_unfinished_evaluation_is_replaced_once_the_run_finishes(xlpt, trained_run, tmp_path, tiny_model_dir,
                                                                    data_dir):
    run = _copy(trained_run, tmp_path)
    results = json.loads((run / "results.json").read_text()) if (run / "results.json").exists() else {}
    (run / "results.json").write_text(json.dumps({**results, "unfinished": {"state": "interrupted"}}))
    result = xlpt(*_train_args(tiny_model_dir, data_dir, run, "data.eval_languages=en,de", "--evaluate"))
    assert result.code == 0 and "already trained and evaluated" not in result.out
    assert json.loads((run / "results.json").read_text())["unfinished"] is None


def test_resuming_after_a_config_edit_names_the_key(xlpt, one_line_error, trained_run, tmp_path, tiny_model_dir,
                                                    data_dir):
    run = _copy(trained_run, tmp_path)
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    cfg["train"]["batch_size"] = 4
    (run / "config.yaml").write_text(yaml.safe_dump(cfg))
    one_line_error(xlpt(*_train_args(tiny_model_dir, data_dir, run, "data.eval_languages=en,de")),
                   "different config", "train.batch_size")


def test_evaluate_on_a_file_or_a_folder_without_config(xlpt, one_line_error, tmp_path):
    target = tmp_path / "file.txt"
    target.write_text("x")
    one_line_error(xlpt("evaluate", "--run-dir", target, "--quiet"), str(target), "no config.yaml")
    one_line_error(xlpt("evaluate", "--run-dir", tmp_path, "--quiet"), str(tmp_path), "no config.yaml")
