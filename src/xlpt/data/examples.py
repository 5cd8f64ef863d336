"""Typed examples shared by every task, reader and model component.

One generic `Example` carries the text fields a task declares (its YAML `fields:` or its family's
defaults: text_a/text_b for pairs, text for single texts); a family whose examples are not texts
(tagging: a sentence of the dataset's own words with one tag each) owns its own type, which still
answers `.label` and `.fields` so generic code (counting, balancing, stats) never asks which it has.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


class Fields(dict):
    """An example's text fields, in the task's field order; hashable so examples stay hashable values."""

    def __hash__(self):  # examples are frozen values; the mapping is never mutated after construction
        return hash(tuple(self.items()))


@dataclass(frozen=True)
class Example:
    """One text example of any classification-like family.

    `label` is a label *name* from the task's label set (e.g. "entailment"), or None when the file
    carries no label (XTREME strips test labels on purpose).
    """

    fields: Mapping[str, str]
    label: str | None
    lang: str
    id: str
    reconstructed: bool = False
    """True when the label was recovered from a parallel labeled file (XNLI bg/el/ru/th test)."""

    @property
    def stratum(self) -> str | None:
        """What a capped sample is stratified by: the example's label."""
        return self.label

    def __post_init__(self):
        if not isinstance(self.fields, Fields):
            object.__setattr__(self, "fields", Fields(self.fields))

    def __getattr__(self, name: str):
        # Only reached for names that are not attributes: a field read as `example.text_a`.
        fields = self.__dict__.get("fields")
        if fields is not None and name in fields:
            return fields[name]
        raise AttributeError(f"{type(self).__name__} has no attribute or field {name!r}")


def PairExample(text_a: str, text_b: str, label: str | None, lang: str, id: str,  # noqa: N802 - a constructor
                reconstructed: bool = False) -> Example:
    """Thin constructor kept for tests and readers of sentence pairs (XNLI, PAWS-X)."""
    return Example({"text_a": text_a, "text_b": text_b}, label, lang, id, reconstructed)


def TextExample(text: str, label: str | None, lang: str, id: str,  # noqa: N802 - a constructor
                reconstructed: bool = False) -> Example:
    """Thin constructor kept for tests and readers of single texts (SIB-200)."""
    return Example({"text": text}, label, lang, id, reconstructed)


@dataclass(frozen=True)
class TaggedSentence:
    """One word-tagged sentence (UDPOS, PAN-X), owned by the tagging family. `tags` is None for
    unlabeled files."""

    words: tuple[str, ...]
    tags: tuple[str, ...] | None
    lang: str
    id: str

    def __post_init__(self):
        if self.tags is not None and len(self.tags) != len(self.words):
            raise ValueError(f"{self.id}: {len(self.words)} words but {len(self.tags)} tags")

    @property
    def label(self) -> tuple[str, ...] | None:
        """The gold answer, as every example names it: here one tag per word."""
        return self.tags

    @property
    def fields(self) -> Fields:
        return Fields(words=" ".join(self.words))

    @property
    def stratum(self) -> None:
        """Caps sample whole sentences, unstratified: a sentence's tag sequence is not a class (stratifying
        by it would make every sentence its own stratum and change which sentences a cap draws)."""
        return None


def is_labeled(example) -> bool:
    """Whether an example of any family carries its gold answer."""
    return example.label is not None
