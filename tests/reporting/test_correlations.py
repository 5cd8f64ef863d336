"""Gap correlations at SIB-200 scale: synthetic runs over every FLORES-200 language folder in the shared
data, pretraining shares from the real FLORES→XGLM join, numbers checked against scipy; the family
correction over every correlation shown, the sampled share, and the run's source language."""

from __future__ import annotations

import csv
import json
import math
import statistics
import zlib
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import pytest  # noqa: E402
from scipy import stats as sps  # noqa: E402

from xlpt.analysis.pretraining import pretraining_share  # noqa: E402
from xlpt.reporting import ReportOptions, build_report  # noqa: E402
from xlpt.reporting.correlation_views import scatter_figure  # noqa: E402
from xlpt.reporting.correlations import CorrelationAnalysis, adjust_family, analyse  # noqa: E402
from xlpt.reporting.language_features import load_feature_files  # noqa: E402
from xlpt.reporting.stats import Correlation, correlate  # noqa: E402

TITLE = "PT − FT gap (pp) against tokenization and pretraining share"
LEFT_OUT, LANGUAGES, PEARSON_RAW, PEARSON_ADJ, SPEARMAN_RAW, SPEARMAN_ADJ = 13, 12, 5, 6, 9, 10

UNSEGMENTED = {"zho_Hans", "zho_Hant", "yue_Hant", "jpn_Jpan", "tha_Thai", "khm_Khmr", "lao_Laoo",
               "bod_Tibt", "dzo_Tibt"}


def _unit(*parts) -> float:
    """A deterministic number in [0, 1) per key (stable across runs and machines)."""
    return zlib.crc32("/".join(parts).encode()) / 2**32


def _fertility(code: str) -> float | None:
    return None if code in UNSEGMENTED else round(1.1 + 2.5 * _unit("fert", code), 4)


@pytest.fixture(scope="module")
def sib(tmp_path_factory, writer_class, tokenization_writer, data_dir):
    folder = data_dir / "sib200"
    if not folder.is_dir():
        pytest.skip(f"no SIB-200 folder at {folder}")
    codes = sorted(p.name for p in folder.iterdir() if p.is_dir())
    root = tmp_path_factory.mktemp("sib")
    w = writer_class(root / "runs")
    for seed in (1, 2):
        # The PT − FT gap grows with fertility (plus per-language noise): a correlation to find.
        pt = {c: min(0.95, 0.30 + 0.08 * (_fertility(c) or 2.0) + 0.1 * _unit("pt", c, str(seed))) for c in codes}
        ft = {c: 0.55 + 0.05 * _unit("ft", c, str(seed)) for c in codes}
        source = {"source_language": "eng_Latn"}  # SIB-200 trains on eng_Latn, as results.json records
        w.write(f"pt-s{seed}", task="sib200", seed=seed, scores=pt, n=50, top=source)
        w.write(f"ft-s{seed}", task="sib200", method="full_finetune", seed=seed, scores=ft, n=50, top=source)
    tokenization = tokenization_writer(root / "tok-sib200.json", "sib200", {
        c: (_fertility(c), pretraining_share(c).ratio) for c in codes})
    report = build_report(root / "runs", root / "out", [tokenization],
                          ReportOptions(paired_resamples=200, correlation_resamples=300))
    return root, report, codes, tokenization


def _expected_points(root, codes, tokenization, variable: str) -> tuple[list[str], list[float], list[float]]:
    """From the files on disk: gap = mean PT - mean FT over seeds (pp), x from the tokenization file."""
    runs = [json.loads(p.read_text()) for p in sorted((root / "runs").glob("*/results.json"))]
    features = json.loads(tokenization.read_text())["languages"]
    langs, xs, ys = [], [], []
    for code in codes:
        if code == "eng_Latn":
            continue
        fertility, share = features[code]["fertility"], features[code]["pretraining_share"]
        x = fertility if variable == "fertility" else (None if share is None else math.log10(share))
        if x is None:
            continue
        by_method = {m: [r["languages"][code]["accuracy"] for r in runs if r["method"] == m]
                     for m in ("prompt_tuning", "full_finetune")}
        langs.append(code)
        xs.append(x)
        ys.append(100 * (statistics.mean(by_method["prompt_tuning"]) - statistics.mean(by_method["full_finetune"])))
    return langs, xs, ys


@pytest.mark.parametrize("variable, n_points", [("fertility", 198 - 9), ("log_share", 26)])
def test_correlations_over_all_sib200_languages_match_scipy(sib, md_table, variable, n_points):
    root, report, codes, tokenization = sib
    assert len(codes) == 199
    langs, xs, ys = _expected_points(root, codes, tokenization, variable)
    assert len(langs) == n_points  # fertility: 198 targets minus 9 unsegmented; share: the 26 seen targets
    (analysis,) = [a for a in report.analyses if a.variable == variable]
    assert [label for label, _, _ in analysis.points] == langs
    pearson, spearman = sps.pearsonr(xs, ys), sps.spearmanr(xs, ys)
    r = analysis.result
    assert analysis.interpretable and r.n == n_points
    assert r.pearson_r == pytest.approx(pearson.statistic, abs=1e-9)
    assert r.pearson_p == pytest.approx(pearson.pvalue, rel=1e-6)
    assert r.spearman_rho == pytest.approx(spearman.statistic, abs=1e-9)
    assert r.spearman_p == pytest.approx(spearman.pvalue, rel=1e-6)
    _, rows = md_table(report.markdown_path.read_text(), TITLE)
    label = "Fertility" if variable == "fertility" else "log10 natural share"
    row = next(row for row in rows if row[1][0].startswith(label))
    assert row[2][0] == str(n_points) and row[LANGUAGES][0] == ", ".join(langs)
    assert float(row[3][0]) == pytest.approx(pearson.statistic, abs=5e-4)
    assert float(row[7][0]) == pytest.approx(spearman.statistic, abs=5e-4)
    if variable == "fertility":
        assert pearson.statistic > 0.5  # the planted relation is found
        assert row[LEFT_OUT][0].startswith("10 left out:")
        assert "(no fertility: not whitespace-segmented)" in row[LEFT_OUT][0]
    else:
        # 172 unseen languages are left out by name with the reason (never put at share 0), plus English.
        assert row[LEFT_OUT][0].startswith("173 left out:") and "(unseen in pretraining: no share)" in row[LEFT_OUT][0]
        assert "arb_Latn" in row[LEFT_OUT][0] and "zsm_Latn" in row[LEFT_OUT][0]
        assert "eng_Latn (training language)" in row[LEFT_OUT][0]
    with open(report.out_dir / "tables" / "correlation_points.csv", newline="") as handle:
        points = [(r["language"], float(r["x"]), float(r["gap_pp"])) for r in csv.DictReader(handle)
                  if r["variable"] == variable]
    assert [p[0] for p in points] == langs
    assert [p[1] for p in points] == pytest.approx(xs) and [p[2] for p in points] == pytest.approx(ys)


def test_sib200_tables_and_figures(sib, md_table):
    root, report, codes, _ = sib
    markdown = report.markdown_path.read_text()
    _, rows = md_table(markdown, "sib200: accuracy (%) per language, mean ± std over seeds")
    assert [row[0][0] for row in rows] == ["eng_Latn"] + [c for c in codes if c != "eng_Latn"] + [
        "Average", "Average w/o source (eng_Latn)"]
    _, gap_rows = md_table(markdown, "sib200: prompt tuning − full fine-tuning, percentage points")
    assert len(gap_rows) == 199 + 2
    # 198 target languages, 200 resamples: Holm cannot reach 0.05, and the report says how many are needed.
    assert "no language of a 198-language family can reach Holm-adjusted p < 0.05; rerun with --resamples " \
        in markdown
    assert not any(bold for row in gap_rows for _, bold in row[2:])
    assert {"bars_sib200.png", "gap_vs_fertility.png", "gap_vs_log_share.png", "gap_vs_log_sampled_share.png"} <= {
        p.name for p in report.out_dir.glob("*.png")}


def test_scatter_draws_a_line_only_for_interpretable_correlations(sib):
    _, report, _, _ = sib
    (fertility,) = [a for a in report.analyses if a.variable == "fertility"]
    figure = scatter_figure([fertility], "fertility")
    (ax,) = figure.axes
    assert len(ax.lines) == 2 and "r=" in ax.get_title()  # zero line + least-squares line
    few = CorrelationAnalysis("tiny", "fertility", points=fertility.points[:4],
                              problem="not interpretable (n = 4 < 8 languages)")
    (ax,) = scatter_figure([few], "fertility").axes
    assert len(ax.lines) == 1 and len(ax.collections[0].get_offsets()) == 4  # points kept, no fitted line
    assert "not interpretable (n = 4 < 8 languages): points only, no fitted line" in ax.get_title()
    assert "r=" not in ax.get_title()


def test_the_threshold_is_an_option(sib):
    _, report, _, tokenization = sib
    analyses = analyse(report.comparisons, load_feature_files([tokenization]), resamples=300, min_languages=30)
    share = next(a for a in analyses if a.variable == "log_share")
    assert share.result is None and share.problem == "not interpretable (n = 26 < 30 languages)"
    assert len(share.points) == 26  # kept
    assert next(a for a in analyses if a.variable == "fertility").interpretable


# ---------------------------------------------------------------- the family, the sampled share, the source


def _xglm_rows() -> tuple[dict, dict]:
    """The shipped XGLM table, read as a plain file (not through the code under test)."""
    import xlpt.analysis

    data = json.loads((Path(xlpt.analysis.__file__).parent / "xglm_pretraining.json").read_text(encoding="utf-8"))
    return data["languages"], data["flores200"]["seen"]


def test_sampled_share_is_the_published_upsampled_ratio(sib, md_table):
    root, report, _, _ = sib
    rows, seen = _xglm_rows()
    with open(report.out_dir / "tables" / "correlation_points.csv", newline="") as handle:
        points = list(csv.DictReader(handle))
    for variable, column in (("log_sampled_share", "upsampled_ratio"), ("log_share", "ratio")):
        chosen = [p for p in points if p["variable"] == variable]
        assert len(chosen) == 26  # the 26 seen target languages, English excluded
        for point in chosen:
            assert float(point["x"]) == pytest.approx(math.log10(rows[seen[point["language"]]][column]), abs=1e-12)
    # Upsampling changes the order: the sampled share is not a rescaled natural share.
    sampled = {p["language"]: float(p["x"]) for p in points if p["variable"] == "log_sampled_share"}
    natural = {p["language"]: float(p["x"]) for p in points if p["variable"] == "log_share"}
    assert sorted(sampled, key=sampled.get) != sorted(natural, key=natural.get)
    header, table = md_table(report.markdown_path.read_text(), TITLE)
    assert [row[1][0] for row in table] == ["Fertility (subwords per word)", "log10 natural share (pretraining tokens)",
                                            "log10 sampled share (training mixture, upsampled)"]


def test_sampled_share_from_the_file_and_never_guessed(tmp_path):
    from xlpt.analysis.pretraining import pretraining_share

    path = tmp_path / "tok.json"
    path.write_text(json.dumps({"model": "other/model", "task": "xnli", "languages": {
        "de": {"fertility": 1.5, **pretraining_share("de").as_fields()},  # what `xlpt tokenization --json` writes
        "fr": {"fertility": 1.4, "pretraining_share": 0.2, "in_pretraining": True},  # another model's corpus
        "sw": {"fertility": 1.9, "pretraining_share": pretraining_share("sw").ratio},  # an older XGLM file
    }}), encoding="utf-8")
    (features,) = load_feature_files([path])
    rows, _ = _xglm_rows()
    assert features.languages["de"].sampled_share == rows["de"]["upsampled_ratio"]
    assert features.languages["fr"].sampled_share is None  # not XGLM's natural share: nothing to join
    assert features.languages["sw"].sampled_share == rows["sw"]["upsampled_ratio"]


def _corr(p_pearson: float, p_spearman: float) -> Correlation:
    return Correlation(10, 0.5, p_pearson, (0.1, 0.9), 0.5, p_spearman, (0.1, 0.9), 1.0, 0.0, 100, 0)


@pytest.mark.parametrize("method, expected", [
    # p = 0.01, 0.04 (scope a), 0.03, 0.005 (scope b). Holm by hand: sorted 0.005·4 = 0.02, 0.01·3 = 0.03,
    # 0.03·2 = 0.06, 0.04·1 = 0.04 -> running max 0.06. BH by hand: 0.005·4/1 = 0.02, 0.01·4/2 = 0.02,
    # 0.03·4/3 = 0.04, 0.04·4/4 = 0.04, running min from the top leaves them.
    ("holm", {"a": (0.03, 0.06), "b": (0.06, 0.02)}),
    ("bh", {"a": (0.02, 0.04), "b": (0.04, 0.02)}),
])
def test_family_adjustment_matches_a_hand_computed_example(method, expected):
    analyses = [CorrelationAnalysis("a", "fertility", result=_corr(0.01, 0.04)),
                CorrelationAnalysis("b", "fertility", result=_corr(0.03, 0.005)),
                CorrelationAnalysis("c", "fertility", problem="not interpretable (n = 4 < 8 languages)")]
    family = adjust_family(analyses, method)
    assert family.size == 4
    for analysis in analyses[:2]:
        assert (analysis.p_adjusted["pearson"], analysis.p_adjusted["spearman"]) == pytest.approx(
            expected[analysis.scope], abs=1e-12)
    assert analyses[2].p_adjusted == {} and analyses[2].family is family  # shown, but no test: outside
    assert family.describe().startswith(("Holm over 4 correlations: 1 variable (fertility) × 2 coefficients",
                                         "Benjamini–Hochberg over 4 correlations"))


def _noise_analyses(count: int, n: int) -> list[CorrelationAnalysis]:
    rng = np.random.default_rng(16)
    analyses = []
    for k in range(count):
        xs, ys = rng.normal(size=n), rng.normal(size=n)  # independent: every null hypothesis is true
        points = [(f"l{i}", float(x), float(y)) for i, (x, y) in enumerate(zip(xs, ys))]
        analyses.append(CorrelationAnalysis(f"scope{k}", ("fertility", "log_share", "log_sampled_share")[k % 3],
                                            points=points, result=correlate(xs, ys, resamples=200)))
    return analyses


@pytest.mark.parametrize("method", ["holm", "bh"])
def test_noise_only_correlations_are_raw_significant_but_not_after_correction(method):
    analyses = _noise_analyses(30, 10)  # 60 tests of pure noise, 10 languages each
    family = adjust_family(analyses, method)
    raw = [p for a in analyses for p in (a.result.pearson_p, a.result.spearman_p)]
    adjusted = [p for a in analyses for p in (a.p_adjusted["pearson"], a.p_adjusted["spearman"])]
    assert family.size == 60
    assert sum(p < 0.05 for p in raw) >= 2  # what an uncorrected table would have called findings
    assert min(adjusted) >= 0.05
    try:  # an independent implementation when installed; the hand-computed example above covers it otherwise
        from statsmodels.stats.multitest import multipletests
    except ImportError:
        return
    reference = multipletests(raw, method={"holm": "holm", "bh": "fdr_bh"}[method])[1]
    assert adjusted == pytest.approx(list(reference), abs=1e-12)


def test_every_shown_correlation_is_in_the_stated_family(sib, md_table):
    _, report, _, _ = sib
    with open(report.out_dir / "tables" / "correlations.csv", newline="") as handle:
        rows = [r for r in csv.DictReader(handle)]
    computed = [r for r in rows if r["pearson_r"]]
    assert len(computed) == 3  # fertility, natural share, sampled share; one scope (sib200)
    raw = [float(r[k]) for r in computed for k in ("pearson_p", "spearman_p")]
    from xlpt.reporting.multiplicity import holm

    assert [float(r[k]) for r in computed for k in ("pearson_p_adjusted", "spearman_p_adjusted")] == pytest.approx(
        list(holm(raw)), abs=1e-12)
    assert {r["family_size"] for r in computed} == {"6"} and {r["correction"] for r in computed} == {"holm"}
    family = ("Holm over 6 correlations: 3 variables (fertility, log_share, log_sampled_share) × 2 coefficients "
              "(Pearson r, Spearman ρ) × 1 scope (sib200)")
    assert {r["family"] for r in computed} == {family}
    markdown = report.markdown_path.read_text()
    assert f"p (Holm): p adjusted: {family} (family-wise error rate)" in markdown
    header, table = md_table(markdown, TITLE)
    assert header[PEARSON_RAW] == "Pearson p (raw)" and header[PEARSON_ADJ] == "Pearson p (Holm)"
    assert header[SPEARMAN_ADJ] == "Spearman p (Holm)"
    # Every figure caption says n and the languages, then the family.
    assert "sib200: n = 26 points, 26 languages: " in markdown and markdown.count(f"p adjusted: {family}") >= 4


@pytest.mark.parametrize("top, source", [
    ({"source_language": "de"}, "de"),
    ({"config": {"data": {"train_lang": "fr"}}}, "fr"),  # older results: the config says it
])
def test_the_runs_source_language_is_never_a_point(tmp_path, writer_class, tokenization_writer, top, source):
    langs = ["ar", "bg", "de", "el", "en", "es", "fr", "hi", "ru", "sw", "th", "tr", "ur", "vi", "zh"]
    w = writer_class(tmp_path / "runs")
    for method in ("prompt_tuning", "full_finetune"):
        scores = {lang: 0.4 + 0.3 * _unit(method, lang) for lang in langs}
        w.write(method, method=method, scores=scores, n=60, top=top)
    tok = tokenization_writer(tmp_path / "tok.json", "xnli", {lang: (1.2 + _unit("f", lang), 0.01) for lang in langs})
    report = build_report(tmp_path / "runs", tmp_path / "out", [tok],
                          ReportOptions(paired_resamples=200, correlation_resamples=200))
    fertility = next(a for a in report.analyses if a.variable == "fertility")
    assert sorted(label for label, _, _ in fertility.points) == [lang for lang in langs if lang != source]
    assert fertility.left_out == [(source, "training language")] and fertility.interpretable


XNLI = ["ar", "bg", "de", "el", "en", "es", "fr", "hi", "ru", "sw", "th", "tr", "ur", "vi", "zh"]
MODELS = ("facebook/xglm-564M", "facebook/xglm-1.7B")


def _noise(salt: int):
    """Random PT and FT scores per (model, language) and random fertilities: no relation anywhere."""
    # Multiples of 1/40: the writer scores 40 examples, so these are exactly the accuracies results.json holds.
    scores = {(model, method): {lang: round(12 + 16 * _unit(str(salt), model, method, lang)) / 40 for lang in XNLI}
              for model in MODELS for method in ("prompt_tuning", "full_finetune")}
    fertility = {lang: 1.0 + 2.0 * _unit(str(salt), "fertility", lang) for lang in XNLI}
    return scores, fertility


def _smallest_raw_p(salt: int) -> float:
    scores, fertility = _noise(salt)
    ps = []
    for model in MODELS:
        targets = [lang for lang in XNLI if lang != "en"]
        gaps = [scores[(model, "prompt_tuning")][lang] - scores[(model, "full_finetune")][lang] for lang in targets]
        shares = [pretraining_share(lang) for lang in targets]
        for xs in ([fertility[lang] for lang in targets], [math.log10(s.ratio) for s in shares],
                   [math.log10(s.upsampled_ratio) for s in shares]):
            ps += [sps.pearsonr(xs, gaps).pvalue, sps.spearmanr(xs, gaps).pvalue]
    return min(ps)


def test_noise_only_report_shows_raw_p_below_005_and_no_adjusted_one(tmp_path, writer_class, tokenization_writer,
                                                                        md_table):
    # The first noise draw in which an uncorrected table would show a "finding" (chosen by scipy, here).
    salt = next(s for s in range(200) if _smallest_raw_p(s) < 0.05)
    scores, fertility = _noise(salt)
    w = writer_class(tmp_path / "runs")
    for (model, method), values in scores.items():
        w.write(f"{method}-{model.rsplit('-', 1)[-1]}", method=method, model=model, scores=values, n=40,
                predictions=False, top={"source_language": "en"})
    tok = tokenization_writer(tmp_path / "tok.json", "xnli",
                              {lang: (fertility[lang], pretraining_share(lang).ratio) for lang in XNLI})
    report = build_report(tmp_path / "runs", tmp_path / "out", [tok],
                          ReportOptions(paired_resamples=100, correlation_resamples=200))
    _, rows = md_table(report.markdown_path.read_text(), TITLE)
    computed = [row for row in rows if row[PEARSON_ADJ][0] != "—"]
    # 2 models and the pooled scope × 3 variables, 2 coefficients each: 18 tests in one family.
    assert len(computed) == 9 and "Holm over 18 correlations: 3 variables" in report.markdown_path.read_text()
    raw = [float(row[i][0]) for row in computed for i in (PEARSON_RAW, SPEARMAN_RAW)]
    adjusted = [float(row[i][0].lstrip("<")) for row in computed for i in (PEARSON_ADJ, SPEARMAN_ADJ)]
    assert min(raw) < 0.05  # what the report showed as p before this correction
    assert min(adjusted) >= 0.05
