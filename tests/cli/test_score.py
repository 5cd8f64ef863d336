"""`xlpt score` end to end through `xlpt.cli.main`, with prediction files written to tmp_path."""

from __future__ import annotations

import json
import random
import warnings
from pathlib import Path

import pytest
from seqeval.metrics import f1_score as seqeval_f1
from seqeval.scheme import IOB2

from xlpt.cli import main


def write_tagged(path: Path, sentences) -> Path:
    """`sentences` = list of [(token, tag), ...]; blank line between sentences, none at the end."""
    path.write_text("\n\n".join("\n".join(f"{w}\t{t}" for w, t in s) for s in sentences) + "\n", encoding="utf-8")
    return path


def read_tagged(path: Path):
    blocks = path.read_text(encoding="utf-8").rstrip("\n").split("\n\n")
    return [[tuple(line.split("\t")) for line in block.split("\n")] for block in blocks]


def score(capsys, *argv):
    rc = main(["score", *map(str, argv)])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return rc, out, err


def score_json(capsys, *argv) -> dict:
    rc, out, err = score(capsys, *argv, "--json")
    assert rc == 0, err
    return json.loads(out)


GOLD_NER = [[("Anna", "B-PER"), ("lives", "O"), ("in", "O"), ("New", "B-LOC"), ("York", "I-LOC")],
            [("IBM", "B-ORG"), ("rocks", "O")]]


@pytest.fixture
def ner_gold(tmp_path) -> Path:
    return write_tagged(tmp_path / "gold.tsv", GOLD_NER)


def test_panx_json_on_hand_made_files(tmp_path, ner_gold, capsys):
    pred = [[(w, t) for w, t in s] for s in GOLD_NER]
    pred[0][4] = ("York", "O")  # LOC boundary wrong
    pred[1][1] = ("rocks", "I-ORG")  # ORG too long
    result = score_json(capsys, "--task", "panx", "--gold", ner_gold, "--pred", write_tagged(tmp_path / "p.tsv", pred))
    assert result["task"] == "panx" and result["n_sentences"] == 2 and result["n_words"] == 7
    assert (result["precision"], result["recall"]) == (1 / 3, 1 / 3)
    assert result["per_type"]["PER"]["f1"] == 1.0 and result["per_type"]["LOC"]["support"] == 1


def test_panx_real_dev_matches_seqeval(data_dir, tmp_path, capsys):
    gold_path = data_dir / "panx" / "en" / "xtreme-mesh" / "dev-en.tsv"
    rng = random.Random(5)
    tags = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]
    gold = read_tagged(gold_path)
    pred = [[(w, rng.choice(tags) if rng.random() < 0.1 else t) for w, t in s] for s in gold]
    pred_path = write_tagged(tmp_path / "pred-en.tsv", pred)

    result = score_json(capsys, "--task", "panx", "--gold", gold_path, "--pred", pred_path)
    gold_tags = [[t for _, t in s] for s in gold]
    pred_tags = [[t for _, t in s] for s in pred]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert result["f1"] == seqeval_f1(gold_tags, pred_tags, mode="strict", scheme=IOB2)
        assert result["f1_xtreme"] == seqeval_f1(gold_tags, pred_tags)
    assert result["n_sentences"] == 10000 and result["f1"] != result["f1_xtreme"]

    rc, out, _ = score(capsys, "--task", "panx", "--gold", gold_path, "--pred", pred_path)
    assert rc == 0
    assert "strict IOB2" in out and "XTREME (conlleval)" in out and f"{100 * result['f1']:.2f}" in out


def test_udpos_real_test_accuracy(data_dir, tmp_path, capsys):
    gold_path = data_dir / "udpos" / "en" / "xtreme-topro" / "test-en.tsv"
    gold = read_tagged(gold_path)
    pred = [[(w, "NOUN" if i % 4 == 0 else t) for i, (w, t) in enumerate(s)] for s in gold]
    result = score_json(capsys, "--task", "udpos", "--gold", gold_path, "--pred", write_tagged(tmp_path / "p.tsv", pred))
    flat = [(t, p) for gs, ps in zip(gold, pred) for (_, t), (_, p) in zip(gs, ps)]
    assert result["accuracy"] == sum(t == p for t, p in flat) / len(flat)
    assert result["n_words"] == len(flat) and result["n_sentences"] == 5440
    assert set(result) == {"task", "gold", "pred", "accuracy", "f1_xtreme", "n_words", "n_sentences"}


def test_xnli_labels_names_and_indices(tmp_path, capsys):
    gold = tmp_path / "gold.txt"
    gold.write_text("entailment\nneutral\ncontradiction\ncontradiction\n", encoding="utf-8")
    pred = tmp_path / "pred.txt"
    pred.write_text("0\nneutral\n1\n2\n", encoding="utf-8")  # ints are indices into the label set
    result = score_json(capsys, "--task", "xnli", "--gold", gold, "--pred", pred)
    assert result["accuracy"] == 0.75 and result["n_examples"] == 4
    assert result["confusion"]["contradiction"] == {"entailment": 0, "neutral": 1, "contradiction": 1}

    rc, out, _ = score(capsys, "--task", "xnli", "--gold", gold, "--pred", pred)
    assert rc == 0 and "accuracy   75.00" in out and "macro-F1" in out and "confusion" in out


def test_pawsx_zero_one_labels(tmp_path, capsys):
    gold = tmp_path / "gold.txt"
    gold.write_text("1\n0\n1\n", encoding="utf-8")
    pred = tmp_path / "pred.txt"
    pred.write_text("paraphrase\nparaphrase\nparaphrase\n", encoding="utf-8")
    result = score_json(capsys, "--task", "pawsx", "--gold", gold, "--pred", pred)
    assert result["accuracy"] == pytest.approx(2 / 3)
    assert result["per_class"]["not_paraphrase"]["f1"] == 0.0 and result["macro_f1"] == pytest.approx(0.4)


def test_empty_files_score_zero(tmp_path, capsys):
    (tmp_path / "g.tsv").write_text("", encoding="utf-8")
    (tmp_path / "p.tsv").write_text("", encoding="utf-8")
    result = score_json(capsys, "--task", "panx", "--gold", tmp_path / "g.tsv", "--pred", tmp_path / "p.tsv")
    assert (result["f1"], result["f1_xtreme"], result["n_sentences"]) == (0.0, 0.0, 0)


# ---------------------------------------------------------------------------------------------
# Errors: exit status 2, one line naming file:line, no traceback


def expect_error(capsys, *argv) -> str:
    rc, out, err = score(capsys, *argv)
    assert rc == 2 and out == ""
    assert err.startswith("xlpt: error: ") and err.count("\n") == 1
    return err


def test_token_mismatch_names_both_files_and_lines(tmp_path, ner_gold, capsys):
    pred = [list(s) for s in GOLD_NER]
    pred[1][1] = ("rolls", "O")
    pred_path = write_tagged(tmp_path / "pred.tsv", pred)
    err = expect_error(capsys, "--task", "panx", "--gold", ner_gold, "--pred", pred_path)
    assert f"{pred_path}:8: token 'rolls' does not match gold token 'rocks' ({ner_gold}:8" in err


def test_short_sentence_is_reported_where_it_ends(tmp_path, ner_gold, capsys):
    pred = [GOLD_NER[0][:3], GOLD_NER[1]]
    pred_path = write_tagged(tmp_path / "pred.tsv", pred)
    err = expect_error(capsys, "--task", "panx", "--gold", ner_gold, "--pred", pred_path)
    assert f"{pred_path}:4: sentence 1 ends after 3 tokens but the gold sentence has 5" in err


def test_long_sentence_is_reported_at_the_extra_token(tmp_path, ner_gold, capsys):
    pred = [GOLD_NER[0], GOLD_NER[1] + [("!", "O")]]
    pred_path = write_tagged(tmp_path / "pred.tsv", pred)
    err = expect_error(capsys, "--task", "panx", "--gold", ner_gold, "--pred", pred_path)
    assert f"{pred_path}:9: sentence 2 has more tokens than the gold sentence" in err and "'!'" in err


def test_missing_and_extra_sentences(tmp_path, ner_gold, capsys):
    short = write_tagged(tmp_path / "short.tsv", GOLD_NER[:1])
    err = expect_error(capsys, "--task", "panx", "--gold", ner_gold, "--pred", short)
    assert f"{short}:5: has 1 sentences but gold {ner_gold} has 2" in err
    extra = write_tagged(tmp_path / "extra.tsv", GOLD_NER + [[("more", "O")]])
    err = expect_error(capsys, "--task", "panx", "--gold", ner_gold, "--pred", extra)
    assert f"{extra}:10: sentence 3 has no counterpart" in err


@pytest.mark.parametrize(
    "content,line,problem",
    [
        ("Anna\tB-MISC\n", 1, "unknown label 'B-MISC' (valid: O, B-PER"),
        ("Anna\tB-PER\nlives\n", 2, "expected 'token<TAB>tag', found 1"),
        ("Anna\tB-PER\tx\n", 1, "found 3 tab-separated"),
        ("Anna\t9\n", 1, "unknown label id 9 (valid: 0..6"),
    ],
)
def test_malformed_prediction_lines(tmp_path, ner_gold, capsys, content, line, problem):
    pred = tmp_path / "pred.tsv"
    pred.write_text(content, encoding="utf-8")
    err = expect_error(capsys, "--task", "panx", "--gold", ner_gold, "--pred", pred)
    assert f"{pred}:{line}: " in err and problem in err


def test_invalid_utf8_names_the_line(tmp_path, ner_gold, capsys):
    pred = tmp_path / "pred.tsv"
    pred.write_bytes(b"Anna\tB-PER\n\xff\tO\n")
    err = expect_error(capsys, "--task", "panx", "--gold", ner_gold, "--pred", pred)
    assert f"{pred}:2: invalid UTF-8" in err


def test_classification_errors(tmp_path, capsys):
    gold = tmp_path / "gold.txt"
    gold.write_text("neutral\nneutral\n", encoding="utf-8")
    short = tmp_path / "short.txt"
    short.write_text("neutral\n", encoding="utf-8")
    assert f"{short}:1: has 1 labels but gold {gold} has 2" in expect_error(
        capsys, "--task", "xnli", "--gold", gold, "--pred", short)
    long = tmp_path / "long.txt"
    long.write_text("neutral\n0\n1\n", encoding="utf-8")
    assert f"{long}:3: has 3 labels but gold {gold} has 2" in expect_error(
        capsys, "--task", "xnli", "--gold", gold, "--pred", long)
    bad = tmp_path / "bad.txt"
    bad.write_text("neutral\nmaybe\n", encoding="utf-8")
    assert f"{bad}:2: unknown label 'maybe'" in expect_error(capsys, "--task", "xnli", "--gold", gold, "--pred", bad)
    gap = tmp_path / "gap.txt"
    gap.write_text("neutral\n\nneutral\n", encoding="utf-8")
    assert f"{gap}:2: blank line" in expect_error(capsys, "--task", "xnli", "--gold", gold, "--pred", gap)
    data_file = tmp_path / "dev.tsv"
    data_file.write_text("premise\thypothesis\tneutral\n", encoding="utf-8")
    err = expect_error(capsys, "--task", "xnli", "--gold", data_file, "--pred", short)
    assert f"{data_file}:1: unknown label" in err and "--gold-format" in err


def test_gold_data_file_formats(data_dir, tmp_path, capsys):
    """Real labeled data files as gold: XTREME tsv3 (names) and HF jsonl (int ids)."""
    pred = tmp_path / "pred.txt"
    pred.write_text("neutral\n" * 2490, encoding="utf-8")
    tsv3 = data_dir / "xnli" / "en" / "xtreme-mesh" / "dev-en.tsv"
    result = score_json(capsys, "--task", "xnli", "--gold", tsv3, "--gold-format", "tsv3", "--pred", pred)
    assert result["accuracy"] == pytest.approx(1 / 3) and result["confusion"]["neutral"]["neutral"] == 830

    pred.write_text("contradiction\n" * 5010, encoding="utf-8")
    jsonl = data_dir / "xnli" / "en" / "hf-hkunlp" / "test.jsonl"
    result = score_json(capsys, "--task", "xnli", "--gold", jsonl, "--gold-format", "jsonl", "--pred", pred)
    assert result["per_class"]["contradiction"]["support"] == 1670 and result["n_examples"] == 5010

    err = expect_error(capsys, "--task", "xnli", "--gold", jsonl, "--gold-format", "jsonl", "--pred", tmp_path / "none")
    assert "none: no such file" in err
    err = expect_error(capsys, "--task", "panx", "--gold", jsonl, "--gold-format", "jsonl", "--pred", pred)
    assert "--gold-format applies to tasks with one label per example" in err


def test_missing_file_and_unknown_task(tmp_path, ner_gold, capsys):
    missing = tmp_path / "nope.tsv"
    assert f"{missing}: no such file" in expect_error(capsys, "--task", "panx", "--gold", ner_gold, "--pred", missing)
    assert "unknown task 'pan-x2'" in expect_error(capsys, "--task", "pan-x2", "--gold", ner_gold, "--pred", ner_gold)
