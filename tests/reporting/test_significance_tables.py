"""No unqualified significance claims: marking follows the adjusted p of a seed-aware test only,
statements carry seeds, examples and the correction, one seed marks nothing and says seed variance is
unmeasured, and "± std" needs at least 2 seeds."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from scipy import stats as sps

from xlpt.errors import ConfigError
from xlpt.reporting import ReportOptions, build_report

LANGS = ("en", "ar", "de", "fr", "sw", "th", "zh")


def _one_seed_runs(runs, boost: float = 0.11):
    """One seed per method; de is +11 pp (raw p about 0.02 on 200 examples, Holm over 6 languages about 0.13)."""
    runs.write("pt", scores={lang: 0.5 + (boost if lang == "de" else 0.0) for lang in LANGS})
    runs.write("ft", method="full_finetune", scores={lang: 0.5 for lang in LANGS})


def _seeded_runs(runs, boost: float = 0.11, seeds=(1, 2, 3), langs=LANGS):
    """Several seeds per method, each scoring the same accuracy on other examples; de is +`boost` (+10 pp: raw
    p about 0.02 with 3 seeds and 200 examples, Holm over 6 languages about 0.12)."""
    for seed in seeds:
        runs.write(f"pt-{seed}", seed=seed, scores={lang: 0.5 + (boost if lang == "de" else 0.0) for lang in langs})
        runs.write(f"ft-{seed}", seed=seed, method="full_finetune", scores={lang: 0.5 for lang in langs})


def _gaps(report) -> dict[str, dict]:
    with open(report.out_dir / "tables" / "gaps.csv", newline="") as handle:
        return {row["language"]: row for row in csv.DictReader(handle)}


def test_raw_significance_alone_is_never_marked(runs, tmp_path, md_table):
    _seeded_runs(runs, boost=0.10)
    report = build_report(runs.root, tmp_path / "out", options=ReportOptions())
    markdown = report.markdown_path.read_text()
    de = _gaps(report)["de"]
    assert float(de["p_value"]) < 0.05 <= float(de["p_adjusted"])  # the case this test is about
    _, rows = md_table(markdown, "xnli: prompt tuning − full fine-tuning, percentage points")
    row = next(r for r in rows if r[0][0] == "de")
    assert row[2] == ("+10.0", False)  # shown, not bold
    assert not any(bold for r in rows for _, bold in r)
    assert ("xnli · Prompt tuning − Full FT: 0 of 6 target languages differ at Holm-adjusted p < 0.05; two-sided "
            "hierarchical bootstrap over seeds and examples, with Welch's t over the runs (3 PT and 3 FT seed(s), 200 "
            "examples per language, 1,000 "
            "resamples); Holm correction over the family of 6 target languages (family-wise error rate).") in markdown


def test_one_seed_marks_nothing_and_says_seed_variance_is_unmeasured(runs, tmp_path, md_table):
    _one_seed_runs(runs, boost=0.3)  # +30 pp: the example-only p is at its floor
    report = build_report(runs.root, tmp_path / "out", options=ReportOptions())
    markdown = report.markdown_path.read_text()
    gaps = _gaps(report)
    assert float(gaps["de"]["p_value"]) == pytest.approx(2 / 1001)
    assert {row["p_adjusted"] for row in gaps.values()} == {""}  # no family at all
    assert {row["seed_aware"] for row in gaps.values()} == {"False"}
    _, rows = md_table(markdown, "xnli: prompt tuning − full fine-tuning, percentage points")
    de = next(r for r in rows if r[0][0] == "de")
    assert de[2] == ("+30.0", False) and de[3][0].endswith("] ex") and de[5][0] == "—"
    assert not any(bold for r in rows for _, bold in r)
    assert ("xnli · Prompt tuning − Full FT: seed variance is unmeasured (1 seed of a method), so nothing is marked "
            "significant; the CI and p shown are example-only (bootstrap over examples): 6 target languages, 1 PT "
            "and 1 FT seed(s), 200 examples per language, 1,000 resamples.") in markdown


def test_single_seed_reports_never_show_std(runs, tmp_path, md_table):
    _one_seed_runs(runs)
    report = build_report(runs.root, tmp_path / "out", options=ReportOptions())
    markdown = report.markdown_path.read_text()
    assert "±" not in markdown
    assert "Cells: one seed per system, in percent; no standard deviation (it needs at least 2 seeds)." in markdown
    header, _ = md_table(markdown, "xnli: accuracy (%) per language, 1 seed per system (no std)")
    assert header[3:] == ["Prompt tuning (n=1)", "Full FT (n=1)"]
    assert "±" not in (report.out_dir / "tables" / "xnli.tex").read_text().replace(r"$\pm$", "±")


def test_benjamini_hochberg_option(runs, tmp_path, md_table):
    _seeded_runs(runs, boost=0.2, seeds=(1, 2))
    report = build_report(runs.root, tmp_path / "out", options=ReportOptions(correction="bh"))
    markdown = report.markdown_path.read_text()
    header, rows = md_table(markdown, "xnli: prompt tuning − full fine-tuning, percentage points")
    assert header[5] == "p (Benjamini–Hochberg)"
    assert "Bold: Benjamini–Hochberg-adjusted p < 0.05" in markdown and "(false discovery rate)" in markdown
    gaps = _gaps(report)
    targets = [lang for lang in LANGS if lang != "en"]
    expected = sps.false_discovery_control([float(gaps[lang]["p_value"]) for lang in targets], method="bh")
    np.testing.assert_allclose([float(gaps[lang]["p_adjusted"]) for lang in targets], expected, rtol=1e-12)
    assert {gaps[lang]["correction"] for lang in targets} == {"bh"} and gaps["en"]["correction"] == ""
    bold = {r[0][0] for r in rows if r[2][1]}
    assert bold == {lang for lang, p in zip(targets, expected) if p < 0.05} == {"de"}


def test_too_few_resamples_for_the_family_is_said(runs, tmp_path, md_table):
    langs = ["en"] + [f"l{i:02d}" for i in range(30)]
    for seed in (1, 2):
        runs.write(f"pt-{seed}", seed=seed, scores={lang: 0.9 if lang != "en" else 0.5 for lang in langs})  # +40 pp
        runs.write(f"ft-{seed}", seed=seed, method="full_finetune", scores={lang: 0.5 for lang in langs})
    report = build_report(runs.root, tmp_path / "out", options=ReportOptions(paired_resamples=200))
    markdown = report.markdown_path.read_text()
    # 30 languages at the floor p = 2/201 each: Holm gives 60/201 = 0.299 at best; 60/(R + 1) < 0.05 needs R >= 1200.
    assert ("with 200 resamples the smallest possible p is 2/201, so no language of a 30-language family can reach "
            "Holm-adjusted p < 0.05; rerun with --resamples 1,200 or more") in markdown
    _, rows = md_table(markdown, "xnli: prompt tuning − full fine-tuning, percentage points")
    assert not any(r[2][1] for r in rows)
    assert {r[5][0] for r in rows[1:31]} == {f"{60 / 201:.3f}"}


@pytest.mark.parametrize("options, message", [
    (ReportOptions(correction="none"), "correction 'none' is not one of holm, bh"),
    (ReportOptions(alpha=0.0), "alpha must be between 0 and 1"),
    (ReportOptions(min_correlation_languages=2), "min_correlation_languages must be at least 3"),
])
def test_bad_options_are_config_errors(runs, tmp_path, options, message):
    runs.write("pt", scores={"en": 0.6})
    with pytest.raises(ConfigError, match=message):
        build_report(runs.root, tmp_path / "out", options=options)
