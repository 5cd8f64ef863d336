"""End to end on the real XNLI and PAWS-X files with the tiny model: train, evaluate, results.json."""

import json

import pytest

from xlpt.cli import main
from xlpt.data.loading import discover
from xlpt.tasks import get_task

FAST = ["data.max_train_examples=200", "data.max_dev_examples=40", "data.max_eval_examples=30",
        "train.max_steps=10", "train.eval_every=5", "train.batch_size=8", "train.learning_rate=0.1"]


def train_and_evaluate(tmp_path, model_dir, data_dir, task, method="prompt_tuning", extra=()):
    run = tmp_path / f"{task}-{method}"
    assert main(["train", "--task", task, "--method", method, "--model", str(model_dir), "--data-dir", str(data_dir),
                 "--out", str(run), "--quiet", *FAST, *extra]) == 0
    assert main(["evaluate", "--run", str(run), "--quiet"]) == 0
    return run, json.loads((run / "results.json").read_text())


def check_results(results, expected_languages):
    assert set(results["languages"]) == expected_languages
    for lang, entry in results["languages"].items():
        assert 0.0 <= entry["accuracy"] <= 1.0 and entry["n"] == 30, lang
    scores = {lang: e["accuracy"] for lang, e in results["languages"].items()}
    assert results["average"] == pytest.approx(sum(scores.values()) / len(scores))
    others = [v for lang, v in scores.items() if lang != results["source_language"]]
    assert results["average_without_source"] == pytest.approx(sum(others) / len(others))
    assert 0 < results["trainable_params"] <= results["total_params"]
    assert results["trainable_fraction"] == pytest.approx(results["trainable_params"] / results["total_params"])
    prov = results["provenance"]
    assert prov["packages"]["torch"] and prov["data_files"] and all(len(h) == 64 for h in prov["data_files"].values())


def test_xnli_covers_all_15_languages(tmp_path, tiny_model_dir, data_dir):
    run, results = train_and_evaluate(tmp_path, tiny_model_dir, data_dir, "xnli")
    languages = set(discover(get_task("xnli"), data_dir))
    assert len(languages) == 15
    check_results(results, languages)
    splits = {lang: e["split"] for lang, e in results["languages"].items()}
    assert splits["hi"] == splits["sw"] == "dev"  # no test file on disk for these two: evaluated on dev
    assert all(splits[lang] == "test" for lang in languages - {"hi", "sw"})
    for lang in ("bg", "el", "ru", "th"):
        assert results["languages"][lang]["labels_reconstructed"] == 30  # every scored example
    assert results["prompt_length"] == 20 and results["method"] == "prompt_tuning"
    predictions = (run / "predictions" / "test" / "de.jsonl").read_text().splitlines()
    assert len(predictions) == 30 and {"id", "gold", "pred"} <= set(json.loads(predictions[0]))
    from sklearn.metrics import accuracy_score, f1_score

    gold, pred = zip(*((r["gold"], r["pred"]) for r in map(json.loads, predictions)))
    labels = ["entailment", "neutral", "contradiction"]
    de = results["languages"]["de"]
    assert de["accuracy"] == pytest.approx(accuracy_score(gold, pred))
    assert de["macro_f1"] == pytest.approx(f1_score(gold, pred, labels=labels, average="macro", zero_division=0))
    assert (run / "checkpoint" / "best.safetensors").stat().st_size < 100_000  # a soft prompt is kilobytes


def test_pawsx_trains_on_english_dev_and_never_scores_a_translation_of_it(tmp_path, tiny_model_dir, data_dir):
    run, results = train_and_evaluate(tmp_path, tiny_model_dir, data_dir, "pawsx", method="full_finetune",
                                      extra=["train.learning_rate=0.001"])
    check_results(results, {"de", "en", "es", "fr", "ja", "ko", "zh"})
    log = (run / "run.log").read_text()
    assert "has no labeled train split" in log and "held-back" in log
    # Every language has a labeled test: en/es/fr/ja/ko in PAWS-X's own x-final names (xfinal-cla/test_2k.tsv)
    assert {e["split"] for e in results["languages"].values()} == {"test"}
    assert all(e["excluded_parallel"] == 0 for e in results["languages"].values())
    assert results["parallel"] == {"by": "row", "checked": True}
    assert results["prompt_length"] is None and results["trainable_fraction"] == 1.0
    used_files = results["data"]["used"]
    assert all(path.endswith("xfinal-cla/test_2k.tsv") for lang in ("en", "es", "fr", "ja", "ko")
               for path in used_files[lang]["test"])

    # On dev, which training read (minus a held-back part): English is scored on rows training and selection
    # never read, and no other language is scored on a translation of a training row (rows align by row).
    assert main(["evaluate", "--run", str(run), "--split", "dev", "--quiet"]) == 0
    dev_results = json.loads((run / "results-dev.json").read_text())
    from xlpt.data.plan import plan_training, rows_read
    from xlpt.data.sources import TaskData
    from xlpt.run_dir import RunDir
    from xlpt.tasks import get_task

    cfg = RunDir(run).read_config()
    data = TaskData(get_task("pawsx"), data_dir)
    dev = data.load("en", "dev").examples
    read = rows_read(plan_training(cfg, {"dev"}), {"dev": dev})
    trained, selected = set(read.train.indices), set(read.selection.indices)
    assert len(trained) == 200 and len(selected) == 40 and not trained & selected
    scored = {json.loads(line)["id"] for line in (run / "predictions" / "dev" / "en.jsonl").read_text().splitlines()}
    assert len(scored) == 30 and not scored & {dev[i].id for i in trained | selected}
    assert dev_results["languages"]["en"]["split"] == "dev-unused"
    for lang in ("de", "es", "fr", "ja", "ko", "zh"):
        entry = dev_results["languages"][lang]
        rows = data.load(lang, "dev").examples
        row_of = {example.id: i for i, example in enumerate(rows)}
        scored_rows = {row_of[json.loads(line)["id"]]
                       for line in (run / "predictions" / "dev" / f"{lang}.jsonl").read_text().splitlines()}
        assert entry["excluded_parallel"] == len(trained), lang  # 200 translations of training rows left out
        assert entry["n_available"] == len(rows) - len(trained) and entry["n"] == 30
        assert not scored_rows & trained, lang
        assert entry["parallel_to_selection"] == len(scored_rows & selected), lang


def test_zero_shot_baseline_runs_without_training(tmp_path, tiny_model_dir, data_dir, capsys):
    run = tmp_path / "zs"
    assert main(["train", "--task", "xnli", "--method", "zero_shot", "--model", str(tiny_model_dir), "--data-dir",
                 str(data_dir), "--out", str(run), "--quiet", "--evaluate", "data.max_eval_examples=12",
                 "data.eval_languages=en,de,sw"]) == 0
    results = json.loads((run / "results.json").read_text())
    assert set(results["languages"]) == {"en", "de", "sw"} and results["trainable_params"] == 0
    assert not (run / "checkpoint").exists()
    out = capsys.readouterr().out
    assert "xnli / zero_shot" in out and "avg" in out


def test_unknown_language_and_missing_checkpoint_are_clear_errors(tmp_path, tiny_model_dir, data_dir, capsys):
    run = tmp_path / "r"
    assert main(["train", "--task", "xnli", "--model", str(tiny_model_dir), "--data-dir", str(data_dir),
                 "--out", str(run), "--quiet", "data.eval_languages=de,xx", *FAST]) == 0
    assert main(["evaluate", "--run", str(run), "--languages", "de,xx", "--quiet"]) == 2
    assert "no xnli data for xx" in capsys.readouterr().err
    assert main(["evaluate", "--run", str(tmp_path / "nope")]) == 2
    assert "not a run directory" in capsys.readouterr().err
