"""Which splits a row that combines languages rests on.

An average over languages scored on different splits (most on test, a few on dev because they have
no labeled test) is not a test average; a table that prints it as "Average" lets it pass for one.
`average_label` names such a row by its mix ("Average (mixed: 12 test, 3 dev)") so it can never be
read as a plain test average.
"""

from __future__ import annotations

from collections import Counter

def split_counts(splits: dict[str, str]) -> Counter:
    """{language: split text} -> how many languages per split text ("test", "dev", "dev, test"...)."""
    return Counter(splits.values())


def mix_text(splits: dict[str, str]) -> str | None:
    """'12 test, 3 dev' when the languages do not all share one split, else None."""
    counts = split_counts(splits)
    if len(counts) <= 1:
        return None
    return ", ".join(f"{n} {split}" for split, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def average_label(name: str, splits: dict[str, str]) -> str:
    """`name`, or `name (mixed: 12 test, 3 dev)` when the averaged languages mix splits."""
    mix = mix_text(splits)
    return name if mix is None else f"{name} (mixed: {mix})"


def table_average_label(table, which: str) -> str:
    """A task table's average-row name ("all" / "without_source"), marked with its mix of splits:
    'Average (mixed: 12 test, 3 dev)'. `table` is an `aggregate.TaskTable`."""
    coverage = table.coverage
    splits = {lang: coverage[lang].split_text for lang in table.average_languages(which) if lang in coverage}
    return average_label(table.average_label(which), splits)
