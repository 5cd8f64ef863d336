"""End to end: synthetic runs → report; every table is parsed back and checked against results.json.

Expected numbers are recomputed here from the results.json files on disk with the `statistics`
module (not with the report's code), then compared to what the Markdown, LaTeX, HTML and CSV show.
"""

from __future__ import annotations

import base64
import csv
import json
import re
import statistics
from html.parser import HTMLParser
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.image as mpimg  # noqa: E402
import pytest  # noqa: E402
from scipy import stats as sps  # noqa: E402

from xlpt.reporting import ReportOptions, build_report  # noqa: E402

XNLI = ("en", "ar", "de", "fr", "sw", "th", "zh")
PANX = ("en", "de", "th", "yo")
PT10, PT20, FT, ZS = "Prompt tuning (L=10)", "Prompt tuning (L=20)", "Full FT", "Zero-shot"


def _scores(langs, base: float, seed: int, boost: dict | None = None) -> dict[str, float]:
    """Distinct per language and seed, so ties and identical columns cannot hide mistakes."""
    return {lang: base + 0.013 * i + 0.011 * seed + (boost or {}).get(lang, 0.0) for i, lang in enumerate(langs)}


@pytest.fixture(scope="module")
def scenario(tmp_path_factory, writer_class, tokenization_writer):
    root = tmp_path_factory.mktemp("report")
    w = writer_class(root / "runs")
    for seed in (1, 2, 3):
        w.write(f"xnli/pt10-s{seed}", prompt_length=10, seed=seed, scores=_scores(XNLI, 0.50, seed))
        w.write(f"xnli/pt20-s{seed}", prompt_length=20, seed=seed, scores=_scores(XNLI, 0.55, seed, {"sw": 0.2}))
        w.write(f"xnli/ft-s{seed}", method="full_finetune", seed=seed, trainable=564463616,
                scores=_scores(XNLI[::-1], 0.52, seed, {"sw": -0.1}))
    w.write("xnli/zs", method="zero_shot", seed=1, trainable=0, scores=_scores(XNLI, 0.40, 0))
    for seed in (1, 2):
        w.write(f"panx/pt-s{seed}", task="panx", seed=seed, scores=_scores(PANX, 0.60, seed), dev_langs=("th",))
        w.write(f"panx/ft-s{seed}", task="panx", method="full_finetune", seed=seed,
                scores=_scores(PANX[::-1], 0.70, seed), dev_langs=("th",))
        w.write(f"pawsx/pt-s{seed}", task="pawsx", seed=seed, scores=_scores(("en", "de", "ja"), 0.6, seed))
        w.write(f"pawsx/ft-s{seed}", task="pawsx", method="full_finetune", seed=seed, predictions=False,
                scores=_scores(("en", "de", "ja"), 0.7, seed))
    (root / "runs/xnli/broken").mkdir()
    (root / "runs/xnli/broken/results.json").write_text('{"task": "xnli",', encoding="utf-8")
    (root / "runs/xnli/crashed").mkdir()
    (root / "runs/xnli/crashed/train_log.jsonl").write_text("", encoding="utf-8")
    tokenization = [
        tokenization_writer(root / "tok-xnli.json", "xnli", {
            "en": (1.2, 0.5), "ar": (1.9, 0.02), "de": (1.5, 0.05), "fr": (1.4, 0.04), "sw": (2.3, 0.0002),
            "th": (None, 0.002), "zh": (None, 0.0)}),
        tokenization_writer(root / "tok-panx.json", "panx", {
            "en": (1.2, 0.5), "de": (1.6, 0.05), "th": (3.1, 0.002), "yo": (2.4, 1e-5)}),
    ]
    report = build_report(root / "runs", root / "out", tokenization, ReportOptions(paired_resamples=500))
    return root, report, tokenization


# ---------------------------------------------------------------- expected numbers, from results.json


def _results(root: Path, task: str) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((root / "runs" / task).glob("*/results.json"))
            if p.parent.name not in ("broken",)]


def _column(run: dict) -> str:
    labels = {"full_finetune": FT, "zero_shot": ZS}
    if run["method"] in labels:
        return labels[run["method"]]
    return f"Prompt tuning (L={run['prompt_length']})" if run["task"] == "xnli" else "Prompt tuning"


def _per_column(root: Path, task: str, value) -> dict[str, list[float]]:
    """Column label -> the per-seed values `value(run)` (None values dropped)."""
    columns: dict[str, list[float]] = {}
    for run in _results(root, task):
        v = value(run)
        if v is not None:
            columns.setdefault(_column(run), []).append(v)
    return columns


def _metric(run: dict, lang: str):
    entry = run["languages"].get(lang)
    return entry[run["metric"]] if entry else None


def _average(run: dict, without_en: bool) -> float:
    return statistics.mean(e[run["metric"]] for lang, e in run["languages"].items() if not (without_en and lang == "en"))


def _assert_shown(text: str, mean: float, std: float | None, decimals: int = 1) -> None:
    """'61.0 ± 1.2' shows mean and std (in %) rounded to `decimals`."""
    half = 0.5 * 10**-decimals + 1e-9
    parts = text.split(" ± ")
    assert abs(float(parts[0]) - 100 * mean) <= half, (text, mean)
    if std is None:
        assert len(parts) == 1, text
    else:
        assert abs(float(parts[1]) - 100 * std) <= half, (text, std)


# ---------------------------------------------------------------- parsers for the written files


def md_table(markdown: str, title: str) -> tuple[list[str], list[list[tuple[str, bool]]]]:
    lines = markdown.splitlines()
    start = lines.index(f"*{title}*") + 2
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append(line[2:-2].split(" | "))
    header, body = rows[0], rows[2:]
    return header, [[(c[2:-2], True) if c.startswith("**") else (c, False) for c in row] for row in body]


def latex_rows(tex: str) -> list[list[tuple[str, bool]]]:
    """Body rows of the first tabular, unescaped back to the Markdown text."""
    body = tex.split(r"\midrule", 1)[1].split(r"\bottomrule", 1)[0]
    swaps = {r"$\pm$": "±", r"$^\dagger$": "†", r"$^\ddagger$": "‡", r"$-$": "−", r"$<$": "<", r"\_": "_"}
    rows = []
    for line in body.strip().splitlines():
        if line.strip() == r"\midrule":
            continue
        cells = []
        for cell in line.removesuffix(r" \\").split(" & "):
            bold = cell.startswith(r"\textbf{")
            cell = cell[len(r"\textbf{"):-1] if bold else cell
            for old, new in swaps.items():
                cell = cell.replace(old, new)
            cells.append((cell, bold))
        rows.append(cells)
    return rows


class _HtmlTables(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tables, self.images, self._cell, self._bold, self._title = {}, [], None, False, None
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "p" and attrs.get("class") == "title":
            self._in_title, self._title = True, ""
        elif tag == "tr":
            self.tables.setdefault(self._title, []).append([])
        elif tag in ("td", "th"):
            self._cell, self._bold = "", False
        elif tag == "b":
            self._bold = True
        elif tag == "img":
            self.images.append(attrs["src"])

    def handle_endtag(self, tag):
        if tag == "p":
            self._in_title = False
        elif tag in ("td", "th"):
            self.tables[self._title][-1].append((self._cell, self._bold))
            self._cell = None

    def handle_data(self, data):
        if self._in_title:
            self._title += data
        elif self._cell is not None:
            self._cell += data


# ---------------------------------------------------------------- tests


def test_results_table_cells_match_results_json(scenario):
    root, report, _ = scenario
    header, rows = md_table(report.markdown_path.read_text(), "xnli: accuracy (%) per language, mean ± std over seeds")
    assert header == ["Language", "Zero-shot (n=1)", "Prompt tuning (L=10, n=3)", "Prompt tuning (L=20, n=3)",
                      "Full FT (n=3)"]
    columns = [ZS, PT10, PT20, FT]
    assert [row[0][0] for row in rows] == list(XNLI) + ["Average", "Average w/o en"]
    for row in rows:
        name = row[0][0]
        if name.startswith("Average"):
            per_seed = _per_column(root, "xnli", lambda r: _average(r, name == "Average w/o en"))
        else:
            per_seed = _per_column(root, "xnli", lambda r: _metric(r, name))
        means = {c: statistics.mean(v) for c, v in per_seed.items()}
        for column, (text, bold) in zip(columns, row[1:]):
            values = per_seed[column]
            _assert_shown(text, means[column], statistics.stdev(values) if len(values) > 1 else None)
            assert bold == (column == max(means, key=means.get)), (name, column, text)


def test_dev_languages_get_a_dagger_and_a_footnote(scenario):
    root, report, _ = scenario
    markdown = report.markdown_path.read_text()
    _, rows = md_table(markdown, "panx: f1 (%) per language, mean ± std over seeds")
    assert [r[0][0] for r in rows][:4] == ["en", "de", "th†", "yo"]
    assert "† no labeled test split for this language, evaluated on another split (th: dev)." in markdown
    assert r"th$^\dagger$" in (report.out_dir / "tables" / "panx.tex").read_text()
    with open(report.out_dir / "tables" / "panx.csv", newline="") as handle:
        assert {row["language"]: row["substitute_split"] for row in csv.DictReader(handle)}["th"] == "dev"


def test_latex_and_html_show_the_same_cells_as_markdown(scenario):
    _, report, _ = scenario
    title = "xnli: accuracy (%) per language, mean ± std over seeds"
    header, md_rows = md_table(report.markdown_path.read_text(), title)
    tex = (report.out_dir / "tables" / "xnli.tex").read_text()
    assert all(cmd in tex for cmd in (r"\toprule", r"\midrule", r"\bottomrule", r"\begin{tabular}{lrrrr}"))
    assert "usepackage" not in tex
    assert latex_rows(tex) == md_rows
    parser = _HtmlTables()
    parser.feed(report.html_path.read_text())
    html_rows = parser.tables[title]
    assert [c for c, _ in html_rows[0]] == header
    assert html_rows[1:] == md_rows


def test_task_csv_and_long_csv_hold_full_precision_numbers(scenario):
    root, report, _ = scenario
    with open(report.out_dir / "tables" / "xnli.csv", newline="") as handle:
        wide = {row["language"]: row for row in csv.DictReader(handle)}
    for lang in XNLI:
        per_seed = _per_column(root, "xnli", lambda r: _metric(r, lang))
        for column, values in per_seed.items():
            assert float(wide[lang][f"{column} mean (%)"]) == pytest.approx(100 * statistics.mean(values), abs=1e-9)
            assert int(wide[lang][f"{column} n"]) == len(values)
    assert wide["th"]["substitute_split"] == ""
    with open(report.out_dir / "results_long.csv", newline="") as handle:
        long_rows = list(csv.DictReader(handle))
    expected = {(run["run_id"], lang): entry[run["metric"]]
                for task in ("xnli", "panx", "pawsx") for run in _results(root, task)
                for lang, entry in run["languages"].items()}
    assert {(r["run_id"], r["language"]): float(r["value"]) for r in long_rows} == expected


def test_gap_table_values_ci_and_p(scenario):
    root, report, _ = scenario
    markdown = report.markdown_path.read_text()
    header, rows = md_table(markdown, "xnli: prompt tuning − full fine-tuning, percentage points")
    assert header[1] == "Δ Prompt tuning (L=10) − Full FT (pp)" and header[4] == "Δ Prompt tuning (L=20) − Full FT (pp)"
    for row in rows[: len(XNLI)]:
        lang = row[0][0]
        per_seed = _per_column(root, "xnli", lambda r: _metric(r, lang))
        for offset, pt in ((1, PT10), (4, PT20)):
            gap = statistics.mean(per_seed[pt]) - statistics.mean(per_seed[FT])
            _assert_shown(row[offset][0], gap, None)
            low, high = (float(v) for v in row[offset + 1][0].strip("[]").split(", "))
            assert low - 0.05 <= 100 * gap <= high + 0.05
            p = row[offset + 2][0]
            assert row[offset][1] == (p == "<0.001" or float(p) < 0.05)
    sw = next(row for row in rows if row[0][0] == "sw")
    # +30 pp on 200 examples per seed: no resample is as extreme, so p is the floor 1 / (500 + 1)
    assert sw[4][1] and sw[6][0] == f"{1 / 501:.3f}"
    _, pawsx = md_table(markdown, "pawsx: prompt tuning − full fine-tuning, percentage points")
    assert all(row[2][0] == "n/a" and row[3][0] == "n/a" for row in pawsx[:3])
    assert "no predictions for a shared seed" in markdown


def test_gap_average_rows(scenario):
    root, report, _ = scenario
    _, rows = md_table(report.markdown_path.read_text(), "panx: prompt tuning − full fine-tuning, percentage points")
    for row in rows[-2:]:
        without_en = row[0][0] == "Average w/o en"
        per_seed = _per_column(root, "panx", lambda r: _average(r, without_en))
        _assert_shown(row[1][0], statistics.mean(per_seed["Prompt tuning"]) - statistics.mean(per_seed[FT]), None)


def test_correlations_match_scipy_on_the_same_points(scenario):
    root, report, tokenization = scenario
    markdown = report.markdown_path.read_text()
    assert "xnli: Prompt tuning (L=20) − Full FT" in markdown  # the better PT configuration is the one analysed
    fertility = {l: v["fertility"] for l, v in json.loads(tokenization[0].read_text())["languages"].items()}
    xs, ys = [], []
    for lang in ("ar", "de", "fr", "sw"):
        per_seed = _per_column(root, "xnli", lambda r: _metric(r, lang))
        xs.append(fertility[lang])
        ys.append(100 * (statistics.mean(per_seed[PT20]) - statistics.mean(per_seed[FT])))
    pearson, spearman = sps.pearsonr(xs, ys), sps.spearmanr(xs, ys)
    _, rows = md_table(markdown, "PT − FT gap (pp) against tokenization and pretraining share")
    row = next(r for r in rows if r[0][0] == "xnli" and r[1][0].startswith("Fertility"))
    assert row[2][0] == "4"
    assert float(row[3][0]) == pytest.approx(pearson.statistic, abs=5e-4)
    assert float(row[6][0]) == pytest.approx(spearman.statistic, abs=5e-4)
    assert "th, zh (no fertility" in row[10][0] and "en (training language)" in row[10][0]
    (analysis,) = [a for a in report.analyses if a.scope == "xnli" and a.variable == "fertility"]
    assert analysis.result.pearson_r == pytest.approx(pearson.statistic, abs=1e-9)
    assert analysis.result.pearson_p == pytest.approx(pearson.pvalue, rel=1e-6)
    assert analysis.result.spearman_p == pytest.approx(spearman.pvalue, rel=1e-6)
    share_row = next(r for r in rows if r[0][0] == "xnli" and r[1][0].startswith("log10"))
    assert share_row[2][0] == "5" and "zh (no pretraining share" in share_row[10][0]
    pooled = next(r for r in rows if r[0][0] == "all tasks (pooled)" and r[1][0].startswith("Fertility"))
    assert pooled[2][0] == str(4 + 3)  # xnli ar de fr sw + panx de th yo


def test_figures_are_real_pngs_and_embedded_in_html(scenario):
    _, report, _ = scenario
    names = {"bars_xnli.png", "bars_panx.png", "bars_pawsx.png", "prompt_length_xnli.png",
             "gap_vs_fertility.png", "gap_vs_log_share.png"}
    pngs = {p.name: p for p in report.out_dir.glob("*.png")}
    assert set(pngs) == names
    for path in pngs.values():
        image = mpimg.imread(path)
        assert image.shape[0] > 200 and image.shape[1] > 300 and image.std() > 0.01
        assert path.stat().st_size > 10_000
    html = report.html_path.read_text()
    parser = _HtmlTables()
    parser.feed(html)
    assert len(parser.images) == len(names)
    assert all(base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n" for src in parser.images)
    assert not re.search(r'(src|href)="(https?:|/)', html)
    markdown = report.markdown_path.read_text()
    assert all(f"]({name})" in markdown for name in names)


def test_parameters_skipped_and_incomplete_runs_are_listed(scenario):
    _, report, _ = scenario
    markdown = report.markdown_path.read_text()
    _, params = md_table(markdown, "Trainable parameters per method")
    pt = next(r for r in params if r[0][0] == "xnli" and r[1][0] == PT20)
    assert (pt[3][0], pt[5][0]) == ("20,480", f"{100 * 20480 / 564463616:.3g}")
    ft = next(r for r in params if r[0][0] == "xnli" and r[1][0] == FT)
    assert ft[5][0] == "100"
    _, problems = md_table(markdown, "Runs not in the tables")
    status = {row[1][0]: (row[0][0], row[2][0]) for row in problems}
    assert status["xnli/broken"][0] == "skipped" and "not valid JSON" in status["xnli/broken"][1]
    assert status["xnli/crashed"][0] == "incomplete" and "no results.json" in status["xnli/crashed"][1]
