"""Task families: how a kind of task becomes examples, model inputs, a head, a loss, predictions and metrics.

A task (a YAML file, see tasks/spec.py) names its family; the family does the work. Each family is a
package `families/<name>/` whose `__init__.py` defines `FAMILY`, a torch-free `FamilyRecord`
(families/record.py) pointing at its torch side. This module is the registry: adding a family is its
package plus ONE line in `FAMILY_PACKAGES`. A package without `FAMILY`, or whose record lacks a required
method, is refused here with one line (before any task is read), not when a run reaches the gap.
"""

from __future__ import annotations

import importlib

from xlpt.errors import ConfigError
from xlpt.tasks.families.record import FamilyRecord

FAMILY_PACKAGES = (
    "xlpt.tasks.families.pair_classification",
    "xlpt.tasks.families.text_classification",
    "xlpt.tasks.families.tagging",
    "xlpt.tasks.families.multiple_choice",
)


def load_family(package: str) -> FamilyRecord:
    """The FAMILY record of a family package, checked; ConfigError (one line) when it is not a family."""
    module = importlib.import_module(package)
    record = getattr(module, "FAMILY", None)
    if not isinstance(record, FamilyRecord):
        raise ConfigError(f"family package {package}: no FAMILY = FamilyRecord(...) in its __init__.py")
    missing = record.missing()
    if missing:
        raise ConfigError(f"family package {package}: FAMILY lacks {', '.join(missing)} "
                          "(see xlpt/tasks/families/record.py)")
    if package.rsplit(".", 1)[-1] != record.name:
        raise ConfigError(f"family package {package}: FAMILY is named {record.name!r}; name it like its package")
    return record


FAMILIES: dict[str, FamilyRecord] = {record.name: record for record in map(load_family, FAMILY_PACKAGES)}


def family_record(name: str) -> FamilyRecord:
    if name not in FAMILIES:
        raise ConfigError(f"unknown task family {name!r}; valid families: {', '.join(FAMILIES)}")
    return FAMILIES[name]


__all__ = ["FAMILIES", "FAMILY_PACKAGES", "FamilyRecord", "family_record", "load_family"]
