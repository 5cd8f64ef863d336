"""Which languages are whitespace-segmented, and the notes explaining what a word is."""

from __future__ import annotations

import pytest

from xlpt.analysis.scripts import is_whitespace_segmented, mean_chars_per_word, word_definition_note


@pytest.mark.parametrize("lang", ["zh", "ja", "th", "my", "km", "lo"])
def test_table_flags_unsegmented_scripts(lang):
    segmented, reason = is_whitespace_segmented(lang, chars_per_whitespace_word=4.0)
    assert segmented is False and reason  # the table wins even when the text happens to look spaced


def test_measured_check_catches_unlisted_unsegmented_text():
    assert is_whitespace_segmented("xx", 25.0)[0] is False
    assert is_whitespace_segmented("xx", 6.0) == (True, "")
    assert is_whitespace_segmented("de", None) == (True, "")


def test_mean_chars_per_word():
    assert mean_chars_per_word([["ab", "cde"], ["f"]]) == 2.0
    assert mean_chars_per_word([[]]) is None


def test_pair_note_for_unsegmented_script_says_fertility_is_null():
    note = word_definition_note("xnli", "whitespace", "th", False, "Thai: no spaces", 25.0)
    assert "null" in note and "Thai" in note


def test_tagging_notes_name_the_dataset_words_and_character_splitting():
    note = word_definition_note("panx", "dataset", "ja", False, "Japanese: no spaces", 1.0)
    assert "dataset's own tokens" in note and "single characters" in note
    # Without a documented dataset note the measurement still catches a character-split dataset.
    assert "character-split" in word_definition_note("panx", "dataset", "xx", True, "", 1.0)
    assert "character-split" not in word_definition_note("udpos", "dataset", "zh", False, "Chinese", 1.6)
    assert word_definition_note("udpos", "dataset", "de", True, "", 5.7) == ""
    assert "Vietnamese" in word_definition_note("udpos", "dataset", "vi", True, "", 3.6)


def test_udpos_vietnamese_note_replaces_the_whitespace_unit_note():
    # UD defines Vietnamese words (multi-syllable); "spaces delimit syllables" applies to raw text only.
    note = word_definition_note("udpos", "dataset", "vi", True, "Vietnamese: spaces delimit syllables", 3.6)
    assert "hảiquân" in note and "spaces delimit syllables" not in note
    assert "spaces delimit syllables" in word_definition_note("xnli", "whitespace", "vi", True,
                                                               "Vietnamese: spaces delimit syllables", 3.5)


@pytest.mark.parametrize("lang", ["zho_Hans", "zho_Hant", "yue_Hant", "jpn_Jpan", "tha_Thai", "khm_Khmr", "mya_Mymr",
                                  "shn_Mymr", "lao_Laoo", "bod_Tibt", "dzo_Tibt"])
def test_flores_codes_are_judged_by_their_script(lang):
    segmented, reason = is_whitespace_segmented(lang, chars_per_whitespace_word=4.0)
    assert segmented is False and "script" in reason


@pytest.mark.parametrize("lang, note", [("eng_Latn", ""), ("arb_Arab", ""), ("kor_Hang", "eojeol"),
                                        ("vie_Latn", "syllables"), ("amh_Ethi", ""), ("zsm_Latn", "")])
def test_spaced_flores_scripts_keep_the_unit_notes(lang, note):
    segmented, reason = is_whitespace_segmented(lang, chars_per_whitespace_word=5.0)
    assert segmented is True and (note in reason if note else reason == "")


def test_the_measurement_still_applies_to_flores_codes_of_spaced_scripts():
    assert is_whitespace_segmented("xyz_Latn", 30.0)[0] is False
