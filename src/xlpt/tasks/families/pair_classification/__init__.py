"""Sentence-pair classification (XNLI, PAWS-X): two texts, one label read at the template's answer slot.

The rules it shares with single-text classification are in families/verbalized.py (torch-free) and
families/classification.py (model, objective, evaluation); what is its own is here: its default fields
and its data quirks (duplicate pairs, and PAWS-X translations whose two sentences are identical).
"""

from __future__ import annotations

from collections import Counter

from xlpt.tasks.families.verbalized import classification_record


def read_quirks(spec, examples, *, repair_iob: bool = False) -> tuple[list, Counter, list[str]]:
    from xlpt.data.quality import pair_quirks

    return examples, pair_quirks(examples), []


# The XTREME / shared layouts' pair readers (data/formats READERS).
LAYOUT_FORMATS = frozenset({"tsv3", "tsv2", "txt3", "hdr4", "hdr4q", "jsonl"})

FAMILY = classification_record("pair_classification", ("text_a", "text_b"), read_quirks, LAYOUT_FORMATS)
