"""The data contract of one task folder: every file is used (for a language and split), ignored (with the
reason), or a problem that makes its language unusable until it is fixed.

Discovery (data/layout.py, data/pattern.py) fills a `Contract`; `xlpt data check` and `stats` print it,
and training and evaluation log it (`summary_lines`) and store it in their JSON files (`to_json`).

    contract.used        lang -> split -> files read for it
    contract.ignored     files that are not data, or candidates a documented rule passed over, with why
    contract.rules       every rule that decided something (which of several sources, concatenation,
                         label reconstruction, languages lacking a split)
    contract.problems    files that break the contract; each names the language(s) it makes unusable,
                         or none when the whole task folder is in doubt
    contract.blocked()   lang -> why it cannot be used

Why a problem blocks its language rather than being skipped: a misnamed, misplaced, duplicated or empty
file means the language's data is not what the user thinks it is. Reading the rest would score the
language on dev instead of test, or drop it, without anyone noticing.
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from xlpt.errors import DataFormatError


@dataclass(frozen=True)
class Ignored:
    path: Path
    reason: str


@dataclass(frozen=True)
class Problem:
    """A file that breaks the contract, and the languages it makes unusable (none: the whole task)."""

    error: DataFormatError
    langs: tuple[str, ...] = ()

    @property
    def path(self) -> str:
        return self.error.path

    @property
    def line(self) -> int | None:
        return self.error.line

    @property
    def problem(self) -> str:
        return self.error.problem

    def __str__(self) -> str:
        return str(self.error)


def problem(path, problem_text: str, *langs: str, line: int | None = None) -> Problem:
    return Problem(DataFormatError(path, line, problem_text), tuple(dict.fromkeys(lang for lang in langs if lang)))


@dataclass
class Contract:
    task: str
    root: Path
    used: dict[str, dict[str, list[Path]]] = field(default_factory=dict)
    ignored: list[Ignored] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def blocked(self) -> dict[str, str]:
        """lang -> why it cannot be used: its first problem (and how many more there are)."""
        found: dict[str, list[Problem]] = defaultdict(list)
        for item in self.problems:
            for lang in item.langs:
                found[lang].append(item)
        return {lang: self._reason(items) for lang, items in sorted(found.items())}

    def refusal(self, lang: str) -> DataFormatError | None:
        """The error that refuses `lang` (its first problem, saying the language is unusable), or None."""
        mine = [item for item in self.problems if lang in item.langs]
        if not mine:
            return None
        first = mine[0]
        more = f"; {len(mine) - 1} more problem(s)" if len(mine) > 1 else ""
        return DataFormatError(first.path, first.line, f"{first.problem} ({self.task}/{lang} cannot be used until "
                               f"this is fixed{more}; `xlpt data check --task {self.task}` lists every problem)")

    def task_problems(self) -> list[Problem]:
        """Problems no language can be blamed for (a stray data file or folder in the task folder)."""
        return [item for item in self.problems if not item.langs]

    @property
    def ok(self) -> bool:
        return not self.problems

    def relative(self, path: Path | str) -> str:
        """`path` relative to the data folder (as every report shows it). Links are not resolved first: a file
        of a linked language folder shows where it sits in the data folder, not where its link points (and a
        link loop cannot be resolved at all); resolving is the fallback for a root given through a link."""
        try:
            return str(Path(os.path.abspath(path)).relative_to(os.path.abspath(self.root)))
        except ValueError:
            pass
        try:
            return str(Path(path).resolve().relative_to(self.root.resolve()))
        except (ValueError, OSError, RuntimeError):
            return str(path)

    def summary_lines(self) -> list[str]:
        """What run.log and the commands print (see `summary_lines`)."""
        return summary_lines(self.to_json(), self.task)

    def to_json(self) -> dict:
        """JSON-ready record for results.json / train_summary.json / `xlpt data stats --json`."""
        return {
            "root": str(self.root),
            "used": {lang: {split: [self.relative(p) for p in files] for split, files in splits.items()}
                     for lang, splits in sorted(self.used.items())},
            "ignored": [{"path": self.relative(item.path), "reason": item.reason} for item in self.ignored],
            "rules": list(self.rules),
            "problems": [{"path": self.relative(item.path), "line": item.line, "problem": item.problem,
                          "languages": list(item.langs)} for item in self.problems],
            "unusable_languages": self.blocked(),
        }

    def _reason(self, items: list[Problem]) -> str:
        more = f" (and {len(items) - 1} more problem(s))" if len(items) > 1 else ""
        return self._display(items[0]) + more

    def _display(self, item: Problem) -> str:
        where = self.relative(item.path) + (f":{item.line}" if item.line is not None else "")
        return f"{where}: {item.problem}"

def summary_lines(record: dict, task: str) -> list[str]:
    """A contract record (`Contract.to_json`) as lines: one headline, then every rule, ignored group,
    problem and unusable language. Ignored files with the same name and reason (SIB-200's 199
    labels.txt) are one line with a `*` pattern; the record itself lists every file."""
    n_files = sum(len(files) for splits in record["used"].values() for files in splits.values())
    lines = [f"data: {task} in {record['root']}: {n_files} files used for {len(record['used'])} languages, "
             f"{len(record['ignored'])} ignored, {len(record['problems'])} problem(s)"]
    lines += [f"rule: {rule}" for rule in record["rules"]]
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for item in record["ignored"]:
        groups[Path(item["path"]).name, item["reason"]].append(item["path"])
    for (_, reason), paths in groups.items():
        where = paths[0] if len(paths) == 1 else f"{len(paths)} files {_pattern(paths)}"
        lines.append(f"ignored: {where}: {reason}")
    for item in record["problems"]:
        where = item["path"] + (f":{item['line']}" if item["line"] is not None else "")
        lines.append(f"problem: {where}: {item['problem']}")
    lines += [f"unusable: {lang}: {why}" for lang, why in record["unusable_languages"].items()]
    return lines


def _pattern(paths: list[str]) -> str:
    """`sib200/*/sib200-github/labels.txt` for paths that differ only in some components."""
    parts = [Path(p).parts for p in paths]
    if len({len(p) for p in parts}) != 1:
        return ", ".join(paths[:3]) + (", ..." if len(paths) > 3 else "")
    return "/".join(column[0] if len(set(column)) == 1 else "*" for column in zip(*parts))
