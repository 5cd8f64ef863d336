"""A study's protocol risks: what could make its numbers unfit for a paper even when the arithmetic is right.

    risks = audit_collections([(root, collect_runs(root))]).risks   # [Risk(kind, message, runs)]

Each risk is one finding shared by one or more runs (caps, one-label or starved-label training, parallel
overlap, mixed or partial splits, too few seeds, non-standard language sets, pipeline-check models,
failed runs, gaps whose seed variance is unmeasured). Runs with the same finding are grouped under one
message, so a 100-run sweep gives a short list. `xlpt audit` prints these lines and the report carries
the same list (section "Protocol risks").

Everything is read from the run folders: config.yaml (or results.json `config`), train_summary.json (or
results.json `training`), results.json and status.json. Runs written before a field existed lack it: the
risk then says the thing was not recorded, it is never guessed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from xlpt.reporting.audit_checks import CHECKS
from xlpt.reporting.audit_runs import read_run
from xlpt.errors import ConfigError
from xlpt.reporting.collect import Collection, collect_runs, find_run_dirs, relative_path, results_filename

SHOWN_NAMES = 4
"""Run names shown per line before "…" (the JSON output lists them all)."""

KINDS = ("unreadable", "status", "model", "caps", "labels", "parallel", "splits", "languages", "seeds", "variance",
         "duplicates")
"""Every kind of risk, in the order they are listed (`xlpt audit --help` says what each covers)."""


@dataclass(frozen=True)
class Risk:
    kind: str
    message: str
    runs: tuple[str, ...]
    """Short run names (relative to the folder searched)."""

    def line(self) -> str:
        """'caps: data.max_train_examples=2000 ... in 12 runs (a, b, c, d, … +8 more)'."""
        shown = ", ".join(self.runs[:SHOWN_NAMES])
        if len(self.runs) > SHOWN_NAMES:
            shown += f", … +{len(self.runs) - SHOWN_NAMES} more"
        count = f"{len(self.runs)} run" + ("" if len(self.runs) == 1 else "s")
        return f"{self.kind}: {self.message} in {count} ({shown})"

    def to_dict(self) -> dict:
        return {"kind": self.kind, "message": self.message, "runs": list(self.runs)}


@dataclass
class Audit:
    risks: list[Risk]
    runs: int
    """Run folders audited (with or without results)."""
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    """(file, problem) for every run file that could not be read; each is also a risk."""


class _Findings:
    """(kind, message) -> run names, in the order found."""

    def __init__(self):
        self.groups: dict[tuple[str, str], list[str]] = defaultdict(list)

    def add(self, kind: str, message: str, run: str) -> None:
        if run not in self.groups[(kind, message)]:
            self.groups[(kind, message)].append(run)

    def risks(self) -> list[Risk]:
        keys = sorted(self.groups, key=lambda key: KINDS.index(key[0]))  # stable: found order within a kind
        return [Risk(kind, message, tuple(self.groups[(kind, message)])) for kind, message in keys]


def audit_folders(folders: list[Path], split: str = "test") -> Audit:
    """Audit every run found under `folders` (run folders or folders holding them, searched like `xlpt report
    --runs`). Raises ConfigError for a folder that does not exist or holds no run."""
    collections = []
    for folder in map(Path, folders):
        if not folder.is_dir():
            raise ConfigError(f"{folder}: {'not a folder' if folder.exists() else 'no such folder'}")
        if not find_run_dirs(folder):
            raise ConfigError(f"{folder}: no run directories in it (looked for results.json, config.yaml, "
                              "train_summary.json, status.json and the other run files)")
        collections.append((folder, collect_runs(folder, split)))
    return audit_collections(collections, split)


def audit_collections(collections: list[tuple[Path, Collection]], split: str = "test") -> Audit:
    """Audit the runs of one or more collections, each given with the folder it was collected from (run
    names are relative to it). Runs found twice (a folder inside another) are audited once."""
    found, runs, unreadable, seen = _Findings(), [], [], set()
    for root, collection in collections:
        for problem in collection.skipped:
            name = run_name(problem.path, root)
            if problem.reason.startswith("duplicate of"):  # collect_runs' wording for a second copy of a run
                found.add("duplicates", "ignored as a duplicate (same task, system and seed)", name)
            else:  # collect_runs' reason starts with the file's name: "results.json: not valid JSON ..."
                file, sep, reason = problem.reason.partition(": ")
                if not sep:
                    file, reason = results_filename(split), problem.reason
                unreadable.append((name, problem.path / file, reason))
        listed = [(r.path, r) for r in collection.runs + collection.unfinished] + \
                 [(p.path, None) for p in collection.incomplete]
        for path, record in listed:
            if path.resolve() not in seen:
                seen.add(path.resolve())
                runs.append(read_run(run_name(path, root), path, record, split))
    unreadable += [(run.name, file, problem) for run in runs for file, problem in run.problems]
    unreadable = list(dict.fromkeys(unreadable))  # a folder inside another was searched twice
    for name, file, problem in unreadable:
        found.add("unreadable", f"{file.name}: {problem}", name)
    for check in CHECKS:
        check(runs, found)
    return Audit(found.risks(), len(runs), [(str(file), problem) for _, file, problem in unreadable])


def run_name(path: Path, root: Path) -> str:
    """The run's folder relative to the folder searched (its own name when it is that folder)."""
    name = relative_path(path, root)
    return path.name if name == "." else name


def risk_lines(risks: list[Risk]) -> list[str]:
    return [risk.line() for risk in risks]


__all__ = ["Audit", "KINDS", "Risk", "audit_collections", "audit_folders", "risk_lines", "run_name"]
