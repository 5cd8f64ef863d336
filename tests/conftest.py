"""Shared fixtures: the real data folder (read in place, never copied) and a tiny XGLM built in-process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """`XLPT_DATA_DIR`, defaulting to ../shared/data beside the repository."""
    return Path(os.environ.get("XLPT_DATA_DIR", REPO_ROOT.parent / "shared" / "data"))


def shared_tokenizer_dir() -> Path:
    """`XLPT_TOKENIZER_DIR`, defaulting to ../shared/tokenizers/xlmr-250k beside the repository."""
    return Path(os.environ.get("XLPT_TOKENIZER_DIR", REPO_ROOT.parent / "shared" / "tokenizers" / "xlmr-250k"))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = shared_data_dir()
    if not (path / "manifest.jsonl").exists():
        pytest.skip(f"real data not found at {path} (set XLPT_DATA_DIR to the shared data folder)")
    return path


@pytest.fixture(scope="session")
def xlmr_tokenizer_dir() -> Path:
    path = shared_tokenizer_dir()
    if not (path / "tokenizer.json").exists():
        pytest.skip(f"real multilingual tokenizer not found at {path} (set XLPT_TOKENIZER_DIR)")
    return path


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A tiny random XGLM + in-process SentencePiece tokenizer, saved in HF format (built once per session)."""
    from xlpt.models.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-xglm"))


@pytest.fixture(autouse=True, scope="session")
def _quiet_and_single_threaded():
    # pytest-xdist runs one worker per core (pyproject.toml addopts): one torch thread per worker keeps the
    # cores busy without oversubscription and timings stable; processes a test starts (xlpt commands, torchrun)
    # inherit OMP_NUM_THREADS=1 for the same reason.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if os.environ.get("PYTEST_XDIST_WORKER"):
        os.environ["OMP_NUM_THREADS"] = "1"
    import torch

    torch.set_num_threads(1)
    yield


def make_config(*overrides: str, **dotted):
    """A validated RunConfig from `section.key=value` strings and/or keywords with `__` for the dot
    (`make_config("method.name=lora", data__task="udpos")`)."""
    from xlpt.config import load_config

    items = list(overrides) + [f"{key.replace('__', '.')}={value}" for key, value in dotted.items()]
    return load_config(None, items)


@pytest.fixture(scope="session")
def config():
    """`config(...)` builds a validated RunConfig (see make_config)."""
    return make_config


class ToyPairs:
    """The demo's learnable pair task (a negation word marks non-paraphrases) and a quiet short training run."""

    LABELS = ("not_paraphrase", "paraphrase")

    def examples(self, n: int, seed: int, lang: str = "en"):
        import random

        from xlpt.data.examples import PairExample
        from xlpt.demo.sample_data import pairs

        rows = pairs(lang, n, random.Random(seed))
        return [PairExample(a, b, self.LABELS[label], lang, f"{lang}-{i}") for i, (a, b, label) in enumerate(rows)]

    def objective(self, tokenizer, n_train: int, n_dev: int = 100):
        from xlpt.tasks import get_task
        from xlpt.tasks.classification_encoding import encode_examples
        from xlpt.training.objectives import ClassificationObjective

        task = get_task("pawsx")
        template = task.resolve_template(None)
        train_items, _ = encode_examples(self.examples(n_train, 1), template, tokenizer, self.LABELS, 256)
        dev_items, _ = encode_examples(self.examples(n_dev, 2), template, tokenizer, self.LABELS, 256)
        return ClassificationObjective(task, train_items, dev_items, tokenizer.pad_token_id, 64)

    def train(self, model, objective, cfg, run_dir, steps: int, lr: float):
        import torch

        from xlpt.training.loop import train

        cfg.train.max_steps, cfg.train.batch_size, cfg.train.eval_every, cfg.train.log_every = steps, 16, 100, 50
        summary = train(model, objective, cfg.train, lr, run_dir, torch.device("cpu"), lambda *_: None, progress=False)
        model.eval()
        return summary


class Interrupting:
    """An objective that raises `Interrupting.Interrupt` after `after` training batches, like a killed process."""

    class Interrupt(Exception):
        pass

    def __init__(self, inner, after: int):
        self.inner, self.after, self.calls = inner, after, 0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def batch(self, indices, device):
        self.calls += 1
        if self.calls > self.after:
            raise Interrupting.Interrupt
        return self.inner.batch(indices, device)


@pytest.fixture
def interrupting():
    """`interrupting(objective, after)`: the objective, dying after `after` batches (`interrupting.Interrupt`)."""
    return Interrupting


@pytest.fixture(scope="session")
def toy_pairs() -> ToyPairs:
    return ToyPairs()


@pytest.fixture
def user_task(tmp_path, monkeypatch):
    """user_task(yaml_text, folder=...) writes a task YAML and registers it for this test only (the task
    registry is restored afterwards, so tests may define the same task name differently). Returns the
    TaskSpec; the YAML is written to `folder` (default tmp_path/"tasks"), so `--include-path` can read it."""
    from xlpt.tasks import registry

    registry._builtin()
    monkeypatch.setattr(registry, "_TASKS", dict(registry._TASKS))

    def make(text: str, folder: Path | None = None, name: str = "task.yaml"):
        folder = folder or tmp_path / "tasks"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
        return registry.register(registry.load_task_file(folder / name))

    return make


# ---------------------------------------------------------------------------------------------- torchrun
# Real torchrun process groups (2 processes, gloo on CPU) for the multi-process tests.

SRC = REPO_ROOT / "src"


def torchrun_command(*args: str, processes: int = 2) -> list[str]:
    """`torchrun --standalone --nproc-per-node N ARGS` through this interpreter (the venv's torch)."""
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={processes}", *args]


def launcher_env() -> dict:
    # PYTHONFAULTHANDLER: a worker killed by a signal (SIGABRT, SIGSEGV) prints every thread's Python stack.
    env = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
               PYTHONFAULTHANDLER="1")
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def _ends(text: str, width: int = 3000) -> str:
    """The start (the workers' own messages) and the end (torchrun's account of who failed) of long output."""
    return text if len(text) <= 2 * width else f"{text[:width]}\n[... {len(text) - 2 * width} characters ...]\n{text[-width:]}"


class Torchrun:
    """Run (or start) commands under torchrun; failures show the processes' output."""

    def run(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        done = subprocess.run(torchrun_command(*args), env=launcher_env(), capture_output=True, text=True,
                              timeout=timeout)
        assert done.returncode == 0, f"torchrun {' '.join(args)} failed ({done.returncode}):\n{_ends(done.stderr)}"
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
