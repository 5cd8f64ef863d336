"""XNLI label reconstruction for label-stripped test files (bg, el, ru, th here).

XNLI dev and test are 15-way parallel: row i is the same item in every language, with the same label
(checked in the manifest: identical label sequences across all labeled files). So an unlabeled
XTREME file can take its labels row by row from a labeled language — only after the row counts agree.
PAWS-X is *not* label-parallel (labels differ across languages) and is never reconstructed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from xlpt.data.examples import Example
from xlpt.errors import DataFormatError

def reconstruct_labels(
    task, examples: Sequence[Example], donor: Sequence[Example], target: Path, donor_path: Path
) -> list[Example]:
    """`examples` with labels copied from `donor` by row order, marked `reconstructed=True`.

    Raises DataFormatError if the task is not label-parallel, the donor is unlabeled, or the row
    counts differ (a shifted row would silently mislabel everything after it).
    """
    if not task.data.label_parallel:  # task: the TaskSpec
        raise DataFormatError(target, None, f"{task.name} labels differ across languages and are never copied")
    if len(examples) != len(donor):
        raise DataFormatError(
            target, None,
            f"has {len(examples)} rows but the label source {donor_path} has {len(donor)}; "
            "labels can only be copied between parallel files of equal length",
        )
    if any(example.label is None for example in donor):
        raise DataFormatError(donor_path, None, "label source has unlabeled rows")
    return [replace(example, label=source.label, reconstructed=True) for example, source in zip(examples, donor)]
