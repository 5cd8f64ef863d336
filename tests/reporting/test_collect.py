"""Finding runs and reading results.json: every directory ends up used, skipped or listed as incomplete."""

from __future__ import annotations

import json

import pytest

from xlpt.errors import ConfigError
from xlpt.reporting.collect import collect_runs, find_run_dirs
from xlpt.reporting.language_features import load_feature_files


def _reasons(problems) -> dict[str, str]:
    return {p.path.name: p.reason for p in problems}


def test_runs_are_found_recursively_without_entering_run_folders(runs):
    runs.write("a/b/pt-s1", scores={"en": 0.6, "de": 0.5})
    runs.write("ft-s1", method="full_finetune", scores={"en": 0.7})
    found = find_run_dirs(runs.root)
    assert [p.relative_to(runs.root).as_posix() for p in found] == ["a/b/pt-s1", "ft-s1"]


def test_results_are_parsed_as_fractions_per_language(runs):
    written = runs.write("pt-s1", seed=7, prompt_length=50, scores={"en": 0.6, "de": 0.5}, dev_langs=("de",))
    collection = collect_runs(runs.root)
    (run,) = collection.runs
    assert run.seed == 7 and run.prompt_length == 50 and run.method == "prompt_tuning"
    assert run.scores == {lang: entry["accuracy"] for lang, entry in written["languages"].items()}
    assert run.lang_split == {"en": "test", "de": "dev"}
    assert run.predictions_file("de") == run.path / "predictions" / "dev" / "de.jsonl"


@pytest.mark.parametrize(
    "content, reason",
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "expected an object"),
        (json.dumps({"task": "xnli", "method": "full_finetune", "metric": "accuracy"}), "'languages' is missing"),
        (json.dumps({"task": "xnli", "method": "full_finetune", "metric": "accuracy",
                     "languages": {"en": {"accuracy": 61.0}}}), "outside [0, 1]"),
        (json.dumps({"task": "xnli", "method": "full_finetune", "metric": "accuracy",
                     "languages": {"en": {"f1": 0.5}}}), "languages.en.accuracy is None"),
        (json.dumps({"method": "full_finetune", "metric": "accuracy", "languages": {"en": {"accuracy": 0.5}}}),
         "'task' is missing"),
        (json.dumps({"task": "xnli", "method": "lora", "metric": "accuracy", "seed": "one",
                     "languages": {"en": {"accuracy": 0.5}}}), "'seed' is 'one'"),
    ],
)
def test_bad_results_are_skipped_with_the_reason(runs, content, reason):
    runs.write("good", scores={"en": 0.6})
    bad = runs.root / "bad"
    bad.mkdir()
    (bad / "results.json").write_text(content, encoding="utf-8")
    collection = collect_runs(runs.root)
    assert [r.path.name for r in collection.runs] == ["good"]
    assert reason in _reasons(collection.skipped)["bad"]


def test_run_without_results_is_incomplete_and_says_what_it_has(runs):
    crashed = runs.root / "crashed"
    (crashed / "predictions").mkdir(parents=True)
    (crashed / "status.json").write_text(json.dumps({"error": "CUDA out of memory"}), encoding="utf-8")
    (crashed / "results-dev.json").write_text("{}", encoding="utf-8")
    collection = collect_runs(runs.root)
    reason = _reasons(collection.incomplete)["crashed"]
    assert "no results.json" in reason and "results-dev.json" in reason and "CUDA out of memory" in reason
    assert not collection.runs and not collection.skipped


def test_other_split_reads_results_split_file(runs):
    runs.write("pt", scores={"en": 0.6})
    dev = json.loads((runs.root / "pt" / "results.json").read_text())
    dev["split"] = "dev"
    dev["languages"]["en"]["accuracy"] = 0.9
    (runs.root / "pt" / "results-dev.json").write_text(json.dumps(dev), encoding="utf-8")
    assert collect_runs(runs.root, "dev").runs[0].scores == {"en": 0.9}
    (runs.root / "pt" / "results-dev.json").write_text(json.dumps({**dev, "split": "test"}), encoding="utf-8")
    assert "not the requested 'dev'" in collect_runs(runs.root, "dev").skipped[0].reason


def test_duplicate_seed_of_the_same_system_is_skipped_not_averaged(runs):
    runs.write("a", seed=1, scores={"en": 0.6})
    runs.write("b", seed=1, scores={"en": 0.8})
    collection = collect_runs(runs.root)
    assert [r.path.name for r in collection.runs] == ["a"]
    assert "duplicate of" in _reasons(collection.skipped)["b"]


def test_bad_tokenization_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_feature_files([tmp_path / "missing.json"])
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"languages": []}), encoding="utf-8")
    with pytest.raises(ConfigError, match="bad.json"):
        load_feature_files([bad])


def test_runs_differing_only_in_formulation_are_separate_columns(runs):
    from xlpt.reporting.aggregate import build_task_tables

    for formulation in ("verbalizer", "linear_head"):
        runs.write(f"pt-{formulation}", seed=1, scores={"en": 0.6})
        path = runs.root / f"pt-{formulation}" / "results.json"
        path.write_text(json.dumps({**json.loads(path.read_text()), "formulation": formulation}), encoding="utf-8")
    collection = collect_runs(runs.root)
    assert not collection.skipped
    (table,) = build_task_tables(collection.runs)
    assert sorted(table.labels.values()) == ["Prompt tuning (linear_head)", "Prompt tuning (verbalizer)"]
