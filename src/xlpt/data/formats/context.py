"""What every reader needs besides the path: task, language, quirk counters and the error policy."""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from xlpt.data.problems import ProblemSink
from xlpt.tasks.spec import TaskSpec

NO_EXAMPLES = "no examples (the file holds only blank lines, a header or comments)"


@dataclass
class ReadContext:
    """One file being read. Readers report problems through `fail` and count quirks in `counts`."""

    path: Path
    task: TaskSpec
    lang: str
    counts: Counter = field(default_factory=Counter)
    problems: ProblemSink = field(default_factory=ProblemSink)
    damaged: frozenset[int] = frozenset()
    """Lines `read_text` already reported as damaged (NUL, lone CR): readers drop what is on them, silently."""
    reported: int = 0
    """Problems reported for this file so far."""

    def __post_init__(self):
        self._name = self.path.name  # example_id runs once per sentence: avoid recomputing

    def fail(self, line: int | None, problem: str) -> None:
        """Report a problem at a 1-based line (None: the whole file). Raises unless the sink collects."""
        self.reported += 1
        self.problems.report(self.path, line, problem)

    def example_id(self, line: int) -> str:
        """Stable id that points back to the record: `<file name>:<line>`."""
        return f"{self._name}:{line}"

    def touches_damage(self, first: int, last: int) -> bool:
        """Whether any line in first..last (inclusive) was reported as damaged."""
        return bool(self.damaged) and any(first <= line <= last for line in self.damaged)


def labeled_by_vote(labeled: int, unlabeled: int) -> bool:
    """The whole-file labeledness rule of every reader and of the folder scan: the majority of records
    decides, never the first line. A tie counts as labeled, so that such a file is loaded and its
    disagreeing lines reported, rather than passed over as an unlabeled test file."""
    return labeled >= unlabeled


def yields_examples(read: Callable[[ReadContext], Iterator]) -> Callable[[ReadContext], Iterator]:
    """Make a reader report a file that yields no example and no problem (header only, comments only).

    Such a file used to pass `xlpt data check` as OK and then crash training with an empty split.
    """

    @functools.wraps(read)
    def reader(ctx: ReadContext) -> Iterator:
        found = False
        for example in read(ctx):
            found = True
            yield example
        if not found and not ctx.reported:
            ctx.fail(None, NO_EXAMPLES)

    return reader
