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

    def fields(self) -> dict[str, str]:
        return {"text_a": self.text_a, "text_b": self.text_b}


@dataclass(frozen=True)
class TextExample:
    """One single-text classification example (SIB-200 topics). `label` as in PairExample."""

    text: str
    label: str | None
    lang: str
    id: str
    reconstructed: bool = False

    def fields(self) -> dict[str, str]:
        return {"text": self.text}


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


def is_labeled(example) -> bool:
    """Whether an example of any family carries its gold answer."""
    return (example.tags if isinstance(example, TaggedSentence) else example.label) is not None
