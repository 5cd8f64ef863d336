"""Results of a run evaluated with `--allow-unfinished` (results.json `unfinished`) are never shown as
normal results: the report lists them apart and the audit names them as a protocol risk."""

from __future__ import annotations

from xlpt.reporting import build_report
from xlpt.reporting.audit import audit_folders
from xlpt.reporting.collect import collect_runs

UNFINISHED = {"unfinished": {"state": "diverged", "checkpoint_step": 120}}


def test_unfinished_results_are_kept_out_of_the_tables(runs, tmp_path):
    runs.write("done", scores={"en": 0.8, "de": 0.6})
    runs.write("early", seed=2, scores={"en": 0.99, "de": 0.99}, top=UNFINISHED)
    collection = collect_runs(runs.root)
    assert [r.path.name for r in collection.runs] == ["done"]
    assert [r.path.name for r in collection.unfinished] == ["early"]
    markdown = build_report(runs.root, tmp_path / "report").markdown_path.read_text(encoding="utf-8")
    assert "99.0" not in markdown
    row = next(line for line in markdown.splitlines() if line.startswith("| unfinished"))
    assert "early" in row and "diverged" in row and "120" in row


def test_the_audit_names_unfinished_results_as_a_risk(runs):
    runs.write("early", scores={"en": 0.9, "de": 0.7}, top=UNFINISHED)
    risks = audit_folders([runs.root]).risks
    assert any(r.kind == "status" and "--allow-unfinished" in r.message and "early" in r.runs for r in risks)


def test_a_malformed_unfinished_value_still_marks_the_run(runs):
    runs.write("odd", scores={"en": 0.9}, top={"unfinished": "yes"})
    assert [r.path.name for r in collect_runs(runs.root).unfinished] == ["odd"]
