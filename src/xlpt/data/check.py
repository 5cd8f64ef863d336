"""Validating a whole data folder (`xlpt data check`): every file, every problem, nothing loaded half-way.

Besides each file's own problems (from its reader) and the folder's contract problems (misnamed,
misplaced, duplicated, empty files; see data/contract.py), two cross-file rules are checked:
- an unlabeled split that takes its labels from a parallel labeled one must have as many rows;
- in a label-parallel task (XNLI, SIB-200) the labeled dev/test splits of every language must agree row
  by row with the source language's (same label, and same id where the files carry ids): a shuffled or
  edited file would otherwise be scored against the wrong gold labels without anyone noticing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from xlpt.progress import progress_bar

from xlpt.data.choice import Resolved, SplitSource
from xlpt.data.contract import Contract
from xlpt.data.formats import read_file
from xlpt.data.layout import resolve
from xlpt.data.problems import ProblemSink
from xlpt.errors import DataFormatError
from xlpt.tasks import TaskSpec


@dataclass
class CheckReport:
    task: str
    files: int = 0
    examples: int = 0
    languages: set[str] = field(default_factory=set)
    problems: list = field(default_factory=list)
    """DataFormatErrors and contract Problems (both print as `file:line: problem`)."""
    contract: Contract | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        return (
            f"OK: {self.task}: {self.files} files, {self.examples} examples, "
            f"{len(self.languages)} languages, no problems"
        )


@dataclass
class _FileRows:
    n: int
    bad: bool
    labels: list = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    """Gold labels and ids: kept only for label-parallel tasks (PAN-X has 300k sentences)."""


def check_task(task: TaskSpec, data_dir: Path | str, *, progress: bool | None = None) -> CheckReport:
    """Read every recognised file of `task` (used or not) collecting problems, then check cross-file rules."""
    resolved = resolve(task, data_dir)
    found, contract = resolved.found, resolved.contract
    report = CheckReport(found.task, problems=list(contract.problems), contract=contract)
    parallel = task.data.label_parallel
    rows: dict[Path, _FileRows] = {}
    disable = None if progress is None else not progress
    for data_file in progress_bar(found.files, desc=f"{found.task} check", unit="file", disable=disable):
        sink = ProblemSink(collect=True)
        examples = list(read_file(data_file.path, data_file.fmt, task=task, lang=data_file.lang,
                                  problems=sink))
        rows[data_file.path] = _FileRows(len(examples), bool(sink.errors))
        if parallel:
            rows[data_file.path].labels = [_gold(e) for e in examples]
            rows[data_file.path].ids = [e.id for e in examples]
        report.problems += sink.errors
        report.files += 1
        report.examples += len(examples)
        report.languages.add(data_file.lang)
    report.problems += _reconstruction_problems(resolved, rows)
    if parallel:
        report.problems += _parallel_problems(task, resolved, rows)
    return report


def _gold(example):
    return example.label  # a label name, or a tagged sentence's tags


def _reconstruction_problems(resolved: Resolved, rows: dict[Path, _FileRows]) -> list[DataFormatError]:
    """Unlabeled splits must be exactly as long as the labeled split their labels come from."""
    problems = []
    for splits in resolved.sources.values():
        for source in splits.values():
            donor = source.label_source
            if donor is None:
                continue
            mine = sum(rows[path].n for path in source.files if path in rows)
            theirs = sum(rows[path].n for path in donor.files if path in rows)
            if mine != theirs:
                problems.append(DataFormatError(
                    source.files[0], None,
                    f"has {mine} rows but its label source {donor.files[0]} has {theirs}; "
                    "labels cannot be reconstructed by row order",
                ))
    return problems


def _parallel_problems(spec: TaskSpec, resolved: Resolved, rows: dict[Path, _FileRows]) -> list[DataFormatError]:
    """Labeled dev/test splits of a label-parallel task must match the reference language row by row."""
    problems = []
    for split in ("dev", "test"):
        labeled = {lang: splits[split] for lang, splits in resolved.sources.items()
                   if split in splits and splits[split].labeled
                   and not any(rows[path].bad for path in splits[split].files)}
        if len(labeled) < 2:
            continue
        reference = labeled.get(spec.train_lang) or labeled[sorted(labeled)[0]]
        expected = _records(reference, rows)
        for lang, source in sorted(labeled.items()):
            if source is not reference:
                problem = _first_difference(source, _records(source, rows), reference, expected)
                if problem is not None:
                    problems.append(problem)
    return problems


def _records(source: SplitSource, rows: dict[Path, _FileRows]) -> list[tuple[Path, int, str, object]]:
    """(file, row within the file, id, gold) for every example of a split, in order."""
    return [(path, i, example_id, gold) for path in source.files
            for i, (example_id, gold) in enumerate(zip(rows[path].ids, rows[path].labels))]


def _first_difference(source: SplitSource, mine: list, reference: SplitSource, theirs: list) -> DataFormatError | None:
    ref_name = f"{reference.lang} {reference.split}"
    if len(mine) != len(theirs):
        return DataFormatError(source.files[0], None, f"has {len(mine)} rows but {ref_name} has {len(theirs)}; "
                               "the task is label-parallel (data.label_parallel): every language has the same rows")
    for (path, row, my_id, gold), (_, _, their_id, their_gold) in zip(mine, theirs):
        ids_differ = _explicit(path, my_id) and _explicit(path, their_id) and my_id != their_id
        if gold != their_gold or ids_differ:
            what = f"id {my_id!r} where {ref_name} has {their_id!r}" if ids_differ else \
                f"label {gold!r} where {ref_name} has {their_gold!r}"
            return DataFormatError(path, _line(path, row, my_id, source.fmt),
                                   f"row {row + 1}: {what}; the task is label-parallel (data.label_parallel): "
                                   "row i must be the same item with the same label in every language")
    return None


def _explicit(path: Path, example_id: str) -> bool:
    """Whether an id came from the file (an id column) rather than being `<file>:<line>`."""
    return not example_id.startswith(f"{path.name}:")


def _line(path: Path, row: int, example_id: str, fmt: str) -> int | None:
    """The line of a row in a file that read without problems (so no row was dropped)."""
    if match := re.fullmatch(rf"{re.escape(path.name)}:(\d+)", example_id):
        return int(match.group(1))
    if fmt in ("tsv", "csv", "hdr4", "hdr4q"):
        return row + 2  # a header line, then one row per line (blank lines inside are refused)
    if fmt == "jsonl":
        return row + 1
    return None
