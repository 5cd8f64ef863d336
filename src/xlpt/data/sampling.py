"""Caps as seeded samples: which N rows of a part a cap keeps.

A cap never keeps the first N rows: files are often sorted (XNLI's English train file holds 3,000
entailment rows first), so a prefix can hold one class. Instead a cap draws a seeded sample:
- stratified by label for classification: each label keeps its share of the part (largest remainder),
  and every label present keeps at least one row when the cap allows it;
- by sentence for tagging (a sentence is the unit; its tags are not split up).
The rows come back in file order, and the draw is recorded (seed, n, of, a hash of the chosen row ids)
so a reader of the results can tell two runs used the same rows.

    sample = draw(rows, cap=2000, seed=0, strata=[ex.label for ex in examples])
    sample.indices            # sorted row indices
    sample.record("dev")      # {"split", "seed", "n", "of", "hash", "stratified_by"}
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from dataclasses import dataclass
from typing import Hashable, Sequence


@dataclass(frozen=True)
class Sample:
    indices: list[int]
    """Chosen row indices, in file order."""
    of: int
    """Rows the sample was drawn from."""
    seed: int
    stratified: bool

    def record(self, split: str, ids: Sequence[str] | None = None) -> dict:
        """What a run stores about the draw. The hash is over the chosen rows' ids (their indices when no ids
        are given), so equal hashes mean the same rows."""
        names = [ids[i] for i in self.indices] if ids is not None else [str(i) for i in self.indices]
        digest = hashlib.sha256("\n".join(names).encode()).hexdigest()[:16]
        return {"split": split, "seed": self.seed, "n": len(self.indices), "of": self.of, "hash": digest,
                "stratified_by": "label" if self.stratified else "sentence"}


def draw(rows: Sequence[int], cap: int | None, seed: int, strata: Sequence[Hashable] | None = None) -> Sample:
    """A seeded sample of at most `cap` of `rows` (all of them when `cap` is None or not smaller).

    `strata[i]` is row i's label (indexed by row number, not by position in `rows`); None = sample by unit."""
    rows = list(rows)
    if cap is None or cap >= len(rows):
        return Sample(rows, len(rows), seed, strata is not None)
    order = list(rows)
    random.Random(seed).shuffle(order)
    if strata is None:
        return Sample(sorted(order[:cap]), len(rows), seed, False)
    quota = _quotas(Counter(strata[i] for i in rows), cap)
    taken: Counter = Counter()
    chosen = []
    for i in order:  # the first rows of each label in the shuffled order
        if taken[strata[i]] < quota[strata[i]]:
            taken[strata[i]] += 1
            chosen.append(i)
    return Sample(sorted(chosen), len(rows), seed, True)


def _quotas(counts: Counter, cap: int) -> dict:
    """Rows per label: proportional to its count (largest remainder), at least one per label where cap allows."""
    total = sum(counts.values())
    labels = sorted(counts, key=lambda label: (str(label)))  # a fixed order: ties break the same way every run
    exact = {label: cap * counts[label] / total for label in labels}
    quota = {label: int(exact[label]) for label in labels}
    by_remainder = sorted(labels, key=lambda label: (-(exact[label] - quota[label]), str(label)))
    for label in by_remainder[: cap - sum(quota.values())]:
        quota[label] += 1
    # A rare label is not rounded away: it takes one row from the label with the most, as long as that one
    # keeps at least one (most frequent labels first, so a cap below the number of labels keeps the largest).
    for label in sorted(labels, key=lambda label: (-counts[label], str(label))):
        if quota[label] == 0:
            donor = max(labels, key=lambda other: (quota[other], str(other)))
            if quota[donor] <= 1:
                break
            quota[donor] -= 1
            quota[label] = 1
    return quota
