"""How "a word" is defined per language and dataset, for fertility statistics.

Fertility (subwords per word) needs a word unit. Two sources of words exist in this study:

* tagging tasks (UDPOS, PAN-X) carry their own word tokens: the dataset defines words, for every script;
* pair tasks (XNLI, PAWS-X) carry raw sentences: the only word unit at hand is the whitespace split,
  which is meaningless for scripts written without spaces between words. There fertility is reported as
  null, with `whitespace_segmented: false` and a note, instead of a misleading number.

Which languages lack whitespace word segmentation is decided by the documented tables below (writing-system
facts), backed by a measured check for languages the tables do not list. Languages are named two ways:
ISO 639-1 codes (`zh`, `th`; the XTREME tasks) and FLORES-200 codes (`zho_Hans`, `tha_Thai`; SIB-200),
where the ISO 15924 script after the `_` decides: Han, Japanese, Thai, Lao, Khmer, Myanmar and Tibetan
script text has no spaces between words, whatever the language (`yue_Hant`, `shn_Mymr`, `dzo_Tibt`).
"""

from __future__ import annotations

from xlpt.analysis.pretraining import is_flores_code

# Languages whose standard orthography does not put spaces between words. Spaces, where they occur, mark
# phrases or sentences (th, lo, km, my) or are absent altogether (zh, ja).
NO_WHITESPACE_LANGS: dict[str, str] = {
    "zh": "Chinese: Han script written without spaces between words",
    "ja": "Japanese: kanji/kana written without spaces between words",
    "th": "Thai: spaces separate phrases and sentences, not words",
    "lo": "Lao: spaces separate phrases and sentences, not words",
    "km": "Khmer: spaces separate phrases, not words",
    "my": "Burmese: spaces separate phrases, not words",
    "bo": "Tibetan: the tsheg mark separates syllables; no spaces between words",
    "dz": "Dzongkha: the tsheg mark separates syllables; no spaces between words",
}

# ISO 15924 scripts written without spaces between words (the script part of a FLORES-200 code).
NO_WHITESPACE_SCRIPTS: dict[str, str] = {
    "Hans": "Han script (Simplified) written without spaces between words",
    "Hant": "Han script (Traditional) written without spaces between words",
    "Hani": "Han script written without spaces between words",
    "Jpan": "Japanese script (kanji/kana) written without spaces between words",
    "Thai": "Thai script: spaces separate phrases and sentences, not words",
    "Laoo": "Lao script: spaces separate phrases and sentences, not words",
    "Khmr": "Khmer script: spaces separate phrases, not words",
    "Mymr": "Myanmar script: spaces separate phrases, not words",
    "Tibt": "Tibetan script: the tsheg mark separates syllables; no spaces between words",
}

# Whitespace-segmented languages whose space-delimited unit is not quite a word: fertility is meaningful
# but measures a different unit, which a reader comparing languages should know.
UNIT_NOTES: dict[str, str] = {
    "ko": "Korean: spaces delimit eojeol (a word plus its particles), larger units than words",
    "vi": "Vietnamese: spaces delimit syllables, so many words span several whitespace units",
}

# The same notes by ISO 639-3 code, for FLORES-200 ids (`kor_Hang`, `vie_Latn`).
UNIT_NOTES_ISO3: dict[str, str] = {"kor": UNIT_NOTES["ko"], "vie": UNIT_NOTES["vi"]}

# Known facts about how the datasets define words, keyed by (task, lang). For tagging tasks a dataset note
# replaces the generic whitespace-unit note (the dataset, not the spaces, defines its words).
DATASET_NOTES: dict[tuple[str, str], str] = {
    ("udpos", "vi"): "many UD Vietnamese words span several syllables, and XTREME's UDPOS preprocessing deleted the "
                     "spaces inside them (e.g. 'hảiquân'), so such words are unnatural strings with inflated "
                     "fertility",
    ("panx", "ja"): "PAN-X (WikiANN) Japanese is split into single characters: fertility is ~1 by "
                    "construction and says little about the tokenizer",
    ("panx", "zh"): "PAN-X (WikiANN) Chinese is split into single characters: fertility is ~1 by "
                    "construction and says little about the tokenizer",
    ("panx", "my"): "PAN-X (WikiANN) Burmese tokens are space-separated chunks, i.e. phrases (about 10 "
                    "characters each), so fertility is per phrase",
}

# Mean characters per whitespace token above which a language not in the table is treated as not
# whitespace-segmented. Measured on the dev sets here: spaced languages stay below 8 (XNLI en 4.8, de 5.8,
# tr 6.6; UDPOS ta 7.2; PAN-X ml 7.4), unspaced text gives a clause per "word" (XNLI th 25, zh 20;
# PAWS-X ja 14.5, zh 11.6, which keeps some spaces around Latin names and numbers).
MAX_WHITESPACE_WORD_CHARS = 10.0

# Mean characters per dataset word at or below which a tagging dataset is flagged as character-split.
CHARACTER_SPLIT_MAX_CHARS = 1.3


def mean_chars_per_word(word_lists: list[list[str]] | list[tuple[str, ...]]) -> float | None:
    """Mean characters per word over all word lists; None when there are no words."""
    n_words = sum(len(words) for words in word_lists)
    if not n_words:
        return None
    return sum(len(word) for words in word_lists for word in words) / n_words


def is_whitespace_segmented(lang: str, chars_per_whitespace_word: float | None = None) -> tuple[bool, str]:
    """Whether `lang` separates words by spaces, and why we think so (the tables, or the measurement).

    `lang` is an ISO 639-1 code or a FLORES-200 code; for the latter the script decides."""
    language, script = split_flores(lang)
    if script in NO_WHITESPACE_SCRIPTS:
        return False, NO_WHITESPACE_SCRIPTS[script]
    if script is None and lang in NO_WHITESPACE_LANGS:
        return False, NO_WHITESPACE_LANGS[lang]
    if chars_per_whitespace_word is not None and chars_per_whitespace_word > MAX_WHITESPACE_WORD_CHARS:
        return False, (f"measured {chars_per_whitespace_word:.1f} characters per whitespace token "
                       f"(> {MAX_WHITESPACE_WORD_CHARS:g}): text does not look whitespace-segmented")
    return True, UNIT_NOTES.get(lang, "") if script is None else UNIT_NOTES_ISO3.get(language, "")


def split_flores(lang: str) -> tuple[str, str | None]:
    """(language, script) of a FLORES-200 code (`zho_Hant` -> zho, Hant); (lang, None) for other codes."""
    if is_flores_code(lang):
        language, _, script = lang.partition("_")
        return language, script
    return lang, None


def word_definition_note(task: str, word_unit: str, lang: str, whitespace_segmented: bool, script_reason: str,
                         chars_per_word: float | None) -> str:
    """The human-readable note saying what a "word" is for this (task, language): `word_unit` is the task
    family's (families/record.py): "dataset" (the dataset's own words: tagging) or "whitespace" (raw text
    split on spaces)."""
    dataset_note = DATASET_NOTES.get((task, lang), "")
    if word_unit == "whitespace":
        if whitespace_segmented:
            parts = [script_reason]
        else:
            parts = [f"{script_reason}; whitespace-split 'words' are meaningless here, so fertility and "
                     "split share are null"]
    else:
        if whitespace_segmented:
            parts = [script_reason if not dataset_note else ""]
        else:
            parts = [f"{script_reason}; words are the dataset's own tokens ({task} tokenisation), so "
                     "fertility is per dataset token"]
        if not dataset_note and chars_per_word is not None and chars_per_word <= CHARACTER_SPLIT_MAX_CHARS:
            parts.append(f"dataset words average {chars_per_word:.2f} characters (character-split): "
                         "fertility is ~1 by construction and says little about the tokenizer")
    parts.append(dataset_note)
    return "; ".join(part for part in parts if part)
