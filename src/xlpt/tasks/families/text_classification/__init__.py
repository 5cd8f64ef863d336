"""Single-text classification (SIB-200 topics, user tasks): one text, one label read at the template's
answer slot. Shared rules: families/verbalized.py and families/classification.py; its own: the default
field `text` and its quirk (duplicate texts)."""

from __future__ import annotations

from collections import Counter

from xlpt.tasks.families.verbalized import classification_record


def read_quirks(spec, examples, *, repair_iob: bool = False) -> tuple[list, Counter, list[str]]:
    from xlpt.data.quality import text_quirks

    return examples, text_quirks(examples), []


FAMILY = classification_record("text_classification", ("text",), read_quirks)
