"""Per-run job resources: defaults <- planner <- command line, and the command line's formats."""

from __future__ import annotations

import pytest

from xlpt.cli import main
from xlpt.config import load_config
from xlpt.errors import ConfigError
from xlpt.sweeps import resources
from xlpt.sweeps.resources import JobResources, job_resources, parse_mem, parse_time, requested_resources


@pytest.mark.parametrize("text, minutes", [("90", 90), ("90:30", 91), ("1:30:00", 90), ("2-0", 2880),
                                           ("1-12:00:00", 2160), ("0-0:0:1", 1)])
def test_slurm_time_formats(text, minutes):
    assert parse_time(text) == minutes


@pytest.mark.parametrize("text", ["", "1h", "-5", "0", "1:2:3:4", "abc"])
def test_bad_times_are_one_clear_error(text):
    with pytest.raises(ConfigError, match="--time"):
        parse_time(text)


def test_memory_units():
    assert [parse_mem(x) for x in ("64", "64G", "64gb", "512M", "1T", "1.5")] == [64, 64, 64, 0.5, 1024, 1.5]
    for bad in ("0", "lots", "64K", "-1"):
        with pytest.raises(ConfigError, match="--mem"):
            parse_mem(bad)


def test_command_line_wins_over_the_planner_which_wins_over_defaults(monkeypatch):
    gpu_run = load_config(None, ["model.device=cuda"])
    cpu_run = load_config(None, ["model.device=cpu"])
    assert job_resources(gpu_run) == JobResources(gpus=1, cpus=8, mem_gb=64, timeout_min=1440)
    assert job_resources(cpu_run).gpus == 0
    monkeypatch.setattr(resources, "PLANNER", lambda cfg: {"mem_gb": 20.5, "timeout_min": 95, "gpus": None})
    assert job_resources(gpu_run) == JobResources(gpus=1, cpus=8, mem_gb=20.5, timeout_min=95)
    asked = requested_resources(gpus=2, cpus=None, mem=None, time="3:00:00")
    assert job_resources(gpu_run, asked) == JobResources(gpus=2, cpus=8, mem_gb=20.5, timeout_min=180)
    with pytest.raises(ConfigError, match="--cpus 0"):
        requested_resources(gpus=None, cpus=0, mem=None, time=None)


@pytest.mark.parametrize("args, message", [
    (["--partition", "gpu"], "--partition applies to --executor submitit-local or slurm"),
    (["--executor", "submitit-local", "--account", "x"], "--account applies to --executor slurm only"),
    (["--executor", "submitit-local", "--time", "soon"], "--time 'soon'"),
    (["--executor", "submitit-local", "--max-parallel", "0"], "--max-parallel 0 must be 1 or more"),
])
def test_bad_executor_options_fail_before_anything_runs(make_sweep, tmp_path, capsys, args, message):
    config = make_sweep({"method.name": ["full_finetune"]})
    out = tmp_path / "out"
    assert main(["sweep", "--config", str(config), "--out", str(out), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()
