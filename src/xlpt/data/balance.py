"""Label counts of the rows a run trains and selects on, and the check that they can teach every label.

A training sample with one label (the first 2,000 rows of XNLI's label-sorted English train file) teaches
a constant: every prediction is that label, and nothing downstream would say so. Training stops with one
line when the rows hold a single label, or when a label makes up under 1 % of them although it makes up
at least 10 % of the whole split (a broken sample, not a rare class). `data.allow_label_imbalance=true`
lets such a run through; it is then recorded in train_summary.json and results.json and listed by audit.
"""

from __future__ import annotations

from collections import Counter

from xlpt.errors import ConfigError

STARVED = 0.01
"""A label below this share of the rows used ..."""
COMMON = 0.10
"""... while at least this share of the full split is a broken sample."""


def label_counts(examples) -> dict[str, int]:
    """label -> examples (classification), or tag -> words (tagging), over labeled rows, in name order."""
    counts: Counter = Counter()
    for example in examples:
        tags = getattr(example, "tags", None)
        if tags is not None:
            counts.update(tags)
        elif getattr(example, "label", None) is not None:
            counts[example.label] += 1
    return dict(sorted(counts.items()))


def describe_counts(counts: dict[str, int], most: int = 8) -> str:
    """`contradiction 667, entailment 667, neutral 666` (the first `most` labels) for logs and previews."""
    shown = ", ".join(f"{label} {count}" for label, count in list(counts.items())[:most])
    return (shown or "none") + (f", ... ({len(counts)} labels)" if len(counts) > most else "")


def imbalance_problems(used: dict[str, int], full: dict[str, int], labels: tuple[str, ...]) -> list[str]:
    """What makes `used` (label counts of the training rows) unable to teach the task; [] when fine.
    `full` = the counts of the whole split the rows came from; `labels` = the task's label set."""
    total, full_total = sum(used.values()), sum(full.values())
    if total and sum(1 for count in used.values() if count) == 1 and len(labels) > 1:
        only = next(label for label, count in used.items() if count)
        return [f"every training example has the label {only!r} ({total} examples)"]
    problems = []
    for label in labels:
        share, full_share = used.get(label, 0) / max(total, 1), full.get(label, 0) / max(full_total, 1)
        if share < STARVED <= COMMON <= full_share:
            problems.append(f"label {label!r} is {used.get(label, 0)} of {total} training rows ({share:.1%}) but "
                            f"{full_share:.0%} of the split")
    return problems


def check_training_labels(used: dict[str, int], full: dict[str, int], labels: tuple[str, ...], allowed: bool,
                          where: str, log) -> dict | None:
    """Raise ConfigError (one line) on an unteachable training sample unless `allowed`; the record to store
    (None when there was nothing to allow)."""
    problems = imbalance_problems(used, full, labels)
    if not problems:
        return None
    if not allowed:
        raise ConfigError(f"{where}: {'; '.join(problems)}; a run on it can only learn a constant. Use all rows or "
                          "another data.sample_seed, or set data.allow_label_imbalance=true to train anyway (recorded)")
    log(f"WARNING: {where}: {'; '.join(problems)} (data.allow_label_imbalance=true: training anyway, recorded)")
    return {"allowed": True, "problems": problems}
