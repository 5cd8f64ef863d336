"""Launching real torchrun process groups (2 processes, gloo on CPU) from tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"


def torchrun_command(*args: str, processes: int = 2) -> list[str]:
    """`torchrun --standalone --nproc-per-node N ARGS` through this interpreter (the venv's torch)."""
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={processes}", *args]


def launcher_env() -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


class Torchrun:
    """Run (or start) commands under torchrun; failures show the processes' output."""

    def run(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        done = subprocess.run(torchrun_command(*args), env=launcher_env(), capture_output=True, text=True,
                              timeout=timeout)
        assert done.returncode == 0, f"torchrun {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-4000:]}"
        return done

    def start(self, *args: str, output: Path) -> subprocess.Popen:
        """In the background, its output going to the file `output` (a pipe nobody reads would fill and stall it)."""
        handle = open(output, "w", encoding="utf-8")
        process = subprocess.Popen(torchrun_command(*args), env=launcher_env(), stdout=handle, stderr=subprocess.STDOUT,
                                   text=True)
        process.output = output
        return process

    @staticmethod
    def kill(process: subprocess.Popen) -> None:
        """SIGKILL torchrun and its workers at once, as a crashed node or a scheduler's hard kill would.
        (torchrun starts each worker in its own session: signalling torchrun's group would miss them.)"""
        import signal

        family = [process.pid] + descendants(process.pid)
        for pid in family:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        process.wait()

    @staticmethod
    def wait_for_step(train_log: Path, step: int, process: subprocess.Popen, timeout: float = 300) -> None:
        """Until train_log.jsonl records a training step >= `step` (a partial last line is skipped)."""
        import json

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"the run ended before step {step}:\n{process.output.read_text()[-3000:]}")
            if train_log.exists():
                for line in train_log.read_text(encoding="utf-8").splitlines():
                    try:
                        record = json.loads(line)
                    except ValueError:
                        continue
                    if "loss" in record and record["step"] >= step:
                        return
            time.sleep(0.05)
        pytest.fail(f"no step {step} in {train_log} after {timeout}s")


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


@pytest.fixture(scope="session")
def torchrun() -> Torchrun:
    return Torchrun()
