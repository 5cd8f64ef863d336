"""What discovery finds in a task folder, before any choice is made: data files, files that are not data,
and files that break the contract (see data/contract.py). Shared by both layouts (data/layout.py for
the shared and XTREME layouts, data/pattern.py for a task's `data.path`).
"""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from typing import TYPE_CHECKING

from xlpt.data.contract import Ignored, Problem, problem

if TYPE_CHECKING:  # tasks import the data layer's formats; the scan only carries the object
    from xlpt.tasks import TaskSpec

SPLITS = ("train", "dev", "test")
LANG_ID = re.compile(r"[A-Za-z0-9_\-]+")
"""What a language id may look like (the same rule as `data.eval_languages`)."""

# Names that are documentation, never data: reported as ignored wherever they are.
_DOCUMENTATION = re.compile(r"(readme|license|licence|changelog|notice)([._-].*)?|.*\.(md|rst|html?|pdf)",
                            re.IGNORECASE)
_MANIFESTS = frozenset({"manifest.jsonl", "manifest.json", "checksums.txt", "sha256sums", "md5sums"})

# How copies of a file are usually named: `dev.tsv.bak`, `dev.tsv~`, `dev (1).tsv`, `dev copy.tsv`, ...
_TRAILING_COPY = re.compile(r"(\.(bak|orig|old|backup|tmp|swp|save)|~)$", re.IGNORECASE)
_INNER_COPY = re.compile(r"( \(\d+\)| ?- ?copy( \d+)?| copy( \d+)?|[._-](bak|orig|old|backup|copy))(?=\.[^.]+$)",
                         re.IGNORECASE)
_COPY_OF = re.compile(r"^copy of ", re.IGNORECASE)
BLANK_PROBE = 1 << 16
"""Files up to this size are checked for being blank at discovery (larger ones by their reader)."""


@dataclass(frozen=True)
class DataFile:
    """One recognised data file: what it holds and how to read it."""

    path: Path
    lang: str
    split: str
    fmt: str
    labeled: bool
    origin: str
    """Source tag (`xtreme-mesh`, `hf-hkunlp`, `ud-v2.5`, ...); `xtreme` for a download/ folder; the
    pattern for a task's data.path."""
    excluded: str | None = None
    """Why this file must never serve its split (e.g. XGLUE's re-split of XNLI dev)."""


@dataclass
class Scan:
    """Everything found for one task under a data folder (or on the hub), before choosing which file serves
    which split: what every DataSource (data/sources.py) emits."""

    spec: TaskSpec | None
    root: Path
    files: list[DataFile] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    ignored: list[Ignored] = field(default_factory=list)

    @property
    def task(self) -> str:
        return self.spec.name if self.spec is not None else ""


def not_data(name: str) -> str | None:
    """Why a file of this name is never data (documentation, a manifest), or None."""
    if _DOCUMENTATION.fullmatch(name):
        return "documentation, not data"
    if name.lower() in _MANIFESTS:
        return "a manifest of the data, not data"
    return None


def copy_original(name: str) -> str | None:
    """The name a backup or duplicate copy was made from (`dev (1).tsv` -> `dev.tsv`), or None."""
    for pattern in (_TRAILING_COPY, _INNER_COPY, _COPY_OF):
        stripped = pattern.sub("", name, count=1)
        if stripped != name and stripped:
            return stripped
    return None


def walk(folder: Path, scan: Scan, blame: Callable[[Path], str | None] = lambda path: None) -> Iterator[Path]:
    """Every readable file under `folder` in sorted order, following symbolic links to files and folders
    (clusters assemble data folders from links: a linked language must read like a real one).

    Hidden files and folders are recorded as ignored (one entry per hidden folder) and not descended into.
    Whatever cannot be read is a problem of the language `blame(path)` names (none: the whole task), never
    dropped: a broken link, a link loop, a link back to a folder it sits in (a cycle: not followed), a
    folder or file without read permission, or something that is neither file nor folder (a FIFO)."""
    yield from _walk(Path(folder), scan, blame, (os.path.realpath(folder),))


def _walk(folder: Path, scan: Scan, blame, ancestors: tuple[str, ...]) -> Iterator[Path]:
    try:
        with os.scandir(folder) as listing:
            entries = sorted(listing, key=lambda entry: entry.name)
    except OSError as err:
        scan.problems.append(unreadable(folder, _why(err, "folder"), blame))
        return
    for entry in entries:
        path = Path(entry.path)
        kind, why = entry_kind(path)
        if entry.name.startswith("."):
            scan.ignored.append(Ignored(path, f"hidden {kind if kind in ('file', 'folder') else 'entry'} (not read)"))
        elif why is not None:
            scan.problems.append(unreadable(path, why, blame))
        elif kind == "file":
            yield path
        elif (real := os.path.realpath(path)) in ancestors:
            scan.problems.append(unreadable(path, f"symbolic link cycle: it leads back to {real}, a folder it is "
                                                  "inside; not followed (point it at the data, not at a parent)",
                                            blame))
        else:
            yield from _walk(path, scan, blame, (*ancestors, real))


def entry_kind(path: Path) -> tuple[str, str | None]:
    """("file" | "folder", None) for what can be read, else (kind, why it cannot be): links are followed."""
    try:
        info = path.stat()  # follows links: a broken link or a link loop raises here
    except OSError as err:
        if path.is_symlink():
            target = os.readlink(path)
            loop = getattr(err, "errno", None) == errno.ELOOP
            return "link", (f"symbolic link loop ({path.name} -> {target} never reaches a file)" if loop else
                            f"broken symbolic link: its target {target} does not exist")
        return "entry", _why(err, "entry")
    if stat.S_ISDIR(info.st_mode):
        readable = os.access(path, os.R_OK | os.X_OK)
        return "folder", None if readable else "folder without permission to list or enter it"
    if stat.S_ISREG(info.st_mode):
        return "file", None if os.access(path, os.R_OK) else "file without permission to read it"
    return "entry", "neither a file nor a folder (a FIFO, socket or device): cannot be read as data"


def unreadable(path: Path, why: str, blame) -> Problem:
    """The problem of an entry of a data folder that cannot be read: its language cannot be trusted."""
    return problem(path, f"cannot be read: {why}", blame(path) or "")


def _why(err: OSError, kind: str) -> str:
    if isinstance(err, PermissionError):
        return f"{kind} without permission to read it"
    return f"{err.strerror or err}"


def is_blank(path: Path) -> bool:
    """Whether a (small) file holds nothing but white space: such a file can serve no split."""
    size = path.stat().st_size
    return size == 0 or (size <= BLANK_PROBE and not path.read_bytes().removeprefix(b"\xef\xbb\xbf").strip())


def count_files(folder: Path) -> int:
    """Files under `folder` (links followed, as `walk` does; what cannot be read is not counted)."""
    return sum(1 for _ in walk(folder, Scan(None, folder)))
