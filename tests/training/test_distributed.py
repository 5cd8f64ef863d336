"""Two processes under torchrun (gloo on CPU) train, resume, evaluate and export like one process.

One torchrun launch trains and evaluates every job (tests/training/distributed_jobs.py); the same configs
are trained here in one process. Micro-batches of 6 examples are split 3/3 over the two processes, the
last one of each epoch (49 = 8 x 6 + 1 examples) 1/0 (a stand-in example with weight 0), with gradient
accumulation over 2 micro-batches and steps that cross the epoch boundary.
"""

from __future__ import annotations

import json
import shutil
import signal
from pathlib import Path

import pytest
import torch

from xlpt import checkpoints
from xlpt.config import load_config
from xlpt.evaluation.evaluate import evaluate_run
from xlpt.training.run import train_run

WORKER = Path(__file__).with_name("distributed_jobs.py")
JOBS = {  # name: overrides; a `_sharded` job's one-process reference is the job without the suffix
    "prompt_tuning": ["data.task=pawsx", "method.name=prompt_tuning", "method.prompt_length=4", "train.max_steps=40"],
    "lora": ["data.task=pawsx", "method.name=lora", "train.learning_rate=5e-3"],
    "full_finetune": ["data.task=pawsx", "method.name=full_finetune", "train.learning_rate=1e-3", "train.max_steps=24"],
    "tagging": ["data.task=udpos", "method.name=prompt_tuning", "method.prompt_length=4", "data.eval_languages=en,de,fr"],
    "prefix_tuning": ["data.task=pawsx", "method.name=prefix_tuning", "method.prompt_length=3"],
}
SHARDED = ("full_finetune", "prompt_tuning", "lora", "prefix_tuning")


def overrides(name: str, tiny: Path, data: Path) -> list[str]:
    base = name.removesuffix("_sharded")
    common = [f"model.name={tiny}", "model.device=cpu", f"data.data_dir={data}", "data.max_train_examples=49",
              "data.max_dev_examples=24", "data.eval_languages=en,de,fr,zh", "data.max_eval_examples=25",
              "train.batch_size=6", "train.grad_accum=2", "train.eval_every=3", "train.log_every=1",
              "train.checkpoint_every=4", "train.max_steps=6"]
    return common + JOBS[base] + (["train.sharding=full"] if name.endswith("_sharded") else [])


ALL = list(JOBS) + [f"{name}_sharded" for name in SHARDED]


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory, tiny_model_dir, data_dir, torchrun) -> Path:
    root = tmp_path_factory.mktemp("two-processes")
    jobs = [{"overrides": overrides(name, tiny_model_dir, data_dir), "out": str(root / name)} for name in ALL]
    (root / "jobs.json").write_text(json.dumps(jobs), encoding="utf-8")
    torchrun.run(str(WORKER), str(root / "jobs.json"))
    return root


@pytest.fixture(scope="module")
def one_process(tmp_path_factory, tiny_model_dir, data_dir) -> Path:
    root = tmp_path_factory.mktemp("one-process")
    for name in JOBS:
        train_run(load_config(None, overrides(name, tiny_model_dir, data_dir)), root / name, progress=False, echo=False)
    return root


def losses(run: Path) -> dict[int, float]:
    records = [json.loads(line) for line in (run / "train_log.jsonl").read_text().splitlines()]
    return {r["step"]: r["loss"] for r in records if "loss" in r}


def final_weights(run: Path) -> dict[str, torch.Tensor]:
    """The trainable weights of the run's last snapshot (gathered from the shards of a sharded one)."""
    saved = checkpoints.load(run / "checkpoint" / "last.pt")
    if "model" in saved:
        return saved["model"]
    from torch.distributed.checkpoint.format_utils import dcp_to_torch_save

    whole = run / "consolidated.pt"
    dcp_to_torch_save(run / "checkpoint" / saved["sharded"], whole)
    return torch.load(whole)["model"]


def summary(run: Path) -> dict:
    return json.loads((run / "train_summary.json").read_text())


@pytest.mark.parametrize("name", ALL)
def test_two_processes_follow_the_one_process_run(two_processes, one_process, name):
    """Same loss at every step, same dev scores and the same final trainable weights (float tolerance), for
    data-parallel prompt tuning, LoRA, full FT and tagging, and for sharded FT, prompt, prefix and LoRA."""
    two, one = two_processes / name, one_process / name.removesuffix("_sharded")
    assert summary(two)["world_size"] == 2 and summary(two)["backend"] == "gloo"
    assert summary(two)["devices"] == ["cpu", "cpu"] and summary(one)["world_size"] == 1
    expected, got = losses(one), losses(two)
    assert sorted(got) == sorted(expected) == list(range(1, summary(one)["steps"] + 1))
    for step in expected:
        assert got[step] == pytest.approx(expected[step], rel=1e-5, abs=1e-6), step
    assert summary(two)["dev_history"] == summary(one)["dev_history"]
    assert summary(two)["tokens_seen"] == summary(one)["tokens_seen"]
    reference, weights = final_weights(one), final_weights(two)
    assert sorted(weights) == sorted(reference)
    for key in reference:
        if key.endswith("k_proj.bias"):
            # A key bias shifts every score of a query alike, which softmax ignores: its gradient is 0 up to float
            # noise, and AdamW turns noise into steps of up to the learning rate. Bounded by that, not by rounding.
            assert (weights[key] - reference[key]).abs().max() <= 1e-3 * summary(one)["steps"], key
            continue
        torch.testing.assert_close(weights[key], reference[key], rtol=1e-4, atol=1e-5, msg=key)


def test_sharded_prompt_trains_and_is_saved_whole(two_processes, one_process):
    """PEFT + ZeRO-3 users lose prompts to partitioned saves: here the best checkpoint holds the whole prompt."""
    best = checkpoints.load_weights(two_processes / "prompt_tuning_sharded" / "checkpoint" / "best.safetensors")
    reference = checkpoints.load_weights(one_process / "prompt_tuning" / "checkpoint" / "best.safetensors")
    assert list(best) == ["prompt.weight"] and best["prompt.weight"].shape == reference["prompt.weight"].shape
    assert best["prompt.weight"].shape[0] == 4
    torch.testing.assert_close(best["prompt.weight"], reference["prompt.weight"], rtol=1e-4, atol=1e-6)


VOLATILE = ("world_size", "backend", "devices")


def comparable(results: dict) -> dict:
    """results.json without what says when and how it ran (time, command line, processes)."""
    out = {key: value for key, value in results.items() if key not in VOLATILE}
    out["provenance"] = {k: v for k, v in results["provenance"].items() if k not in ("created", "command")}
    return out


@pytest.mark.parametrize("name", ["prompt_tuning", "tagging", "full_finetune_sharded"])
def test_two_process_evaluation_writes_the_one_process_results(two_processes, tmp_path, name):
    """The same run evaluated by one process: identical results.json and prediction files (classification,
    tagging with its TSV files, and a run trained sharded)."""
    copy = tmp_path / name
    shutil.copytree(two_processes / name, copy, ignore=shutil.ignore_patterns("results*.json", "predictions"))
    evaluate_run(copy, progress=False, echo=False)
    two = json.loads((two_processes / name / "results.json").read_text())
    one = json.loads((copy / "results.json").read_text())
    assert two["world_size"] == 2 and one["world_size"] == 1
    assert comparable(two) == comparable(one)
    files = sorted(p.relative_to(copy) for p in (copy / "predictions").rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(two_processes / name) for p in (two_processes / name / "predictions").rglob("*")
                           if p.is_file())
    assert len(files) >= 3
    for path in files:
        assert (copy / path).read_bytes() == (two_processes / name / path).read_bytes(), path


def test_killed_run_resumes_and_ends_as_the_uninterrupted_one(two_processes, tiny_model_dir, data_dir, tmp_path,
                                                                torchrun):
    """`xlpt train` under torchrun, both processes killed (SIGKILL) mid-training, then run again: it resumes from
    the last snapshot and ends with the weights, dev scores and losses of the run that was never stopped."""
    out = tmp_path / "killed"
    command = ["-m", "xlpt", "train", "--out", str(out), "--quiet",
               *overrides("prompt_tuning", tiny_model_dir, data_dir)]
    process = torchrun.start(*command, output=tmp_path / "killed.out")
    torchrun.wait_for_step(out / "train_log.jsonl", 10, process)
    torchrun.kill(process)
    assert not (out / "train_summary.json").exists()
    alone = tmp_path / "resumed-alone"
    shutil.copytree(out, alone)
    torchrun.run(*command)
    straight = two_processes / "prompt_tuning"
    assert 8 <= summary(out)["resumed_from_step"] < 40
    assert summary(out)["dev_history"] == summary(straight)["dev_history"]
    assert losses(out) == losses(straight)
    for key, value in final_weights(straight).items():
        torch.testing.assert_close(final_weights(out)[key], value, rtol=1e-6, atol=1e-8)
    # The replicated snapshot holds whole tensors: one process can take over from two.
    train_run(load_config(None, overrides("prompt_tuning", tiny_model_dir, data_dir)), alone, progress=False, echo=False)
    assert summary(alone)["resumed_from_step"] == summary(out)["resumed_from_step"]
    assert summary(alone)["world_size"] == 1 and summary(alone)["dev_history"] == summary(straight)["dev_history"]
    for key, value in final_weights(straight).items():
        torch.testing.assert_close(final_weights(alone)[key], value, rtol=1e-4, atol=1e-6)


def test_sharded_run_stops_on_sigterm_resumes_and_exports(two_processes, tiny_model_dir, data_dir, tmp_path, torchrun):
    """SIGTERM to torchrun (what Slurm sends before preempting): both processes stop at the same step, write one
    sharded snapshot and exit; run again, training resumes and ends as the uninterrupted sharded run; the best
    weights export to a Hugging Face folder that from_pretrained loads with every weight."""
    out = tmp_path / "preempted"
    command = ["-m", "xlpt", "train", "--out", str(out), "--quiet",
               *overrides("full_finetune_sharded", tiny_model_dir, data_dir)]
    process = torchrun.start(*command, output=tmp_path / "preempted.out")
    torchrun.wait_for_step(out / "train_log.jsonl", 5, process)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=120) != 0
    status = json.loads((out / "status.json").read_text())
    assert status["status"] == "interrupted", process.output.read_text()[-3000:]
    saved = checkpoints.load(out / "checkpoint" / "last.pt")
    stopped = saved["state"]["step"]
    assert 5 <= stopped < 24 and saved["world_size"] == 2
    assert [p.name for p in (out / "checkpoint" / "last-sharded").iterdir()] == [Path(saved["sharded"]).name]
    torchrun.run(*command)
    straight = two_processes / "full_finetune_sharded"
    assert summary(out)["resumed_from_step"] == stopped
    assert summary(out)["dev_history"] == summary(straight)["dev_history"]
    assert losses(out) == pytest.approx(losses(straight), rel=1e-6)
    for key, value in final_weights(straight).items():
        torch.testing.assert_close(final_weights(out)[key], value, rtol=1e-6, atol=1e-8)

    from transformers import AutoModelForCausalLM

    from xlpt.export.hf_export import export_run

    exported = export_run(out, tmp_path / "hf")
    model, info = AutoModelForCausalLM.from_pretrained(exported, output_loading_info=True)
    assert not any(info.values()), info
    best = checkpoints.load_weights(out / "checkpoint" / "best.safetensors")
    lm_state = model.state_dict()
    trained = {name.removeprefix("backbone.lm."): value for name, value in best.items()}
    assert set(trained) == set(lm_state) - {"lm_head.weight"}  # tied to the embeddings
    for name, value in trained.items():
        assert torch.equal(lm_state[name], value), name
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    assert not torch.equal(base.state_dict()["model.layers.0.fc1.weight"], lm_state["model.layers.0.fc1.weight"])


def test_every_command_passes_through_torchrun_untouched():
    """torchrun parses abbreviations of its own options anywhere on its command line: each option of each xlpt
    command must reach xlpt unchanged (the one-process alias `evaluate --run` is refused loudly instead)."""
    import argparse

    from torch.distributed.run import get_args_parser

    from xlpt.cli import build_parser
    from xlpt.cli.train import SINGLE_PROCESS_ALIASES

    def options(parser, path):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    yield from options(sub, path + [name])
            else:
                for option in action.option_strings:
                    yield path, option

    launcher = get_args_parser()
    checked = 0
    for path, option in options(build_parser(), []):
        line = ["--nproc-per-node", "2", "-m", "xlpt", *path, option, "VALUE"]
        if option in SINGLE_PROCESS_ALIASES:
            with pytest.raises(SystemExit):
                launcher.parse_args(line)
            continue
        parsed = launcher.parse_args(line)
        assert parsed.module and parsed.training_script == "xlpt", (path, option)
        assert parsed.training_script_args == [*path, option, "VALUE"], (path, option)
        checked += 1
    assert checked > 50


def test_sharding_needs_several_processes(tiny_model_dir, data_dir, tmp_path):
    from xlpt.errors import ConfigError

    cfg = load_config(None, overrides("full_finetune_sharded", tiny_model_dir, data_dir))
    with pytest.raises(ConfigError, match="torchrun --nproc-per-node"):
        train_run(cfg, tmp_path / "run", progress=False, echo=False)


def test_sweep_refuses_to_be_started_by_torchrun(monkeypatch, tmp_path, capsys):
    """Every process would run the whole sweep (each run locked by one of them): refused in one line instead."""
    from xlpt.cli import main

    (tmp_path / "s.yaml").write_text("sweep: {name: s, grid: {train.seed: [1, 2]}}\n")
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert main(["sweep", "--config", str(tmp_path / "s.yaml")]) == 2
    assert "cannot be started by torchrun" in capsys.readouterr().err
