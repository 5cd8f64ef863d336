"""`xlpt demo`: the README's main command works end to end without ../shared and writes the report."""

import json

from xlpt.cli import main


def test_demo_trains_both_methods_and_writes_the_report(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--steps", "60", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "prompt_tuning" in out and "full_finetune" in out and "avg-en" in out
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
