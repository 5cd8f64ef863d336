"""What every reader needs besides the path: task, language, quirk counters and the error policy."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from xlpt.data.problems import ProblemSink
from xlpt.tasks.spec import TaskSpec


@dataclass
class ReadContext:
    """One file being read. Readers report problems through `fail` and count quirks in `counts`."""

    path: Path
    task: TaskSpec
    lang: str
    counts: Counter = field(default_factory=Counter)
    problems: ProblemSink = field(default_factory=ProblemSink)

    def __post_init__(self):
        self._name = self.path.name  # example_id runs once per sentence: avoid recomputing

    def fail(self, line: int | None, problem: str) -> None:
        """Report a problem at a 1-based line. Raises unless the sink collects."""
        self.problems.report(self.path, line, problem)

    def example_id(self, line: int) -> str:
        """Stable id that points back to the record: `<file name>:<line>`."""
        return f"{self._name}:{line}"
