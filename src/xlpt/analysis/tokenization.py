"""Per-language tokenization statistics of a task's text, joined with XGLM's pretraining shares.

Why: prompt tuning may help low-resource languages more than fine-tuning because of how the tokenizer
treats them (more pieces per word, rarer pieces). These statistics let the report relate transfer gaps
to fertility and to the pretraining share of each language.

Entry point for code (the report generator): `tokenization_stats(...)`; for people: `xlpt tokenization`.
Word and subword conventions are documented in `xlpt.analysis.subwords` and `xlpt.analysis.scripts`.
"""

from __future__ import annotations

import os
import sys

from xlpt.analysis.pretraining import pretraining_share, source_citation
from xlpt.analysis.scripts import is_whitespace_segmented, mean_chars_per_word, word_definition_note
from xlpt.analysis.subwords import count_subwords, summarize
from xlpt.analysis.task_text import (SPLIT_FALLBACKS, discover_languages, load_language_text, select_languages,
                                     unusable_reason)
from xlpt.tasks import TaskSpec

WORD_UNITS = {
    "whitespace": "whitespace-separated tokens of the raw sentences",
    "dataset": "the dataset's own word tokens",
}
"""A family's `word_unit` (families/record.py), as results describe it."""


def language_stats(tokenizer, task: TaskSpec, lang: str, word_lists: list[list[str]]) -> dict:
    """Statistics of one language's word lists, with the word-definition note and pretraining facts.

    For pair tasks on scripts without spaces between words, fertility and split share are null and
    `whitespace_segmented` is false; for tagging tasks the dataset's words are used for every script.
    """
    chars_per_word = mean_chars_per_word(word_lists)
    word_unit = task.family_record.word_unit
    if word_unit == "whitespace":  # whitespace words mean nothing in scripts written without spaces
        segmented, reason = is_whitespace_segmented(lang, chars_per_word)
        words_meaningful = segmented
    else:
        segmented, reason = is_whitespace_segmented(lang)
        words_meaningful = True
    stats = summarize(count_subwords(tokenizer, word_lists), len(tokenizer), words_meaningful=words_meaningful)
    stats["whitespace_segmented"] = segmented
    stats["note"] = word_definition_note(task.name, word_unit, lang, segmented, reason,
                                         chars_per_word)
    stats["chars_per_word"] = chars_per_word
    stats.update(pretraining_share(lang).as_fields())
    return _ordered(stats)


# The fields users look at first come first in the JSON (and in the same order as the issue lists them).
_FIRST_FIELDS = (
    "split", "fertility", "split_share", "unk_share", "chars_per_token", "distinct_pieces", "vocab_share",
    "whitespace_segmented", "note", "n_words", "n_subwords", "pretraining_share", "pretraining_share_upsampled",
    "in_pretraining",
)


def _ordered(stats: dict) -> dict:
    first = {key: stats[key] for key in _FIRST_FIELDS if key in stats}
    return {**first, **{key: value for key, value in stats.items() if key not in first}}


def _as_tokenizer(tokenizer):
    """Accept a loaded tokenizer or a model name / folder (loaded and checked)."""
    if isinstance(tokenizer, (str, os.PathLike)):
        from xlpt.models.tokenizer import load_tokenizer

        return load_tokenizer(tokenizer)
    return tokenizer


def _progress(items: list[str], enabled: bool):
    from xlpt.progress import progress_bar

    return progress_bar(items, desc="languages", unit="lang", file=sys.stderr, disable=not enabled, leave=False)


def tokenization_stats(tokenizer, task: TaskSpec, data_dir: str | os.PathLike, split: str = "dev",
                       languages: str | list[str] | None = None, max_examples: int | None = None,
                       progress: bool = False) -> dict:
    """Tokenization statistics of `task`'s text for every language present in `data_dir`.

    `tokenizer`: a loaded tokenizer or a model name / folder. `split`: the split to read; where a language
    lacks it, the fallback in `task_text.SPLIT_FALLBACKS` is used and the split actually read is recorded
    per language. `languages`: None/"all", "de,fr" or a list. `max_examples`: cap per language (pairs or
    sentences). Returns `{"model", "task", "split", "languages": {lang: {...}}, ...}` (JSON-serialisable).
    """
    tokenizer = _as_tokenizer(tokenizer)
    found = discover_languages(task, data_dir)
    results: dict[str, dict] = {}
    skipped: dict[str, str] = {}
    for lang in _progress(select_languages(found, languages), progress):
        text = load_language_text(task, lang, found[lang], split, max_examples)
        if text is None:
            fallbacks = ", ".join(SPLIT_FALLBACKS.get(split, ())) or "none"
            skipped[lang] = unusable_reason(found[lang]) or (
                f"no {split} split (fallbacks: {fallbacks}); present: {', '.join(sorted(found[lang]))}")
            continue
        stats = language_stats(tokenizer, task, lang, text.word_lists)
        stats.update(split=text.split, n_examples=text.n_examples, files=list(text.files))
        results[lang] = _ordered(stats)
    return {
        "model": str(getattr(tokenizer, "name_or_path", "") or type(tokenizer).__name__),
        "task": task.name,
        "split": split,
        "max_examples": max_examples,
        "vocab_size": len(tokenizer),
        "word_unit": WORD_UNITS[task.family_record.word_unit],
        "pretraining_source": source_citation(),
        "languages": results,
        "skipped": skipped,
    }
