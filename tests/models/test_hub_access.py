"""A hub model name offline: one line within seconds (not minutes of retries), or the cache when it has the model.

The hub is made unreachable deterministically (HF_ENDPOINT at a closed local port), whatever the machine's network."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import pytest

CLOSED = "http://127.0.0.1:9"  # the discard port: nothing listens, a connection is refused at once


def _env(tmp_path, **extra) -> dict:
    env = {key: value for key, value in os.environ.items() if key not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    env.update(HF_HOME=str(tmp_path / "hf"), HF_ENDPOINT=CLOSED, **extra)
    return env


def _train(tmp_path, env, model="facebook/xglm-564M"):
    return subprocess.run([sys.executable, "-m", "xlpt", "train", "--task", "sib200", "--method", "prompt_tuning",
                           "--model", model, "--data-dir", str(tmp_path / "no-data"), "--out", str(tmp_path / "run")],
                          env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("offline", [False, True], ids=["unreachable", "HF_HUB_OFFLINE"])
def test_an_uncached_hub_model_offline_is_one_line_naming_the_way_out(tmp_path, offline):
    env = _env(tmp_path, **({"HF_HUB_OFFLINE": "1"} if offline else {}))
    started = time.monotonic()
    done = _train(tmp_path, env)
    elapsed = time.monotonic() - started
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "facebook/xglm-564M" in lines[0] and "--model" in lines[0] and "cache" in lines[0]
    assert ("HF_HUB_OFFLINE is set" if offline else "127.0.0.1:9") in lines[0]
    assert elapsed < 30, f"took {elapsed:.1f} s"  # transformers alone retries for over a minute


def test_the_decision_itself_takes_well_under_five_seconds(tmp_path, monkeypatch):
    from xlpt.errors import ConfigError
    from xlpt.models import hub_access

    monkeypatch.setenv("HF_ENDPOINT", CLOSED)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    hub_access._unreachable.cache_clear()
    started = time.monotonic()
    with pytest.raises(ConfigError, match="no connection to 127.0.0.1:9"):
        hub_access.model_access("xlpt-test/not-cached-anywhere")
    hub_access._unreachable.cache_clear()
    assert time.monotonic() - started < 5


def test_a_missing_local_folder_is_named_as_a_folder(tmp_path):
    from xlpt.errors import ConfigError
    from xlpt.models.hub_access import model_access

    with pytest.raises(ConfigError, match="model folder .*nothing-here does not exist"):
        model_access(str(tmp_path / "nothing-here"))
    assert model_access(str(tmp_path)) == "local"


def test_a_cached_hub_model_loads_from_the_cache_without_the_hub(tmp_path, tiny_model_dir):
    """The cache layout huggingface_hub writes: models--org--name/{refs/main, snapshots/<rev>/files}."""
    repo = tmp_path / "hf" / "hub" / "models--xlpt-test--tiny"
    shutil.copytree(tiny_model_dir, repo / "snapshots" / "0123abcd")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0123abcd")
    probe = ("from xlpt.models.loading import load_causal_lm; "
             "m, t = load_causal_lm('xlpt-test/tiny', device='cpu'); print(len(t), m.config.model_type)")
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", probe], env=_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    from xlpt.models.loading import load_causal_lm

    _, tokenizer = load_causal_lm(tiny_model_dir, device="cpu")
    assert done.stdout.split() == [str(len(tokenizer)), "xglm"]
    assert time.monotonic() - started < 60


@pytest.mark.parametrize("name, message", [("a b", "not a hub id"), ("-model", "not a hub id"),
                                           ("org/name/extra", "model folder org/name/extra does not exist")])
def test_a_name_that_is_neither_folder_nor_hub_id_says_so_without_the_network(name, message, monkeypatch):
    from xlpt.errors import ConfigError
    from xlpt.models import hub_access

    monkeypatch.setattr(hub_access, "_unreachable", lambda: pytest.fail("the network was consulted"))
    with pytest.raises(ConfigError, match=message):
        hub_access.model_access(name)


def test_a_file_given_as_model_is_called_a_file(tmp_path):
    from xlpt.errors import ConfigError
    from xlpt.models.hub_access import model_access

    (tmp_path / "weights.bin").write_bytes(b"\0")
    with pytest.raises(ConfigError, match="is a file"):
        model_access(str(tmp_path / "weights.bin"))


def test_tokenization_checks_the_model_before_reading_any_text(tmp_path, data_dir):
    done = subprocess.run([sys.executable, "-m", "xlpt", "tokenization", "--model", "facebook/xglm-564M", "--task",
                           "xnli", "--data-dir", str(data_dir), "--json"], env=_env(tmp_path, HF_HUB_OFFLINE="1"),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip().splitlines() == [done.stderr.strip()] and "HF_HUB_OFFLINE is set" in done.stderr
