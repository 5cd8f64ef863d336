"""Every table says which split each language was scored on and marks capped evaluations (n of
n_available); the intro lists dev substitutes, caps and skipped languages; older files still work."""

from __future__ import annotations

import csv

from xlpt.reporting import ReportOptions, build_report
from xlpt.reporting.collect import collect_runs
from xlpt.reporting.coverage import count_text, language_coverage

EVALUATION = {"split": "test", "languages": "all", "limit": 200, "key": "test:all:200"}
SCORES_PT = {"en": 0.62, "de": 0.55, "th": 0.51}
SCORES_FT = {"en": 0.70, "de": 0.50, "th": 0.49}


def _capped_runs(runs):
    top = {"evaluation": EVALUATION, "skipped_languages": {"bg": "asked to skip (--skip-languages bg)"}}
    available = {"en": 2000, "de": 2000, "th": 200}  # th: scored on its whole (dev) split
    for method, scores in (("prompt_tuning", SCORES_PT), ("full_finetune", SCORES_FT)):
        runs.write(method, method=method, scores=scores, dev_langs=("th",), n_available=available, top=top)


def _report(runs, tmp_path):
    return build_report(runs.root, tmp_path / "out", options=ReportOptions(paired_resamples=200))


def test_tables_show_split_and_caps_per_language(runs, tmp_path, md_table):
    _capped_runs(runs)
    report = _report(runs, tmp_path)
    markdown = report.markdown_path.read_text()
    header, rows = md_table(markdown, "xnli: accuracy (%) per language, 1 seed per system (no std)")
    assert header[:3] == ["Language", "Split", "Examples"]
    shown = {row[0][0]: (row[1][0], row[2][0]) for row in rows[:3]}
    assert shown == {"en": ("test", "200 of 2,000 (capped)"), "de": ("test", "200 of 2,000 (capped)"),
                     "th†": ("dev", "200")}
    assert "Examples: capped evaluations show n of n_available" in markdown
    _, gap_rows = md_table(markdown, "xnli: prompt tuning − full fine-tuning, percentage points")
    assert {row[0][0]: row[1][0] for row in gap_rows[:3]} == {"en": "test", "de": "test", "th": "dev"}
    # No table title claims one split for every language.
    assert "split test" not in markdown and "(split: test)" not in markdown
    with open(report.out_dir / "tables" / "xnli.csv", newline="") as handle:
        wide = {row["language"]: row for row in csv.DictReader(handle)}
    assert (wide["en"]["split"], wide["en"]["examples"]) == ("test", "200 of 2,000 (capped)")
    with open(report.out_dir / "results_long.csv", newline="") as handle:
        long_rows = {(row["method"], row["language"]): row for row in csv.DictReader(handle)}
    assert (long_rows[("prompt_tuning", "de")]["n_available"], long_rows[("prompt_tuning", "de")]["capped"]) == (
        "2000", "True")
    assert long_rows[("full_finetune", "th")]["capped"] == "False"


def test_intro_lists_caps_dev_substitutes_and_skipped_languages(runs, tmp_path, md_table):
    _capped_runs(runs)
    markdown = _report(runs, tmp_path).markdown_path.read_text()
    assert "- xnli: 1 of 3 languages not (only) scored on test: th (dev)." in markdown
    assert ("- xnli: CAPPED evaluation (limit 200 per language): 2 of 3 languages scored on a subset of their split "
            "(de, en); not comparable to full-split numbers.") in markdown
    assert "- xnli: languages skipped on request: bg: asked to skip (--skip-languages bg)." in markdown
    _, runs_rows = md_table(markdown, "Runs per task and method")
    assert {row[5][0] for row in runs_rows} == {"test, all languages, at most 200 per language"}


def test_runs_that_disagree_are_shown_as_such(runs, tmp_path, md_table):
    runs.write("pt", scores=SCORES_PT, n=200, n_available=2000, dev_langs=("th",))
    runs.write("ft", method="full_finetune", scores=SCORES_FT, n=2000, n_available=2000)
    markdown = _report(runs, tmp_path).markdown_path.read_text()
    _, rows = md_table(markdown, "xnli: accuracy (%) per language, 1 seed per system (no std)")
    shown = {row[0][0]: (row[1][0], row[2][0]) for row in rows[:3]}
    assert shown["en"] == ("test", "varies: 200–2,000 (capped in some runs)")
    assert shown["th†"] == ("dev, test", "varies: 200–2,000 (capped in some runs)")


def test_older_results_read_the_cap_from_the_stored_config(runs, tmp_path, md_table):
    # Before n_available existed: a limit in config.data.max_eval_examples that n reached may be a cap.
    runs.write("pt", scores=SCORES_PT, top={"config": {"data": {"max_eval_examples": 200, "eval_languages": "all"}}})
    runs.write("ft", method="full_finetune", scores=SCORES_FT, n=150,
               top={"config": {"data": {"max_eval_examples": 200, "eval_languages": "de,en,th"}}})
    (pt, ft) = sorted(collect_runs(runs.root).runs, key=lambda r: r.method, reverse=True)
    assert pt.evaluation.limit == 200 and pt.evaluation.inferred and pt.lang_capped["de"] is None
    assert ft.lang_capped["de"] is False and ft.evaluation.languages == ("de", "en", "th")
    markdown = _report(runs, tmp_path).markdown_path.read_text()
    assert "may be capped" in markdown
    _, runs_rows = md_table(markdown, "Runs per task and method")
    assert {row[1][0]: row[5][0] for row in runs_rows} == {
        "Prompt tuning": "test, all languages, at most 200 per language (from the stored config)",
        "Full FT": "test, 3 languages (de, en, th), at most 200 per language (from the stored config)",
    }
    assert "some runs were evaluated on a language subset only (de, en, th)" in markdown


def test_count_text():
    assert count_text(200, 2000, True) == "200 of 2,000 (capped)"
    assert count_text(200, 2000, True, sep=",") == "200 of 2,000, capped"
    assert count_text(2000, 2000, False) == "2,000"
    assert count_text(200, None, None) == "200 (limit reached: may be capped)"
    assert count_text(None, None, False) == "?"


def test_coverage_of_plain_older_results(runs):
    runs.write("pt", scores={"en": 0.6, "de": 0.5}, dev_langs=("de",))
    coverage = language_coverage(collect_runs(runs.root).runs)
    assert coverage["de"].split_text == "dev" and coverage["de"].examples_text() == "200"
    assert coverage["en"].capped is False


def test_bar_labels_mark_languages_scored_on_another_split(runs):
    import matplotlib

    matplotlib.use("Agg")
    from xlpt.reporting.aggregate import build_task_tables
    from xlpt.reporting.plots import bars_figure

    runs.write("pt", scores={"en": 0.6, "th": 0.5}, dev_langs=("th",))
    (table,) = build_task_tables(collect_runs(runs.root).runs)
    figure = bars_figure(table)
    assert [label.get_text() for label in figure.axes[0].get_xticklabels()] == ["en", "th†"]
    assert figure.get_suptitle() == ""  # not a pipeline check
