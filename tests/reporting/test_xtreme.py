"""`xlpt report --protocol xtreme` on run directories built from the real shared data's PAN-X and UDPOS
languages and gold tags: XTREME's language sets and order, seqeval's default F1 as the headline (computed
here with seqeval itself), every dev / partial / absent / extra language marked, averages recomputed
independently from the per-language values."""

from __future__ import annotations

import json
import statistics
import zlib

import pytest

from xlpt.cli import main
from xlpt.reporting.split_mix import average_label, mix_text

# XTREME's evaluation languages in the order of google-research/xtreme evaluate.py (TASK2LANGS), typed
# out here from that file rather than imported from the module under test.
PANX_XTREME = ("ar he vi id jv ms tl eu ml ta te af nl en de el bn hi mr ur fa fr it pt es bg ru ja ka ko th sw yo "
               "my zh kk tr et fi hu").split()
UDPOS_XTREME = ("af ar bg de el en es et eu fa fi fr he hi hu id it ja kk ko mr nl pt ru ta te th tl tr ur vi yo "
                "zh").split()
DE_PARTIAL = "UD v2.5 GSD+LIT+PUD test only: HDT missing (3,899 of XTREME's 22,358 sentences)"
UPOS_WRONG = {"NOUN": "PROPN", "VERB": "AUX", "ADJ": "NOUN", "ADP": "ADV", "PRON": "DET"}


def _unit(*parts) -> float:
    return zlib.crc32("/".join(map(str, parts)).encode()) / 2**32


def _sentences(path, limit: int = 25) -> list[list[str]]:
    """The tag column of the first `limit` sentences of an XTREME-format token<TAB>tag file."""
    sentences, current = [], []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.rstrip("\n")
            if not line:
                if current:
                    sentences.append(current)
                    current = []
                if len(sentences) == limit:
                    break
                continue
            current.append(line.split("\t")[-1])
    return sentences + ([current] if current and len(sentences) < limit else [])


def _predict_panx(gold: list[list[str]], key: str) -> list[list[str]]:
    """Some B-X become I-X (strict drops the entity, seqeval's default keeps it), some entities are dropped."""
    preds = []
    for s, tags in enumerate(gold):
        pred = list(tags)
        for i, tag in enumerate(tags):
            roll = _unit(key, s, i)
            if tag.startswith("B-") and roll < 0.3:
                pred[i] = "I-" + tag[2:]
            elif tag.startswith("B-") and roll < 0.45:
                pred[i] = "O"
        preds.append(pred)
    return preds


def _predict_udpos(gold: list[list[str]], key: str) -> list[list[str]]:
    return [[UPOS_WRONG.get(t, t) if _unit(key, s, i) < 0.25 else t for i, t in enumerate(tags)]
            for s, tags in enumerate(gold)]


def _scores(task: str, gold, pred) -> dict:
    from seqeval.metrics import f1_score
    from seqeval.scheme import IOB2

    lenient = float(f1_score(gold, pred))  # seqeval's default mode: what XTREME reports
    if task == "panx":
        return {"f1": float(f1_score(gold, pred, mode="strict", scheme=IOB2)), "f1_xtreme": lenient}
    words = [(g, p) for gs, ps in zip(gold, pred) for g, p in zip(gs, ps)]
    return {"accuracy": sum(g == p for g, p in words) / len(words), "f1_xtreme": lenient}


def _languages(data_dir, task: str) -> dict[str, tuple]:
    """lang -> (gold file, split, partial note) as the shared data has them."""
    found = {}
    for folder in sorted((data_dir / task).iterdir()):
        lang = folder.name
        if task == "panx":
            gold = folder / "xtreme-mesh" / f"dev-{lang}.tsv"
            split = "test" if (folder / "mmner").is_dir() else "dev"  # only af has a labeled PAN-X test here
            found[lang] = (gold, split, None)
        else:
            test, dev = folder / "xtreme-topro" / f"test-{lang}.tsv", folder / "xtreme-topro" / f"dev-{lang}.tsv"
            if lang == "de":
                found[lang] = (dev, "test", DE_PARTIAL)
            else:
                found[lang] = (test, "test", None) if test.is_file() else (dev, "dev", None)
    return found


def _write_run(root, name: str, task: str, method: str, seed: int, languages: dict, gold: dict) -> None:
    run = root / name
    entries = {}
    for lang, (_, split, partial) in languages.items():
        pred = (_predict_panx if task == "panx" else _predict_udpos)(gold[lang], f"{name}/{lang}")
        entry = {**_scores(task, gold[lang], pred), "n": len(gold[lang]), "split": split}
        if partial:
            entry["partial"] = partial
        entries[lang] = entry
        path = run / "predictions" / split / f"{lang}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps({"id": f"{lang}-{i}", "gold": g, "pred": p}) + "\n"
                                for i, (g, p) in enumerate(zip(gold[lang], pred))), encoding="utf-8")
    metric = "f1" if task == "panx" else "accuracy"
    results = {"task": task, "method": method, "model": "facebook/xglm-564M", "run_id": name, "seed": seed,
               "split": "test", "metric": metric, "prompt_length": 20 if method == "prompt_tuning" else None,
               "learning_rate": 0.3 if method == "prompt_tuning" else 1e-5, "languages": entries,
               "source_language": "en", "config": {"data": {"train_lang": "en"}}}
    (run / "results.json").write_text(json.dumps(results), encoding="utf-8")


@pytest.fixture(scope="module")
def tagging(data_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("xtreme")
    languages = {task: _languages(data_dir, task) for task in ("panx", "udpos")}
    for task, langs in languages.items():
        gold = {lang: _sentences(path) for lang, (path, _, _) in langs.items()}
        for method in ("prompt_tuning", "full_finetune"):
            for seed in (1, 2):
                _write_run(root / "runs", f"{task}-{method}-s{seed}", task, method, seed, langs, gold)
    assert main(["report", "--runs", str(root / "runs"), "--out", str(root / "out"), "--protocol", "xtreme"]) == 0
    return root, languages


def _per_language(root, task: str, key: str) -> dict[str, dict[str, float]]:
    """System ("prompt_tuning" / "full_finetune") -> language -> mean over seeds, from the results files."""
    values: dict[str, dict[str, list[float]]] = {}
    for path in sorted((root / "runs").glob(f"{task}-*/results.json")):
        data = json.loads(path.read_text())
        for lang, entry in data["languages"].items():
            values.setdefault(data["method"], {}).setdefault(lang, []).append(entry[key])
    return {m: {lang: statistics.mean(v) for lang, v in langs.items()} for m, langs in values.items()}


def _row(rows, system: str, metric: str):
    return next(row for row in rows if row[0][0].startswith(system) and row[1][0] == metric)


def test_shared_data_inventory_is_what_the_view_must_mark(tagging):
    _, languages = tagging
    panx, udpos = languages["panx"], languages["udpos"]
    assert "th" not in panx and "en" in panx  # th: missing from the shared copy (over its size limit)
    assert sorted(set(panx) - set(PANX_XTREME)) == ["az", "gu", "lt", "pa", "pl", "qu", "ro", "uk"]
    assert udpos["de"][2] == DE_PARTIAL and udpos["ja"][1] == "dev"


def test_panx_table_headline_is_seqeval_default_f1_with_strict_beside(tagging, md_table):
    root, languages = tagging
    markdown = (root / "out" / "xtreme.md").read_text()
    title = ("panx (XTREME protocol): F1 (seqeval default, conlleval) (%) on test sets, XTREME's 40 languages in "
             "XTREME's order; strict F1 (IOB2) below")
    header, rows = md_table(markdown, title)
    assert header == ["System", "Metric"] + PANX_XTREME + ["avg", "avg, all shown"]
    assert [row[1][0] for row in rows] == ["F1 (seqeval default, conlleval)"] * 2 + ["strict F1 (IOB2)"] * 2
    lenient, strict = _per_language(root, "panx", "f1_xtreme"), _per_language(root, "panx", "f1")
    assert any(abs(lenient[m][lang] - strict[m][lang]) > 0.01 for m in lenient for lang in lenient[m])
    for key, values in (("F1 (seqeval default, conlleval)", lenient), ("strict F1 (IOB2)", strict)):
        for system, method in (("Prompt tuning", "prompt_tuning"), ("Full FT", "full_finetune")):
            row = _row(rows, system, key)
            assert row[0][0].endswith("[2 seeds]")
            cells = dict(zip(PANX_XTREME, [cell for cell, _ in row[2:-2]]))
            for lang in PANX_XTREME:
                if lang not in languages["panx"]:
                    assert cells[lang] == "— absent"
                    continue
                number = f"{100 * values[method][lang]:.1f}"
                assert cells[lang] == (number if lang == "af" else f"{number} dev†"), lang
            # XTREME's average counts full test sets only: af alone here, and the cell says so.
            assert row[-2][0] == f"{100 * values[method]['af']:.1f} (1 of 40 on full test)"
            shown = [values[method][lang] for lang in PANX_XTREME if lang in values[method]]  # extras excluded
            assert row[-1][0] == (f"{100 * statistics.mean(shown):.1f} ({len(shown)} of 40; mixed: "
                                  f"{len(shown) - 1} dev, 1 test)")
    absent = [lang for lang in PANX_XTREME if lang not in languages["panx"]]
    assert f"absent: {len(absent)} of XTREME's 40 languages have no result in any run ({', '.join(absent)})" \
        in markdown
    assert ("Left out (not among XTREME's 40 panx languages, in no average): az, gu, lt, pa, pl, qu, ro, uk."
            in markdown)
    assert "dev†: scored on dev, not test" in markdown


def test_udpos_marks_partial_german_and_dev_japanese(tagging, md_table):
    root, languages = tagging
    markdown = (root / "out" / "xtreme.md").read_text()
    title = ("udpos (XTREME protocol): F1 (seqeval default over UPOS tags) (%) on test sets, XTREME's 33 languages "
             "in XTREME's order; word accuracy below")
    header, rows = md_table(markdown, title)
    assert header[2:-2] == UDPOS_XTREME
    for key, metric in (("f1_xtreme", "F1 (seqeval default over UPOS tags)"), ("accuracy", "word accuracy")):
        values = _per_language(root, "udpos", key)["prompt_tuning"]
        cells = dict(zip(UDPOS_XTREME, [cell for cell, _ in _row(rows, "Prompt tuning", metric)[2:-2]]))
        assert cells["de"] == f"{100 * values['de']:.1f} partial‡"
        assert cells["ja"] == f"{100 * values['ja']:.1f} dev†"
        assert cells["kk"] == cells["mr"] == "— absent"
        full = [lang for lang in UDPOS_XTREME if lang in values and lang not in ("de", "ja")]
        assert len(full) == 29
        row = _row(rows, "Prompt tuning", metric)
        assert row[-2][0] == f"{100 * statistics.mean(values[lang] for lang in full):.1f} (29 of 33 on full test)"
        assert row[-1][0].endswith("(31 of 33; mixed: 29 test, 1 dev, 1 partial test)")
    assert f"de: {DE_PARTIAL}" in markdown
    assert "Left out (not among XTREME's 33 udpos languages, in no average): lt, pl, ro, uk, wo." in markdown


def test_csv_has_the_numbers_and_what_counts_in_the_average(tagging):
    import csv

    root, _ = tagging
    with open(root / "out" / "tables" / "xtreme_udpos.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    values = _per_language(root, "udpos", "f1_xtreme")["full_finetune"]
    mine = {r["language"]: r for r in rows if r["system"] == "Full FT" and r["metric"] == "f1_xtreme"}
    assert float(mine["de"]["value_pct"]) == pytest.approx(100 * values["de"])
    assert mine["de"]["marks"] == "partial" and mine["de"]["in_xtreme_average"] == "False"
    assert mine["th"]["in_xtreme_average"] == "True" and mine["kk"]["marks"] == "absent"
    counted = [lang for lang, r in mine.items() if r["in_xtreme_average"] == "True"]
    assert float(mine["avg"]["value_pct"]) == pytest.approx(100 * statistics.mean(values[lang] for lang in counted))


def test_cli_prints_what_differs_and_rejects_a_bad_protocol(tagging, tmp_path, capsys):
    root, languages = tagging
    absent = [lang for lang in PANX_XTREME if lang not in languages["panx"]]
    assert main(["report", "--runs", str(root / "runs"), "--out", str(tmp_path / "o"), "--protocol", "xtreme"]) == 0
    out = capsys.readouterr().out
    assert "report (XTREME protocol): 8 runs" in out
    assert (f"panx: 40 XTREME languages, headline F1 (seqeval default, conlleval); {len(absent)} absent "
            f"({', '.join(absent)}); marked: dev† {40 - len(absent) - 1}; 8 extra left out (az, gu, lt, pa, pl, qu, "
            "ro, uk)") in out
    assert (tmp_path / "o" / "xtreme.md").read_bytes() == (root / "out" / "xtreme.md").read_bytes()  # deterministic
    with pytest.raises(SystemExit) as exit_info:
        main(["report", "--runs", str(root / "runs"), "--out", str(tmp_path / "p"), "--protocol", "xtrem"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "Traceback" not in err
    assert "argument --protocol: invalid choice: 'xtrem' (choose from" in err
    assert main(["report", "--runs", str(root / "runs"), "--out", str(tmp_path / "q"), "--protocol", "xtreme",
                 "--split", "dev"]) == 2
    err = capsys.readouterr().err
    assert "--protocol xtreme reports test sets only; drop --split dev" in err and len(err.strip().splitlines()) == 1
    assert main(["report", "--runs", str(root / "runs"), "--out", str(tmp_path / "q"), "--protocol", "xtreme",
                 "--tokenization", str(tmp_path / "tok.json")]) == 2
    assert "--tokenization has no effect with --protocol xtreme" in capsys.readouterr().err


def test_results_without_xtremes_metric_are_marked_not_averaged(tmp_path, capsys):
    run = tmp_path / "runs" / "old"
    run.mkdir(parents=True)
    languages = {"en": {"f1": 0.8, "n": 10, "split": "test"},
                 "de": {"f1": 0.6, "f1_xtreme": 0.62, "n": 10, "split": "test", "capped": True},
                 "fr": {"f1": 0.5, "f1_xtreme": 0.55, "n": 10, "split": "test", "excluded_parallel": 3}}
    (run / "results.json").write_text(json.dumps({"task": "panx", "method": "full_finetune", "model": "m", "seed": 1,
                                                  "split": "test", "metric": "f1", "languages": languages}))
    (tmp_path / "runs" / "sib").mkdir()
    (tmp_path / "runs" / "sib" / "results.json").write_text(json.dumps({
        "task": "sib200", "method": "full_finetune", "model": "m", "seed": 1, "split": "test", "metric": "accuracy",
        "languages": {"eng_Latn": {"accuracy": 0.7, "n": 10}}}))
    args = ["report", "--runs", str(tmp_path / "runs"), "--out", str(tmp_path / "out"), "--protocol", "xtreme"]
    assert main(args) == 0
    markdown = (tmp_path / "out" / "xtreme.md").read_text()
    assert "| — no metric¶ |" in markdown and "| 62.0 capped§ |" in markdown and "| 55.0 subset‖ |" in markdown
    assert "| n/a (0 of 40) |" in markdown  # neither counts: one has no F1 of XTREME's kind, one is capped
    assert "no metric¶: results.json has no f1_xtreme" in markdown
    assert "Not XTREME tasks, left out of this view: sib200 (1 runs)." in markdown
    assert "not XTREME tasks, left out: sib200" in capsys.readouterr().out


def test_average_label_names_a_mix_of_splits():
    splits = {"ar": "test", "bg": "test", "de": "dev", "el": "test", "fr": "dev, test"}
    assert mix_text(splits) == "3 test, 1 dev, 1 dev, test"
    assert average_label("Average", splits) == "Average (mixed: 3 test, 1 dev, 1 dev, test)"
    assert average_label("Average", {"ar": "test", "bg": "test"}) == "Average"


def test_a_complete_xnli_run_gets_xtremes_plain_average(tmp_path, md_table, writer_class):
    langs = "ar bg de el en es fr hi ru sw th tr ur vi zh".split()
    w = writer_class(tmp_path / "runs")
    results = w.write("ft", method="full_finetune", scores={lang: 0.4 + 0.02 * i for i, lang in enumerate(langs)},
                      n=50, top={"source_language": "en"})
    assert main(["report", "--runs", str(tmp_path / "runs"), "--out", str(tmp_path / "out"), "--protocol", "xtreme"]) \
        == 0
    markdown = (tmp_path / "out" / "xtreme.md").read_text()
    header, rows = md_table(markdown, "xnli (XTREME protocol): accuracy (%) on test sets, XTREME's 15 languages in "
                                      "XTREME's order")
    (row,) = rows
    accuracy = {lang: entry["accuracy"] for lang, entry in results["languages"].items()}
    assert [cell for cell, _ in row[2:-2]] == [f"{100 * accuracy[lang]:.1f}" for lang in header[2:-2]]
    assert row[-2][0] == f"{100 * statistics.mean(accuracy.values()):.1f}"  # every language on full test: no caveat
    assert row[-1][0] == f"{100 * statistics.mean(accuracy.values()):.1f} (15 of 15)"
    assert "dev†" not in markdown and "absent" not in markdown and "Trained on" not in markdown


def test_default_report_names_an_average_that_mixes_dev_and_test(tmp_path, md_table, writer_class):
    from xlpt.reporting import ReportOptions, build_report

    w = writer_class(tmp_path / "runs")
    scores = {"en": 0.8, "de": 0.6, "fr": 0.62, "sw": 0.5, "th": 0.45}
    results = w.write("ft", method="full_finetune", scores=scores, dev_langs=("sw", "th"), n=40,
                      top={"source_language": "en"})
    report = build_report(tmp_path / "runs", tmp_path / "out", options=ReportOptions(paired_resamples=100))
    _, rows = md_table(report.markdown_path.read_text(), "xnli: accuracy (%) per language, 1 seed per system (no std)")
    averages = {row[0][0]: row[3][0] for row in rows[-2:]}
    values = {lang: entry["accuracy"] for lang, entry in results["languages"].items()}
    assert averages == {
        "Average (mixed: 3 test, 2 dev)": f"{100 * statistics.mean(values.values()):.1f}",
        "Average w/o source (en) (mixed: 2 dev, 2 test)":  # ties: by name
            f"{100 * statistics.mean(v for lang, v in values.items() if lang != 'en'):.1f}",
    }
    w.write("ft", method="full_finetune", scores=scores, n=40)  # every language on test: plain names
    report = build_report(tmp_path / "runs", tmp_path / "out2", options=ReportOptions(paired_resamples=100))
    _, rows = md_table(report.markdown_path.read_text(), "xnli: accuracy (%) per language, 1 seed per system (no std)")
    assert [row[0][0] for row in rows[-2:]] == ["Average", "Average w/o source (en)"]
