"""The source language is the run's own everywhere in reporting: averages "without source", the row
order, the significance family, the bold marks, the console and the CSVs. Expected numbers are
recomputed here from the results.json files with `statistics`."""

from __future__ import annotations

import csv
import json
import statistics

import pytest

from xlpt.reporting import ReportOptions, build_report
from xlpt.reporting.console import comparison_table, print_results

SIB = ("eng_Latn", "deu_Latn", "fra_Latn", "swh_Latn", "yor_Latn")
XNLI = ("en", "de", "fr", "sw", "zh")


def _write_pair(runs, langs, source, big: str, seeds=(1, 2, 3), task="xnli", **kwargs):
    """PT and FT with `seeds` seeds; PT is +30 pp on `big` (the training language in these tests) and +0 elsewhere,
    except +25 pp on the last language (a target that must be marked)."""
    for seed in seeds:
        pt = {lang: 0.5 + (0.3 if lang == big else 0.25 if lang == langs[-1] else 0.0) for lang in langs}
        runs.write(f"{task}/pt-{seed}", task=task, seed=seed, scores=pt, source=source, **kwargs)
        runs.write(f"{task}/ft-{seed}", task=task, seed=seed, method="full_finetune", scores=dict.fromkeys(langs, 0.5),
                   source=source, **kwargs)


def _results(root):
    return [json.loads(p.read_text()) for p in sorted(root.rglob("results.json"))]


def _gaps(report) -> dict[str, dict]:
    with open(report.out_dir / "tables" / "gaps.csv", newline="") as handle:
        return {row["language"]: row for row in csv.DictReader(handle)}


def _check(report, md_table, task: str, source: str, langs, expected_marked: set[str]):
    markdown = report.markdown_path.read_text()
    header, rows = md_table(markdown, f"{task}: accuracy (%) per language, mean ± std over seeds")
    assert rows[0][0][0] == source  # the training language first
    label = f"Average w/o source ({source})"
    average = next(r for r in rows if r[0][0] == label)
    for column, method in ((3, "prompt_tuning"), (4, "full_finetune")):
        per_seed = [statistics.mean(r["languages"][lang]["accuracy"] for lang in langs if lang != source)
                    for r in _results(report.collection.runs[0].path.parent) if r["method"] == method]
        assert abs(float(average[column][0].split(" ± ")[0]) - 100 * statistics.mean(per_seed)) <= 0.05 + 1e-9
        # the runs' own field agrees with the report's row
        stored = [r["average_without_source"] for r in _results(report.collection.runs[0].path.parent)
                  if r["method"] == method]
        assert statistics.mean(stored) == pytest.approx(statistics.mean(per_seed))
    gaps = _gaps(report)
    assert gaps[source]["p_adjusted"] == "" and gaps[source]["significant"] == "False"
    assert gaps[source]["is_source"] == "True"
    family = [lang for lang in langs if lang != source]
    assert {lang for lang in family if gaps[lang]["p_adjusted"] != ""} == set(family)
    assert f"Holm correction over the family of {len(family)} target languages" in markdown
    _, gap_rows = md_table(markdown, f"{task}: prompt tuning − full fine-tuning, percentage points")
    bold = {row[0][0] for row in gap_rows if row[2][1]}
    assert bold == expected_marked and source not in bold
    assert f"{source}: training language; tested, but outside the family and never marked." in markdown
    _, gap_rows = md_table(markdown, f"{task}: prompt tuning − full fine-tuning, percentage points")
    assert any(row[0][0] == label for row in gap_rows)


def test_a_user_task_trained_on_eng_latn(runs, tmp_path, md_table):
    """SIB-200 style FLORES codes: eng_Latn is the source; +30 pp there is never marked."""
    _write_pair(runs, SIB, "eng_Latn", big="eng_Latn", task="mytask")
    report = build_report(runs.root, tmp_path / "out", options=ReportOptions())
    _check(report, md_table, "mytask", "eng_Latn", SIB, {"yor_Latn"})


def test_xnli_trained_on_german(runs, tmp_path, md_table):
    """data.train_lang=de: de leaves every average and the family, en becomes a target like any other."""
    _write_pair(runs, XNLI, "de", big="de")
    report = build_report(runs.root, tmp_path / "out", options=ReportOptions())
    _check(report, md_table, "xnli", "de", XNLI, {"zh"})
    assert "en" in {row.lang for c in report.comparisons for row in c.family()}


def test_older_results_take_the_source_from_the_stored_config(runs, tmp_path, md_table):
    """results.json without `source_language` (nor average_without_source): config data.train_lang decides."""
    _write_pair(runs, XNLI, None, big="de", top={"config": {"data": {"train_lang": "de"}}})
    report = build_report(runs.root, tmp_path / "out", options=ReportOptions())
    assert {run.source_language for run in report.collection.runs} == {"de"}
    gaps = _gaps(report)
    assert gaps["de"]["p_adjusted"] == "" and gaps["en"]["p_adjusted"] != ""
    header, rows = md_table(report.markdown_path.read_text(), "xnli: accuracy (%) per language, mean ± std over seeds")
    assert [row[0][0] for row in rows][-1] == "Average w/o source (de)"


def test_runs_trained_on_different_languages_are_different_columns(runs, tmp_path):
    for seed in (1, 2):
        runs.write(f"en-{seed}", seed=seed, scores=dict.fromkeys(XNLI, 0.6), source="en")
        runs.write(f"de-{seed}", seed=seed, scores=dict.fromkeys(XNLI, 0.4), source="de")
    report = build_report(runs.root, tmp_path / "out", options=ReportOptions())
    [table] = report.tables
    assert sorted(table.labels.values()) == ["Prompt tuning (src=de)", "Prompt tuning (src=en)"]
    assert {s.n for s in table.cells.values()} == {2}  # never pooled as 4 seeds


def test_console_names_the_source_and_reads_older_results(runs, capsys):
    new = runs.write("pt", scores={"en": 0.6, "de": 0.9, "fr": 0.5}, source="de")
    print_results(new)
    out = capsys.readouterr().out
    assert f"{100 * statistics.mean([new['languages'][l]['accuracy'] for l in ('en', 'fr')]):6.2f}" \
           "  (average without the source language, de)" in out
    old = runs.write("old", scores={"en": 0.6, "de": 0.9})
    print_results(old)
    assert f"{100 * old['average_without_en']:6.2f}  (average without the source language, en)" in capsys.readouterr().out
    table = comparison_table({"prompt_tuning": new, "full_finetune": runs.write(
        "ft", method="full_finetune", scores={"en": 0.7, "de": 0.95, "fr": 0.4}, source="de")})
    assert "avg-src: average without the source language (de)" in table
    avg = next(line for line in table.splitlines() if line.split()[0] == "avg-src")
    assert f"{100 * new['average_without_source']:.2f}" in avg


def test_a_source_that_was_not_evaluated_leaves_every_language_a_target(runs, tmp_path, md_table):
    langs = ("en", "fr", "sw", "zh")
    _write_pair(runs, langs, "de", big="de", seeds=(1, 2))  # de trained on, not scored
    report = build_report(runs.root, tmp_path / "out", options=ReportOptions())
    [comparison] = report.comparisons
    assert [row.lang for row in comparison.family()] == list(langs)
    header, rows = md_table(report.markdown_path.read_text(), "xnli: accuracy (%) per language, mean ± std over seeds")
    by_name = {row[0][0]: [cell for cell, _ in row[3:]] for row in rows}
    assert by_name["Average w/o source (de)"] == by_name["Average"]  # nothing to leave out
    assert [row[0][0] for row in rows][:4] == ["en", "fr", "sw", "zh"]
