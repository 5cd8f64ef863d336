"""The study on top of a lab, end to end through `xlpt lab` (build, sweep, report) on one small lab.

The lab is the tiny preset (greek: the base transliterated, same word order, shared anchors, half the
pretraining mixture) with smaller dev/test splits and full fine-tuning only, so the whole module
builds and trains once (3 seeds x 2 models). It checks the issue's "done when": with
shared pretraining a same-order derived language transfers above the no-pretraining control, on
every seed and by the report's interval; and that the study is an ordinary sweep the ordinary
commands rerun, whose majority baseline, notices and claims follow the rules.
"""

import argparse
import csv
import json
from collections import Counter

import pytest
import yaml

from xlpt.cli import lab as lab_cli
from xlpt.cli import sweep as sweep_cli
from xlpt.lab.report import build

pytestmark = pytest.mark.slow

SEEDS = [1, 2, 3]


def tiny_study_spec() -> dict:
    spec = yaml.safe_load((lab_cli.PRESET_DIR / "tiny.yaml").read_text())
    # Same corpus, tokenizer and initial weights as the preset, so the same pretraining run (at one thread):
    # smaller budgets, or leaving `unseen` out (it changes the tokenizer's alphabet, hence the initial
    # weights), gave pretraining runs that transferred far less (see docs/lab.md).
    spec.update(name="study_test", tasks={"train": 1000, "dev": 100, "test": 200}, retrieval={"sentences": 100},
                study={"seeds": SEEDS, "methods": {"full_finetune": {"learning_rate": 1.0e-3, "steps": 60}},
                       "eval_every": 20, "max_dev_examples": 100})
    return spec


def run_cli(module, argv):
    parser = argparse.ArgumentParser(prog="xlpt")
    module.register(parser.add_subparsers())
    args = parser.parse_args(argv)
    return args.func(args)


@pytest.fixture(scope="module")
def studied(tmp_path_factory):
    root = tmp_path_factory.mktemp("study")
    path = root / "lab.yaml"
    path.write_text(yaml.safe_dump(tiny_study_spec()))
    assert run_cli(lab_cli, ["lab", "--spec", str(path), "--out", str(root / "out"), "--device", "cpu", "--quiet",
                             "--threads", "1"]) == 0
    folder = next((root / "out").glob("lab-*"))
    study_dir = next(folder.glob("study-*"))
    return {"lab": folder, "study": study_dir, "lab_summary": json.loads((folder / "lab.json").read_text()),
            "record": json.loads((study_dir / "study.json").read_text()),
            "report": json.loads((study_dir / "report.json").read_text())}


def test_shared_pretraining_transfers_to_a_same_order_language_above_the_no_pretraining_control(studied):
    topic = studied["report"]["tasks"]["lab_topic"]
    pretrained = topic["accuracy"]["greek"]["full_finetune"]["pretrained"]
    control = topic["accuracy"]["greek"]["full_finetune"]["control"]
    assert pretrained["n"] == control["n"] == len(SEEDS)
    # on every seed, and by the interval (measured: 0.76-0.78 against 0.28-0.33, majority 0.245). This is one
    # pretraining run (deterministic for a machine and thread count): four pretraining runs of this construction
    # all transferred (0.71-0.82), but one of three runs of a variant barely did (0.52 vs 0.42, docs/lab.md)
    assert min(pretrained["values"]) > max(control["values"]) + 0.1, (pretrained, control)
    difference = topic["over_control"]["greek"]["full_finetune"]
    assert difference["low"] > 0.1
    claim = next(c for c in studied["report"]["claims"] if c["kind"] == "over_control" and c["language"] == "greek")
    assert claim["verdict"] == "above" and "3 and 3 seeds" in claim["text"] and "95% CI" in claim["text"]


def test_the_study_is_an_ordinary_sweep_that_xlpt_sweep_reruns(studied, capsys):
    """The sweep file in the study folder expands to exactly the study's runs, all done: `xlpt sweep`
    would rerun nothing."""
    record = studied["record"]
    capsys.readouterr()
    assert run_cli(sweep_cli, ["sweep", "--config", record["sweep"], "--include-path", str(studied["lab"] / "data" / "tasks"),
                               "--dry-run", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert {run["id"] for run in plan["runs"]} == {run["id"] for run in record["runs"]}
    assert {run["status"] for run in plan["runs"]} == {"done"} and len(plan["runs"]) == 2 * len(SEEDS)
    assert {lang for r in record["runs"] for lang in r["scores"]} == {"base", "greek", "unseen"}
    assert {(r["model"], r["seed"]) for r in record["runs"]} == {(m, s) for m in ("pretrained", "control") for s in SEEDS}
    assert all(r["steps"] == 60 and r["learning_rate"] == 1.0e-3 for r in record["runs"])


def test_the_majority_baseline_is_the_most_frequent_training_label_scored_on_each_test_file(studied):
    data = studied["lab"] / "data" / "lab_topic"
    with open(data / "base" / "train.tsv", encoding="utf-8") as handle:
        counts = Counter(row["label"] for row in csv.DictReader(handle, delimiter="\t"))
    majority = studied["record"]["majority"]["lab_topic"]
    assert majority["label"] == counts.most_common(1)[0][0] and majority["train_counts"] == dict(counts)
    for lang in ("base", "greek", "unseen"):
        with open(data / lang / "test.tsv", encoding="utf-8") as handle:
            labels = [row["label"] for row in csv.DictReader(handle, delimiter="\t")]
        assert majority["by_language"][lang] == {"accuracy": labels.count(majority["label"]) / len(labels),
                                                 "n": len(labels)}


def test_results_carry_the_labs_notice_and_no_pipeline_check_banner(studied):
    runs = studied["study"] / "runs"
    for run in studied["record"]["runs"]:
        results = json.loads((runs / run["id"] / "results.json").read_text())
        assert results["pipeline_check"] is False
        assert len(results["notices"]) == 1 and results["notices"][0].startswith("SYNTHETIC LANGUAGES")
    markdown = (studied["study"] / "report.md").read_text()
    ordinary = (studied["study"] / "xlpt-report" / "report.md").read_text()
    assert "SYNTHETIC LANGUAGES" in markdown and "NO-PRETRAINING CONTROL" in markdown
    assert "SYNTHETIC LANGUAGES" in ordinary and "PIPELINE CHECK" not in ordinary


def test_every_claim_states_its_interval_and_seeds_and_one_seed_makes_no_claim(studied):
    report = studied["report"]
    assert report["claims"] and all("95% CI" in c["text"] and "seeds" in c["text"] for c in report["claims"])
    one_seed = dict(studied["record"], runs=[r for r in studied["record"]["runs"] if r["seed"] == SEEDS[0]])
    alone = build(one_seed, studied["lab_summary"])
    assert alone["claims"] == [] and alone["no_claims"]
    assert all("fewer than 2 seeds" in text for text in alone["no_claims"])


def test_a_run_without_results_is_listed_and_left_out(studied):
    record = json.loads(json.dumps(studied["record"]))
    lost = record["runs"][0]
    lost.update(scores=None, error="FAILED: killed")
    report = build(record, studied["lab_summary"])
    assert report["runs"]["failed"] == [{"id": lost["id"], "error": "FAILED: killed"}]
    cell = report["tasks"]["lab_topic"]["accuracy"]["greek"][lost["method"]][lost["model"]]
    assert cell["n"] == len(SEEDS) - 1


@pytest.fixture(scope="module")
def compared(studied):
    """A second study on the same built lab (the build is reused: the study is not part of the lab's key):
    prompt tuning and full fine-tuning of the pretrained model, 3 seeds, short budgets; 6 runs."""
    root = studied["lab"].parent.parent
    spec = tiny_study_spec()
    spec["study"] = {"seeds": SEEDS, "models": ["pretrained"], "eval_every": 20, "max_dev_examples": 100,
                     "methods": {"prompt_tuning": {"learning_rate": 0.3, "steps": 60},
                                 "full_finetune": {"learning_rate": 1.0e-3, "steps": 60}}}
    path = root / "compare.yaml"
    path.write_text(yaml.safe_dump(spec))
    assert run_cli(lab_cli, ["lab", "--spec", str(path), "--out", str(root / "out"), "--device", "cpu", "--quiet",
                             "--threads", "1"]) == 0
    study_dir = next(d for d in studied["lab"].glob("study-*") if d != studied["study"])
    return {"study": study_dir, "report": json.loads((study_dir / "report.json").read_text())}


def test_xlpt_lab_and_xlpt_report_mark_the_same_gaps(compared, tmp_path):
    """Both call reporting.gaps on the same run directories: the same gaps, intervals, p-values and
    verdicts; the base language (the runs' source) is outside the family and never significant."""
    from xlpt.reporting import ReportOptions, build_report

    lab_gaps = compared["report"]["tasks"]["lab_topic"]["gap"]
    built = build_report(compared["study"] / "runs", tmp_path / "report", [], ReportOptions())
    [comparison] = built.comparisons
    assert comparison.sources == {"base"} and not comparison.is_source("greek")
    ordinary = {row.lang: row for row in comparison.rows}
    assert set(ordinary) == set(lab_gaps) == {"base", "greek", "unseen"}
    for lang, row in ordinary.items():
        entry = lab_gaps[lang]["prompt_tuning"]["pretrained"]
        assert entry["n"] == [3, 3] and entry["seed_aware"] and row.test.seeds == (3, 3)
        assert (entry["difference"], entry["low"], entry["high"], entry["p"], entry["p_adjusted"]) == (
            row.gap, *row.test.ci, row.test.p_value, row.p_adjusted)
        assert entry["significant"] == comparison.significant(row)
    assert ordinary["base"].p_adjusted is None and not lab_gaps["base"]["prompt_tuning"]["pretrained"]["significant"]
    assert [row.lang for row in comparison.family()] == ["greek", "unseen"]
    significant = {lang for lang, row in ordinary.items() if comparison.significant(row)}
    claimed = {c["language"] for c in compared["report"]["claims"] if c["kind"] == "gap" and c["verdict"] in ("above", "below")}
    assert claimed == significant
    # the average without source leaves out the base language, as every run's results.json does
    [table] = built.tables
    assert table.sources == {"base"} and table.average_label("without_source") == "Average w/o source (base)"
    for system, runs in table.runs.items():
        stored = [json.loads((run.path / "results.json").read_text()) for run in runs]
        expected = [(r["languages"]["greek"]["accuracy"] + r["languages"]["unseen"]["accuracy"]) / 2 for r in stored]
        assert [r.get("average_without_source", r.get("average_without_en")) for r in stored] == pytest.approx(expected)
        assert table.averages[("without_source", system)].mean == pytest.approx(sum(expected) / len(expected))
    # the lab's own copy of the ordinary report says the same
    ordinary_md = (compared["study"] / "xlpt-report" / "report.md").read_text()
    assert "hierarchical bootstrap over seeds and examples, with Welch's t over the runs (3 PT and 3 FT seed(s)" \
        in ordinary_md
    assert "Holm correction over the family of 2 target languages" in ordinary_md
