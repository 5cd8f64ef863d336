"""Discovery: both layouts, primary picks, exclusions, problems; on hand-made folders and the real data."""

from __future__ import annotations

import pytest

from xlpt.data.layout import discover, resolve, scan
from xlpt.errors import ConfigError
from xlpt.tasks import get_task

XNLI_ROW = "p\th\tneutral\n"


def test_shared_layout_primary_picks(kit):
    kit.write("xnli/de/xtreme-mesh/dev-de.tsv", XNLI_ROW)
    kit.write("xnli/de/xglue-supergleber/dev.txt", XNLI_ROW)
    kit.write("xnli/de/xglue-supergleber/train.txt", XNLI_ROW)
    kit.write("xnli/de/xglue-supergleber/test.txt", XNLI_ROW)
    kit.write("xnli/de/hf-hkunlp/test.jsonl", '{"premise": "p", "hypothesis": "h", "label": 1}\n')
    kit.write("xnli/de/xtreme-mesh/test-de.tsv", "p\th\n")
    sources = discover(get_task("xnli"), kit.root)["de"]
    assert set(sources) == {"dev", "test"}  # the XGLUE re-split never becomes a train set
    assert (sources["dev"].origin, sources["dev"].fmt) == ("xtreme-mesh", "tsv3")
    assert (sources["test"].origin, sources["test"].fmt, sources["test"].labeled) == ("hf-hkunlp", "jsonl", True)
    skipped = " ".join(sources["test"].skipped)
    assert "test-de.tsv: not used (unlabeled" in skipped and "test.txt: not used (lower in the source order" in skipped
    assert "re-split" in " ".join(sources["dev"].skipped)


def test_conllu_files_are_concatenated_in_name_order(kit):
    row = "1\tx\t_\tNOUN\t_\t_\t_\t_\t_\t_\n"
    for name in ("de_pud-ud-test.conllu", "de_gsd-ud-test.conllu", "de_lit-ud-test.conllu"):
        kit.write(f"udpos/de/ud-v2.5/{name}", row)
    source = discover(get_task("udpos"), kit.root)["de"]["test"]
    assert [p.name for p in source.files] == ["de_gsd-ud-test.conllu", "de_lit-ud-test.conllu", "de_pud-ud-test.conllu"]
    assert source.fmt == "conllu" and source.labeled


def test_pawsx_labeled_test_beats_unlabeled_and_raw_header_files_are_hdr4(kit):
    kit.write("pawsx/de/xtreme-mesh/test-de.tsv", "a\tb\n")
    kit.write("pawsx/de/xglue-supergleber/test.tsv", "id\tsentence1\tsentence2\tlabel\n1\ta\tb\t0\n")
    kit.write("pawsx/zh/hf-mesh/test-00000-of-00001.tsv", "id\tsentence1\tsentence2\tlabel\n1\ta\tb\t0\n")
    found = discover(get_task("pawsx"), kit.root)
    assert (found["de"]["test"].origin, found["de"]["test"].fmt) == ("xglue-supergleber", "hdr4")
    assert found["zh"]["test"].fmt == "hdr4q"
    assert all(s.label_source is None for splits in found.values() for s in splits.values())


def test_pawsx_x_final_names_are_read_and_translated_train_is_never_used(kit):
    header = "id\tsentence1\tsentence2\tlabel\n"
    kit.write("pawsx/es/xfinal-cla/dev_2k.tsv", header + "1\ta\tb\t0\n2\tc\td\t1\n")
    kit.write("pawsx/es/xfinal-cla/test_2k.tsv", header + '3\t"quoted\tf\t1\n')  # no CSV quoting in x-final
    kit.write("pawsx/es/xfinal-cla/translated_train.tsv", header + "4\ta\tb\t0\n")
    resolved = resolve(get_task("pawsx"), kit.root)
    es = resolved.sources["es"]
    assert set(es) == {"dev", "test"} and es["dev"].fmt == es["test"].fmt == "hdr4"
    assert not resolved.contract.problems
    ignored = {path.name: why for path, why in ((i.path, i.reason) for i in resolved.contract.ignored)}
    assert "machine-translated" in ignored["translated_train.tsv"]
    from xlpt.data.loading import load_split

    (example,) = load_split(get_task("pawsx"), "es", "test", es["test"]).examples
    assert (example.id, example.text_a, example.label) == ("3", '"quoted', "paraphrase")


def test_a_partial_test_set_is_marked_only_when_a_declared_file_is_missing(kit):
    conllu = "# text = a\n1\ta\ta\tNOUN\t_\t_\t0\troot\t_\t_\n\n"
    for treebank in ("gsd", "hdt", "lit", "pud"):
        kit.write(f"udpos/de/ud-v2.5/de_{treebank}-ud-test.conllu", conllu)
    assert discover(get_task("udpos"), kit.root)["de"]["test"].partial is None
    (kit.root / "udpos/de/ud-v2.5/de_hdt-ud-test.conllu").unlink()
    resolved = resolve(get_task("udpos"), kit.root)
    assert resolved.sources["de"]["test"].partial.startswith("partial test set: de_gsd, de_lit, de_pud without de_hdt")
    assert any("partial test set" in rule for rule in resolved.contract.rules)


@pytest.mark.parametrize("under", ["download", "."])
def test_xtreme_download_layout(kit, under):
    kit.write(f"{under}/xnli/dev-de.tsv", XNLI_ROW)
    kit.write(f"{under}/xnli/test-de.tsv", "p\th\n")
    kit.write(f"{under}/xnli/test-en.tsv", "p\th\tentailment\n")
    kit.write(f"{under}/xnli/README.log", "not data\n")  # ignored: only <split>-<lang>.tsv is data
    kit.write(f"{under}/panx/test-de.tsv", "Der\nHund\n")
    xnli = discover(get_task("xnli"), kit.root)
    assert {lang: sorted(s) for lang, s in xnli.items()} == {"de": ["dev", "test"], "en": ["test"]}
    assert xnli["de"]["test"].origin == "xtreme" and xnli["de"]["test"].fmt == "tsv2"
    assert xnli["de"]["test"].label_source.lang == "en"  # XNLI is parallel: labels can be borrowed
    assert discover(get_task("panx"), kit.root)["de"]["test"].labeled is False


def test_data_dir_may_be_the_download_folder_itself(kit):
    kit.write("download/udpos/train-en.tsv", "a\tNOUN\n")
    assert discover(get_task("udpos"), kit.root / "download")["en"]["train"].fmt == "tag"


def test_problems_unknown_language_bad_name_and_mismatched_language(kit):
    kit.write("xnli/en/xtreme-mesh/dev-en.tsv", XNLI_ROW)
    kit.write("xnli/qq/xtreme-mesh/dev-qq.tsv", XNLI_ROW)
    kit.write("xnli/en/xtreme-mesh/notes.bin", "x")
    kit.write("xnli/en/xtreme-mesh/dev-fr.tsv", XNLI_ROW)
    kit.write("download/xnli/test-zz.tsv", "p\th\n")
    found = scan(get_task("xnli"), kit.root)
    problems = sorted((err.path.split("/")[-1], err.problem.split(" (")[0]) for err in found.problems)
    assert problems == [
        ("dev-fr.tsv", "file name says language 'fr' but it is filed under 'en'"),
        ("notes.bin", "unrecognised xnli file name 'notes.bin'; not loaded"),
        ("qq", "unknown language 'qq' for xnli"),
        ("test-zz.tsv", "unknown language 'zz' for xnli"),
    ]
    assert [f.path.name for f in found.files] == ["dev-en.tsv"]


def test_config_errors(kit):
    with pytest.raises(ConfigError, match="does not exist"):
        discover(get_task("xnli"), kit.root / "missing")
    with pytest.raises(ConfigError, match="no xnli folder"):
        discover(get_task("xnli"), kit.root)
    with pytest.raises(ConfigError, match="valid tasks: .*panx, pawsx, sib200, udpos, .*xnli"):
        discover(get_task("nli"), kit.root)
    (kit.root / "xnli").mkdir()
    with pytest.raises(ConfigError, match="no xnli data files"):
        discover(get_task("xnli"), kit.root)


# --- the real data folder ------------------------------------------------------------------------


def test_real_languages_are_the_ones_on_disk(data_dir, manifest_rows):
    for task in ("xnli", "pawsx", "udpos", "panx", "xcopa"):
        expected = {row["lang"] for row in manifest_rows if row["task"] == task}
        assert set(discover(get_task(task), data_dir)) == expected, task


def test_real_primary_picks(data_dir):
    xnli, pawsx = discover(get_task("xnli"), data_dir), discover(get_task("pawsx"), data_dir)
    udpos, panx = discover(get_task("udpos"), data_dir), discover(get_task("panx"), data_dir)
    assert xnli["en"]["test"].files[0].parts[-2:] == ("hf-hkunlp", "test.jsonl")
    assert xnli["en"]["train"].files[0].parts[-2:] == ("hf-hkunlp", "train.jsonl")
    assert "train" not in xnli["de"] and xnli["de"]["dev"].origin == "xtreme-mesh"
    for lang in ("bg", "el", "ru", "th"):
        test = xnli[lang]["test"]
        assert (test.fmt, test.labeled, test.label_source.lang) == ("tsv2", False, "en")
        assert test.label_source.files[0].parts[-3:] == ("en", "hf-hkunlp", "test.jsonl")
    assert "train" not in pawsx["en"]
    for lang in ("en", "es", "fr", "ja", "ko"):  # PAWS-X's own x-final names, labeled, over XTREME's unlabeled copy
        test = pawsx[lang]["test"]
        assert (test.files[0].parts[-2:], test.fmt, test.labeled) == (("xfinal-cla", "test_2k.tsv"), "hdr4", True)
    assert pawsx["de"]["test"].files[0].parts[-2:] == ("xglue-supergleber", "test.tsv")
    assert pawsx["zh"]["test"].files[0].name == "test-00000-of-00001.tsv"
    assert pawsx["zh"]["dev"].origin == "xtreme-mesh" and pawsx["de"]["dev"].origin == "xtreme-mesh"
    assert [p.name for p in udpos["de"]["test"].files] == [
        "de_gsd-ud-test.conllu", "de_lit-ud-test.conllu", "de_pud-ud-test.conllu"
    ]
    # XTREME's German test also has HDT (task complete_test): the shared copy is a partial test set
    assert "without de_hdt" in udpos["de"]["test"].partial
    assert all(s.partial is None for lang, splits in udpos.items() for s in splits.values() if lang != "de")
    assert panx["af"]["test"].files[0].parts[-3:] == ("mmner", "af_test", "truth.csv")
    assert {lang for lang, s in panx.items() if "test" in s} == {"af"}


# --- labeledness and tsv2/tsv3 from the whole file, never its first line ------------------------


def _sniffed(kit, relative: str, text: str, task: str):
    kit.write(relative, text)
    (data_file,) = scan(get_task(task), kit.root).files
    return data_file.fmt, data_file.labeled


LABELED_XNLI = "a\tb\tneutral\n" * 4


@pytest.mark.parametrize(
    "relative, text, task, expected",
    [
        # line 1 is damaged (its label lost): still a labeled file, so it is loaded and line 1 reported
        ("xnli/en/xtreme-mesh/dev-en.tsv", "a\tb\n" + LABELED_XNLI, "xnli", ("tsv3", True)),
        ("download/xnli/test-de.tsv", "a\tb\tneutral\n" + "a\tb\n" * 4, "xnli", ("tsv2", False)),
        ("xnli/de/xglue-supergleber/test.txt", "a\tb\n" + LABELED_XNLI, "xnli", ("txt3", True)),
        ("xnli/de/xglue-supergleber/test.txt", "a\tb\n" * 3, "xnli", ("txt3", False)),
        ("xnli/en/hf-hkunlp/test.jsonl", '{"premise": "p", "hypothesis": "h"}\n'
         + '{"premise": "p", "hypothesis": "h", "label": 0}\n' * 2, "xnli", ("jsonl", True)),
        ("xnli/en/hf-hkunlp/test.jsonl", '{"premise": "p", "hypothesis": "h", "label": 0}\n'
         + '{"premise": "p", "hypothesis": "h"}\n' * 2, "xnli", ("jsonl", False)),
        ("download/panx/dev-en.tsv", "a\n" + "b\tO\n" * 3, "panx", ("tag", True)),
        ("download/panx/test-en.tsv", "a\tO\n" + "b\n" * 3, "panx", ("tag", False)),
        ("download/panx/dev-en.tsv", "a\tO\nb\n\nc\nd\tO\n", "panx", ("tag", True)),  # a tie loads as labeled
        # CRLF: "\r" alone on a blank line is not an untagged token line
        ("download/panx/dev-en.tsv", "a\tO\r\n\r\nb\tO\r\n\r\nc\tO\r\n", "panx", ("tag", True)),
        ("xnli/en/xtreme-mesh/dev-en.tsv", '"x\ty"\tb\t0\n' + "a\tb\t1\n", "xnli", ("tsv3", True)),  # quoted tab
    ],
)
def test_labeledness_is_a_vote_of_the_whole_file(kit, relative, text, task, expected):
    assert _sniffed(kit, relative, text, task) == expected


def test_a_damaged_first_line_no_longer_takes_a_test_split_out_of_evaluation(kit):
    kit.write("download/panx/test-en.tsv", "Hy\n" + "a\tO\nb\tB-PER\n\n" * 3)
    source = discover(get_task("panx"), kit.root)["en"]["test"]
    assert source.labeled  # was judged unlabeled from line 1, so `train --evaluate` skipped the language


def test_every_real_file_is_sniffed_as_its_manifest_says(data_dir, manifest_rows):
    from xlpt.data.layout import classify
    from xlpt.tasks import get_task

    wrong = []
    for row in manifest_rows:  # every row, xcopa's included (its YAML declares its readers per source folder)
        spec = get_task(row["task"])
        data_file = classify(spec, data_dir / row["dest"], row["lang"], row["dest"].split("/")[2])
        if (data_file.fmt, data_file.labeled) != (row["fmt"], row["labeled"]):
            wrong.append((row["dest"], data_file.fmt, data_file.labeled))
    assert wrong == []


def test_a_file_given_as_data_folder_is_called_a_file(tmp_path):
    (tmp_path / "data.tsv").write_text("x\n")
    with pytest.raises(ConfigError, match="is a file, not a folder"):
        scan(get_task("xnli"), tmp_path / "data.tsv")


def test_real_xcopa_val_is_dev_and_every_file_is_used(data_dir, manifest_rows):
    resolved = resolve(get_task("xcopa"), data_dir)
    rows = {(row["lang"], row["split"]): row for row in manifest_rows if row["task"] == "xcopa"}
    used = {(lang, split): source for lang, splits in resolved.sources.items() for split, source in splits.items()}
    assert set(used) == set(rows) and not resolved.contract.problems
    for key, source in used.items():
        assert (source.files[0].relative_to(data_dir).as_posix(), source.fmt) == (rows[key]["dest"], rows[key]["fmt"])
    assert set(resolved.sources["en"]) == {"train", "dev", "test"}  # only English has a train split
