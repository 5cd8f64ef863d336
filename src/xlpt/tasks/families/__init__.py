"""Task families: how a kind of task becomes model inputs, a head, a loss, predictions and metrics.

A task (a YAML file, see tasks/spec.py) names its family; the family does the work. This module is the
registry: one `FamilyInfo` per family, cheap to import (no torch), pointing at the implementation that
`get_family` imports when a model is built. Adding a family: write `families/<name>.py` implementing
`families.base.Family`, add its record here.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from xlpt.errors import ConfigError


@dataclass(frozen=True)
class FamilyInfo:
    name: str
    fields: tuple[str, ...]
    """The text fields of an example (template placeholders / data columns besides `label`)."""
    formats: tuple[str, ...]
    """File formats a user-defined task of this family may name in `data.format`."""
    metrics: tuple[str, ...]
    """Headline metrics a task of this family may choose (first = default)."""
    has_verbalizer: bool
    """Classification read from label words at the answer slot (templates and label words apply)."""
    pretokenized: bool
    """Examples carry the dataset's own words (tagging); otherwise raw text, split by the tokenizer."""
    implementation: str
    """`module:Class` of the Family implementation."""


FAMILIES: dict[str, FamilyInfo] = {info.name: info for info in (
    FamilyInfo("pair_classification", ("text_a", "text_b"), ("tsv", "csv", "jsonl"), ("accuracy", "macro_f1"),
               True, False, "xlpt.tasks.families.classification:ClassificationFamily"),
    FamilyInfo("text_classification", ("text",), ("tsv", "csv", "jsonl"), ("accuracy", "macro_f1"),
               True, False, "xlpt.tasks.families.classification:ClassificationFamily"),
    FamilyInfo("tagging", ("words",), ("tag", "conllu"), ("accuracy", "f1"),
               False, True, "xlpt.tasks.families.tagging:TaggingFamily"),
)}


def family_info(name: str) -> FamilyInfo:
    if name not in FAMILIES:
        raise ConfigError(f"unknown task family {name!r}; valid families: {', '.join(FAMILIES)}")
    return FAMILIES[name]


def get_family(name: str):
    """The Family implementation object for `name` (imports torch-side code on first use)."""
    info = family_info(name)
    module_name, _, attribute = info.implementation.partition(":")
    return getattr(importlib.import_module(module_name), attribute)(info)


__all__ = ["FAMILIES", "FamilyInfo", "family_info", "get_family"]
