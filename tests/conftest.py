"""Shared fixtures: the real data folder (read in place, never copied) and a tiny XGLM built in-process."""

from __future__ import annotations

import os
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
    # Tests run on 2 shared cores; one torch thread keeps timings stable and avoids oversubscription.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch

    torch.set_num_threads(1)
    yield
