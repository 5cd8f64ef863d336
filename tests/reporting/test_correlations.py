"""Gap correlations at SIB-200 scale: synthetic runs over every FLORES-200 language folder in the shared
data, pretraining shares from the real FLORES→XGLM join, numbers checked against scipy."""

from __future__ import annotations

import csv
import json
import math
import statistics
import zlib

import matplotlib

matplotlib.use("Agg")
import pytest  # noqa: E402
from scipy import stats as sps  # noqa: E402

from xlpt.analysis.pretraining import pretraining_share  # noqa: E402
from xlpt.reporting import ReportOptions, build_report  # noqa: E402
from xlpt.reporting.correlations import CorrelationAnalysis, analyse  # noqa: E402
from xlpt.reporting.language_features import load_feature_files  # noqa: E402
from xlpt.reporting.plots import scatter_figure  # noqa: E402

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
        w.write(f"pt-s{seed}", task="sib200", seed=seed, scores=pt, n=50)
        w.write(f"ft-s{seed}", task="sib200", method="full_finetune", seed=seed, scores=ft, n=50)
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
    title = "PT − FT gap (pp) against tokenization and pretraining share"
    _, rows = md_table(report.markdown_path.read_text(), title)
    row = next(row for row in rows if row[1][0].startswith("Fertility" if variable == "fertility" else "log10"))
    assert row[2][0] == str(n_points)
    assert float(row[3][0]) == pytest.approx(pearson.statistic, abs=5e-4)
    assert float(row[6][0]) == pytest.approx(spearman.statistic, abs=5e-4)
    if variable == "fertility":
        assert pearson.statistic > 0.5  # the planted relation is found
        assert row[10][0].startswith("10 left out:") and "(no fertility: not whitespace-segmented)" in row[10][0]
    else:
        # 172 unseen languages are left out by name with the reason (never put at share 0), plus English.
        assert row[10][0].startswith("173 left out:") and "(unseen in pretraining: no share)" in row[10][0]
        assert "arb_Latn" in row[10][0] and "zsm_Latn" in row[10][0]
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
        "Average", "Average w/o en"]
    _, gap_rows = md_table(markdown, "sib200: prompt tuning − full fine-tuning, percentage points")
    assert len(gap_rows) == 199 + 2
    # 198 target languages, 200 resamples: Holm cannot reach 0.05, and the report says how many are needed.
    assert "no language of a 198-language family can reach Holm-adjusted p < 0.05; rerun with --resamples 3,960" \
        in markdown
    assert not any(bold for row in gap_rows for _, bold in row[2:])
    assert {"bars_sib200.png", "gap_vs_fertility.png", "gap_vs_log_share.png"} <= {
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
