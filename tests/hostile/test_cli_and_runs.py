"""Hostile use of the commands and of run directories: bad paths, partial evaluations, damaged run
files, full disks, pipes — each ends in one clear line (or works), never a traceback or a silently
changed result (issue #8: "Run directories", "Checkpoints and run files", "Smaller")."""

from __future__ import annotations

import json
import resource
import shutil
import signal
import subprocess
import sys

import pytest

FAST = ["train.max_steps=2", "train.eval_every=2", "data.max_train_examples=16", "data.max_dev_examples=8",
        "data.max_eval_examples=6", "train.batch_size=8", "--quiet"]


def _train(xlpt, tiny_model_dir, data_dir, out, *extra, task="xnli"):
    return xlpt("train", "--task", task, "--model", tiny_model_dir, "--data-dir", data_dir, "--out", out, *FAST, *extra)


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory, tiny_model_dir, data_dir):
    """One tiny trained XNLI run (copied by tests that damage it)."""
    from xlpt.cli import main

    out = tmp_path_factory.mktemp("hostile") / "run"
    assert main(["train", "--task", "xnli", "--model", str(tiny_model_dir), "--data-dir", str(data_dir),
                 "--out", str(out), "data.eval_languages=en,de", *FAST]) == 0
    return out


def test_errors_come_before_torch_is_imported(tiny_model_dir):
    """A bad value costs well under a second: the check runs before torch/transformers are imported."""
    code = ("import sys; from xlpt.cli import main; rc = main(['train', '--task', 'xnli', '--out', '/tmp/x', "
            "'train.batch_size=8.5']); print(rc, 'torch' in sys.modules, 'transformers' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120).stdout
    assert out.split() == ["2", "False", "False"]


def test_overrides_may_stand_anywhere(xlpt, tiny_model_dir, data_dir, tmp_path):
    result = xlpt("train", "train.learning_rate=1e-5", "--task", "xnli", "train.max_steps=2", "--model", tiny_model_dir,
                  "--data-dir", data_dir, "--out", tmp_path / "r", *FAST)
    assert result.code == 0, result.err
    cfg = json.loads(json.dumps(__import__("yaml").safe_load((tmp_path / "r" / "config.yaml").read_text())))
    assert cfg["train"]["learning_rate"] == 1e-5 and cfg["train"]["max_steps"] == 2


def test_out_pointing_at_a_file(xlpt, one_line_error, tmp_path, tiny_model_dir, data_dir):
    target = tmp_path / "file.txt"
    target.write_text("x")
    one_line_error(_train(xlpt, tiny_model_dir, data_dir, target), "is a file, not a run directory")


def test_missing_model_folder(xlpt, one_line_error, tmp_path, data_dir):
    one_line_error(_train(xlpt, tmp_path / "no-model", data_dir, tmp_path / "r"), "does not exist")


def test_prompt_longer_than_the_model_positions_fails_before_loading_weights(xlpt, one_line_error, tmp_path,
                                                                            tiny_model_dir, data_dir):
    result = _train(xlpt, tiny_model_dir, data_dir, tmp_path / "r", "method.prompt_length=4000")
    one_line_error(result, "positions", "has 512")


def test_a_run_that_failed_before_its_first_step_does_not_block_its_folder(xlpt, tmp_path, tiny_model_dir, data_dir):
    out = tmp_path / "r"
    bad = _train(xlpt, tiny_model_dir, data_dir, out, "data.eval_languages=en", "method.prompt_length=4000")
    assert bad.code == 2
    good = _train(xlpt, tiny_model_dir, data_dir, out, "data.eval_languages=en")
    assert good.code == 0, good.err


def test_a_folder_with_progress_refuses_another_config(xlpt, one_line_error, trained_run, tmp_path, tiny_model_dir,
                                                        data_dir):
    copy = tmp_path / "r"
    shutil.copytree(trained_run, copy)
    one_line_error(_train(xlpt, tiny_model_dir, data_dir, copy, "data.eval_languages=en,de", "train.seed=7"),
                   "already holds a run with a different config", "train.seed")


def test_partial_evaluations_never_overwrite_the_full_one(xlpt, trained_run, tmp_path):
    run = tmp_path / "r"
    shutil.copytree(trained_run, run)
    assert xlpt("evaluate", "--run", run, "--quiet").code == 0
    full = json.loads((run / "results.json").read_text())
    assert set(full["languages"]) == {"en", "de"}
    assert xlpt("evaluate", "--run", run, "--languages", "de", "--limit", "3", "--quiet").code == 0
    assert json.loads((run / "results.json").read_text()) == full
    partial = json.loads((run / "results-test-langs-de-limit3.json").read_text())
    assert set(partial["languages"]) == {"de"} and partial["languages"]["de"]["n"] == 3
    assert partial["languages"]["de"]["capped"] and partial["evaluation"]["limit"] == 3
    assert len((run / "predictions" / "test-langs-de-limit3" / "de.jsonl").read_text().splitlines()) == 3


def test_the_configured_eval_split_is_honoured(xlpt, tmp_path, tiny_model_dir, data_dir):
    out = tmp_path / "r"
    assert _train(xlpt, tiny_model_dir, data_dir, out, "data.eval_split=dev", "data.eval_languages=de",
                  "--evaluate").code == 0
    results = json.loads((out / "results-dev.json").read_text())
    assert results["split"] == "dev" and results["languages"]["de"]["split"] == "dev"
    assert not (out / "results.json").exists()


def test_zero_shot_scores_the_source_language_on_all_of_dev(xlpt, tmp_path, tiny_model_dir, data_dir):
    """Zero-shot trains nothing, so no part of English dev is held back (a trained PAWS-X run trains on it)."""
    out = tmp_path / "zs"
    assert xlpt("train", "--task", "pawsx", "--method", "zero_shot", "--model", tiny_model_dir, "--data-dir", data_dir,
                "--out", out, "data.eval_languages=en", "data.eval_split=dev", "--evaluate", "--quiet").code == 0
    entry = json.loads((out / "results-dev.json").read_text())["languages"]["en"]
    assert entry["split"] == "dev" and entry["n"] == entry["n_available"] == 2000


@pytest.mark.parametrize("victim, damage, fragment", [
    ("config.yaml", "train: [unclosed\n", "config.yaml"),
    ("config.yaml", "", "config.yaml"),
    ("train_summary.json", "{not json", "train_summary.json: is damaged"),
    ("checkpoint/best.safetensors", b"\x00garbage", "best.safetensors: is damaged"),
    ("checkpoint/best.safetensors", None, "no trained checkpoint"),
])
def test_damaged_run_files_are_named_in_one_line(xlpt, one_line_error, trained_run, tmp_path, victim, damage,
                                                  fragment):
    run = tmp_path / "r"
    shutil.copytree(trained_run, run)
    path = run / victim
    if damage is None:
        path.unlink()
    elif isinstance(damage, bytes):
        path.write_bytes(damage)
    else:
        path.write_text(damage)
    one_line_error(xlpt("evaluate", "--run", run, "--quiet"), fragment)


def test_a_checkpoint_of_another_shape_is_refused(xlpt, one_line_error, trained_run, tmp_path):
    """A [1, d] prompt must not be broadcast into a [20, d] one."""
    import torch
    from safetensors.torch import load_file, save_file

    run = tmp_path / "r"
    shutil.copytree(trained_run, run)
    best = run / "checkpoint" / "best.safetensors"
    state = load_file(str(best))
    state["prompt.weight"] = state["prompt.weight"][:1].contiguous()
    save_file(state, str(best))
    one_line_error(xlpt("evaluate", "--run", run, "--quiet"), "tensor shapes do not fit", "(1, 64) != (20, 64)")
    del torch


def test_a_damaged_resume_snapshot_is_named(xlpt, one_line_error, trained_run, tmp_path, tiny_model_dir, data_dir):
    run = tmp_path / "r"
    shutil.copytree(trained_run, run)
    (run / "train_summary.json").unlink()  # unfinished: training will try to resume from last.pt
    (run / "checkpoint" / "last.pt").write_bytes(b"PK\x03\x04 truncated zip")
    one_line_error(_train(xlpt, tiny_model_dir, data_dir, run, "data.eval_languages=en,de"), "last.pt: is damaged")


def test_a_full_disk_is_one_line(tiny_model_dir, data_dir, tmp_path):
    """Writes beyond a file-size limit fail like a full disk (EFBIG instead of ENOSPC): one line, exit 2."""

    def small_files():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))

    proc = subprocess.run([sys.executable, "-m", "xlpt", "train", "--task", "xnli", "--model", str(tiny_model_dir),
                           "--data-dir", str(data_dir), "--out", str(tmp_path / "r"), "method.name=full_finetune",
                           *FAST], capture_output=True, text=True, preexec_fn=small_files, timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("xlpt: error:")
    assert "File too large" in proc.stderr


def test_a_closed_pipe_is_not_a_traceback():
    proc = subprocess.run(f"{sys.executable} -m xlpt tasks | head -1", shell=True, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr and proc.stdout.count("\n") == 1


def test_a_diverging_run_stops_marks_itself_and_exits_non_zero(xlpt, one_line_error, tmp_path, tiny_model_dir,
                                                                data_dir):
    out = tmp_path / "r"
    result = _train(xlpt, tiny_model_dir, data_dir, out, "method.name=full_finetune", "train.learning_rate=1e6",
                    "train.max_grad_norm=1e9", "train.max_steps=20", "train.eval_every=20", "--evaluate")
    one_line_error(result, "became")
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["status"] == "diverged" and json.loads((out / "status.json").read_text())["status"] == "diverged"
    assert not (out / "results.json").exists()
    for line in (out / "train_log.jsonl").read_text().splitlines():
        json.loads(line)  # valid JSON: no bare NaN
    again = _train(xlpt, tiny_model_dir, data_dir, out, "method.name=full_finetune", "train.learning_rate=1e6",
                   "train.max_grad_norm=1e9", "train.max_steps=20", "train.eval_every=20")
    one_line_error(again, "diverged before")
