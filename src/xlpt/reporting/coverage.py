"""What each language's numbers rest on: the split it was scored on and how many of its examples.

A table that says "split test" when a language was scored on dev, or that shows a 200-example capped
evaluation like a full one, misleads. Every table therefore carries, per language, the split(s) used
and the example count as "n of n_available" with the cap marked; `task_notes` adds the task-level
facts (dev substitutes, caps, languages skipped on request, language subsets) for the report's intro.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from xlpt.reporting.collect import RunRecord


@dataclass(frozen=True)
class LanguageCoverage:
    """One language over all runs of a table (normally every run agrees)."""

    splits: tuple[str, ...]
    """Distinct splits the runs scored this language on, sorted."""
    counts: tuple[tuple[int | None, int | None, bool | None], ...]
    """Distinct (n, n_available, capped) over the runs, sorted with unknowns last."""

    @property
    def split_text(self) -> str:
        return ", ".join(self.splits)

    @property
    def capped(self) -> bool | None:
        """True if any run was capped, None if some run may have been, else False."""
        flags = [capped for _, _, capped in self.counts]
        if True in flags:
            return True
        return None if None in flags else False

    def examples_text(self) -> str:
        """'2,000', '200 of 2,000 (capped)', or 'varies: 200–2,000 (capped in some runs)'."""
        if len(self.counts) == 1:
            return count_text(*self.counts[0])
        ns = sorted(n for n, _, _ in self.counts if n is not None)
        text = f"varies: {ns[0]:,}–{ns[-1]:,}" if ns else "varies"
        if self.capped is not False:
            text += " (capped in some runs)" if self.capped else " (some runs may be capped)"
        return text


def count_text(n: int | None, available: int | None, capped: bool | None, sep: str = " ") -> str:
    """Examples scored, with the cap spelled out: '200 of 2,000 (capped)'; sep="," gives the console form."""
    if n is None:
        return "?"
    if capped:
        base = f"{n:,} of {available:,}" if available is not None else f"{n:,}"
        return f"{base}, capped" if sep == "," else f"{base} (capped)"
    if capped is None:
        return f"{n:,}, limit reached: may be capped" if sep == "," else f"{n:,} (limit reached: may be capped)"
    return f"{n:,}"


def language_coverage(runs: list[RunRecord]) -> dict[str, LanguageCoverage]:
    splits: dict[str, set[str]] = defaultdict(set)
    counts: dict[str, set[tuple]] = defaultdict(set)
    for run in runs:
        for lang in run.scores:
            splits[lang].add(run.lang_split.get(lang, run.split))
            counts[lang].add((run.lang_n.get(lang), run.lang_n_available.get(lang), run.lang_capped.get(lang, False)))
    return {lang: LanguageCoverage(tuple(sorted(splits[lang])), tuple(sorted(counts[lang], key=_count_key)))
            for lang in splits}


def _count_key(count: tuple) -> tuple:
    n, available, capped = count
    return (n is None, n or 0, available is None, available or 0, str(capped))


def task_notes(task: str, runs: list[RunRecord], report_split: str) -> list[str]:
    """One line per fact a reader of the task's tables must know; empty when the evaluation was plain."""
    coverage = language_coverage(runs)
    notes = []
    substitutes = {lang: c.split_text for lang, c in coverage.items() if c.splits != (report_split,)}
    if substitutes:
        listed = ", ".join(f"{lang} ({split})" for lang, split in sorted(substitutes.items()))
        notes.append(f"{task}: {len(substitutes)} of {len(coverage)} languages not (only) scored on "
                     f"{report_split}: {listed}.")
    capped = sorted(lang for lang, c in coverage.items() if c.capped)
    unsure = sorted(lang for lang, c in coverage.items() if c.capped is None)
    limits = sorted({run.evaluation.limit for run in runs if run.evaluation and run.evaluation.limit})
    limit_text = f" (limit {', '.join(f'{v:,}' for v in limits)} per language)" if limits else ""
    if capped:
        notes.append(f"{task}: CAPPED evaluation{limit_text}: {len(capped)} of {len(coverage)} languages scored on "
                     f"a subset of their split ({_short_list(capped)}); not comparable to full-split numbers.")
    if unsure:
        notes.append(f"{task}: {len(unsure)} languages reached the evaluation limit{limit_text} and their split size "
                     f"is not recorded, so they may be capped ({_short_list(unsure)}).")
    skipped = {lang: reason for run in runs for lang, reason in run.skipped_languages.items()}
    if skipped:
        listed = "; ".join(f"{lang}: {reason}" for lang, reason in sorted(skipped.items()))
        notes.append(f"{task}: languages skipped on request: {listed}.")
    subsets = sorted({", ".join(run.evaluation.languages) for run in runs
                      if run.evaluation and run.evaluation.languages != "all"})
    if subsets:
        notes.append(f"{task}: some runs were evaluated on a language subset only ({' / '.join(subsets)}).")
    return notes


def _short_list(langs: list[str], limit: int = 12) -> str:
    shown = ", ".join(langs[:limit])
    return shown + (f" and {len(langs) - limit} more" if len(langs) > limit else "")
