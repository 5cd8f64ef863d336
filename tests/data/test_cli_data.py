"""`xlpt data stats|check` through xlpt.cli.main, on the real data and on corrupted hand-made folders."""

from __future__ import annotations

import json
import re
from collections import defaultdict

import pytest

from xlpt.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def manifest_counts(rows, task):
    """(lang, split) -> {file path relative to the data folder: n} from manifest.jsonl."""
    counts = defaultdict(dict)
    for row in rows:
        if row["task"] == task:
            counts[row["lang"], row["split"]][row["dest"]] = row["n"]
    return counts


@pytest.mark.parametrize("task", ["xnli", "pawsx", "udpos", "panx"])
def test_stats_json_counts_equal_the_manifest(capsys, data_dir, manifest_rows, task):
    code, out, _ = run(capsys, "data", "stats", "--task", task, "--data-dir", str(data_dir), "--json")
    assert code == 0
    stats = json.loads(out)  # exactly one JSON object
    assert stats["task"] == task
    expected = manifest_counts(manifest_rows, task)
    for lang, splits in stats["languages"].items():
        for split, entry in splits.items():
            per_file = expected[lang, split]
            assert entry["examples"] == sum(per_file[f] for f in entry["files"]), (lang, split)
            assert isinstance(entry["labeled"], bool) and entry["words"] > 0
    # every (lang, split) of the manifest appears, except the ones the rules exclude
    excluded = {("de", "train")} if task == "xnli" else set()
    assert set(expected) - excluded == {(lang, split) for lang, s in stats["languages"].items() for split in s}


def test_stats_json_anchor_numbers(capsys, data_dir):
    _, out, _ = run(capsys, "data", "stats", "--task", "xnli", "--data-dir", str(data_dir), "--json", "--lang", "bg,en")
    langs = json.loads(out)["languages"]
    assert set(langs) == {"bg", "en"}
    bg = langs["bg"]["test"]
    assert (bg["examples"], bg["labeled"], bg["reconstructed"]) == (5010, True, 5010)
    assert bg["labels"] == {"contradiction": 1670, "entailment": 1670, "neutral": 1670}
    assert langs["en"]["train"]["examples"] == 9000 and langs["en"]["dev"]["examples"] == 2490
    assert bg["files"] == ["xnli/bg/xtreme-mesh/test-bg.tsv"]


def test_stats_table_is_aligned(capsys, data_dir):
    code, out, _ = run(capsys, "data", "stats", "--task", "pawsx", "--data-dir", str(data_dir))
    lines = out.splitlines()
    assert code == 0 and lines[0] == "task: pawsx"
    header, rows = lines[1], lines[3:lines.index("")]
    assert header.split()[:5] == ["lang", "split", "examples", "words", "labeled"]
    assert len(rows) == 14  # 7 dev + 7 test, no train
    en_test = next(row.split() for row in rows if row.split()[:2] == ["en", "test"])
    assert (en_test[2], en_test[4]) == ("2000", "yes")  # PAWS-X's own labeled test (xfinal-cla/test_2k.tsv)
    # numbers are right-aligned under their header: every row ends the column at the same position
    end = header.index("examples") + len("examples")
    assert all(row[end - 1].isdigit() and row[end] == " " for row in rows)


def _corrupt_shared(kit):
    kit.write("xnli/en/xtreme-mesh/dev-en.tsv", "a\tb\tneutral\nc\td\tmaybe\n")
    kit.write("xnli/en/hf-hkunlp/test.jsonl", '{"premise": "p", "hypothesis": "h", "label": 0}\n')
    kit.write("xnli/bg/xtreme-mesh/test-bg.tsv", "p\th\nq\tr\n")  # 2 rows, label source has 1
    kit.write("xnli/fr/xtreme-mesh/dev-fr.tsv", b"a\tb\tneutral\n\xff\tb\tneutral\nonly-one\n")
    return {
        "xnli/en/xtreme-mesh/dev-en.tsv:2: unknown label 'maybe'",
        "xnli/fr/xtreme-mesh/dev-fr.tsv:2: invalid UTF-8",
        "xnli/bg/xtreme-mesh/test-bg.tsv: has 2 rows but its label source",
    }


def _corrupt_download(kit):
    kit.write("download/panx/dev-en.tsv", "a\tO\n\nb\n")
    kit.write("download/panx/dev-de.tsv", "")
    kit.write("download/panx/train-xx.tsv", "a\tO\n")
    kit.write("download/panx/test-en.tsv", "a\nb\nc\tO\n")
    return {
        "download/panx/dev-en.tsv:3: tag missing",
        "download/panx/dev-de.tsv: empty file",
        "download/panx/train-xx.tsv: unknown language 'xx'",
        "download/panx/test-en.tsv:3: unexpected tag column",
    }


def _corrupt_udpos(kit):
    def row(i, word):
        return "\t".join([str(i), word, "_", "NOUN"] + ["_"] * 6)

    # comments only: this used to pass as "OK, 0 examples"
    kit.write("udpos/de/ud-v2.5/de_gsd-ud-test.conllu", "# newdoc id = x\n# sent_id = s1\n")
    kit.write("udpos/de/ud-v2.5/de_pud-ud-test.conllu", f"# sent_id = a\n{row(1, 'a')}\n# sent_id = b\n{row(1, 'b')}\n")
    kit.write("udpos/de/xtreme-topro/dev-de.tsv", "a\tNOUN\n \nb\tNOUN\n")
    return {
        "udpos/de/ud-v2.5/de_gsd-ud-test.conllu: no examples",
        "udpos/de/ud-v2.5/de_pud-ud-test.conllu:3: comment line after the tokens",
        "udpos/de/xtreme-topro/dev-de.tsv:2: line holds only whitespace",
    }


@pytest.mark.parametrize(
    "task, corrupt", [("xnli", _corrupt_shared), ("panx", _corrupt_download), ("udpos", _corrupt_udpos)]
)
def test_check_reports_every_problem_and_fails(capsys, kit, task, corrupt):
    expected = corrupt(kit)
    code, out, _ = run(capsys, "data", "check", "--task", task, "--data-dir", str(kit.root))
    assert code == 1
    lines = [line.replace(str(kit.root) + "/", "") for line in out.splitlines()]
    for start in expected:
        assert any(line.startswith(start) for line in lines), (start, lines)
    assert lines[-1].startswith(f"{task}: {len(expected)} problem(s)")


def test_check_ok_on_a_clean_folder_and_on_real_pawsx(capsys, kit, data_dir):
    kit.write("download/udpos/dev-en.tsv", "a\tNOUN\n\nb\tVERB\n")
    code, out, _ = run(capsys, "data", "check", "--task", "udpos", "--data-dir", str(kit.root))
    assert (code, out.strip().splitlines()) == (0, [
        "rule: udpos: no language has a train split", "rule: udpos: no language has a test split",
        "protocol: training reads en dev minus a held-back 20% (1 rows; label counts NOUN 1); selection reads dev, "
        "held-back 20% (seed 42), at most 1000 (a seeded sample, seed 0) (1 rows)",
        "protocol: the training rows are unbalanced: every training example has the label 'NOUN' (1 examples); "
        "the run STOPS",
        "protocol: task udpos declares no parallel alignment (data.parallel): whether evaluation rows translate "
        "training rows is NOT checked",
        "OK: udpos: 1 files, 2 examples, 1 languages, no problems"])
    code, out, _ = run(capsys, "data", "check", "--task", "pawsx", "--data-dir", str(data_dir))
    lines = out.strip().splitlines()
    # 21 files: PAWS-X's own labeled tests (xfinal-cla/test_2k.tsv) for en es fr ja ko are recognised
    assert (code, lines[-1]) == (0, "OK: pawsx: 21 files, 42000 examples, 7 languages, no problems")
    # before anything trains: the default run (train on 80 % of en dev) would leak into every dev set
    assert ("protocol: evaluating test (rows aligned by row): no scored row translates a training or selection row"
            in lines)
    assert ("protocol: evaluating dev (rows aligned by row): left out as translations of training rows: 1600 of 2000 "
            "rows in de dev, es dev, fr dev, ja dev, ko dev, zh dev; scored rows translating selection rows: 400 rows "
            "in de dev, es dev, fr dev, ja dev, ko dev, zh dev") in lines
    # the manifest's primary picks are applied as logged rules, and the files they pass over are named
    assert any(line.startswith("rule: pawsx zh dev: reads xtreme-mesh") for line in lines)
    assert "ignored: pawsx/de/supergleber/dev.tsv: not used for de dev: lower in the source order" in out


@pytest.mark.parametrize("command", ["stats", "check"])
def test_unknown_task_exits_2_listing_valid_tasks(capsys, kit, command):
    code, out, err = run(capsys, "data", command, "--task", "ner", "--data-dir", str(kit.root))
    assert code == 2 and out == ""
    assert re.search(r"valid tasks: .*panx, pawsx, sib200, udpos, .*xnli", err) and "Traceback" not in err


def test_missing_data_dir_is_a_config_error(capsys, monkeypatch):
    monkeypatch.delenv("XLPT_DATA_DIR", raising=False)
    code, _, err = run(capsys, "data", "stats", "--task", "xnli")
    assert code == 2 and "--data-dir" in err


@pytest.mark.parametrize("command", ["stats", "check"])
def test_help_explains_every_option(capsys, command):
    from xlpt.cli import build_parser

    data = next(a for a in build_parser()._actions if a.dest == "command").choices["data"]
    sub = next(a for a in data._actions if a.dest == "data_command").choices[command]
    with pytest.raises(SystemExit) as info:
        main(["data", command, "--help"])
    text = capsys.readouterr().out
    assert info.value.code == 0 and sub.description.split()[0] in text
    for action in sub._actions:
        assert action.help and len(action.help.split()) >= 3, action.option_strings
        assert action.option_strings[-1] in text
