"""Grid expansion: counts, stable ids, per-task/per-method settings, deduplication, errors, shipped files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from xlpt.config import load_config
from xlpt.errors import ConfigError
from xlpt.evaluation.evaluate import run_id
from xlpt.sweeps.grid import expand, load_sweep, parse_sweep, select

REPO = Path(__file__).resolve().parents[2]
SWEEP_FILES = sorted((REPO / "configs" / "sweeps").glob("*.yaml"))


def sweep(grid: dict, **extra) -> dict:
    return {"data": {"data_dir": "somewhere"}, "sweep": {"name": "t", "grid": grid, **extra}}


def plan(tree: dict, overrides=()):
    return expand(parse_sweep(tree, None, list(overrides)))


def test_grid_is_the_full_product_in_order():
    runs = plan(sweep({"data.task": ["xnli", "pawsx"], "method.name": ["prompt_tuning", "full_finetune"],
                       "train.seed": [1, 2, 3]}))
    assert len(runs) == 12
    assert [r.position for r in runs] == list(range(1, 13))
    # the first axis varies slowest, the last fastest
    assert [(r.task, r.method, r.cfg.train.seed) for r in runs[:4]] == [
        ("xnli", "prompt_tuning", 1), ("xnli", "prompt_tuning", 2), ("xnli", "prompt_tuning", 3),
        ("xnli", "full_finetune", 1)]
    assert len({r.id for r in runs}) == 12
    assert all(r.id == run_id(r.cfg) for r in runs)


def test_ids_are_stable_across_processes(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(sweep({"method.name": ["prompt_tuning", "full_finetune"], "train.seed": [1, 2]})))
    here = [r.id for r in expand(load_sweep(path))]
    code = ("import sys; from xlpt.sweeps.grid import expand, load_sweep; "
            "print(' '.join(r.id for r in expand(load_sweep(sys.argv[1]))))")
    other = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True,
                           env={"PYTHONHASHSEED": "123", "PATH": "/usr/bin:/bin"})
    assert other.stdout.split() == here
    # a different config gives a different id, the same config the same one
    changed = plan(sweep({"method.name": ["prompt_tuning"], "train.seed": [1]}), ["train.learning_rate=0.5"])
    same = plan(sweep({"method.name": ["prompt_tuning"], "train.seed": [1]}))
    assert same[0].id == here[0] and changed[0].id not in here


def test_per_method_and_per_task_settings_and_precedence():
    runs = plan(sweep(
        {"data.task": ["xnli", "pawsx"], "method.name": ["prompt_tuning", "full_finetune"],
         "train.learning_rate": 0.5, "train.epochs": 2},
        per_task={"pawsx": {"train.epochs": 7, "train.learning_rate": 0.7}},
        per_method={"prompt_tuning": {"train.learning_rate": [0.03, 0.3]},   # a search for prompt tuning only
                    "full_finetune": {"train": {"learning_rate": 1.0e-5}}}))  # nested form works too
    got = [(r.task, r.method, r.cfg.train.learning_rate, r.cfg.train.epochs) for r in runs]
    assert got == [("xnli", "prompt_tuning", 0.03, 2.0), ("xnli", "prompt_tuning", 0.3, 2.0),
                   ("xnli", "full_finetune", 1e-5, 2.0),
                   ("pawsx", "prompt_tuning", 0.03, 7.0), ("pawsx", "prompt_tuning", 0.3, 7.0),
                   ("pawsx", "full_finetune", 1e-5, 7.0)]
    # command-line overrides win over everything
    runs = plan(sweep({"method.name": ["prompt_tuning", "full_finetune"]},
                      per_method={"full_finetune": {"train.learning_rate": 1.0e-5}}), ["train.learning_rate=0.2"])
    assert {r.cfg.train.learning_rate for r in runs} == {0.2}


def test_settings_a_method_ignores_do_not_multiply_runs():
    runs = plan(sweep({"method.name": ["prompt_tuning", "full_finetune", "zero_shot"],
                       "method.prompt_length": [10, 20], "train.seed": [1, 2]}))
    counts = {m: sum(r.method == m for r in runs) for m in ("prompt_tuning", "full_finetune", "zero_shot")}
    # full fine-tuning has no prompt length; zero-shot trains nothing, so its seed changes nothing either
    assert counts == {"prompt_tuning": 4, "full_finetune": 2, "zero_shot": 1}
    ft = [r for r in runs if r.method == "full_finetune"]
    assert not any(hasattr(r.cfg.method, "prompt_length") for r in ft)  # the key is not even in its section
    assert {r.cfg.train.seed for r in ft} == {1, 2}
    assert [r.settings for r in runs if r.method == "prompt_tuning"][0] == {
        "train.learning_rate": 0.03, "method.prompt_length": 10, "train.seed": 1}


def test_exclude_drops_matching_runs():
    runs = plan(sweep({"data.task": ["xnli", "udpos", "panx"], "method.name": ["full_finetune", "zero_shot"]},
                      exclude=[{"method.name": "zero_shot", "data.task": ["udpos", "panx"]}]))
    assert sorted((r.task, r.method) for r in runs) == [
        ("panx", "full_finetune"), ("udpos", "full_finetune"), ("xnli", "full_finetune"), ("xnli", "zero_shot")]


@pytest.mark.parametrize("tree, message", [
    (sweep({"train.lr": [0.1]}), "unknown config key 'train.lr'"),
    (sweep({"train": [1]}), "'train' is a section"),
    (sweep({"train.seed": []}), "empty list"),
    (sweep({"method.name": ["adapter"]}), "method.name='adapter': unknown method"),
    (sweep({"train.batch_size": [8, 0]}), "train.batch_size=0 is invalid: config: train.batch_size=0: must be >= 1"),
    (sweep({}, per_method={"ful_finetune": {"train.seed": 1}}), "unknown method 'ful_finetune'"),
    (sweep({}, per_task={"mnli": {"train.seed": 1}}), "unknown task 'mnli'"),
    (sweep({}, per_method={"full_finetune": {"method.name": "lora"}}), "cannot set"),
    (sweep({}, evaluate={"split": "test"}), "data.eval_split"),
    (sweep({}, exclude=["zero_shot"]), "sweep.exclude must be a list of non-empty mappings"),
    ({"sweep": {"grid": {}}}, "sweep.name"),
    ({"model": {"name": "x"}}, "no `sweep:` section"),
    ({"sweep": {"name": "t"}, "trian": {}}, "unknown top-level keys"),
])
def test_invalid_sweeps_fail_with_a_clear_message(tree, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("'", ".")):
        plan(tree)


def test_bad_overrides_and_only():
    with pytest.raises(ConfigError, match="unknown config key 'train.sed'"):
        plan(sweep({"train.seed": [1]}), ["train.sed=3"])
    runs = plan(sweep({"train.seed": [1, 2, 3]}))
    assert select(runs, [runs[2].id[:6], runs[0].id]) == [runs[0], runs[2]]
    with pytest.raises(ConfigError, match="matches no run"):
        select(runs, ["zzz"])


@pytest.mark.parametrize("path", SWEEP_FILES, ids=[p.name for p in SWEEP_FILES])
def test_shipped_sweeps_load_and_expand(path):
    load_config(path)  # a sweep file is also a valid run config (the sweep: section is ignored)
    runs = expand(load_sweep(path))
    assert runs and len({r.id for r in runs}) == len(runs)


def test_the_study_sweep_covers_the_study():
    runs = expand(load_sweep(REPO / "configs/sweeps/xglm-564m-study.yaml"))
    assert {r.model for r in runs} == {"facebook/xglm-564M"}
    for task in ("xnli", "pawsx", "udpos", "panx"):
        for method, lr in (("prompt_tuning", 3e-2), ("full_finetune", 1e-5)):
            same = [r for r in runs if r.task == task and r.method == method]
            assert sorted(r.cfg.train.seed for r in same) == [1, 2, 3]
            assert {r.cfg.train.learning_rate for r in same} == {lr}
    assert sorted(r.task for r in runs if r.method == "zero_shot") == ["pawsx", "xnli"]
    assert len(runs) == 26
    assert {r.cfg.train.batch_size * r.cfg.train.grad_accum for r in runs if r.method != "zero_shot"} == {32}


def test_the_smoke_sweep_deduplicates_prompt_lengths_for_fine_tuning():
    runs = expand(load_sweep(REPO / "configs/sweeps/tiny-smoke.yaml"))
    assert sorted((r.method, getattr(r.cfg.method, "prompt_length", None) or 0, r.cfg.train.seed) for r in runs) == [
        ("full_finetune", 0, 1), ("full_finetune", 0, 2),
        ("prompt_tuning", 4, 1), ("prompt_tuning", 4, 2), ("prompt_tuning", 8, 1), ("prompt_tuning", 8, 2)]


def test_runs_of_several_models_name_their_model_in_their_line():
    """The lab's pretrained and control runs differ only in the model: their progress lines must not read alike."""
    from xlpt.sweeps.runner import run_label

    runs = plan(sweep({"model.name": ["lab/pretrained", "lab/control"], "train.seed": [1, 2]}))
    labels = [run_label(run, k, len(runs)).split(" ", 2)[2] for k, run in enumerate(runs, 1)]
    assert len(set(labels)) == 4 and all("model=pretrained" in label for label in labels[:2])
    assert all("model=control" in label for label in labels[2:])
    single = plan(sweep({"train.seed": [1, 2]}))
    assert all("model=" not in run_label(run, 1, 2) for run in single)
