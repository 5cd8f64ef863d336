"""`xlpt.reporting.audit`: every kind of protocol risk is found in synthetic run folders, with exactly the runs
concerned, and a clean study gives none. Runs are written by conftest's RunWriter (results.json) plus the files
a real run has beside it (config.yaml, train_summary.json, status.json), in the fields' documented shapes."""

from __future__ import annotations

import json

import pytest
import yaml

from xlpt.reporting.audit import KINDS, audit_collections, audit_folders
from xlpt.reporting.collect import collect_runs

XNLI = ["ar", "bg", "de", "el", "en", "es", "fr", "hi", "ru", "sw", "th", "tr", "ur", "vi", "zh"]
SAMPLE = {"split": "train", "seed": 0, "n": 2000, "of": 392702, "hash": "ab" * 32, "stratified_by": "label"}


class Study:
    """A study that passes every check; each test breaks one thing and expects exactly that risk."""

    def __init__(self, runs):
        self.writer = runs
        self.root = runs.root

    def run(self, name, *, task="xnli", method="prompt_tuning", seed=1, languages=XNLI, dev_langs=(), data=None,
            summary=None, top=None, status="evaluated", entries=None):
        """One finished run: results.json (languages scored on test unless in dev_langs), config.yaml,
        train_summary.json (balanced labels, no cap drawn), status.json. `entries` merge into languages.<l>."""
        results = self.writer.write(name, task=task, method=method, seed=seed, scores={lang: 0.5 for lang in languages},
                                    dev_langs=dev_langs, n=20, predictions=False,
                                    top={"parallel": {"by": "row", "checked": True}, "pipeline_check": False,
                                         **(top or {})})
        for lang, extra in (entries or {}).items():
            results["languages"][lang].update(extra)
        self.write_json(name, "results.json", results)
        config = {"data": {"task": task, "max_train_examples": None, "max_dev_examples": 1000,
                           "max_eval_examples": None, **(data or {})}, "train": {"seed": seed}}
        (self.root / name / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
        base = {"status": "done", "n_train": 392702, "n_dev": 1000, "label_imbalance": None,
                "train_label_counts": {"entailment": 130000, "neutral": 131000, "contradiction": 131702},
                "samples": {"train": None, "dev": dict(SAMPLE, split="dev", n=1000, of=2490)}}
        self.write_json(name, "train_summary.json", {**base, **(summary or {})})
        self.write_json(name, "status.json", {"status": status})
        return self.root / name

    def write_json(self, name, file, data):
        (self.root / name / file).write_text(json.dumps(data), encoding="utf-8")

    def clean(self):
        for seed in (1, 2):
            self.run(f"pt-s{seed}", seed=seed)
            self.run(f"ft-s{seed}", method="full_finetune", seed=seed)

    def risks(self, kind=None):
        risks = audit_collections([(self.root, collect_runs(self.root))]).risks
        return [r for r in risks if kind is None or r.kind == kind]


@pytest.fixture
def study(runs):
    return Study(runs)


def only(risks):
    assert len(risks) == 1, [r.line() for r in risks]
    return risks[0]


def test_a_clean_study_has_no_risk(study):
    study.clean()
    assert study.risks() == []
    assert audit_folders([study.root]).runs == 4


def test_train_cap_says_whether_it_was_a_sample_or_the_first_rows(study):
    study.clean()
    study.run("pt-s1", data={"max_train_examples": 2000}, summary={"n_train": 2000, "samples": {
        "train": SAMPLE, "dev": None}})
    study.run("pt-s2", seed=2, data={"max_train_examples": 2000}, summary={"n_train": 2000, "samples": None})
    study.run("ft-s1", method="full_finetune", data={"max_train_examples": 500000}, summary={
        "samples": {"train": None, "dev": None}})  # a cap above the file's size draws nothing
    sampled, first, old_dev = study.risks("caps")  # the old run capped its selection rows too (default 1000)
    assert sampled.runs == ("pt-s1",) and "data.max_train_examples=2000" in sampled.message
    assert "seeded sample (2,000 of 392,702 train rows, seed 0, stratified by label)" in sampled.message
    assert first.runs == ("pt-s2",) and "first 2000 rows, not a sample" in first.message
    assert old_dev.runs == ("pt-s2",) and "data.max_dev_examples=1000: checkpoints selected on the first" \
        in old_dev.message


def test_old_run_whose_training_set_was_smaller_than_the_cap_is_not_capped(study):
    study.clean()
    study.run("pt-s1", data={"max_train_examples": 5000}, summary={"n_train": 1600, "samples": None})
    assert [r for r in study.risks("caps") if "max_train_examples" in r.message] == []


def test_dev_cap_is_a_risk_when_small_or_not_a_sample(study):
    study.clean()  # every clean run selects on a seeded sample of the default 1000: the documented protocol
    study.run("pt-s1", data={"max_dev_examples": 40}, summary={"samples": {
        "train": None, "dev": dict(SAMPLE, split="dev", n=40, of=2490)}})
    study.run("pt-s2", seed=2, summary={"samples": None, "n_dev": 1000})
    small, first = study.risks("caps")
    assert small.runs == ("pt-s1",) and "small seeded sample (40 of 2,490 dev rows" in small.message
    assert first.runs == ("pt-s2",) and "first 1000 dev rows" in first.message


def test_eval_cap_sampled_or_first_rows_per_language(study):
    study.clean()
    capped = {"n_available": 5010, "capped": True}
    study.run("pt-s1", data={"max_eval_examples": 20}, top={"evaluation": {"split": "test", "languages": "all",
              "limit": 20}}, entries={"de": {**capped, "sample": dict(SAMPLE, split="test", n=20, of=5010)}})
    study.run("pt-s2", seed=2, data={"max_eval_examples": 20}, entries={"fr": capped, "es": capped})
    sampled, maybe, first, compared = study.risks("caps")  # in the order found: pt-s1's two, then pt-s2's
    assert compared.message == "xnli: compared runs scored different rows of ar, bg, de, el, en, es, fr, hi, ru, " \
        "sw, … (15 in all) (another sample or cap)"  # every language of pt-s1 reached its limit of 20
    assert sampled.runs == ("pt-s1",) and "capped at 20 examples per language: a seeded sample (seed 0) in de" \
        in sampled.message
    assert first.runs == ("pt-s2",) and "the first rows of es, fr, not a sample" in first.message
    # pt-s1's other languages reached the limit without saying how many rows they have
    assert maybe.runs == ("pt-s1",) and "limit 20 reached in ar, bg, el, en, es, fr, hi, ru, sw, th, … (14 in all)" \
        in maybe.message and "possibly capped" in maybe.message


@pytest.mark.parametrize("counts, expected", [
    ({"entailment": 2000}, "one-label training: every training example is 'entailment'"),
    ({"entailment": 1000, "neutral": 1000, "contradiction": 5},
     "starved labels: below 1% of the 2,005 training examples (contradiction 5)"),
    ({"entailment": 1000, "neutral": 1000}, "labels of xnli absent from training: contradiction"),
])
def test_one_label_starved_and_absent_labels(study, counts, expected):
    study.clean()
    study.run("ft-s2", method="full_finetune", seed=2, summary={"train_label_counts": counts})
    risk = only(study.risks("labels"))
    assert risk.message == expected and risk.runs == ("ft-s2",)


def test_tagging_counts_words_and_a_rare_tag_is_normal(study):
    tags = {"O": 50000, "B-PER": 2000, "I-PER": 1500, "B-ORG": 1800, "I-ORG": 2200, "B-LOC": 2100, "I-LOC": 300}
    study.run("rare-tag", task="panx", summary={"train_label_counts": tags})  # I-LOC 0.5%: Zipf, not a risk
    study.run("no-loc", task="panx", seed=2, summary={"train_label_counts": {
        k: v for k, v in tags.items() if "LOC" not in k}})
    study.run("all-o", task="panx", seed=3, summary={"train_label_counts": {"O": 9000}})
    risks = {r.runs: r.message for r in study.risks("labels")}
    assert risks == {("no-loc",): "labels of panx absent from training: B-LOC, I-LOC",
                     ("all-o",): "one-label training: every training word is 'O'"}


def test_label_imbalance_override_and_missing_counts_are_reported(study):
    study.clean()
    problems = ["neutral is 0.2% of training (33.3% of the full split)"]
    study.run("pt-s1", summary={"label_imbalance": {"allowed": True, "problems": problems}})
    study.run("pt-s2", seed=2, summary={"train_label_counts": None})
    (study.root / "pt-s2" / "train_summary.json").unlink()  # results.json `training` has no counts either
    override, unknown = study.risks("labels")
    assert override.runs == ("pt-s1",) and "data.allow_label_imbalance=true" in override.message
    assert problems[0] in override.message
    assert unknown.runs == ("pt-s2",) and "not recorded" in unknown.message


def test_labels_fall_back_to_results_training_record(study):
    study.clean()
    study.run("pt-s1", top={"training": {"train_label_counts": {"neutral": 10}}})
    (study.root / "pt-s1" / "train_summary.json").unlink()
    assert only(study.risks("labels")).message == "one-label training: every training example is 'neutral'"


def test_zero_shot_runs_have_no_training_to_audit(study):
    study.clean()
    study.run("zs", method="zero_shot", summary={"train_label_counts": None}, top={"parallel": None})
    assert study.risks() == []


def test_parallel_overlap_and_unchecked_leakage(study):
    study.clean()
    study.run("pt-s1", entries={"es": {"excluded_parallel": 1600}, "fr": {"excluded_parallel": 1600}})
    study.run("pt-s2", seed=2, entries={"es": {"parallel_to_selection": 400}})
    study.run("ft-s1", method="full_finetune", top={"parallel": {"by": None, "checked": False}})
    study.run("ft-s2", method="full_finetune", seed=2, top={"parallel": None})
    risks = {r.runs: r.message for r in study.risks("parallel")}
    assert set(risks) == {("pt-s1",), ("pt-s2",), ("ft-s1",), ("ft-s2",)}
    assert "excluded before scoring (es 1,600, fr 1,600)" in risks[("pt-s1",)]
    assert "translate checkpoint-selection rows (es 400)" in risks[("pt-s2",)]
    assert "NOT checked" in risks[("ft-s1",)]
    assert "not recorded" in risks[("ft-s2",)]


def test_mixed_splits_within_a_run_and_across_compared_runs(study):
    for seed in (1, 2):
        study.run(f"pt-s{seed}", seed=seed, dev_langs=("hi", "sw"))
        study.run(f"ft-s{seed}", method="full_finetune", seed=seed, dev_langs=("hi", "sw") if seed == 1 else ())
    within, across = study.risks("splits")
    assert set(within.runs) == {"pt-s1", "pt-s2", "ft-s1"}
    assert "(dev: hi, sw; test: " in within.message
    assert across.message == "xnli: runs compared on different splits for hi, sw"
    assert set(across.runs) == {"pt-s1", "pt-s2", "ft-s1", "ft-s2"}


def test_partial_test_set_is_reported(study):
    study.clean()
    for name in ("pt-s1", "ft-s1"):
        study.run(name, method="full_finetune" if name.startswith("ft") else "prompt_tuning",
                  entries={"de": {"partial": "HDT treebank missing"}})
    risk = only(study.risks("splits"))
    assert risk.message == "xnli de: partial test set (HDT treebank missing)" and set(risk.runs) == {"pt-s1", "ft-s1"}


def test_single_seed_systems_and_unmeasured_gap_variance(study):
    study.clean()
    study.run("pt-len50", top={"prompt_length": 50})  # another configuration, 1 seed
    seeds = only(study.risks("seeds"))
    assert seeds.runs == ("pt-len50",)
    variance = only(study.risks("variance"))
    assert set(variance.runs) == {"pt-len50", "ft-s1", "ft-s2"} and "xglm-564M" in variance.message


def test_non_standard_language_set(study):
    study.clean()
    study.run("pt-s1", languages=["en", "de", "fr", "xx"])
    risk = only(study.risks("languages"))
    assert risk.runs == ("pt-s1",)
    assert "(15 languages): missing ar, bg, el, es, hi, ru, sw, th, tr, ur, … (12 in all); outside it xx" \
        in risk.message


def test_language_sets_are_compared_with_xtreme_else_the_task(study):
    from xlpt.reporting.xtreme import XTREME_TASKS

    panx = [lang for lang in XTREME_TASKS["panx"].languages if lang != "th"] + ["lv"]
    study.run("panx-run", task="panx", languages=panx)
    study.run("sib-run", task="sib200", languages=["eng_Latn", "fra_Latn"])
    risks = {r.runs: r.message for r in study.risks("languages")}
    assert risks[("panx-run",)] == ("panx: evaluated languages differ from XTREME's panx set (40 languages): "
                                    "missing th; outside it lv")
    assert ("sib-run",) not in risks  # SIB-200 is not in XTREME and its task file lists no languages


def test_compared_runs_scored_on_different_rows(study):
    study.clean()
    drawn = {"n_available": 5010, "capped": True, "sample": dict(SAMPLE, split="test", n=20, of=5010)}
    study.run("pt-s1", data={"max_eval_examples": 20}, entries={"de": drawn})
    study.run("pt-s2", seed=2, data={"max_eval_examples": 20}, entries={"de": dict(drawn, sample=dict(
        drawn["sample"], hash="cd" * 32))})
    risk = [r for r in study.risks("caps") if "compared runs" in r.message]
    assert only(risk).message == "xnli: compared runs scored different rows of de (another sample or cap)"
    assert set(risk[0].runs) == {"pt-s1", "pt-s2", "ft-s1", "ft-s2"}


def test_pipeline_check_model(study):
    study.clean()
    study.run("ft-s1", method="full_finetune", top={"pipeline_check": True, "notices": ["PIPELINE CHECK: tiny"]})
    assert only(study.risks("model")).runs == ("ft-s1",)


def test_failed_unfinished_and_diverged_runs(study):
    study.clean()
    study.run("pt-s2", seed=2, summary={"status": "diverged"})
    for name, status in (("crashed", "failed"), ("going", "running")):
        (study.root / name).mkdir()
        study.write_json(name, "status.json", {"status": status, "error": "boom"})
    risks = {r.runs: r.message for r in study.risks("status")}
    assert risks == {("crashed",): "failed: no results",
                     ("going",): "unfinished: no results yet (status.json: running)",
                     ("pt-s2",): "training diverged (train_summary.json): results are from the checkpoint before"}


def test_another_split_audits_only_runs_evaluated_on_it(study):
    study.clean()
    results = json.loads((study.root / "pt-s1" / "results.json").read_text(encoding="utf-8"))
    (study.root / "pt-s1" / "results.json").unlink()
    study.write_json("pt-s1", "results-dev.json", {**results, "split": "dev"})
    assert [(r.message, r.runs) for r in study.risks("status")] == [
        ("not evaluated on the audited split (has results-dev.json)", ("pt-s1",))]
    dev = audit_folders([study.root], split="dev")
    assert dev.runs == 4 and [(r.message, set(r.runs)) for r in dev.risks if r.kind == "status"] == [
        ("not evaluated on the audited split (has results.json)", {"pt-s2", "ft-s1", "ft-s2"})]


def test_duplicates_and_unreadable_files(study):
    study.clean()
    study.run("pt-s1-again")  # same system and seed as pt-s1
    study.run("zz-broken", seed=3)
    (study.root / "zz-broken" / "train_summary.json").write_text("{not json", encoding="utf-8")
    (study.root / "zz-broken" / "config.yaml").write_text("data: [unclosed", encoding="utf-8")
    assert only(study.risks("duplicates")).runs == ("pt-s1-again",)
    unreadable = study.risks("unreadable")
    assert {r.runs for r in unreadable} == {("zz-broken",)}
    messages = sorted(r.message for r in unreadable)
    assert messages[0].startswith("config.yaml: not valid YAML")
    assert messages[1] == "train_summary.json: not valid JSON (line 1, column 2: Expecting property name enclosed " \
                          "in double quotes)"
    audit = audit_folders([study.root])
    assert [file.rsplit("/", 1)[1] for file, _ in audit.unreadable] == ["config.yaml", "train_summary.json"]


def test_a_sweep_gives_one_line_per_finding(study):
    for seed in range(1, 13):
        study.run(f"run{seed:02d}", seed=seed, data={"max_train_examples": 2000},
                  summary={"samples": {"train": SAMPLE, "dev": None}})
    risk = only(study.risks())
    assert len(risk.runs) == 12
    assert risk.line() == ("caps: data.max_train_examples=2000: training on a seeded sample (2,000 of 392,702 "
                           "train rows, seed 0, stratified by label) in 12 runs (run01, run02, run03, run04, "
                           "… +8 more)")


def test_several_folders_and_nested_ones_are_audited_once(study):
    study.clean()
    study.run("pt-s1", data={"max_train_examples": 2000}, summary={"samples": {"train": SAMPLE, "dev": None}})
    audit = audit_folders([study.root, study.root / "pt-s1"])
    assert audit.runs == 4 and only(audit.risks).runs == ("pt-s1",)


def test_risks_are_listed_in_kind_order(study):
    study.clean()
    study.run("ft-s2", method="full_finetune", seed=2, languages=["en", "de"],
              top={"pipeline_check": True, "notices": ["PIPELINE CHECK: tiny"]})
    kinds = [r.kind for r in study.risks()]
    assert kinds == ["model", "languages"] and all(kind in KINDS for kind in kinds)


def test_the_report_carries_the_same_lines(study, tmp_path):
    from xlpt.reporting import ReportOptions, build_report

    study.clean()
    study.run("ft-s2", method="full_finetune", seed=2, summary={"train_label_counts": {"entailment": 10}})
    (study.root / "crashed").mkdir()
    study.write_json("crashed", "status.json", {"status": "failed"})
    lines = [r.line() for r in audit_folders([study.root]).risks]
    assert len(lines) == 2
    report = build_report(study.root, tmp_path / "out", options=ReportOptions(paired_resamples=200))
    markdown = report.markdown_path.read_text(encoding="utf-8")
    section = markdown.split("## Protocol risks\n", 1)[1].split("\n## ", 1)[0]
    assert [line[2:] for line in section.splitlines() if line.startswith("- ")] == lines
    assert "Protocol risks" in report.html_path.read_text(encoding="utf-8")


def test_the_report_of_a_clean_study_says_none(study, tmp_path):
    from xlpt.reporting import ReportOptions, build_report

    study.clean()
    report = build_report(study.root, tmp_path / "out", options=ReportOptions(paired_resamples=200))
    assert "## Protocol risks\n\nNone found by `xlpt audit`." in report.markdown_path.read_text(encoding="utf-8")
