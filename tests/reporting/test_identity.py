"""The report's identity of a run is its whole resolved config less the seed: runs that differ in any other
key (here LoRA's rank) are separate columns, labelled by how they differ, never dropped as duplicates."""

from __future__ import annotations

from xlpt.reporting.aggregate import build_task_tables
from xlpt.reporting.collect import collect_runs


def test_runs_differing_only_in_lora_rank_are_two_labelled_columns(lora_rank_runs, tmp_path):
    collection = collect_runs(lora_rank_runs)
    assert [p.reason for p in collection.skipped] == []
    assert len(collection.runs) == 2
    (table,) = build_task_tables(collection.runs)
    labels = sorted(table.labels.values())
    assert len(labels) == 2 and labels[0] != labels[1]
    assert any("r=2" in label for label in labels) and any("r=4" in label for label in labels)
    assert table.varies == ["method.lora_r"]


def test_the_report_names_what_varies(lora_rank_runs, tmp_path):
    from xlpt.reporting import build_report

    built = build_report(lora_rank_runs, tmp_path / "report")
    markdown = built.markdown_path.read_text(encoding="utf-8")
    assert "duplicate" not in markdown
    assert "varies: method.lora_r" in markdown
