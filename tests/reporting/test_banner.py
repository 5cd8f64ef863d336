"""Pipeline-check runs: the banner opens report.md / report.html, names the runs and models, and every
table, caption, CSV and figure built from their numbers says so; ordinary runs get no banner."""

from __future__ import annotations

import csv
import json
from html.parser import HTMLParser

import matplotlib

matplotlib.use("Agg")
import pytest  # noqa: E402

from xlpt.reporting import ReportOptions, build_report  # noqa: E402
from xlpt.reporting.aggregate import build_task_tables  # noqa: E402
from xlpt.reporting.banner import SHORT, TITLE  # noqa: E402
from xlpt.reporting.collect import collect_runs  # noqa: E402
from xlpt.reporting.plots import bars_figure  # noqa: E402

NOTICE = ("PIPELINE CHECK, NOT A FINDING: runs/tiny-xglm is a random 104,256-parameter XGLM (2 layers, d=64) with a "
          "tokenizer trained on a small corpus (made by `xlpt model tiny`); its numbers test that the pipeline works "
          "and say nothing about the research question.")
LANGS = ("en", "de", "fr", "sw")


def _check(runs, task="pawsx", model="runs/tiny-xglm", notices=(NOTICE,)):
    top = {"pipeline_check": True, "notices": list(notices)}
    for seed in (1,):
        runs.write(f"{task}/pt-s{seed}", task=task, seed=seed, model=model, top=top,
                   scores={"en": 0.61, "de": 0.55, "fr": 0.52, "sw": 0.50})
        runs.write(f"{task}/ft-s{seed}", task=task, method="full_finetune", seed=seed, model=model, top=top,
                   scores={"en": 0.66, "de": 0.50, "fr": 0.53, "sw": 0.47})


def _md_tables(markdown: str) -> dict[str, list[str]]:
    """Title -> the lines of its table block (rows and footnotes)."""
    tables, current = {}, None
    for line in markdown.splitlines():
        if line.startswith("*") and line.endswith("*") and not line.startswith("**"):
            current = line.strip("*")
            tables[current] = []
        elif current is not None:
            if line.startswith("#") or line.startswith("!["):
                current = None
            else:
                tables[current].append(line)
    return tables


class _Banner(HTMLParser):
    def __init__(self):
        super().__init__()
        self.events, self._in_banner, self.text = [], False, ""

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "div" and attrs.get("class") == "banner":
            self._in_banner = True
            self.events.append(("banner", attrs.get("role")))
        elif tag == "table":
            self.events.append(("table", None))

    def handle_endtag(self, tag):
        if tag == "div":
            self._in_banner = False

    def handle_data(self, data):
        if self._in_banner:
            self.text += data


def test_report_opens_with_the_banner_and_every_table_carries_it(runs, tmp_path):
    _check(runs)
    report = build_report(runs.root, tmp_path / "out", options=ReportOptions(paired_resamples=200))
    markdown = report.markdown_path.read_text()
    lines = markdown.splitlines()
    assert lines[:4] == ["# xlpt report", "", f"> **{TITLE}**", ">"]
    assert lines[4] == f"> - {NOTICE}"  # verbatim from results.json
    assert lines[5] == "> - Pipeline-check model runs/tiny-xglm: 2 run(s): pawsx/ft-s1, pawsx/pt-s1."
    tables = _md_tables(markdown)
    for title in ("Runs per task and method", "pawsx: accuracy (%) per language, 1 seed per system (no std)",
                  "pawsx: prompt tuning − full fine-tuning, percentage points"):
        assert f"{SHORT}  " in tables[title], title
    assert "| tiny-xglm (pipeline check) |" in "\n".join(tables["Runs per task and method"])
    gap_notes = "\n".join(tables["pawsx: prompt tuning − full fine-tuning, percentage points"])
    assert "PIPELINE CHECK, NOT A FINDING — pawsx · Prompt tuning − Full FT:" in gap_notes
    # The LaTeX a paper would copy carries it in the caption.
    tex = (report.out_dir / "tables" / "pawsx.tex").read_text()
    assert tex.count(r"\caption{") == 2 and all(
        "PIPELINE CHECK, NOT A FINDING" in part.split("}", 1)[0] for part in tex.split(r"\caption{")[1:])
    # HTML: a banner div (role=alert) before the first table, with the notice.
    parser = _Banner()
    parser.feed(report.html_path.read_text())
    assert parser.events[0] == ("banner", "alert") and parser.events[1][0] == "table"
    assert TITLE in parser.text and NOTICE.replace("`", "") in parser.text  # `code` spans become <code>
    with open(report.out_dir / "results_long.csv", newline="") as handle:
        assert {row["pipeline_check"] for row in csv.DictReader(handle)} == {"True"}
    with open(report.out_dir / "tables" / "gaps.csv", newline="") as handle:
        assert {row["pipeline_check"] for row in csv.DictReader(handle)} == {"True"}


def test_figures_carry_the_mark(runs):
    _check(runs)
    (table,) = build_task_tables(collect_runs(runs.root).runs)
    figure = bars_figure(table)
    assert figure.get_suptitle() == TITLE
    assert figure.axes[0].get_title() == "pawsx: per-language accuracy, 1 seed per system (no std)"


def test_mixed_reports_say_which_runs_are_checks(runs, tmp_path):
    _check(runs, task="pawsx")
    for seed in (1, 2):
        runs.write(f"xnli/pt-s{seed}", seed=seed, scores={"en": 0.6, "de": 0.5 + 0.01 * seed})
    report = build_report(runs.root, tmp_path / "out", options=ReportOptions(paired_resamples=200))
    markdown = report.markdown_path.read_text()
    assert "> - The other 2 run(s) in this report are not pipeline checks; tables that mix both say so" in markdown
    tables = _md_tables(markdown)
    assert f"{SHORT}  " not in tables["xnli: accuracy (%) per language, mean ± std over seeds"]
    assert f"{SHORT}  " in tables["pawsx: accuracy (%) per language, 1 seed per system (no std)"]


def test_a_flag_without_notices_still_gets_a_banner(runs, tmp_path):
    _check(runs, notices=())
    report = build_report(runs.root, tmp_path / "out", options=ReportOptions(paired_resamples=200))
    lines = report.markdown_path.read_text().splitlines()
    assert lines[2] == f"> **{TITLE}**"
    assert lines[4].startswith("> - PIPELINE CHECK, NOT A FINDING: runs/tiny-xglm is a model built by xlpt")


def test_older_results_take_the_flag_from_the_model_folder(runs, tmp_path, tiny_model_dir):
    """results.json written before `pipeline_check` existed: the tiny model's own config says it is one."""
    from xlpt.models.origin import pipeline_notice, read_origin

    model = str(tiny_model_dir)
    runs.write("pt-s1", model=model, scores={"en": 0.6, "de": 0.5})
    assert "pipeline_check" not in json.loads((runs.root / "pt-s1" / "results.json").read_text())
    report = build_report(runs.root, tmp_path / "out", options=ReportOptions(paired_resamples=200))
    markdown = report.markdown_path.read_text()
    assert f"> - {pipeline_notice(model, read_origin(model))}" in markdown
    assert "(from the model folder; results.json predates the pipeline_check field)" in markdown


def test_ordinary_runs_have_no_banner(runs, tmp_path):
    runs.write("pt-s1", scores={"en": 0.6, "de": 0.5}, top={"pipeline_check": False, "notices": []})
    runs.write("ft-s1", method="full_finetune", scores={"en": 0.7, "de": 0.45})  # older file, hub model name
    report = build_report(runs.root, tmp_path / "out", options=ReportOptions(paired_resamples=200))
    assert "PIPELINE CHECK" not in report.markdown_path.read_text()
    assert 'class="banner"' not in report.html_path.read_text()


@pytest.mark.parametrize("top, reason", [
    ({"pipeline_check": "yes"}, "'pipeline_check' is 'yes', expected true or false"),
    ({"notices": "PIPELINE CHECK"}, "'notices' is 'PIPELINE CHECK', expected a list of strings"),
    ({"evaluation": {"split": "test", "limit": "200"}}, "'evaluation.limit' is '200'"),
    ({"skipped_languages": ["th"]}, "'skipped_languages' is ['th']"),
])
def test_malformed_fields_skip_the_run_with_the_reason(runs, top, reason):
    runs.write("good", scores={"en": 0.6})
    runs.write("bad", scores={"en": 0.6}, top=top)
    collection = collect_runs(runs.root)
    assert [r.path.name for r in collection.runs] == ["good"]
    (problem,) = collection.skipped
    assert problem.path.name == "bad" and reason in problem.reason


def test_notices_of_ordinary_runs_are_shown_too(runs, tmp_path, capsys):
    from xlpt.reporting.console import print_results

    note = "Labels of bg/el/ru/th test were reconstructed from the dev files (see MANIFEST.md)."
    results = runs.write("pt-s1", scores={"en": 0.6, "de": 0.5}, top={"pipeline_check": False, "notices": [note]})
    report = build_report(runs.root, tmp_path / "out", options=ReportOptions(paired_resamples=200))
    lines = report.markdown_path.read_text().splitlines()
    assert lines[2:5] == ["> **NOTICES FROM THE RUNS**", ">", f"> - {note}"]
    assert "PIPELINE CHECK" not in report.markdown_path.read_text()
    print_results(results)
    assert capsys.readouterr().out.splitlines()[1] == f"!! {note}"
