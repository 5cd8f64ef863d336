"""Typed examples shared by every task, reader and model component."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PairExample:
    """One sentence-pair classification example (XNLI, PAWS-X).

    `label` is a label *name* from the task's label set (e.g. "entailment", "paraphrase"),
    or None when the file carries no label (XTREME strips test labels on purpose).
    """

    text_a: str
    text_b: str
    label: str | None
    lang: str
    id: str
    reconstructed: bool = False
    """True when the label was recovered from a parallel labeled file (XNLI bg/el/ru/th test)."""


@dataclass(frozen=True)
class TaggedSentence:
    """One word-tagged sentence (UDPOS, PAN-X). `tags` is None for unlabeled files."""

    words: tuple[str, ...]
    tags: tuple[str, ...] | None
    lang: str
    id: str

    def __post_init__(self):
        if self.tags is not None and len(self.tags) != len(self.words):
            raise ValueError(f"{self.id}: {len(self.words)} words but {len(self.tags)} tags")
