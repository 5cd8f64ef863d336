"""XGLM's pretraining data per language, from the public model card (see `xglm_pretraining.json`).

"Low-resource" mixes two different situations: a language with a small share of the pretraining data
(sw, ur, te) and a language the model never saw (yo, kk). Every record therefore carries both the
share and an explicit `in_pretraining` flag.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

_DATA_FILE = "xglm_pretraining.json"


@dataclass(frozen=True)
class PretrainingShare:
    """One language's share of XGLM's pretraining data (zeros for languages outside the 30)."""

    lang: str
    tokens: int
    ratio: float
    """Natural share: the language's tokens over all pretraining tokens."""
    upsampled_ratio: float
    """Share in the training mixture after the card's low-resource upsampling."""

    @property
    def in_pretraining(self) -> bool:
        return self.tokens > 0

    @property
    def log10_ratio(self) -> float | None:
        """log10 of the natural share; None for unseen languages (log of zero is undefined)."""
        return math.log10(self.ratio) if self.ratio > 0 else None

    def as_fields(self) -> dict:
        """The per-language fields joined into tokenization statistics."""
        return {
            "in_pretraining": self.in_pretraining,
            "pretraining_share": self.ratio,
            "pretraining_share_upsampled": self.upsampled_ratio,
            "pretraining_share_log10": self.log10_ratio,
            "pretraining_tokens": self.tokens,
        }


@lru_cache(maxsize=1)
def load_table() -> dict:
    """The shipped JSON document: source citation plus the per-language table."""
    text = resources.files("xlpt.analysis").joinpath(_DATA_FILE).read_text(encoding="utf-8")
    return json.loads(text)


def pretraining_languages() -> tuple[str, ...]:
    """The 30 languages of XGLM's pretraining data, largest share first."""
    langs = load_table()["languages"]
    return tuple(sorted(langs, key=lambda lang: -langs[lang]["ratio"]))


def pretraining_share(lang: str) -> PretrainingShare:
    """XGLM's pretraining share of `lang`; an all-zero record when XGLM never saw the language."""
    row = load_table()["languages"].get(lang)
    if row is None:
        return PretrainingShare(lang, 0, 0.0, 0.0)
    return PretrainingShare(lang, int(row["tokens"]), float(row["ratio"]), float(row["upsampled_ratio"]))


def source_citation() -> str:
    """One line naming where the numbers come from, for report footers and JSON output."""
    source = load_table()["source"]
    return f"{source['table']}: {source['model_card']}"
