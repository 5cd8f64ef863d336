"""`xlpt tokenization` through the CLI entry point."""

from __future__ import annotations

import json
import re

import pytest

from xlpt.cli import main


def test_json_output(tiny_model_dir, data_dir, capsys):
    code = main(["tokenization", "--model", str(tiny_model_dir), "--task", "xnli", "--data-dir", str(data_dir),
                 "--languages", "en,zh,sw", "--max-examples", "30", "--json"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["task"] == "xnli" and result["split"] == "dev" and result["model"] == str(tiny_model_dir)
    assert list(result["languages"]) == ["en", "zh", "sw"]
    assert result["languages"]["zh"]["fertility"] is None
    assert result["languages"]["zh"]["whitespace_segmented"] is False
    en = result["languages"]["en"]
    assert en["fertility"] >= 1 and en["n_examples"] == 30 and en["in_pretraining"] is True


def test_table_output(tiny_model_dir, data_dir, capsys):
    code = main(["tokenization", "--model", str(tiny_model_dir), "--task", "udpos", "--data-dir", str(data_dir),
                 "--languages", "en,yo", "--max-examples", "10"])
    assert code == 0
    lines = capsys.readouterr().out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["lang", "split"])
    yo = lines[header + 2].split()
    assert yo[0] == "yo" and yo[1] == "test" and yo[-1] == "NO"  # unseen in XGLM pretraining
    assert lines[header + 1].split()[0] == "en"


def test_unknown_task_is_a_one_line_error(data_dir, capsys):
    code = main(["tokenization", "--model", "unused", "--task", "xnl", "--data-dir", str(data_dir)])
    assert code == 2
    err = capsys.readouterr().err
    assert re.search("valid tasks: .*panx, pawsx, sib200, udpos, .*xnli", err) and "Traceback" not in err


def test_help_explains_every_option(capsys):
    with pytest.raises(SystemExit):
        main(["tokenization", "--help"])
    out = capsys.readouterr().out
    for option in ("--model", "--task", "--data-dir", "--split", "--languages", "--max-examples", "--json"):
        assert option in out
    assert "fertility" in out and "whitespace_segmented" in out


def test_sib200_is_the_default_corpus(tiny_model_dir, data_dir, capsys, monkeypatch):
    monkeypatch.setenv("XLPT_DATA_DIR", str(data_dir))
    code = main(["tokenization", "--model", str(tiny_model_dir), "--languages", "eng_Latn,zho_Hans,tha_Thai",
                 "--max-examples", "20", "--json"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["task"] == "sib200" and list(result["languages"]) == ["eng_Latn", "zho_Hans", "tha_Thai"]
    assert {lang: s["n_examples"] for lang, s in result["languages"].items()} == dict.fromkeys(result["languages"], 20)
    assert result["languages"]["zho_Hans"]["fertility"] is None and result["languages"]["tha_Thai"]["fertility"] is None
    assert result["languages"]["eng_Latn"]["fertility"] >= 1 and result["languages"]["eng_Latn"]["in_pretraining"]


def test_no_data_folder_is_a_one_line_error(capsys, monkeypatch):
    monkeypatch.delenv("XLPT_DATA_DIR", raising=False)
    assert main(["tokenization", "--model", "unused"]) == 2
    assert "pass --data-dir or set $XLPT_DATA_DIR" in capsys.readouterr().err


def test_a_pipeline_check_model_is_named_in_the_json_and_on_the_console(tiny_model_dir, data_dir, capsys):
    """`xlpt model tiny` statistics say what they are, also in a file taken out of context."""
    assert main(["tokenization", "--model", str(tiny_model_dir), "--task", "xnli", "--data-dir", str(data_dir),
                 "--languages", "en", "--max-examples", "5", "--json"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)  # standard output stays one JSON object
    assert result["pipeline_check"] is True and result["notices"][0].startswith("PIPELINE CHECK, NOT A FINDING")
    assert captured.err.startswith("PIPELINE CHECK, NOT A FINDING")
    assert main(["tokenization", "--model", str(tiny_model_dir), "--task", "xnli", "--data-dir", str(data_dir),
                 "--languages", "en", "--max-examples", "5"]) == 0
    assert capsys.readouterr().out.startswith("PIPELINE CHECK, NOT A FINDING")
