"""load_split on the real data (anchors, reconstruction, quirks) and on hand-made folders (errors)."""

from __future__ import annotations

from collections import Counter

import pytest

from xlpt.data.loading import LoadedSplit, discover, load_split
from xlpt.errors import ConfigError, DataFormatError
from xlpt.tasks import get_task

# --- anchors from the issue -----------------------------------------------------------------------


def test_xnli_anchor_sizes(data_dir):
    sources = discover(get_task("xnli"), data_dir)
    assert len(sources) == 15
    assert all(len(load_split(get_task("xnli"), lang, "dev", s["dev"])) == 2490 for lang, s in sources.items())
    tests = {lang: len(load_split(get_task("xnli"), lang, "test", s["test"])) for lang, s in sources.items() if "test" in s}
    assert set(tests.values()) == {5010} and len(tests) == 13  # hi and sw test files are not on disk
    assert len(load_split(get_task("xnli"), "en", "train", data_dir)) == 9000


def test_other_anchor_sizes(data_dir):
    assert all(len(load_split(get_task("pawsx"), lang, "dev", data_dir)) == 2000 for lang in discover(get_task("pawsx"), data_dir))
    assert len(load_split(get_task("pawsx"), "de", "test", data_dir)) == 2000
    assert len(load_split(get_task("panx"), "en", "train", data_dir)) == 20000
    assert len(load_split(get_task("udpos"), "en", "test", data_dir)) == 5440


def test_loaded_split_fields(data_dir):
    loaded = load_split(get_task("pawsx"), "zh", "test", data_dir)
    assert isinstance(loaded, LoadedSplit)
    assert (loaded.task, loaded.lang, loaded.split, loaded.labeled) == ("pawsx", "zh", "test", True)
    assert [p.name for p in loaded.files] == ["test-00000-of-00001.tsv"]
    assert set(Counter(e.label for e in loaded.examples)) == {"paraphrase", "not_paraphrase"}
    assert loaded.notes[0].startswith("read hf-mesh [hdr4q, labeled]")


# --- XNLI reconstruction; PAWS-X never -------------------------------------------------------------


@pytest.fixture(scope="module")
def en_test(data_dir):
    return load_split(get_task("xnli"), "en", "test", data_dir)


@pytest.mark.parametrize("lang", ["bg", "el", "ru", "th"])
def test_xnli_test_labels_are_reconstructed_from_english(data_dir, en_test, lang):
    loaded = load_split(get_task("xnli"), lang, "test", data_dir)
    assert loaded.labeled and loaded.counts["reconstructed"] == 5010
    assert all(e.reconstructed for e in loaded.examples)
    assert [e.label for e in loaded.examples] == [e.label for e in en_test.examples]
    assert Counter(e.label for e in loaded.examples) == {"entailment": 1670, "neutral": 1670, "contradiction": 1670}
    assert any("labels reconstructed from xnli/en/hf-hkunlp/test.jsonl by parallel row order" in n for n in loaded.notes)
    assert loaded.files[0].name == f"test-{lang}.tsv"
    assert not any(e.reconstructed for e in en_test.examples) and en_test.counts["reconstructed"] == 0


def test_reconstruction_with_limit_still_checks_full_lengths(data_dir, en_test):
    loaded = load_split(get_task("xnli"), "th", "test", data_dir, limit=7)
    assert [e.label for e in loaded.examples] == [e.label for e in en_test.examples[:7]]
    assert loaded.counts["reconstructed"] == 7


@pytest.mark.parametrize("lang", ["es", "fr", "ja", "ko"])
def test_pawsx_test_labels_are_each_languages_own(data_dir, lang):
    """PAWS-X's labeled tests (x-final names) are read with their own labels, never copied from English:
    the rows align (same ids), and fr/ja/ko labels differ from English on some rows."""
    loaded, en = load_split(get_task("pawsx"), lang, "test", data_dir), load_split(get_task("pawsx"), "en", "test", data_dir)
    assert len(loaded) == 2000 and loaded.labeled and loaded.counts["reconstructed"] == 0
    assert [e.id for e in loaded.examples] == [e.id for e in en.examples]
    assert not any(e.reconstructed for e in loaded.examples)
    raw = {code: [line.split("\t")[-1] for line in (data_dir / "pawsx" / code / "xfinal-cla" / "test_2k.tsv")
                  .read_text(encoding="utf-8").splitlines()[1:]] for code in (lang, "en")}
    assert [e.label for e in loaded.examples] == [["not_paraphrase", "paraphrase"][int(x)] for x in raw[lang]]
    differ = sum(a.label != b.label for a, b in zip(loaded.examples, en.examples))
    assert differ == sum(a != b for a, b in zip(raw[lang], raw["en"])) and (differ > 0 or lang == "es")


@pytest.mark.parametrize("lang", ["en", "es", "fr", "ja", "ko"])
def test_xtremes_unlabeled_pawsx_test_stays_unlabeled(data_dir, lang):
    from xlpt.data.choice import SplitSource

    path = data_dir / "pawsx" / lang / "xtreme-mesh" / f"test-{lang}.tsv"
    loaded = load_split(get_task("pawsx"), lang, "test", SplitSource("pawsx", lang, "test", "tsv2", (path,), False, "xtreme"))
    assert len(loaded) == 2000 and loaded.labeled is False
    assert all(e.label is None and not e.reconstructed for e in loaded.examples)


def test_reconstruction_refuses_different_lengths(kit):
    kit.write("download/xnli/test-en.tsv", "a\tb\tneutral\nc\td\tentailment\n")
    kit.write("download/xnli/test-bg.tsv", "a\tb\n")
    with pytest.raises(DataFormatError, match="has 1 rows but the label source .* has 2"):
        load_split(get_task("xnli"), "bg", "test", kit.root)


def test_pawsx_is_not_reconstructed_even_next_to_a_labeled_language(kit):
    kit.write("download/pawsx/test-de.tsv", "a\tb\t1\n")
    kit.write("download/pawsx/test-fr.tsv", "a\tb\n")
    loaded = load_split(get_task("pawsx"), "fr", "test", kit.root)
    assert loaded.labeled is False and loaded.examples[0].label is None


# --- real quirks, counted ----------------------------------------------------------------------


def test_pawsx_identical_pairs_match_the_manifest(data_dir):
    expected = {"zh": 72, "fr": 58, "de": 50, "ja": 40, "ko": 24, "es": 21, "en": 0}
    found = {lang: load_split(get_task("pawsx"), lang, "dev", data_dir).counts["identical_pairs"] for lang in expected}
    assert found == expected


def test_panx_quirks_match_the_manifest(data_dir):
    ja = load_split(get_task("panx"), "ja", "dev", data_dir)
    assert ja.counts["i_after_o"] == 501
    assert load_split(get_task("panx"), "id", "dev", data_dir).counts["duplicates"] == 2475
    assert load_split(get_task("panx"), "eu", "dev", data_dir).counts["duplicates"] == 1909
    assert load_split(get_task("panx"), "de", "dev", data_dir).counts["redirects"] == 415
    assert load_split(get_task("panx"), "en", "dev", data_dir).counts["i_after_o"] == 0


def test_repair_iob_is_explicit_and_counted(data_dir):
    plain = load_split(get_task("panx"), "ja", "dev", data_dir)
    repaired = load_split(get_task("panx"), "ja", "dev", data_dir, repair_iob=True)
    assert plain.counts["repaired"] == 0 and repaired.counts["repaired"] == 501
    changed = sum(a != b for p, r in zip(plain.examples, repaired.examples) for a, b in zip(p.tags, r.tags))
    assert changed == 501
    assert any("repair_iob" in note for note in repaired.notes)


def test_udpos_german_test_concatenates_ud_files_with_xtreme_multiword_tokens(data_dir):
    loaded = load_split(get_task("udpos"), "de", "test", data_dir)
    assert len(loaded) == 977 + 1922 + 1000
    assert loaded.examples[0].id.startswith("de_gsd-ud-test.conllu:") and loaded.examples[-1].id.startswith("de_pud")
    assert loaded.counts["multiword_tokens"] == 274 + 105 + 328
    im = [s.tags[s.words.index("im")] for s in loaded.examples if "im" in s.words]
    assert im and set(im) == {"ADP"}


def test_panx_af_test_from_mmner_truth_csv(data_dir):
    loaded = load_split(get_task("panx"), "af", "test", data_dir)
    assert len(loaded) == 1000 and sum(len(s.words) for s in loaded.examples) == 10808
    assert loaded.counts["prefixes_stripped"] == 10808
    assert not any(w.startswith("af:") for s in loaded.examples for w in s.words)


def test_xtreme_download_layout_of_real_files(data_dir, tmp_path):
    # Symlinks: the real files are read in place, laid out as XTREME's download/ folder.
    links = {
        "xnli/dev-en.tsv": "xnli/en/xtreme-mesh/dev-en.tsv",
        "xnli/test-bg.tsv": "xnli/bg/xtreme-mesh/test-bg.tsv",
        "pawsx/test-fr.tsv": "pawsx/fr/xtreme-mesh/test-fr.tsv",
        "udpos/train-en.tsv": "udpos/en/xtreme-topro/train-en.tsv",
        "panx/dev-de.tsv": "panx/de/xtreme-mesh/dev-de.tsv",
    }
    for name, target in links.items():
        (tmp_path / "download" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "download" / name).symlink_to(data_dir / target)
    assert len(load_split(get_task("xnli"), "en", "dev", tmp_path)) == 2490
    bg = load_split(get_task("xnli"), "bg", "test", tmp_path / "download")
    assert (len(bg), bg.labeled) == (5010, False)  # no labeled XNLI test here to borrow from
    assert load_split(get_task("pawsx"), "fr", "test", tmp_path).labeled is False
    assert len(load_split(get_task("udpos"), "en", "train", tmp_path)) == 21253
    assert load_split(get_task("panx"), "de", "dev", tmp_path).counts["redirects"] == 415


# --- config errors and options -----------------------------------------------------------------


def test_unknown_language_split_and_task_list_valid_ones(data_dir):
    with pytest.raises(ConfigError, match="languages present: ar, bg, de"):
        load_split(get_task("xnli"), "xx", "dev", data_dir)
    with pytest.raises(ConfigError, match="valid splits: train, dev, test"):
        load_split(get_task("xnli"), "en", "validation", data_dir)
    with pytest.raises(ConfigError, match="splits present: dev, test; not usable: .*train.txt"):
        load_split(get_task("xnli"), "de", "train", data_dir)
    with pytest.raises(ConfigError, match="splits present: dev, test$"):
        load_split(get_task("pawsx"), "en", "train", data_dir)
    with pytest.raises(ConfigError, match="valid tasks"):
        load_split(get_task("ner"), "en", "dev", data_dir)


def test_limit_keeps_the_first_examples(data_dir):
    full = load_split(get_task("udpos"), "ta", "dev", data_dir)
    short = load_split(get_task("udpos"), "ta", "dev", data_dir, limit=5)
    assert short.examples == full.examples[:5]
    with pytest.raises(ConfigError):
        load_split(get_task("udpos"), "ta", "dev", data_dir, limit=-1)


def test_malformed_file_raises_with_file_and_line(kit):
    path = kit.write("panx/en/xtreme-mesh/dev-en.tsv", "a\tO\n\nb\tB-FOO\n")
    with pytest.raises(DataFormatError) as info:
        load_split(get_task("panx"), "en", "dev", kit.root)
    assert (info.value.path, info.value.line) == (str(path), 3)
