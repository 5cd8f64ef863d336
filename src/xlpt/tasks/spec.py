"""The four tasks of the study: what their labels are and which languages the benchmark defines.

Languages listed here are the *benchmark's* languages (XTREME / XTREME-R); the data layer discovers
which of them are actually present on disk and never assumes the full list.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from xlpt.errors import ConfigError


@dataclass(frozen=True)
class TaskSpec:
    name: str
    kind: str
    """"pair" (sentence-pair classification) or "tagging" (one tag per word)."""
    labels: tuple[str, ...]
    """Label names in index order. For tagging, the tag set."""
    languages: tuple[str, ...]
    """Benchmark languages (XTREME order is alphabetical here)."""
    metric: str
    """Headline metric: "accuracy" or "f1"."""

    @property
    def num_labels(self) -> int:
        return len(self.labels)


XNLI_LANGS = ("ar", "bg", "de", "el", "en", "es", "fr", "hi", "ru", "sw", "th", "tr", "ur", "vi", "zh")
PAWSX_LANGS = ("de", "en", "es", "fr", "ja", "ko", "zh")
# XTREME's 33 UDPOS languages plus the XTREME-R additions present in common copies (lt pl ro uk wo).
UDPOS_LANGS = (
    "af", "ar", "bg", "de", "el", "en", "es", "et", "eu", "fa", "fi", "fr", "he", "hi", "hu", "id",
    "it", "ja", "kk", "ko", "lt", "mr", "nl", "pl", "pt", "ro", "ru", "ta", "te", "th", "tl", "tr",
    "uk", "ur", "vi", "wo", "yo", "zh",
)
# XTREME's 40 PAN-X languages plus the 8 extra ones XTREME's preprocessing also writes.
PANX_LANGS = (
    "af", "ar", "az", "bg", "bn", "de", "el", "en", "es", "et", "eu", "fa", "fi", "fr", "gu", "he",
    "hi", "hu", "id", "it", "ja", "jv", "ka", "kk", "ko", "lt", "ml", "mr", "ms", "my", "nl", "pa",
    "pl", "pt", "qu", "ro", "ru", "sw", "ta", "te", "th", "tl", "tr", "uk", "ur", "vi", "yo", "zh",
)

UPOS_TAGS = (
    "ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON", "PROPN",
    "PUNCT", "SCONJ", "SYM", "VERB", "X",
)
PANX_TAGS = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC")

TASKS: dict[str, TaskSpec] = {
    "xnli": TaskSpec("xnli", "pair", ("entailment", "neutral", "contradiction"), XNLI_LANGS, "accuracy"),
    "pawsx": TaskSpec("pawsx", "pair", ("not_paraphrase", "paraphrase"), PAWSX_LANGS, "accuracy"),
    "udpos": TaskSpec("udpos", "tagging", UPOS_TAGS, UDPOS_LANGS, "accuracy"),
    "panx": TaskSpec("panx", "tagging", PANX_TAGS, PANX_LANGS, "f1"),
}


def get_task(name: str) -> TaskSpec:
    """Look a task up by name; unknown names fail with the valid list and a suggestion."""
    key = name.strip().lower().replace("-", "")
    if key in TASKS:
        return TASKS[key]
    close = difflib.get_close_matches(key, TASKS, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise ConfigError(f"unknown task {name!r}; valid tasks: {', '.join(TASKS)}.{hint}")
