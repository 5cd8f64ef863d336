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
                               "best_dev_score": json.loads((run / "train_summary.json").read_text())["best_dev_score"]}
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
