"""Tokenization statistics on the real data, with the tiny tokenizer and the real 250k vocabulary."""

from __future__ import annotations

import json

import pytest

from xlpt.analysis.tokenization import language_stats, tokenization_stats
from xlpt.errors import ConfigError
from xlpt.tasks import get_task

TASKS = ("xnli", "pawsx", "udpos", "panx")
EXPECTED_KEYS = {
    "fertility", "split_share", "unk_share", "chars_per_token", "distinct_pieces", "vocab_share",
    "whitespace_segmented", "note", "n_words", "n_subwords", "pretraining_share", "pretraining_share_upsampled",
    "in_pretraining", "split",
}


@pytest.fixture(scope="module")
def xnli_xlmr(xlmr_tokenizer, data_dir):
    # 1000 pairs per language: enough for stable fertility, and fast on 2 shared cores.
    return tokenization_stats(xlmr_tokenizer, get_task("xnli"), data_dir, max_examples=1000)


def test_low_resource_languages_have_higher_fertility_than_english(xnli_xlmr):
    langs = xnli_xlmr["languages"]
    english = langs["en"]["fertility"]
    assert 1.0 < english < 2.0
    assert langs["sw"]["fertility"] > english + 0.1
    assert langs["tr"]["fertility"] > english + 0.1
    assert langs["tr"]["split_share"] > langs["en"]["split_share"]


@pytest.mark.parametrize("lang", ["zh", "th"])
def test_unsegmented_scripts_are_flagged_not_measured(xnli_xlmr, lang):
    stats = xnli_xlmr["languages"][lang]
    assert stats["whitespace_segmented"] is False
    assert stats["fertility"] is None and stats["split_share"] is None and stats["n_words"] is None
    assert "null" in stats["note"]
    assert stats["n_subwords"] > 0 and stats["chars_per_token"] > 0  # token-level figures stay


def test_xnli_result_shape_and_pretraining_join(xnli_xlmr):
    assert xnli_xlmr["task"] == "xnli" and xnli_xlmr["split"] == "dev"
    assert xnli_xlmr["vocab_size"] == 250008
    en = xnli_xlmr["languages"]["en"]
    assert EXPECTED_KEYS <= set(en)
    assert en["split"] == "dev" and en["n_examples"] == 1000 and en["n_texts"] == 2000
    assert en["pretraining_share"] == pytest.approx(0.489906) and en["in_pretraining"] is True
    assert en["unk_share"] < 0.001
    assert 0 < en["vocab_share"] == pytest.approx(en["distinct_pieces"] / 250008)
    json.dumps(xnli_xlmr)  # the report generator stores it as JSON


def _check_task_result(result, found, kind):
    assert set(result["languages"]) == set(found) and not result["skipped"]
    for lang, stats in result["languages"].items():
        assert EXPECTED_KEYS <= set(stats), lang
        assert stats["split"] in found[lang], lang
        assert stats["n_subwords"] > 0 and stats["distinct_pieces"] > 0, lang
        if kind == "tagging" or stats["whitespace_segmented"]:
            assert stats["fertility"] >= 1.0, lang


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("which", ["tiny", "xlmr"])
def test_every_language_on_disk_gets_stats(task, which, request, data_dir):
    from xlpt.data.loading import discover
    from xlpt.tasks import get_task

    tokenizer = request.getfixturevalue(f"{which}_tokenizer")
    result = tokenization_stats(tokenizer, get_task(task), data_dir, max_examples=20)
    _check_task_result(result, discover(get_task(task), data_dir), "tagging" if get_task(task).family_record.word_unit == "dataset" else "pair")


def test_udpos_falls_back_to_test_where_dev_is_missing(tiny_tokenizer, data_dir):
    from xlpt.data.loading import discover

    found = discover(get_task("udpos"), data_dir)
    no_dev = sorted(lang for lang, splits in found.items() if "dev" not in splits)
    assert no_dev  # XTREME ships no UDPOS dev for kk/th/tl/yo
    result = tokenization_stats(tiny_tokenizer, get_task("udpos"), data_dir, languages=no_dev + ["en"], max_examples=5)
    assert {lang: result["languages"][lang]["split"] for lang in no_dev} == {lang: "test" for lang in no_dev}
    assert result["languages"]["en"]["split"] == "dev"


def test_tagging_tasks_keep_fertility_for_unsegmented_scripts(xlmr_tokenizer, data_dir):
    result = tokenization_stats(xlmr_tokenizer, get_task("panx"), data_dir, languages="ja,en", max_examples=50)
    ja = result["languages"]["ja"]
    assert ja["whitespace_segmented"] is False and ja["fertility"] is not None
    assert "single characters" in ja["note"]
    assert ja["chars_per_word"] == pytest.approx(1.0, abs=0.05)


def test_language_stats_on_plain_word_lists(hand_tokenizer):
    # The core needs no data folder: pair-task word lists in, statistics out.
    stats = language_stats(hand_tokenizer, get_task("xnli"), "de", [["Katze", "the"], ["xyz"]])
    assert stats["fertility"] == pytest.approx(6 / 3) and stats["split_share"] == pytest.approx(2 / 3)
    assert stats["in_pretraining"] is True
    unseen = language_stats(hand_tokenizer, get_task("udpos"), "yo", [["Katze"]])
    assert unseen["in_pretraining"] is False and unseen["pretraining_share_log10"] is None


def test_measured_check_flags_unlisted_language_without_spaces(hand_tokenizer):
    long_chunks = [["abcdefghijklmnopqrstuvwxyz"], ["thequickbrownfoxjumps"]]
    stats = language_stats(hand_tokenizer, get_task("xnli"), "xx", long_chunks)
    assert stats["whitespace_segmented"] is False and stats["fertility"] is None
    assert "measured" in stats["note"]


def test_unknown_task_and_language_are_config_errors(tiny_tokenizer, data_dir):
    with pytest.raises(ConfigError, match="valid tasks: .*panx, pawsx, sib200, udpos, .*xnli"):
        tokenization_stats(tiny_tokenizer, get_task("xnlii"), data_dir)
    with pytest.raises(ConfigError, match="available: ar, bg"):
        tokenization_stats(tiny_tokenizer, get_task("xnli"), data_dir, languages="de,qq")


def test_languages_without_the_split_are_skipped_with_a_reason(tiny_tokenizer, data_dir):
    result = tokenization_stats(tiny_tokenizer, get_task("xnli"), data_dir, split="train", languages="en,sw", max_examples=5)
    assert list(result["languages"]) == ["en"] and result["languages"]["en"]["split"] == "train"
    assert "no train split (fallbacks: none)" in result["skipped"]["sw"]


def test_sib200_compares_languages_on_the_same_sentences(xlmr_tokenizer, data_dir):
    result = tokenization_stats(xlmr_tokenizer, get_task("sib200"), data_dir, languages="eng_Latn,swh_Latn,zho_Hans,arb_Latn")
    langs = result["languages"]
    assert {lang: s["n_examples"] for lang, s in langs.items()} == dict.fromkeys(langs, 99)  # all of parallel dev
    assert 1.0 < langs["eng_Latn"]["fertility"] < langs["swh_Latn"]["fertility"]
    assert langs["zho_Hans"]["whitespace_segmented"] is False and langs["zho_Hans"]["fertility"] is None
    assert langs["swh_Latn"]["pretraining_language"] == "sw" and langs["arb_Latn"]["in_pretraining"] is False
    assert langs["eng_Latn"]["files"][0].endswith("sib200/eng_Latn/sib200-github/dev.tsv")


def test_a_language_with_unusable_files_is_skipped_with_the_reason(hand_tokenizer, tmp_path):
    for lang in ("en", "de"):
        path = tmp_path / "xnli" / lang / "xtreme-mesh" / f"dev-{lang}.tsv"
        path.parent.mkdir(parents=True)
        path.write_text("Katze\tthe\tneutral\n")
    (tmp_path / "xnli/de/xtreme-mesh/dev-de.tsv.bak").write_text("Katze\tthe\tneutral\n")
    result = tokenization_stats(hand_tokenizer, get_task("xnli"), tmp_path)
    assert list(result["languages"]) == ["en"]
    assert result["skipped"]["de"].startswith("unusable data: xnli/de/xtreme-mesh/dev-de.tsv.bak: ")
    with pytest.raises(ConfigError, match="not found in the data"):
        tokenization_stats(hand_tokenizer, get_task("xnli"), tmp_path, languages="fr")
