"""Text from runs (errors, task names, languages) never breaks a report table: one line per cell, pipes and
backticks escaped, long text truncated; a failed run's full error is pointed to, not pasted."""

from __future__ import annotations

import json

from xlpt.reporting import build_report
from xlpt.reporting.tables import ERROR_LIMIT, Cell, Table, cell_text, to_markdown

ERROR = "OSError: We couldn't connect to 'https://huggingface.co'\nRetrying in 8s | attempt 2\n`offline`\n" * 3


def _rows(markdown: str) -> list[str]:
    return [line for line in markdown.splitlines() if line.startswith("|")]


def _columns(row: str) -> int:
    """Cells of a Markdown row, escaped pipes (\\|) not counted as separators."""
    return row.replace("\\|", "").count("|") - 1


def test_a_multiline_cell_is_one_escaped_line():
    table = Table("t", ["Run", "Reason"])
    table.add_row(["a", ERROR])
    table.add_row([Cell("b`|c", bold=True), cell_text("x" * 500, ERROR_LIMIT)])
    rows = _rows(to_markdown(table))
    assert len(rows) == 4
    assert {_columns(row) for row in rows} == {2}
    assert "Retrying" not in rows[2] and "couldn't connect" in rows[2]
    assert "\\`" in rows[3] and len(rows[3]) < 300


def test_cell_text_first_line_and_truncation():
    assert cell_text("one\ntwo\nthree") == "one … (+2 lines)"
    assert cell_text("  \n\nfirst real line\nmore") == "first real line … (+1 line)"
    assert len(cell_text("y" * 1000, ERROR_LIMIT)) <= ERROR_LIMIT
    assert cell_text("z" * 1000) == "z" * 1000  # numbers and language lists are never cut
    assert cell_text("tab\there\r") == "tab here"


def test_a_failed_runs_multiline_error_keeps_the_report_tables_whole(runs, tmp_path):
    runs.write("ok", scores={"en": 0.8, "de": 0.6})
    failed = runs.root / "failed"
    failed.mkdir()
    (failed / "status.json").write_text(json.dumps({"status": "failed", "error": ERROR}), encoding="utf-8")
    (failed / "config.yaml").write_text("method:\n  name: lora\n", encoding="utf-8")
    markdown = build_report(runs.root, tmp_path / "report").markdown_path.read_text(encoding="utf-8")
    lines = markdown.splitlines()
    for index, line in enumerate(lines):  # every table row has its header's number of cells
        if line.startswith("|") and (index == 0 or not lines[index - 1].startswith("|")):
            width = _columns(line)
            body = []
            for row in lines[index:]:
                if not row.startswith("|"):
                    break
                body.append(row)
            assert {_columns(row) for row in body} == {width}, body
    problem = next(line for line in lines if line.startswith("| incomplete"))
    assert "failed/status.json" in problem
    assert "Retrying" not in markdown


def test_a_results_json_that_is_a_folder_is_listed_not_dropped(runs, tmp_path):
    from xlpt.reporting.collect import collect_runs

    runs.write("ok", scores={"en": 0.8})
    (runs.root / "odd" / "results.json").mkdir(parents=True)
    collection = collect_runs(runs.root)
    assert [p.path.name for p in collection.incomplete] == ["odd"]
