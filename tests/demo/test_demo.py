"""`xlpt demo`: the README's main command works end to end without ../shared: by default the lab's tiny
study, whose finding holds with its intervals; `--what pipeline` the pipeline check with the full report."""

import json

import pytest

from xlpt.cli import main


@pytest.mark.slow
def test_default_demo_is_the_lab_study_and_its_finding_holds(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--quiet"]) == 0
    out = capsys.readouterr().out
    report = json.loads(next((tmp_path / "lab").glob("lab-*/study-*/report.json")).read_text())
    topic = report["tasks"]["lab_topic"]
    for method in ("full_finetune", "prompt_tuning"):
        # transfer to the pretrained same-order language far above the no-pretraining control, by the interval
        assert topic["over_control"]["greek"][method]["low"] > 0.1
        # and none to the language left out of pretraining: its interval covers 0
        unseen = topic["over_control"]["unseen"][method]
        assert unseen["low"] < 0 < unseen["high"]
    assert "greek, full_finetune: pretrained minus no-pretraining control is above 0" in out
    assert "--what pipeline" in out
    # one screen: a line per stage and run, the notice once, the tables; the detail is in lab.log
    assert len(out.splitlines()) <= 80 and out.count("SYNTHETIC LANGUAGES") == 1
    assert "\r" not in next((tmp_path / "lab").glob("lab-*/lab.log")).read_text(encoding="utf-8")


def test_pipeline_demo_trains_both_methods_and_writes_the_report(tmp_path, capsys):
    assert main(["demo", "--what", "pipeline", "--out", str(tmp_path), "--steps", "60", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "prompt_tuning" in out and "full_finetune" in out and "avg-src" in out
    assert len(out.splitlines()) <= 80 and "\r" not in out
    results = {m: json.loads((tmp_path / "runs" / m / "results.json").read_text())
               for m in ("prompt_tuning", "full_finetune")}
    for res in results.values():
        assert set(res["languages"]) == {"en", "de", "es", "fr", "ja", "ko", "zh"}
        assert res["languages"]["en"]["split"] == "test"
    assert results["prompt_tuning"]["trainable_params"] < results["full_finetune"]["trainable_params"] / 50
    report = (tmp_path / "report" / "report.md").read_text()
    en_ft = 100 * results["full_finetune"]["languages"]["en"]["accuracy"]
    assert f"{en_ft:.1f}" in report
    assert (tmp_path / "report" / "report.html").stat().st_size > 10_000
    assert (tmp_path / "report" / "bars_pawsx.png").exists()
