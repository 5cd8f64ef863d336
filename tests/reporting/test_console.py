"""Terminal output: the banner first, the split per language, caps spelled out; older results as before."""

from __future__ import annotations

import re
import subprocess
import sys

from xlpt.reporting.console import comparison_table, print_results

NOTICE = ("PIPELINE CHECK, NOT A FINDING: out/tiny-xglm is a random 104,256-parameter XGLM (made by `xlpt model "
          "tiny`); its numbers test that the pipeline works and say nothing about the research question.")


def _new_format(runs, name: str, method: str, scores: dict) -> dict:
    top = {"pipeline_check": True, "notices": [NOTICE], "skipped_languages": {"bg": "asked to skip"},
           "evaluation": {"split": "test", "languages": "all", "limit": 200, "key": "k"}}
    return runs.write(name, method=method, model="out/tiny-xglm", scores=scores, dev_langs=("th",),
                      n_available={"en": 2000, "de": 2000, "th": 200}, top=top)


def test_print_results_shows_banner_splits_and_caps(runs, capsys):
    results = _new_format(runs, "pt", "prompt_tuning", {"en": 0.61, "de": 0.55, "th": 0.5})
    print_results(results)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "!" * 78 and lines[1] == f"!! {NOTICE}" and lines[2] == "!" * 78
    assert "test split where labeled, else the split shown per language" in lines[4]
    rows = {line.split()[0]: line.split(None, 3)[1:] for line in lines[5:8]}
    assert rows["en"] == [f"{100 * results['languages']['en']['accuracy']:.2f}", "test", "n=200 of 2,000, capped"]
    assert rows["th"] == [f"{100 * results['languages']['th']['accuracy']:.2f}", "dev", "n=200"]
    assert lines[-1].split() == ["bg", "skipped", "on", "request:", "asked", "to", "skip"]
    # averages over languages scored on different splits say so; without the source (en): de test, th dev
    avg = next(line for line in lines if line.split()[:1] == ["avg"])
    assert avg.endswith("(average over en, de, th; mixed: 2 test, 1 dev)")
    assert next(line for line in lines if line.split()[:1] == ["-src"]).endswith(
        "(average without the source language, en; mixed: 1 dev, 1 test)")


def test_a_language_subset_without_the_source_has_no_line_without_it(runs, capsys):
    """`xlpt evaluate --languages de,sw`: the average is over de and sw; there is no source to leave out."""
    results = runs.write("pt", scores={"de": 0.55, "sw": 0.5})
    print_results(results)
    lines = capsys.readouterr().out.splitlines()
    assert next(line for line in lines if line.split()[:1] == ["avg"]).endswith("(average over de, sw)")
    assert not any(line.split()[:1] == ["-src"] for line in lines)
    assert not any("without" in line for line in lines)


def test_print_results_of_older_files_has_no_banner(runs, capsys):
    results = runs.write("pt", scores={"en": 0.61, "sw": 0.5}, dev_langs=("sw",))
    print_results(results)
    out = capsys.readouterr().out
    assert "!!" not in out and "PIPELINE" not in out
    assert re.search(r"^\s+sw\s+\d+\.\d\d\s+dev\s+n=200$", out, re.M)


def test_comparison_table_has_banner_split_and_examples(runs):
    results = {
        "prompt_tuning": _new_format(runs, "pt", "prompt_tuning", {"en": 0.61, "de": 0.55, "th": 0.5}),
        "full_finetune": _new_format(runs, "ft", "full_finetune", {"en": 0.70, "de": 0.52, "th": 0.49}),
    }
    lines = comparison_table(results).splitlines()
    assert lines[1] == f"!! {NOTICE}"  # once, though both runs carry it
    assert sum(NOTICE in line for line in lines) == 1
    assert lines[3].split()[:3] == ["lang", "split", "examples"]
    de = next(line for line in lines if line.split()[0] == "de")
    pt, ft = (100 * results[m]["languages"]["de"]["accuracy"] for m in ("prompt_tuning", "full_finetune"))
    assert de.split() == ["de", "test", "200", "of", "2,000", "(capped)", f"{pt:.2f}*", f"{ft:.2f}"]
    th = next(line for line in lines if line.split()[0] == "th")
    assert th.split()[1:3] == ["dev", "200"]


def test_comparison_table_of_flores_codes_keeps_columns_aligned(runs):
    scores = {"eng_Latn": 0.6, "swh_Latn": 0.45, "zho_Hant": 0.5}
    results = {"prompt_tuning": runs.write("pt", scores=scores), "full_finetune": runs.write(
        "ft", method="full_finetune", scores=scores)}
    lines = comparison_table(results).splitlines()
    assert "!!" not in lines[0]
    starts = {line.index(line.split()[1]) for line in lines[2:5]}  # the split column starts at one offset
    assert len(starts) == 1


def test_the_terminal_table_loads_neither_the_report_nor_its_libraries():
    """`xlpt evaluate` prints its table through reporting.console: importing it must not pull in the report
    (matplotlib, scipy: seconds of start-up); the report's names still resolve from xlpt.reporting."""
    probe = ("import sys; import xlpt.reporting.console; "
             "print(sorted(m for m in ('matplotlib', 'scipy', 'xlpt.reporting.report') if m in sys.modules)); "
             "from xlpt.reporting import ReportOptions, build_report; print(build_report.__module__)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.stdout.splitlines() == ["[]", "xlpt.reporting.report"], done.stderr
