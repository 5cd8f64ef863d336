"""`xlpt train`'s flags take their value literally: `--model 1e3` names a model `1e3`, not the number 1000.0
(overrides `section.key=value` are read as YAML; the flags are not)."""

from __future__ import annotations

import pytest

from xlpt.cli import main


@pytest.mark.parametrize("name", ["1e3", "~", "yes", "null"])
def test_a_model_flag_is_a_literal_name(tmp_path, capsys, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))  # `~` is the home folder, here one without a model
    (tmp_path / name).mkdir()
    code = main(["train", "--task", "xnli", "--model", name, "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2 and "must be text" not in err
    assert f"model folder {name} has no config.json" in err, err
