"""`xlpt audit` as a user runs it: exit codes (0 / 1 with --strict / 2 on bad input), --json, one-line errors
without a traceback, and a real capped run trained on the shared data."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from xlpt.cli import main

XNLI = ["ar", "bg", "de", "el", "en", "es", "fr", "hi", "ru", "sw", "th", "tr", "ur", "vi", "zh"]
COUNTS = {"entailment": 130000, "neutral": 131000, "contradiction": 131702}


def write_run(root, name, *, method="prompt_tuning", seed=1, cap=None, counts=COUNTS):
    """A finished run folder in the current format: every language on test, balanced labels, leakage checked."""
    run = root / name
    run.mkdir(parents=True)
    results = {"task": "xnli", "method": method, "model": "facebook/xglm-564M", "seed": seed, "split": "test",
               "metric": "accuracy", "pipeline_check": False, "notices": [], "source_language": "en",
               "prompt_length": 20 if method == "prompt_tuning" else None,
               "parallel": {"by": "row", "checked": True},
               "languages": {lang: {"accuracy": 0.5, "n": 5010, "n_available": 5010, "capped": False, "split": "test"}
                             for lang in XNLI}}
    (run / "results.json").write_text(json.dumps(results), encoding="utf-8")
    samples = {"train": None, "dev": None}
    if cap:
        samples["train"] = {"split": "train", "seed": 0, "n": cap, "of": 392702, "hash": "0" * 64,
                            "stratified_by": "label"}
    summary = {"status": "done", "train_label_counts": counts, "samples": samples, "label_imbalance": None}
    (run / "train_summary.json").write_text(json.dumps(summary), encoding="utf-8")
    config = {"data": {"task": "xnli", "max_train_examples": cap, "max_dev_examples": 1000}}
    (run / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    (run / "status.json").write_text(json.dumps({"status": "evaluated"}), encoding="utf-8")
    return run


def clean_study(root):
    for seed in (1, 2):
        write_run(root, f"pt-s{seed}", seed=seed)
        write_run(root, f"ft-s{seed}", method="full_finetune", seed=seed)
    return root


def audit(capsys, *argv):
    code = main(["audit", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def test_strict_exit_codes(tmp_path, capsys):
    root = clean_study(tmp_path / "clean")
    assert audit(capsys, root, "--strict") == (0, f"audit: 4 runs under {root}: no protocol risk found\n", "")
    write_run(tmp_path / "capped", "pt-s1", cap=2000)
    code, out, _ = audit(capsys, tmp_path / "capped", "--strict")
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == f"audit: 1 run under {tmp_path / 'capped'}: 2 protocol risks"
    assert lines[1] == ("  caps: data.max_train_examples=2000: training on a seeded sample (2,000 of 392,702 train "
                        "rows, seed 0, stratified by label) in 1 run (pt-s1)")
    assert lines[2].startswith("  seeds: xnli: 1 seed per system")
    assert audit(capsys, tmp_path / "capped")[0] == 0  # without --strict, risks are information


def test_json_lists_every_run(tmp_path, capsys):
    for seed in range(1, 8):
        write_run(tmp_path, f"run{seed}", seed=seed, cap=500)
    code, out, _ = audit(capsys, tmp_path, "--json", "--strict")
    assert code == 1
    data = json.loads(out)
    assert data["runs"] == 7 and data["folders"] == [str(tmp_path)]
    assert data["risks"] == [{"kind": "caps", "runs": [f"run{s}" for s in range(1, 8)], "message":
                              "data.max_train_examples=500: training on a seeded sample (500 of 392,702 train rows, "
                              "seed 0, stratified by label)"}]


def test_several_folders(tmp_path, capsys):
    clean_study(tmp_path / "a")
    write_run(tmp_path / "b", "one-label", seed=3, counts={"entailment": 2000})
    code, out, _ = audit(capsys, tmp_path / "a", tmp_path / "b", "--json")
    risks = json.loads(out)["risks"]
    assert code == 0 and json.loads(out)["runs"] == 5
    assert {"kind": "labels", "message": "one-label training: every training example is 'entailment'",
            "runs": ["one-label"]} in risks


def test_help_names_every_kind_of_risk(capsys):
    from xlpt.reporting.audit import KINDS

    with pytest.raises(SystemExit) as exit_:
        main(["audit", "--help"])
    assert exit_.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for kind in KINDS:
        assert f"{kind} (" in text, kind
    for option in ("--strict", "--json", "--split", "RUNS"):
        assert option in text


@pytest.mark.parametrize("case", ["missing", "empty", "not-json", "not-object", "damaged-summary", "a-file"])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, case):
    clean_study(tmp_path / "runs")
    target, expected = tmp_path / "runs", None
    if case == "missing":
        target, expected = tmp_path / "nope", f"xlpt: error: {tmp_path / 'nope'}: no such folder"
    elif case == "a-file":
        target = tmp_path / "runs" / "pt-s1" / "results.json"
        expected = f"xlpt: error: {target}: not a folder"
    elif case == "empty":
        (tmp_path / "empty").mkdir()
        target = tmp_path / "empty"
        expected = f"xlpt: error: {target}: no run directories in it"
    elif case == "not-json":
        (tmp_path / "runs" / "pt-s2" / "results.json").write_text("{\"task\": ", encoding="utf-8")
        expected = f"xlpt: error: {tmp_path / 'runs' / 'pt-s2' / 'results.json'}: not valid JSON (line 1"
    elif case == "not-object":
        (tmp_path / "runs" / "ft-s1" / "results.json").write_text("[1, 2]", encoding="utf-8")
        expected = f"xlpt: error: {tmp_path / 'runs' / 'ft-s1' / 'results.json'}: top level is list"
    elif case == "damaged-summary":
        (tmp_path / "runs" / "ft-s2" / "train_summary.json").write_bytes(b"\xff\xfe\x00garbage")
        expected = f"xlpt: error: {tmp_path / 'runs' / 'ft-s2' / 'train_summary.json'}: cannot be read"
    if case in ("missing", "empty", "not-json"):  # a fresh process: the user's view, exit status, no traceback
        done = subprocess.run([sys.executable, "-m", "xlpt", "audit", str(target), "--strict"], capture_output=True,
                              text=True, timeout=120)
        code, out, err = done.returncode, done.stdout, done.stderr
    else:
        code, out, err = audit(capsys, target, "--strict")
    assert code == 2, err
    assert out == "" and "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(expected), lines


@pytest.mark.slow
def test_a_real_capped_run_is_listed_with_its_sample(tmp_path, tiny_model_dir, data_dir, capsys):
    """Train the tiny model on the real XNLI files with every cap, then audit the run folder."""
    run = tmp_path / "runs" / "xnli-pt"
    assert main(["train", "--task", "xnli", "--model", str(tiny_model_dir), "--data-dir", str(data_dir), "--out",
                 str(run), "--quiet", "--evaluate", "data.max_train_examples=200", "data.max_dev_examples=40",
                 "data.max_eval_examples=30", "data.eval_languages=en,de,sw", "train.max_steps=4",
                 "train.eval_every=2", "train.batch_size=8"]) == 0
    capsys.readouterr()
    summary = json.loads((run / "train_summary.json").read_text())
    code, out, _ = audit(capsys, tmp_path / "runs", "--json", "--strict")
    assert code == 1
    messages = {risk["message"]: risk["runs"] for risk in json.loads(out)["risks"]}
    assert all(runs == ["xnli-pt"] for runs in messages.values())
    train = summary["samples"]["train"]  # the draw training recorded: the audit states it, not a guess
    assert (f"data.max_train_examples=200: training on a seeded sample ({train['n']:,} of {train['of']:,} train "
            f"rows, seed 0, stratified by label)") in messages
    assert f"data.max_dev_examples=40: checkpoints selected on a small seeded sample (40 of " \
           f"{summary['samples']['dev']['of']:,} dev rows, seed 0, stratified by label)" in messages
    assert "xnli evaluation capped at 30 examples per language: a seeded sample (seed 0) in en, de, sw; not " \
           "comparable with full-test-set numbers" in messages
    # stratified: all three labels were trained on, so no label risk (the first 200 rows are one label)
    assert sorted(summary["train_label_counts"]) == ["contradiction", "entailment", "neutral"]
    assert not [m for m in messages if m.startswith(("one-label", "starved", "labels of"))]
    assert any(m.startswith("pipeline-check model") for m in messages)
    assert any(m.startswith("xnli: a run's languages scored on different splits") and "dev: sw" in m
               for m in messages)  # sw has no test file in the shared data
