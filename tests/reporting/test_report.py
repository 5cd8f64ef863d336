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

from xlpt.reporting import ReportOptions, build_report  # noqa: E402

XNLI = ("en", "ar", "de", "fr", "sw", "th", "zh")
PANX = ("en", "de", "th", "yo")
PT10, PT20, FT, ZS = "Prompt tuning (L=10)", "Prompt tuning (L=20)", "Full FT", "Zero-shot"
# xnli mixes a 1-seed zero-shot column with 3-seed columns; panx has 2 seeds everywhere.
XNLI_TITLE = "xnli: accuracy (%) per language, mean over seeds, ± std where n ≥ 2"
PANX_TITLE = "panx: f1 (%) per language, mean ± std over seeds"


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


def test_results_table_cells_match_results_json(scenario, md_table):
    root, report, _ = scenario
    header, rows = md_table(report.markdown_path.read_text(), XNLI_TITLE)
    assert header == ["Language", "Split", "Examples", "Zero-shot (n=1)", "Prompt tuning (L=10, n=3)",
                      "Prompt tuning (L=20, n=3)", "Full FT (n=3)"]
    columns = [ZS, PT10, PT20, FT]
    # results.json without source_language (older files): the source is en, and the row says so
    assert [row[0][0] for row in rows] == list(XNLI) + ["Average", "Average w/o source (en)"]
    for row in rows:
        name = row[0][0]
        if name.startswith("Average"):
            per_seed = _per_column(root, "xnli", lambda r: _average(r, name == "Average w/o source (en)"))
            assert row[1][0] == row[2][0] == ""
        else:
            per_seed = _per_column(root, "xnli", lambda r: _metric(r, name))
            # Split and examples as every results.json says (written before the n_available field: no cap shown)
            assert {run["languages"][name]["split"] for run in _results(root, "xnli")} == {row[1][0]}
            assert {str(run["languages"][name]["n"]) for run in _results(root, "xnli")} == {row[2][0]}
        means = {c: statistics.mean(v) for c, v in per_seed.items()}
        for column, (text, bold) in zip(columns, row[3:]):
            values = per_seed[column]
            _assert_shown(text, means[column], statistics.stdev(values) if len(values) > 1 else None)
            assert bold == (column == max(means, key=means.get)), (name, column, text)


def test_dev_languages_get_a_dagger_and_a_footnote(scenario, md_table):
    root, report, _ = scenario
    markdown = report.markdown_path.read_text()
    _, rows = md_table(markdown, PANX_TITLE)
    assert [r[0][0] for r in rows][:4] == ["en", "de", "th†", "yo"]
    assert [r[1][0] for r in rows][:4] == ["test", "test", "dev", "test"]
    assert "† no labeled test split for this language, evaluated on another split (th: dev)." in markdown
    assert r"th$^\dagger$" in (report.out_dir / "tables" / "panx.tex").read_text()
    with open(report.out_dir / "tables" / "panx.csv", newline="") as handle:
        by_lang = {row["language"]: row for row in csv.DictReader(handle)}
    assert by_lang["th"]["substitute_split"] == "dev" and by_lang["th"]["split"] == "dev"
    assert by_lang["de"]["split"] == "test" and by_lang["de"]["examples"] == "200"


def test_latex_and_html_show_the_same_cells_as_markdown(scenario, md_table):
    _, report, _ = scenario
    title = XNLI_TITLE
    header, md_rows = md_table(report.markdown_path.read_text(), title)
    tex = (report.out_dir / "tables" / "xnli.tex").read_text()
    assert all(cmd in tex for cmd in (r"\toprule", r"\midrule", r"\bottomrule", r"\begin{tabular}{lrrrrrr}"))
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


def _holm(p_values: list[float]) -> list[float]:
    """Holm's adjusted p-values written out from the definition, independently of the report's code:
    the k-th smallest p (k from 0) is multiplied by m - k, then made non-decreasing and capped at 1."""
    m = len(p_values)
    ranked = sorted(range(m), key=lambda i: p_values[i])
    adjusted, running = [0.0] * m, 0.0
    for k, i in enumerate(ranked):
        running = max(running, min(1.0, (m - k) * p_values[i]))
        adjusted[i] = running
    return adjusted


def _p_text(p: float) -> str:
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _gaps_csv(report) -> dict[tuple[str, str], dict]:
    with open(report.out_dir / "tables" / "gaps.csv", newline="") as handle:
        return {(row["comparison"], row["language"]): row for row in csv.DictReader(handle)}


def test_gap_table_values_ci_and_holm_adjusted_p(scenario, md_table):
    root, report, _ = scenario
    markdown = report.markdown_path.read_text()
    header, rows = md_table(markdown, "xnli: prompt tuning − full fine-tuning, percentage points")
    assert header[:2] == ["Language", "Split"]
    assert header[2] == "Δ Prompt tuning (L=10) − Full FT (pp)"
    assert header[6] == "Δ Prompt tuning (L=20) − Full FT (pp)"
    assert header[4:6] == header[8:10] == ["p (raw)", "p (Holm)"]
    gaps = _gaps_csv(report)
    targets = [lang for lang in XNLI if lang != "en"]
    for offset, pt in ((2, PT10), (6, PT20)):
        label = f"{pt} − {FT}"
        holm = dict(zip(targets, _holm([float(gaps[(label, lang)]["p_value"]) for lang in targets])))
        marked = [lang for lang in targets if holm[lang] < 0.05]
        assert (f"xnli · {label}: {len(marked)} of 6 target languages differ at Holm-adjusted p < 0.05"
                + (f" ({', '.join(marked)})" if marked else "") + "; two-sided hierarchical bootstrap over seeds and "
                "examples, with Welch's t over the runs (3 PT and 3 FT seed(s), 200 examples per language, 500 "
                "resamples); Holm correction over the "
                "family of 6 target languages (family-wise error rate).") in markdown
        for row in rows[: len(XNLI)]:
            lang = row[0][0]
            per_seed = _per_column(root, "xnli", lambda r: _metric(r, lang))
            gap = statistics.mean(per_seed[pt]) - statistics.mean(per_seed[FT])
            _assert_shown(row[offset][0], gap, None)
            low, high = (float(v) for v in row[offset + 1][0].strip("[]").split(", "))
            assert low - 0.05 <= 100 * gap <= high + 0.05
            assert row[offset + 2][0] == _p_text(float(gaps[(label, lang)]["p_value"]))
            if lang == "en":  # the training language is tested but never corrected into the family or marked
                assert row[offset + 3][0] == "—" and not row[offset][1]
                continue
            assert row[offset + 3][0] == _p_text(holm[lang])
            assert float(gaps[(label, lang)]["p_adjusted"]) == pytest.approx(holm[lang], abs=1e-12)
            assert row[offset][1] == (holm[lang] < 0.05), (label, lang)  # bold only on the adjusted p
    sw = next(row for row in rows if row[0][0] == "sw")
    # +30 pp on 200 examples per seed: no resample crosses 0, so p is the floor 2 / (500 + 1), and
    # Holm multiplies the smallest of the 6 target languages' p by 6.
    assert sw[6][1] and sw[8][0] == f"{2 / 501:.3f}" and sw[9][0] == f"{12 / 501:.3f}"
    assert "Bold: Holm-adjusted p < 0.05" in markdown
    _, pawsx = md_table(markdown, "pawsx: prompt tuning − full fine-tuning, percentage points")
    assert all(row[3][0] == row[4][0] == row[5][0] == "n/a" for row in pawsx[:3])
    assert "n/a: no predictions for Full FT" in markdown
    assert "pawsx · Prompt tuning − Full FT: no target language has a test" in markdown


def test_gap_average_rows(scenario, md_table):
    root, report, _ = scenario
    _, rows = md_table(report.markdown_path.read_text(), "panx: prompt tuning − full fine-tuning, percentage points")
    for row in rows[-2:]:
        without_en = row[0][0] == "Average w/o source (en)"
        per_seed = _per_column(root, "panx", lambda r: _average(r, without_en))
        _assert_shown(row[2][0], statistics.mean(per_seed["Prompt tuning"]) - statistics.mean(per_seed[FT]), None)


def test_correlations_on_few_languages_are_not_interpretable(scenario, md_table):
    root, report, tokenization = scenario
    markdown = report.markdown_path.read_text()
    assert "xnli: Prompt tuning (L=20) − Full FT" in markdown  # the better PT configuration is the one analysed
    header, rows = md_table(markdown, "PT − FT gap (pp) against tokenization and pretraining share")
    left, slope = header.index("Left out"), next(i for i, name in enumerate(header) if name.startswith("Slope"))
    row = next(r for r in rows if r[0][0] == "xnli" and r[1][0].startswith("Fertility"))
    # 4 languages (ar de fr sw): below the default minimum of 8, so no r, CI, p or slope at all
    assert row[2][0] == "4" and row[3][0] == "not interpretable (n = 4 < 8 languages)"
    assert {cell for cell, _ in row[4:slope + 1]} == {"—"}
    assert "th, zh (no fertility" in row[left][0] and "en (training language)" in row[left][0]
    share_row = next(r for r in rows if r[0][0] == "xnli" and r[1][0].startswith("log10"))
    assert share_row[2][0] == "5" and "zh (unseen in pretraining: no share)" in share_row[left][0]
    pooled = next(r for r in rows if r[0][0] == "all tasks (pooled)" and r[1][0].startswith("Fertility"))
    # xnli ar de fr sw + panx de th yo: 7 points, 6 distinct languages
    assert pooled[2][0] == "7 (6 languages)" and pooled[3][0] == "not interpretable (n = 6 < 8 languages)"
    assert all(a.result is None and not a.interpretable for a in report.analyses)
    with open(report.out_dir / "tables" / "correlations.csv", newline="") as handle:
        for line in csv.DictReader(handle):
            assert line["pearson_r"] == line["spearman_rho"] == "" and line["interpretable"] == "False"
    with open(report.out_dir / "tables" / "correlation_points.csv", newline="") as handle:
        points = [(r["scope"], r["variable"], r["language"]) for r in csv.DictReader(handle)]
    assert [lang for scope, variable, lang in points if (scope, variable) == ("xnli", "fertility")] == [
        "ar", "de", "fr", "sw"]  # the points are kept


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


def test_parameters_skipped_and_incomplete_runs_are_listed(scenario, md_table):
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
