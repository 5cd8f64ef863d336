"""Hostile sweep files and store faults (issue 17): one clear line each, never a traceback or a silent change."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from xlpt.cli import main
from xlpt.errors import ConfigError
from xlpt.sweeps.grid import expand, load_sweep

HEAD = "model: {name: tiny, device: cpu}\ndata: {task: pawsx, data_dir: somewhere}\n"


def sweep_file(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(HEAD + text, encoding="utf-8")
    return path


def plan_of(path: Path, overrides=()):
    return expand(load_sweep(path, list(overrides)))


# ------------------------------------------------------------------------------------- the YAML reader


def test_yaml_11_booleans_are_text_and_refused_by_a_boolean_field(tmp_path):
    path = sweep_file(tmp_path, "sweep: {name: t, grid: {train.tf32: [off, on]}}\n")
    with pytest.raises(ConfigError, match="train.tf32='off'"):
        plan_of(path)


def test_1e_minus_3_is_a_number_and_an_exclude_written_so_matches(tmp_path):
    path = sweep_file(tmp_path, "method: {name: full_finetune}\n"
                      "sweep: {name: t, grid: {train.learning_rate: [0.001, 1e-2]}, "
                      "exclude: [{train.learning_rate: 1e-3}]}\n")
    assert [run.cfg.train.learning_rate for run in plan_of(path)] == [0.01]


def test_a_duplicated_axis_is_refused_with_file_and_line(tmp_path):
    path = sweep_file(tmp_path, "sweep:\n  name: t\n  grid:\n    train.seed: [1, 2]\n    train.seed: [3]\n")
    with pytest.raises(ConfigError, match=r"s\.yaml:7.*train\.seed"):
        plan_of(path)


def test_a_non_utf8_sweep_file_is_one_line(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_bytes(b"\xff\xfe" + HEAD.encode() + b"sweep: {name: t, grid: {}}\n")
    with pytest.raises(ConfigError, match="s.yaml.*UTF-8"):
        plan_of(path)


@pytest.mark.parametrize("value, base, message", [
    ("{a: 1}", None, "base_configs must be a list of file names"),
    ("[3]", None, "base_configs must be a list of file names"),
    ("[nope.yaml]", None, "base config .*nope.yaml"),
    ("[base.yaml]", "- 1\n- 2\n", "base.yaml: a base config must be a mapping"),
    ("[base.yaml]", "train: {seed: [1}\n", "base.yaml:1: not valid YAML"),
    ("[base.yaml]", "train:\n  seed: 1\n  seed: 2\n", "base.yaml:3.*seed"),
])
def test_malformed_base_configs_are_one_line(tmp_path, value, base, message):
    if base is not None:
        (tmp_path / "base.yaml").write_text(base, encoding="utf-8")
    path = sweep_file(tmp_path, f"sweep: {{name: t, grid: {{}}, base_configs: {value}}}\n")
    with pytest.raises(ConfigError, match=message) as err:
        plan_of(path)
    assert "\n" not in str(err.value)


def test_override_values_follow_the_same_yaml_rules(tmp_path):
    path = sweep_file(tmp_path, "method: {name: full_finetune}\nsweep: {name: t, grid: {}}\n")
    assert plan_of(path, ["train.learning_rate=1e-4"])[0].cfg.train.learning_rate == 1e-4
    with pytest.raises(ConfigError, match="train.tf32='yes'"):
        plan_of(path, ["train.tf32=yes"])


# ------------------------------------------------------------------------------------ section schemas


def test_per_method_keys_of_another_method_are_refused(tmp_path):
    path = sweep_file(tmp_path, "sweep: {name: t, grid: {method.name: [full_finetune]}, "
                      "per_method: {full_finetune: {method.prompt_length: 5}}}\n")
    with pytest.raises(ConfigError, match="per_method.full_finetune.*method.prompt_length.*full_finetune"):
        plan_of(path)


def test_an_exclude_that_matches_nothing_is_refused(tmp_path):
    path = sweep_file(tmp_path, "sweep: {name: t, grid: {train.seed: [1, 2]}, exclude: [{train.seed: 7}]}\n")
    with pytest.raises(ConfigError, match=r"sweep.exclude\[1\].*train.seed.*matches no run"):
        plan_of(path)
    # with command-line overrides the file's excludes may stop matching on purpose: the runs are kept
    assert len(plan_of(path, ["train.epochs=2"])) == 2


@pytest.mark.parametrize("entry, message", [
    ("{train.seed: [[1]]}", "train.seed"),
    ("{train.seed: {a: 1}}", "train.seed"),
    ("{train.seed: one}", "train.seed='one'"),
    ("{train.nope: 1}", "unknown config key 'train.nope'"),
])
def test_exclude_values_are_typed_like_the_grid(tmp_path, entry, message):
    path = sweep_file(tmp_path, f"sweep: {{name: t, grid: {{train.seed: [1, 2]}}, exclude: [{entry}]}}\n")
    with pytest.raises(ConfigError, match=message):
        plan_of(path)


def test_an_exclude_value_is_converted_to_the_field_type(tmp_path):
    path = sweep_file(tmp_path, "sweep: {name: t, grid: {train.seed: [1, 2]}, exclude: [{train.seed: '1'}]}\n")
    assert [run.cfg.train.seed for run in plan_of(path)] == [2]


# -------------------------------------------------------------------------------------------- huge grids


def test_a_grid_over_the_limit_asks_for_yes_without_expanding(tmp_path, capsys):
    from xlpt.sweeps.grid import MAX_RUNS, count_runs

    seeds = list(range(1, 201))
    path = sweep_file(tmp_path, "sweep: " + json.dumps({"name": "t", "grid": {
        "train.seed": seeds, "train.max_steps": seeds, "method.name": ["prompt_tuning", "full_finetune"]},
        "per_method": {"prompt_tuning": {"method.prompt_length": [1, 2, 3]}}}) + "\n")
    spec = load_sweep(path)
    assert count_runs(spec) == 200 * 200 * (3 + 1) > MAX_RUNS
    started = time.monotonic()
    with pytest.raises(ConfigError, match=r"160,000 runs.*--yes"):
        expand(spec)
    assert time.monotonic() - started < 1
    code = main(["sweep", "--config", str(path), "--dry-run", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and "--yes" in err and len(err.strip().splitlines()) == 1


def test_count_runs_is_exact_before_deduplication(tmp_path):
    from xlpt.sweeps.grid import count_runs

    path = sweep_file(tmp_path, "sweep: {name: t, grid: {data.task: [pawsx, xnli], method.name: [prompt_tuning, "
                      "full_finetune], train.seed: [1, 2]}, per_task: {xnli: {train.epochs: [1, 2, 3]}}, "
                      "per_method: {prompt_tuning: {train.learning_rate: [0.1, 0.2]}}}\n")
    spec = load_sweep(path)
    assert count_runs(spec) == len(expand(spec)) == 2 * (2 + 1) * (1 + 3)


# ------------------------------------------------------------------------------------ slurm --dry-run


def test_slurm_dry_run_shows_the_jobs_it_would_submit(make_sweep, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # no sbatch needed to look
    config = make_sweep({"method.name": ["prompt_tuning", "full_finetune"], "train.seed": [1, 2, 3]})
    out = tmp_path / "out"
    code = main(["sweep", "--config", str(config), "--out", str(out), "--dry-run", "--executor", "slurm",
                 "--partition", "gpu-small", "--account", "lab", "--time", "2:30:00", "--mem", "48G", "--cpus", "6",
                 "--max-parallel", "2"])
    text = capsys.readouterr().out
    assert code == 0 and not out.exists()
    assert "6 jobs" in text and "1 job array" in text
    assert "#SBATCH --partition=gpu-small" in text and "#SBATCH --account=lab" in text
    assert "#SBATCH --time=150" in text and "#SBATCH --mem=48GB" in text and "#SBATCH --cpus-per-task=6" in text
    assert "#SBATCH --array=0-5%2" in text
    assert "#SBATCH --gpus-per-node=0" in text and "0 GPU" in text  # the sweep's model.device is cpu
    assert "srun" in text  # the script's command

    # the GPUs follow model.device and --gpus; two resource groups give two arrays
    code = main(["sweep", "--config", str(config), "--out", str(out), "--dry-run", "--executor", "slurm",
                 "--gpus", "2", "--only", expand(load_sweep(config))[0].id])
    text = capsys.readouterr().out
    assert code == 0 and "1 job" in text and "#SBATCH --gpus-per-node=2" in text and "--array" not in text


def test_slurm_dry_run_json_lists_the_arrays(make_sweep, tmp_path, capsys):
    config = make_sweep({"train.seed": [1, 2]})
    code = main(["sweep", "--config", str(config), "--out", str(tmp_path / "o"), "--dry-run", "--json",
                 "--executor", "slurm", "--time", "90"])
    plan = json.loads(capsys.readouterr().out)
    assert code == 0 and len(plan["runs"]) == 2
    [array] = plan["jobs"]
    assert array["size"] == 2 and array["resources"]["timeout_min"] == 90 and array["resources"]["gpus"] == 0
    assert "#SBATCH --time=90" in array["script"]


# ------------------------------------------------------------------------------------------ full disk


def _fill_store_folder(out: Path, n: int) -> None:
    from xlpt.config import RunConfig, config_from_dict

    for seed in range(n):
        cfg = config_from_dict({"model": {"name": "m" * 2000}, "data": {"task": "pawsx"}, "train": {"seed": seed}})
        folder = out / f"run{seed}"
        folder.mkdir(parents=True)
        (folder / "config.yaml").write_text(yaml.safe_dump(cfg.to_dict()), encoding="utf-8")
    assert isinstance(cfg, RunConfig)


FULL_DISK = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit then fails with EFBIG (like ENOSPC)
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
from xlpt.cli import main
sys.exit(main(sys.argv[2:]))
"""


def test_a_full_disk_while_indexing_is_one_line_naming_the_store(tmp_path):
    out = tmp_path / "runs"
    _fill_store_folder(out, 2)
    assert main(["runs", "list", "--out", str(out)]) == 0  # the store exists, small
    size = (out / "runs.sqlite").stat().st_size
    _fill_store_folder(out / "more", 40)  # indexing these needs more pages than the limit allows
    done = subprocess.run([sys.executable, "-c", FULL_DISK, str(size), "runs", "list", "--out", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert "runs.sqlite" in done.stderr and "xlpt runs reindex" in done.stderr
    # a sweep (and `xlpt sweep --status`) only updates the index after its runs: a note, its outcome stands
    code = "from xlpt.sweeps.runner import sync_index; sync_index(__import__('pathlib').Path(sys.argv[3]), print)"
    _fill_store_folder(out / "again", 40)
    done = subprocess.run([sys.executable, "-c", FULL_DISK.replace("from xlpt.cli import main\nsys.exit(main(sys.argv[2:]))",
                                                                   code), str(size), "-", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert done.stdout.startswith("note: cannot write the runs index") and "runs.sqlite" in done.stdout
    # the run directories were not touched: with room again, the index catches up
    assert main(["runs", "list", "--out", str(out)]) == 0


# --------------------------------------------------------------------------------------- runs show/list


def test_runs_show_leaves_out_attempts_a_train_run_never_counted(single_run, tmp_path, capsys):
    import shutil

    _, trained = single_run
    shutil.copytree(trained, tmp_path / "runs" / "x")
    assert main(["runs", "show", "", "--out", str(tmp_path / "runs")]) == 0
    text = capsys.readouterr().out
    assert "attempts" not in text and "finished" in text
    assert main(["runs", "show", "", "--out", str(tmp_path / "runs"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["attempts"] is None


def test_runs_show_and_list_of_junk(tmp_path, capsys):
    out = tmp_path / "runs"
    (out / "broken").mkdir(parents=True)
    (out / "broken" / "config.yaml").write_bytes(b"\xff\x00 not yaml")
    (out / "junk.txt").write_text("x")
    (out / "sweep-x.json").write_text("{not json")
    assert main(["runs", "show", "abc", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "no run 'abc'" in err and "Traceback" not in err
    assert main(["runs", "reindex", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "skipped" in text and "broken" in text and "sweep-x.json" in text
    assert main(["runs", "list", "--out", str(out), "--task", "no-such-task"]) == 0
    assert "no runs under" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_:
        main(["runs", "list", "--out", str(out), "--status", "finished"])
    assert exit_.value.code == 2
    assert os.path.exists(out / "runs.sqlite")


@pytest.mark.parametrize("entry, message", [
    ("out: 5", "sweep.out must be a folder name"),
    ("out: [a]", "sweep.out must be a folder name"),
    ("description: {a: 1}", "sweep.description must be text"),
])
def test_sweep_out_and_description_must_be_text(tmp_path, entry, message):
    path = sweep_file(tmp_path, f"sweep: {{name: t, grid: {{}}, {entry}}}\n")
    with pytest.raises(ConfigError, match=message):
        load_sweep(path)


def test_slurm_dry_run_checks_its_options(tmp_path, capsys):
    path = sweep_file(tmp_path, "sweep: {name: t, grid: {}}\n")
    code = main(["sweep", "--config", str(path), "--dry-run", "--executor", "slurm", "--max-parallel", "0"])
    assert code == 2 and "--max-parallel 0 must be 1 or more" in capsys.readouterr().err


def test_reindex_when_the_store_path_is_a_folder(tmp_path, capsys):
    (tmp_path / "runs.sqlite").mkdir()
    assert main(["runs", "reindex", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "runs.sqlite" in err and len(err.strip().splitlines()) == 1


def test_unreadable_attempts_are_unknown_not_zero(tmp_path):
    from xlpt.config import config_from_dict
    from xlpt.sweeps.rundir import read_state

    run = tmp_path / "run"
    run.mkdir()
    cfg = config_from_dict({"data": {"task": "pawsx"}})
    (run / "config.yaml").write_text(yaml.safe_dump(cfg.to_dict()), encoding="utf-8")
    (run / "status.json").write_text(json.dumps({"status": "failed", "attempts": "many"}), encoding="utf-8")
    assert read_state(run).attempts is None
    (run / "status.json").write_text(json.dumps({"status": "failed", "attempts": 3}), encoding="utf-8")
    assert read_state(run).attempts == 3


@pytest.mark.parametrize("text, message", [
    ("method: {name: full_finetune, prompt_length: 5}\nsweep: {name: t, grid: {train.seed: [1]}}\n",
     "method.prompt_length.*full_finetune"),
    ("method: {prompt_length: 5}\nsweep: {name: t, grid: {method.name: [lora, full_finetune]}}\n",
     "method.prompt_length.*full_finetune, lora"),
    ("sweep: {name: t, grid: {method.name: [full_finetune], method.lora_r: [4, 8]}}\n", "method.lora_r"),
    ("sweep: {name: t, grid: {method.name: [full_finetune]}, per_task: {pawsx: {method.prompt_length: 3}}}\n",
     "method.prompt_length"),
])
def test_method_settings_no_method_of_the_sweep_reads_are_refused(tmp_path, text, message):
    path = sweep_file(tmp_path, text)
    with pytest.raises(ConfigError, match=message):
        load_sweep(path)


def test_method_settings_of_some_methods_of_the_grid_are_kept(tmp_path):
    path = sweep_file(tmp_path, "method: {prompt_length: 5}\n"
                      "sweep: {name: t, grid: {method.name: [prompt_tuning, full_finetune]}}\n")
    runs = plan_of(path)
    assert [getattr(run.cfg.method, "prompt_length", None) for run in runs] == [5, None]
    with pytest.raises(ConfigError, match="method.lora_r"):
        load_sweep(path, ["method.lora_r=4"])


def test_yes_expands_a_grid_over_the_limit(tmp_path, capsys, monkeypatch):
    import xlpt.sweeps.grid as grid

    monkeypatch.setattr(grid, "MAX_RUNS", 3)  # the limit's value, not its logic: 10,001 runs would take minutes
    path = sweep_file(tmp_path, "sweep: {name: t, grid: {train.seed: [1, 2, 3, 4]}}\n")
    args = ["sweep", "--config", str(path), "--dry-run", "--json", "--out", str(tmp_path / "o")]
    assert main(args) == 2 and "4 runs" in capsys.readouterr().err
    assert main(args + ["--yes"]) == 0
    assert len(json.loads(capsys.readouterr().out)["runs"]) == 4


def test_an_exclude_on_method_name_matches_any_method(tmp_path):
    path = sweep_file(tmp_path, "sweep: {name: t, grid: {method.name: [lora, full_finetune], data.task: [xnli, pawsx]}, "
                      "exclude: [{method.name: lora, data.task: xnli}]}\n")
    assert [(run.method, run.task) for run in plan_of(path)] == [
        ("lora", "pawsx"), ("full_finetune", "xnli"), ("full_finetune", "pawsx")]
