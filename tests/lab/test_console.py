"""`xlpt lab`'s console as a new user sees it, from a real subprocess with stdout to a file: a summary per
stage that fits one screen, the synthetic-languages notice once, the pretraining as a dev *loss*, the
detail in lab.log (one line each, no carriage returns), "pretrained"/"control" in full, failed study runs
counted with exit status 1 and the lab spec key to change named."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from tests.lab.test_pipeline import SPEC

pytestmark = pytest.mark.slow

STUDY = {"seeds": [1, 2], "models": ["pretrained"], "eval_every": 2, "max_dev_examples": 20, "max_length": 64,
         "methods": {"prompt_tuning": {"learning_rate": 0.3, "steps": 4, "settings": {"method.prompt_length": 4}},
                     "full_finetune": {"learning_rate": 1.0e12, "steps": 4}}}
"""Prompt tuning trains; full fine-tuning at an absurd rate diverges, in both seeds."""


@pytest.fixture(scope="module")
def lab_console(tmp_path_factory):
    root = tmp_path_factory.mktemp("lab-console")
    spec = root / "lab.yaml"
    spec.write_text(yaml.safe_dump({**SPEC, "name": "console_test", "study": STUDY}), encoding="utf-8")
    out, err = root / "stdout.txt", root / "stderr.txt"
    with out.open("w") as stdout, err.open("w") as stderr:
        done = subprocess.run([sys.executable, "-m", "xlpt", "lab", "--spec", str(spec), "--out", str(root / "out"),
                               "--device", "cpu", "--threads", "1", "--no-xlpt-report"],
                              stdout=stdout, stderr=stderr, timeout=600)
    return done.returncode, out.read_text(encoding="utf-8"), err.read_text(encoding="utf-8"), root / "out"


def test_the_console_is_one_screen_with_the_notice_once(lab_console):
    _, out, err, _ = lab_console
    assert len(out.splitlines()) <= 80, out
    assert out.count("SYNTHETIC LANGUAGES") == 1
    assert "\r" not in out + err  # no progress bar off a terminal
    assert "Traceback" not in err


def test_the_log_file_has_the_detail_one_line_each(lab_console):
    _, out, _, root = lab_console
    (log,) = root.glob("lab-*/lab.log")
    text = log.read_text(encoding="utf-8")
    assert "\r" not in text
    assert "step 4" in text or "step 2" in text  # the training detail went to the file
    assert f"log: {log}" in out


def test_pretraining_is_a_dev_loss_never_a_negative_score(lab_console):
    _, out, _, root = lab_console
    (log,) = root.glob("lab-*/lab.log")
    for text in (out, log.read_text(encoding="utf-8")):
        assert "dev score -" not in text
    assert "dev loss" in out and "perplexity" in out


def test_pretrained_and_control_are_said_in_full(lab_console):
    _, out, _, _ = lab_console
    assert "(pre)" not in out and "(ctrl)" not in out
    assert "pretrained" in out and "control" in out


def test_failed_study_runs_exit_1_and_name_the_lab_spec_key(lab_console):
    code, out, _, _ = lab_console
    assert code == 1
    assert "2 of 4 study runs failed" in out
    assert "study.methods.full_finetune.learning_rate" in out
    assert "train.learning_rate" not in out


def test_lab_files_are_read_with_the_projects_yaml_reader(lab_console, tmp_path):
    """The study's sweep.yaml and the lab's task YAMLs go through xlpt.schema.load_yaml: a broken file is one
    ConfigError naming file:line, not a PyYAML traceback."""
    import shutil

    from xlpt.errors import ConfigError
    from xlpt.lab.pipeline import Lab
    from xlpt.lab.spec import spec_from_dict
    from xlpt.lab.study import Study

    _, _, _, root = lab_console
    (folder,) = root.glob("lab-*")
    copy = tmp_path / "out" / folder.name
    shutil.copytree(folder, copy, ignore=shutil.ignore_patterns("study-*", "pretraining-run"))
    lab = Lab(spec_from_dict({**SPEC, "name": "console_test", "study": STUDY}, "test"), tmp_path / "out")
    assert lab.root == copy
    task_file = lab.tasks_dir / "lab_nli.yaml"
    original = task_file.read_text(encoding="utf-8")
    task_file.write_text(original + "labels: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"lab_nli\.yaml:\d+"):
        lab.label_words()
    task_file.write_text(original, encoding="utf-8")
    study = Study(lab, device="cpu")
    study.write_sweep()
    study.sweep_path.write_text(study.sweep_path.read_text(encoding="utf-8") + "sweep: {grid: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"sweep\.yaml:\d+"):
        study.plan()


def test_a_study_whose_every_run_failed_is_reported_not_a_traceback(lab_console):
    import json

    from xlpt.lab.report import build, markdown

    _, _, _, root = lab_console
    (study_dir,) = root.glob("lab-*/study-*")
    (lab_dir,) = root.glob("lab-*")
    record = json.loads((study_dir / "study.json").read_text(encoding="utf-8"))
    for run in record["runs"]:
        run.update(scores=None, error="DIVERGED: the loss became nan\nsecond line | with a pipe")
    report = build(record, json.loads((lab_dir / "lab.json").read_text(encoding="utf-8")))
    assert report["tasks"] == {} and len(report["runs"]["failed"]) == 4
    text = markdown(report | {"commands": {}}, {})
    json.dumps(report, allow_nan=False)  # report.json is written with allow_nan=False
    failed_lines = [line for line in text.splitlines() if line.startswith("- ") and "DIVERGED" in line]
    assert len(failed_lines) == 4 and all("second line" not in line for line in failed_lines)


def test_study_run_errors_name_lab_spec_keys():
    from xlpt.lab.study import lab_terms

    text = ("data.max_length=128 + method.prompt_length=20 = 148 positions; lower one of them "
            "(train.learning_rate=0.3, train.max_steps=300, model.name=x)")
    said = lab_terms(text, "prompt_tuning")
    assert "study.max_length=128" in said
    assert "study.methods.prompt_tuning.settings[method.prompt_length]=20" in said
    assert "study.methods.prompt_tuning.learning_rate=0.3" in said and "study.methods.prompt_tuning.steps=300" in said
    assert "train." not in said and "data." not in said
