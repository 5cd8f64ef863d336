"""`xlpt predict`: the labels (or tags) `xlpt evaluate` gives, for new text in JSON lines; bad lines are one error."""

import json

import pytest

from xlpt.cli import main
from xlpt.data.loading import load_split
from xlpt.tasks import get_task

FAST = ["data.max_train_examples=64", "data.max_dev_examples=16", "train.max_steps=4", "train.eval_every=2",
        "train.batch_size=8", "train.learning_rate=1.0", "model.device=cpu", "method.prompt_length=4"]
EVALUATED = {"prompt_tuning": ("de", 12), "zero_shot": ("en", 40)}
"""Language and number of examples each method's run is evaluated on (where the tiny model's predictions vary)."""


@pytest.fixture(scope="module")
def runs(tmp_path_factory, tiny_model_dir, data_dir):
    """runs(task, method) -> a short trained run, evaluated on EVALUATED[method]'s language and number of examples."""
    made = {}

    def make(task, method="prompt_tuning"):
        if (task, method) not in made:
            out = tmp_path_factory.mktemp(f"{task}-{method}")
            extra = FAST if method != "zero_shot" else ["model.device=cpu"]
            assert main(["train", "--task", task, "--method", method, "--model", str(tiny_model_dir), "--data-dir",
                         str(data_dir), "--out", str(out), "--quiet", *extra]) == 0
            lang, limit = EVALUATED[method]
            assert main(["evaluate", "--run", str(out), "--languages", lang, "--limit", str(limit), "--quiet"]) == 0
            made[task, method] = out
        return made[task, method]

    return make


def evaluated(run, lang) -> dict[str, object]:
    """id -> prediction, from the evaluation's own predictions file."""
    (path,) = run.glob(f"predictions/*/{lang}.jsonl")
    return {r["id"]: r["pred"] for r in map(json.loads, path.read_text().splitlines())}


def write_jsonl(path, objects):
    path.write_text("".join(json.dumps(obj, ensure_ascii=False) + "\n" for obj in objects), encoding="utf-8")
    return path


@pytest.mark.parametrize("task,method", [("pawsx", "prompt_tuning"), ("pawsx", "zero_shot"), ("udpos", "prompt_tuning")])
def test_predictions_equal_the_evaluations(task, method, runs, data_dir, tmp_path, capsys):
    run = runs(task, method)
    lang, limit = EVALUATED[method]
    expected = evaluated(run, lang)
    assert len({str(pred) for pred in expected.values()}) > 1  # the model does not answer one label to everything
    examples = [ex for split in ("test", "dev") for ex in load_split(get_task(task), lang, split, data_dir).examples
                if ex.id in expected]
    assert len(examples) == len(expected) == limit
    if task == "udpos":
        objects = [{"words": list(ex.words), "id": ex.id} for ex in examples]
    else:
        objects = [{"text_a": ex.text_a, "text_b": ex.text_b, "id": ex.id, "lang": lang} for ex in examples]
    source = write_jsonl(tmp_path / "in.jsonl", objects)
    out = tmp_path / "out.jsonl"
    assert main(["predict", "--run", str(run), "--input", str(source), "--out", str(out), "--quiet"]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    added = ("pred", "run", "pipeline_check", "notices")
    assert [{k: v for k, v in row.items() if k not in added} for row in rows] == objects  # order and keys kept
    assert {row["id"]: row["pred"] for row in rows} == expected  # the key evaluation's predictions files use
    assert f"predicted {limit} example(s)" in capsys.readouterr().err


def test_standard_output_blank_lines_and_extra_keys(runs, tmp_path, capsys):
    run = runs("pawsx")
    source = tmp_path / "in.jsonl"
    source.write_text('{"text_a": "Der Hund schläft.", "text_b": "Ein Hund schläft.", "source": {"n": 1}}\n\n'
                      '{"text_a": "Die Katze.", "text_b": "Keine Katze."}\n\n', encoding="utf-8")
    assert main(["predict", "--run", str(run), "--input", str(source), "--quiet"]) == 0
    captured = capsys.readouterr()
    rows = [json.loads(line) for line in captured.out.splitlines()]
    assert [row["source"] if "source" in row else None for row in rows] == [{"n": 1}, None]
    assert all(row["pred"] in ("not_paraphrase", "paraphrase") for row in rows)
    assert "predicted 2 example(s) (2 blank line(s) skipped)" in captured.err


BAD_LINES = {
    "not json": ('{"text_a": "a", "text_b": "b"}\n{"text_a": "a",\n', 2, "invalid JSON"),
    "not an object": ('["a", "b"]\n', 1, "expected a JSON object with text_a, text_b"),
    "missing field": ('{"text_a": "a"}\n', 1, "missing field 'text_b'"),
    "wrong type": ('{"text_a": "a", "text_b": 3}\n', 1, "field 'text_b' must be a string, got int"),
    "empty text": ('{"text_a": "  ", "text_b": "b"}\n', 1, "field 'text_a' is empty"),
    "pred key": ('{"text_a": "a", "text_b": "b", "pred": "x"}\n', 1, 'has a "pred" key already'),
    "old prediction key": ('{"text_a": "a", "text_b": "b", "prediction": "x"}\n', 1, 'has a "prediction" key already'),
    "bad lang": ('{"text_a": "a", "text_b": "b", "lang": ""}\n', 1, "'lang' must be a non-empty string"),
    "bad id": ('{"text_a": "a", "text_b": "b", "id": [1]}\n', 1, "'id' must be a non-empty string or a whole number"),
    "only blank": ("\n\n", None, "empty file"),
    "duplicate key": ('{"text_a": "a", "text_a": "c", "text_b": "b"}\n', 1, "duplicate key 'text_a'"),
    "NaN": ('{"text_a": "a", "text_b": "b", "score": NaN}\n', 1, "NaN is not JSON"),
    "lone surrogate": ('{"text_a": "\\ud800 x", "text_b": "b"}\n', 1, "field 'text_a' is not valid text (an unpaired "
                       "surrogate"),
    "lone surrogate in a word": None,
    "nested too deeply": ('{"text_a": "a", "text_b": "b", "x": ' + "[" * 100_000 + "]" * 100_000 + "}\n", 1,
                          "nested too deeply"),
}
del BAD_LINES["lone surrogate in a word"]


@pytest.mark.parametrize("case", list(BAD_LINES))
def test_a_bad_line_is_one_error_naming_file_and_line(case, runs, tmp_path, capsys):
    text, line, problem = BAD_LINES[case]
    source = tmp_path / "in.jsonl"
    source.write_text(text, encoding="utf-8")
    assert main(["predict", "--run", str(runs("pawsx")), "--input", str(source), "--out", str(tmp_path / "o")]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith(f"xlpt: error: {source}:{line}: " if line else f"xlpt: error: {source}: ") and problem in error and "\n" not in error
    assert not (tmp_path / "o").exists()


def test_bad_words_and_bad_bytes(runs, tmp_path, capsys):
    run = runs("udpos")
    cases = [('{"words": "Der Hund"}\n', "field 'words' must be a non-empty list of strings"),
             ('{"words": ["Der", ""]}\n', "word 2 of 'words' must be a non-empty string"),
             ('{"text_a": "Der", "text_b": "Hund"}\n', "missing field 'words'")]
    for text, problem in cases:
        source = tmp_path / "in.jsonl"
        source.write_text(text, encoding="utf-8")
        assert main(["predict", "--run", str(run), "--input", str(source)]) == 2
        assert problem in capsys.readouterr().err
    source.write_bytes(b'{"words": ["Der"]}\n{"words": ["\xff"]}\n')
    assert main(["predict", "--run", str(run), "--input", str(source)]) == 2
    assert f"{source}:2: invalid UTF-8" in capsys.readouterr().err
    assert main(["predict", "--run", str(run), "--input", str(tmp_path / "nothing.jsonl")]) == 2
    assert "no such file" in capsys.readouterr().err
    source.write_text('{"words": ["Der", "\\udc00"]}\n', encoding="utf-8")
    assert main(["predict", "--run", str(run), "--input", str(source)]) == 2
    assert "word 2 of 'words' is not valid text (an unpaired surrogate" in capsys.readouterr().err


def test_long_inputs_are_truncated_and_counted_and_a_bad_device_is_one_line(runs, tmp_path, capsys):
    source = write_jsonl(tmp_path / "in.jsonl", [{"text_a": "der Hund " * 400, "text_b": "ein Hund"},
                                                 {"text_a": "kurz", "text_b": "auch kurz"}])
    assert main(["predict", "--run", str(runs("pawsx")), "--input", str(source), "--quiet"]) == 0
    assert "predicted 2 example(s) (1 truncated)" in capsys.readouterr().err
    assert main(["predict", "--run", str(runs("pawsx")), "--input", str(source), "--device", "gpu0"]) == 2
    assert capsys.readouterr().err.strip() == ("xlpt: error: --device: model.device='gpu0': must be auto, cpu, mps, "
                                               "cuda or cuda:N")


def test_one_very_long_line_is_truncated_in_seconds(runs, tmp_path, capsys):
    """A 1.5 MB line once took minutes (the truncation re-tokenized and copied the whole text per step)."""
    import time

    run = runs("pawsx")
    capsys.readouterr()  # the run's own training output, when this test is the first to need it
    source = write_jsonl(tmp_path / "in.jsonl", [{"text_a": "der Hund schläft im Garten " * 60_000,
                                                 "text_b": "ein Hund " * 20_000}])
    assert source.stat().st_size > 1_500_000
    started = time.perf_counter()
    assert main(["predict", "--run", str(run), "--input", str(source), "--quiet"]) == 0
    assert time.perf_counter() - started < 20
    captured = capsys.readouterr()
    assert "predicted 1 example(s) (1 truncated)" in captured.err
    assert json.loads(captured.out)["pred"] in ("not_paraphrase", "paraphrase")


def test_score_reads_prediction_files_of_older_xlpt(data_dir, tmp_path, capsys):
    """Files written with the key `prediction` (xlpt predict before it used evaluation's `pred`) are still read."""
    old = write_jsonl(tmp_path / "old.jsonl", [{"id": "1", "gold": "paraphrase", "prediction": "paraphrase"},
                                               {"id": "2", "gold": "paraphrase", "prediction": "not_paraphrase"}])
    assert main(["score", "--task", "pawsx", "--pred", str(old), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["accuracy"] == 0.5


def test_predictions_say_the_pipeline_check_the_checkpoint_and_the_state(runs, tmp_path, capsys):
    run = runs("pawsx")
    source = write_jsonl(tmp_path / "in.jsonl", [{"text_a": "Der Hund.", "text_b": "Ein Hund."}])
    out = tmp_path / "out.jsonl"
    assert main(["predict", "--run", str(run), "--input", str(source), "--out", str(out), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("PIPELINE CHECK, NOT A FINDING")
    step = json.loads((run / "train_summary.json").read_text())["best_step"]
    assert f"run {run}: training done; checkpoint/best.safetensors of step {step}" in err
    (row,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert row["pipeline_check"] is True and row["notices"][0].startswith("PIPELINE CHECK, NOT A FINDING")
    assert row["run"] == {"path": str(run.resolve()), "state": "done", "checkpoint_step": step}


def test_an_unfinished_run_predicts_only_when_allowed_and_says_so(runs, tmp_path, capsys):
    import shutil

    copy = shutil.copytree(runs("pawsx"), tmp_path / "run", ignore=shutil.ignore_patterns(".lock"))
    summary = json.loads((copy / "train_summary.json").read_text())
    (copy / "train_summary.json").write_text(json.dumps({**summary, "status": "diverged", "error": "nan at step 3"}))
    source = write_jsonl(tmp_path / "in.jsonl", [{"text_a": "Der Hund.", "text_b": "Ein Hund."}])
    out = tmp_path / "out.jsonl"
    assert main(["predict", "--run", str(copy), "--input", str(source), "--out", str(out)]) == 2
    error = capsys.readouterr().err.strip()
    assert "training diverged (nan at step 3)" in error and "--allow-unfinished" in error and "\n" not in error
    assert not out.exists()
    assert main(["predict", "--run", str(copy), "--input", str(source), "--out", str(out), "--quiet",
                 "--allow-unfinished"]) == 0
    assert "UNFINISHED RUN: training diverged" in capsys.readouterr().err
    (row,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert row["run"]["state"] == "diverged" and any(n.startswith("UNFINISHED RUN") for n in row["notices"])


def test_out_is_a_folder_is_one_line_before_the_model_loads(runs, tmp_path, capsys):
    source = write_jsonl(tmp_path / "in.jsonl", [{"text_a": "a", "text_b": "b"}])
    assert main(["predict", "--run", str(runs("pawsx")), "--input", str(source), "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == f"xlpt: error: --out {tmp_path} is a folder; give a file name"


def test_a_single_giant_word_keeps_the_template_end(runs, tmp_path):
    """Truncating a 1 MB word keeps the template's own words (the answer slot), as for any long input."""
    from xlpt.run_dir import RunDir
    from xlpt.models.tokenizer import load_tokenizer
    from xlpt.tasks import get_task
    from xlpt.tasks.classification_encoding import encode_examples
    from xlpt.data.examples import PairExample

    cfg = RunDir(runs("pawsx")).read_config()
    task = get_task("pawsx")
    template = task.resolve_template(cfg.data.template)
    tokenizer = load_tokenizer(cfg.model.name)
    short = PairExample("kurz", "auch kurz", None, "de", "1")
    giant = PairExample("x" * 1_000_000, "auch kurz", None, "de", "2")
    (short_ids, giant_ids), report = encode_examples([short, giant], template, tokenizer, task.labels, 64)
    assert report.truncated == 1 and len(giant_ids.input_ids) <= 64
    assert giant_ids.input_ids[-3:] == short_ids.input_ids[-3:]  # the template ends as for any input
