"""Validating a whole data folder (`xlpt data check`): every file, every problem, nothing loaded half-way."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from xlpt.data.formats import read_file
from xlpt.data.layout import Scan, choose_sources, scan
from xlpt.data.problems import ProblemSink
from xlpt.errors import DataFormatError


@dataclass
class CheckReport:
    task: str
    files: int = 0
    examples: int = 0
    languages: set[str] = field(default_factory=set)
    problems: list[DataFormatError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        return (
            f"OK: {self.task}: {self.files} files, {self.examples} examples, "
            f"{len(self.languages)} languages, no problems"
        )


def check_task(task: str, data_dir: Path | str, *, progress: bool | None = None) -> CheckReport:
    """Read every recognised file of `task` (used or not) collecting problems, then check cross-file rules."""
    found = scan(task, data_dir)
    report = CheckReport(found.task, problems=list(found.problems))
    sink = ProblemSink(collect=True)
    rows: dict[Path, int] = {}
    disable = None if progress is None else not progress
    for data_file in tqdm(found.files, desc=f"{found.task} check", unit="file", disable=disable):
        stream = read_file(data_file.path, data_file.fmt, task=found.task, lang=data_file.lang, problems=sink)
        rows[data_file.path] = sum(1 for _ in stream)
        report.files += 1
        report.examples += rows[data_file.path]
        report.languages.add(data_file.lang)
    report.problems += sink.errors
    report.problems += _reconstruction_problems(found, rows)
    return report


def _reconstruction_problems(found: Scan, rows: dict[Path, int]) -> list[DataFormatError]:
    """Unlabeled XNLI splits must be exactly as long as the labeled split their labels come from."""
    problems = []
    for splits in choose_sources(found).values():
        for source in splits.values():
            donor = source.label_source
            if donor is None:
                continue
            mine = sum(rows.get(path, 0) for path in source.files)
            theirs = sum(rows.get(path, 0) for path in donor.files)
            if mine != theirs:
                problems.append(DataFormatError(
                    source.files[0], None,
                    f"has {mine} rows but its label source {donor.files[0]} has {theirs}; "
                    "labels cannot be reconstructed by row order",
                ))
    return problems
