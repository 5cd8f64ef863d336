"""`xlpt export --format peft`: the command line around export_run (the numbers are checked in tests/export)."""

import json

import pytest

from xlpt.cli import main
from xlpt.run_dir import RunDir, run_id

FAST = ["data.max_train_examples=48", "data.max_dev_examples=8", "train.max_steps=2", "train.eval_every=2",
        "train.batch_size=8", "train.learning_rate=0.1", "model.device=cpu", "method.prompt_length=4"]


@pytest.fixture(scope="module")
def run(tmp_path_factory, tiny_model_dir, data_dir):
    out = tmp_path_factory.mktemp("pawsx-prompt")  # default placement: after XGLM's </s>
    assert main(["train", "--task", "pawsx", "--method", "prompt_tuning", "--model", str(tiny_model_dir), "--data-dir",
                 str(data_dir), "--out", str(out), "--quiet", *FAST]) == 0
    return out


def test_after_bos_is_refused_then_converted_on_request(run, tmp_path, capsys):
    out = tmp_path / "adapter"
    assert main(["export", "--run", str(run), "--format", "peft", "--out", str(out)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("xlpt: error: this run puts its prompt after the tokenizer's start token(s)")
    assert "\n" not in error and not out.exists()

    assert main(["export", "--run", str(run), "--format", "peft", "--out", str(out), "--start-tokens-in-prompt",
                 "--device", "auto", "--dtype", "float32"]) == 0
    printed = capsys.readouterr().out
    assert f"wrote {out}: PROMPT_TUNING, 5 virtual tokens (the first 1 = the tokenizer's start tokens)" in printed
    assert "add_special_tokens=False" in printed and f"peft={out},add_bos_token=False" in printed
    assert {p.name for p in out.iterdir()} == {"adapter_config.json", "adapter_model.safetensors", "README.md",
                                               "xlpt_export.json"}
    manifest = json.loads((out / "xlpt_export.json").read_text())
    cfg = RunDir(run).read_config()
    assert manifest["run"] == {"path": str(run.resolve()), "run_id": run_id(cfg), "best_step": 2,
                               "best_dev_score": json.loads((run / "train_summary.json").read_text())["best_dev_score"],
                               "state": "done", "reason": None, "checkpoint_step": 2}
    assert manifest["config"] == cfg.to_dict() and manifest["config"]["model"]["device"] == "cpu"  # as trained
    assert not list(tmp_path.glob(".adapter.partial-*"))
    # a second export into the same folder is refused: nothing is overwritten
    assert main(["export", "--run", str(run), "--out", str(out), "--start-tokens-in-prompt"]) == 2
    assert "already exists and is not empty" in capsys.readouterr().err


def test_not_a_run_directory(tmp_path, capsys):
    assert main(["export", "--run", str(tmp_path), "--out", str(tmp_path / "x")]) == 2
    assert "is not a run directory (no config.yaml)" in capsys.readouterr().err


def test_only_peft_is_a_format(run, tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["export", "--run", str(run), "--format", "onnx", "--out", str(tmp_path / "x")])
    assert "invalid choice: 'onnx'" in capsys.readouterr().err


def test_a_bad_device_is_one_line(run, tmp_path, capsys):
    assert main(["export", "--run", str(run), "--out", str(tmp_path / "x"), "--device", "tpu"]) == 2
    assert capsys.readouterr().err.strip() == ("xlpt: error: --device: model.device='tpu': must be auto, cpu, mps, "
                                               "cuda or cuda:N")
    assert not (tmp_path / "x").exists()


def copy_of(run, tmp_path, name="copy"):
    """A copy of a finished run directory (to give it another state without retraining)."""
    import shutil

    return shutil.copytree(run, tmp_path / name, ignore=shutil.ignore_patterns(".lock"))


def test_export_names_the_checkpoint_the_state_and_the_pipeline_check(run, tmp_path, capsys):
    out = tmp_path / "adapter"
    assert main(["export", "--run", str(run), "--out", str(out), "--start-tokens-in-prompt"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("PIPELINE CHECK, NOT A FINDING")  # the tiny model's banner comes first
    assert f"run {run}: training done; checkpoint/best.safetensors of step 2" in printed
    manifest = json.loads((out / "xlpt_export.json").read_text())
    assert manifest["pipeline_check"] is True and manifest["notices"][0].startswith("PIPELINE CHECK, NOT A FINDING")
    assert manifest["run"]["state"] == "done" and manifest["run"]["checkpoint_step"] == 2
    assert "PIPELINE CHECK" in (out / "README.md").read_text()  # the model card says it too


@pytest.mark.parametrize("state", ["diverged", "interrupted", "running"])
def test_an_unfinished_run_is_refused_unless_allowed(state, run, tmp_path, capsys):
    copy = copy_of(run, tmp_path)
    summary = json.loads((copy / "train_summary.json").read_text())
    if state == "diverged":
        (copy / "train_summary.json").write_text(json.dumps({**summary, "status": "diverged",
                                                             "error": "the loss became nan at step 3"}))
    else:
        (copy / "train_summary.json").unlink()
        recorded = "interrupted" if state == "interrupted" else "running"
        (copy / "status.json").write_text(json.dumps({"status": recorded}))
    out = tmp_path / "adapter"
    held = RunDir(copy).hold("xlpt train") if state == "running" else None
    if held:
        held.__enter__()
    try:
        assert main(["export", "--run", str(copy), "--out", str(out), "--start-tokens-in-prompt"]) == 2
        error = capsys.readouterr().err.strip()
        assert "\n" not in error and not out.exists()
        assert ("still running" if state == "running" else state) in error
        assert "step 2" in error and "--allow-unfinished" in error
        assert main(["export", "--run", str(copy), "--out", str(out), "--start-tokens-in-prompt",
                     "--allow-unfinished"]) == 0
    finally:
        if held:
            held.__exit__(None, None, None)
    assert "UNFINISHED RUN" in capsys.readouterr().out
    manifest = json.loads((out / "xlpt_export.json").read_text())
    assert manifest["run"]["state"] == state and manifest["run"]["checkpoint_step"] == 2


def test_export_from_another_directory_finds_a_relative_model_path(tmp_path_factory, tiny_model_dir, data_dir,
                                                                  monkeypatch, tmp_path, capsys):
    """A run trained with `--model tiny-xglm` (relative) is exported from elsewhere."""
    import shutil

    project = tmp_path_factory.mktemp("project")
    shutil.copytree(tiny_model_dir, project / "tiny-xglm")
    monkeypatch.chdir(project)
    assert main(["train", "--task", "pawsx", "--method", "prompt_tuning", "--model", "tiny-xglm", "--data-dir",
                 str(data_dir), "--out", "runs/pt", "--quiet", *FAST, "method.prompt_position=start"]) == 0
    capsys.readouterr()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["export", "--run", str(project / "runs/pt"), "--out", "adapter"]) == 0
    assert (elsewhere / "adapter" / "adapter_config.json").exists()
    assert str(project / "tiny-xglm") in capsys.readouterr().out  # where the base model was found, said
    # not found anywhere: one line naming what was tried and the way out
    shutil.move(project / "tiny-xglm", project / "moved")
    assert main(["export", "--run", str(project / "runs/pt"), "--out", "adapter2"]) == 2
    error = capsys.readouterr().err.strip()
    assert "\n" not in error and "tiny-xglm" in error and "--model" in error
    assert main(["export", "--run", str(project / "runs/pt"), "--out", "adapter2", "--model",
                 str(project / "moved")]) == 0


LIMITED = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit then fails with EFBIG, like a full disk
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[1]), int(sys.argv[1])))
from xlpt.cli import main
sys.exit(main(sys.argv[2:]))
"""


def export_with_file_size_limit(limit: int, *args: str):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-c", LIMITED, str(limit), "export", *args], capture_output=True,
                          text=True, timeout=300, env={**__import__("os").environ, "HF_HUB_OFFLINE": "1"})


@pytest.mark.parametrize("kind", ["peft", "hf"])
def test_a_full_disk_is_one_line_leaves_nothing_and_the_retry_works(kind, run, tiny_model_dir, data_dir, tmp_path):
    if kind == "hf":
        source = tmp_path / "ft"
        assert main(["train", "--task", "pawsx", "--method", "full_finetune", "--model", str(tiny_model_dir),
                     "--data-dir", str(data_dir), "--out", str(source), "--quiet", *FAST[:-1]]) == 0
        args, limit = ["--format", "hf"], 50_000  # the model's weights are larger
    else:
        source, args, limit = run, ["--start-tokens-in-prompt"], 3_000  # the manifest and README are larger
    out = tmp_path / "exported"
    failed = export_with_file_size_limit(limit, "--run", str(source), "--out", str(out), *args)
    assert failed.returncode == 2, failed.stderr[-2000:]
    error = failed.stderr.strip().splitlines()[-1]
    assert error.startswith(f"xlpt: error: --out {out}: the export could not be written (File too large)")
    assert "Traceback" not in failed.stderr
    assert not out.exists() and not list(tmp_path.glob(".exported*"))  # nothing half-written is left
    retried = export_with_file_size_limit(10**9, "--run", str(source), "--out", str(out), *args)
    assert retried.returncode == 0, retried.stderr[-2000:]
    assert (out / "xlpt_export.json").exists()


def test_a_checkpoint_is_never_exported_or_used_on_another_base_than_its_own(run, tmp_path, capsys):
    """Training records its base model's identity in best.safetensors; a replaced model folder is refused."""
    from safetensors.torch import load_file, save_file

    from xlpt.checkpoints import BASE_IDENTITY, identity_metadata
    from xlpt.run_dir import safetensors_metadata as read_metadata
    from xlpt.models.identity import base_identity
    from xlpt.models.loading import load_causal_lm

    cfg = RunDir(run).read_config()
    identity = base_identity(load_causal_lm(cfg.model.name, "float32", "cpu")[0], cfg.model.name)
    trained = json.loads(read_metadata(run / "checkpoint" / "best.safetensors")[BASE_IDENTITY])
    assert trained == identity  # what training recorded is the base as loaded, before anything trained
    copies = {}
    for name, fingerprint in (("same", identity["embedding_fingerprint"]),
                              ("other", [2 * v + 0.01 for v in identity["embedding_fingerprint"]])):
        copy = copy_of(run, tmp_path, name)
        best = copy / "checkpoint" / "best.safetensors"
        metadata = {**read_metadata(best), **identity_metadata({**identity, "embedding_fingerprint": fingerprint})}
        save_file(load_file(str(best)), str(best), metadata=metadata)  # as training writes it
        copies[name] = copy
    assert main(["export", "--run", str(copies["same"]), "--out", str(tmp_path / "a"), "--start-tokens-in-prompt"]) == 0
    capsys.readouterr()
    assert main(["export", "--run", str(copies["other"]), "--out", str(tmp_path / "b"), "--start-tokens-in-prompt"]) == 2
    error = capsys.readouterr().err.strip()
    assert "was trained on the base model" in error and "different embedding weights" in error and "\n" not in error
    source = tmp_path / "in.jsonl"
    source.write_text('{"text_a": "a", "text_b": "b"}\n')
    assert main(["predict", "--run", str(copies["other"]), "--input", str(source)]) == 2
    assert "was trained on the base model" in capsys.readouterr().err
