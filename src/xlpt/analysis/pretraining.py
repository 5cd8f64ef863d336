"""XGLM's pretraining data per language, from the public model card (see `xglm_pretraining.json`).

"Low-resource" mixes two different situations: a language with a small share of the pretraining data
(sw, ur, te) and a language the model never saw (yo, kk). Every record therefore carries both the
share and an explicit `in_pretraining` flag; an unseen language has share None, never 0 (0 would
put it on a log-share axis as "very small" instead of "absent").

Languages are named two ways: the card's ISO 639-1 codes (`en`, `sw`; XTREME tasks use these) and
FLORES-200 codes (`eng_Latn`, `swh_Latn`; SIB-200 uses these). A FLORES-200 code names a language
*and a script*, and is joined to a card row only through the explicit table `flores200.seen` in the
JSON file, whose `rule` says how it was built: e.g. `arb_Arab` -> `ar` but `arb_Latn` (Arabic in Latin
script) is unseen, `swh_Latn` -> `sw`, and `zsm_Latn` is unseen because Malay is not among the 30.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

_DATA_FILE = "xglm_pretraining.json"
FLORES_CODE = re.compile(r"[a-z]{3}_[A-Z][a-z]{3}")
"""ISO 639-3 language + '_' + ISO 15924 script, e.g. `zho_Hant`."""


@dataclass(frozen=True)
class PretrainingShare:
    """One language's share of XGLM's pretraining data; all None for a language outside the 30."""

    lang: str
    """The code asked for (ISO 639-1 or FLORES-200)."""
    xglm_lang: str | None
    """The card row it was joined to (ISO 639-1), or None when XGLM never saw the language/script."""
    tokens: int | None
    ratio: float | None
    """Natural share: the language's tokens over all pretraining tokens (the card's "ratio")."""
    upsampled_ratio: float | None
    """Sampled share: the language's share of the training mixture after the card's low-resource upsampling
    (the card's "ratio w/ lowRes upsampling"), i.e. what the model was actually trained on. Reports name it
    "sampled share" beside the "natural share"; the two differ by up to 6x (ko 1.2 % natural, 8.1 % sampled)."""
    note: str | None = None
    """Why a close call (dialect, other script, macrolanguage member) was decided the way it was."""

    @property
    def in_pretraining(self) -> bool:
        return self.xglm_lang is not None

    @property
    def log10_ratio(self) -> float | None:
        """log10 of the natural share; None for unseen languages (there is no share to take a log of)."""
        return math.log10(self.ratio) if self.ratio else None

    def as_fields(self) -> dict:
        """The per-language fields joined into tokenization statistics (`pretraining_share`: natural share,
        `pretraining_share_upsampled`: sampled share)."""
        return {
            "in_pretraining": self.in_pretraining,
            "pretraining_language": self.xglm_lang,
            "pretraining_share": self.ratio,
            "pretraining_share_upsampled": self.upsampled_ratio,
            "pretraining_share_log10": self.log10_ratio,
            "pretraining_tokens": self.tokens,
            "pretraining_note": self.note,
        }


@lru_cache(maxsize=1)
def load_table() -> dict:
    """The shipped JSON document: source citation, the per-language table and the FLORES-200 join."""
    text = resources.files("xlpt.analysis").joinpath(_DATA_FILE).read_text(encoding="utf-8")
    return json.loads(text)


def pretraining_languages() -> tuple[str, ...]:
    """The 30 languages of XGLM's pretraining data, largest share first."""
    langs = load_table()["languages"]
    return tuple(sorted(langs, key=lambda lang: -langs[lang]["ratio"]))


def is_flores_code(lang: str) -> bool:
    return FLORES_CODE.fullmatch(lang) is not None


def xglm_language(lang: str) -> str | None:
    """The card row (ISO 639-1) a language code stands for, or None when XGLM never saw it.

    ISO 639-1 codes are looked up directly; FLORES-200 codes only through `flores200.seen`, so a
    language in a script XGLM did not see (arb_Latn) or outside the 30 (zsm_Latn) gives None."""
    table = load_table()
    if is_flores_code(lang):
        return table["flores200"]["seen"].get(lang)
    return lang if lang in table["languages"] else None


def pretraining_share(lang: str) -> PretrainingShare:
    """XGLM's pretraining share of `lang` (ISO 639-1 or FLORES-200 code); None fields when unseen."""
    table = load_table()
    xglm = xglm_language(lang)
    note = table["flores200"]["notes"].get(lang) if is_flores_code(lang) else None
    if xglm is None:
        return PretrainingShare(lang, None, None, None, None, note)
    row = table["languages"][xglm]
    return PretrainingShare(lang, xglm, int(row["tokens"]), float(row["ratio"]), float(row["upsampled_ratio"]), note)


def source_citation() -> str:
    """One line naming where the numbers come from, for report footers and JSON output."""
    source = load_table()["source"]
    return f"{source['table']}: {source['model_card']}"
