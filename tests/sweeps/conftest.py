"""A small workspace for sweep tests: the demo's tiny XGLM, its PAWS-X-style sample and a tiny UDPOS set."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import yaml

from xlpt.demo.sample_data import LEXICON, corpus_lines, write_sample


def write_tagging_sample(data_dir: Path, langs=("en", "de", "fr", "es"), seed: int = 0) -> Path:
    """XTREME-layout UDPOS files (`udpos/<split>-<lang>.tsv`, `word<TAB>tag` lines, blank line between
    sentences) built from the demo lexicon: subject, verb, object and place phrases tagged coarsely."""
    folder = data_dir / "udpos"
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    sizes = {"train": 200, "dev": 40, "test": 40}
    for split, n in sizes.items():
        for lang in (["en"] if split == "train" else langs):
            lines = []
            for _ in range(n):
                phrases = [rng.choice(words) for words in LEXICON[lang]]
                for phrase, head in zip(phrases, ("NOUN", "VERB", "NOUN", "ADP")):
                    lines += [f"{word}\t{head if i == 0 else 'NOUN'}" for i, word in enumerate(phrase.split())]
                lines += [".\tPUNCT", ""]
            (folder / f"{split}-{lang}.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def workspace(tmp_path_factory) -> Path:
    """<root>/tiny (model), <root>/data/{pawsx,udpos}."""
    from xlpt.models.tiny import build_tiny_model, default_corpus

    root = tmp_path_factory.mktemp("sweep-workspace")
    write_sample(root / "data")
    write_tagging_sample(root / "data")
    build_tiny_model(root / "tiny", default_corpus() + corpus_lines())
    return root


def write_sweep(path: Path, workspace: Path, grid: dict, **sweep_extra) -> Path:
    """A sweep file on the tiny model: very few steps, small dev and eval sets."""
    tree = {
        "model": {"name": str(workspace / "tiny"), "device": "cpu"},
        "data": {"task": "pawsx", "data_dir": str(workspace / "data"), "max_dev_examples": 64,
                 "max_eval_examples": 20},
        "train": {"batch_size": 8, "max_steps": 30, "eval_every": 5, "log_every": 10, "checkpoint_every": 5},
        "sweep": {"name": "test-sweep", "grid": grid,
                  "per_method": {"prompt_tuning": {"train.learning_rate": 0.1, "method.prompt_length": 4},
                                 "full_finetune": {"train.learning_rate": 1.0e-3}},
                  **sweep_extra},
    }
    path.write_text(yaml.safe_dump(tree, sort_keys=False), encoding="utf-8")
    return path


FAST_TRAIN = {"batch_size": 8, "max_steps": 12, "eval_every": 4, "log_every": 4, "checkpoint_every": 2}
"""Training settings for tests that start many processes: 12 steps, a resumable snapshot every 2."""


def write_fast_sweep(path: Path, workspace: Path, grid: dict, **sweep_extra) -> Path:
    """Like write_sweep, with FAST_TRAIN and smaller dev and eval sets."""
    write_sweep(path, workspace, grid, **sweep_extra)
    tree = yaml.safe_load(path.read_text(encoding="utf-8"))
    tree["train"] = dict(FAST_TRAIN)
    tree["data"].update(max_dev_examples=32, max_eval_examples=10)
    path.write_text(yaml.safe_dump(tree, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def single_run(workspace, tmp_path_factory) -> tuple[Path, Path]:
    """(a sweep file whose one run is a full fine-tuning run, that run trained by `xlpt train --config <file>`).

    A sweep file is also a run config, so `xlpt train` on it makes exactly the sweep's run."""
    from xlpt.cli import main

    root = tmp_path_factory.mktemp("single-run")
    tree = {
        "model": {"name": str(workspace / "tiny"), "device": "cpu"},
        "data": {"task": "pawsx", "data_dir": str(workspace / "data"), "max_dev_examples": 32, "max_eval_examples": 10},
        "method": {"name": "full_finetune"},
        "train": {**FAST_TRAIN, "learning_rate": 1.0e-3},
        "sweep": {"name": "single", "grid": {}},
    }
    config = root / "single.yaml"
    config.write_text(yaml.safe_dump(tree, sort_keys=False), encoding="utf-8")
    assert main(["train", "--config", str(config), "--out", str(root / "trained"), "--quiet"]) == 0
    return config, root / "trained"


@pytest.fixture
def make_sweep(workspace, tmp_path):
    """make_sweep(grid, **sweep_keys) -> path of a sweep file on the tiny model in tmp_path."""
    def make(grid: dict, filename: str = "sweep.yaml", **sweep_extra) -> Path:
        return write_sweep(tmp_path / filename, workspace, grid, **sweep_extra)
    return make


@pytest.fixture
def fast_sweep(workspace, tmp_path):
    """fast_sweep(grid, **sweep_keys) -> path of a sweep file with FAST_TRAIN settings in tmp_path."""
    def make(grid: dict, filename: str = "sweep.yaml", **sweep_extra) -> Path:
        return write_fast_sweep(tmp_path / filename, workspace, grid, **sweep_extra)
    return make
