"""Glue between the data layer and the tokenization analysis: which split to read, and its words.

This is the only analysis module that reads datasets (through `xlpt.data.loading`); the statistics
themselves work on plain lists of words. SIB-200 is the default corpus for cross-language comparisons:
its rows are the same sentences in every language, so fertility compares tokenizers on equal content.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping

from xlpt.errors import ConfigError
from xlpt.tasks import TaskSpec

# Where the requested split is missing for a language, read this one instead (and record it): e.g.
# XTREME ships no UDPOS dev set for kk/th/tl/yo, and most PAN-X languages have no test file here.
SPLIT_FALLBACKS: dict[str, tuple[str, ...]] = {"dev": ("test",), "test": ("dev",), "train": ()}
DEFAULT_TASK = "sib200"
"""The corpus `xlpt tokenization` reads when no task is named: parallel text in 199 languages."""


class UnusableLanguage(dict):
    """An empty split mapping for a language whose files break the data contract, with the reason."""

    def __init__(self, reason: str):
        super().__init__()
        self.reason = reason


@dataclass(frozen=True)
class LanguageText:
    """The text of one language, as word lists, and where it came from."""

    lang: str
    split: str
    word_lists: list[list[str]]
    files: tuple[str, ...]
    n_examples: int


def choose_split(available: Mapping[str, object], requested: str) -> str | None:
    """The requested split if present, else its first present fallback, else None."""
    for split in (requested, *SPLIT_FALLBACKS.get(requested, ())):
        if split in available:
            return split
    return None


def whitespace_words(text: str) -> list[str]:
    """Split raw text on whitespace, the way the tokenizer's pre-tokenizer splits it."""
    return text.split()


def example_word_lists(task: TaskSpec, examples) -> list[list[str]]:
    """Word lists of examples, as the task's family defines words: each text field split on whitespace
    (a pair gives two lists); a tagged sentence's own words."""
    return [words for example in examples for words in task.family_record.word_lists(example)]


def discover_languages(task: TaskSpec, data_dir: str | os.PathLike) -> dict[str, dict]:
    """{lang: {split: source}} for the task's files present in `data_dir`; a language whose files break
    the data contract maps to an (empty) `UnusableLanguage` saying why, so it is reported, not dropped."""
    from xlpt.data.layout import resolve

    resolved = resolve(task, data_dir)
    found: dict[str, dict] = dict(resolved.sources)
    found.update({lang: UnusableLanguage(why) for lang, why in resolved.contract.blocked().items()})
    if not found:
        raise ConfigError(f"no {task.name} data found under {data_dir}")
    return dict(sorted(found.items()))


def unusable_reason(splits: Mapping[str, object]) -> str | None:
    """Why a language found by `discover_languages` cannot be read, or None."""
    return f"unusable data: {splits.reason}" if isinstance(splits, UnusableLanguage) else None


def select_languages(found: Mapping[str, object], languages: str | list[str] | None) -> list[str]:
    """Resolve "all" / None / "de,fr" / ["de", "fr"] against the languages present, in sorted order."""
    if languages is None or languages == "all" or languages == ["all"]:
        return sorted(found)
    wanted = [lang.strip() for lang in languages.split(",")] if isinstance(languages, str) else list(languages)
    missing = [lang for lang in wanted if lang and lang not in found]
    if missing:
        raise ConfigError(f"language(s) {', '.join(missing)} not found in the data; "
                          f"available: {', '.join(sorted(found))}")
    return [lang for lang in wanted if lang]


def load_language_text(task: TaskSpec, lang: str, splits: Mapping[str, object], requested: str,
                       max_examples: int | None = None) -> LanguageText | None:
    """Read one language's text from the chosen split; None when no usable split exists."""
    from xlpt.data.loading import load_split

    split = choose_split(splits, requested)
    if split is None:
        return None
    from xlpt.data.sampling import draw

    loaded = load_split(task, lang, split, splits[split])
    # A cap is a seeded sample of rows, not the first rows; equal-length parallel files give the same rows
    # in every language, so fertility is compared on translations of the same sentences.
    examples = [loaded.examples[i] for i in draw(range(len(loaded.examples)), max_examples, 0).indices]
    files = tuple(str(path) for path in getattr(loaded, "files", ()))
    return LanguageText(lang, split, example_word_lists(task, examples), files, len(examples))
