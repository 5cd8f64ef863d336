"""What discovery finds in a task folder, before any choice is made: data files, files that are not data,
and files that break the contract (see data/contract.py). Shared by both layouts (data/layout.py for
the shared and XTREME layouts, data/pattern.py for a task's `data.path`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from xlpt.data.contract import Ignored, Problem

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
    """Everything found for one task under a data folder, before choosing which file serves which split."""

    task: str
    root: Path
    files: list[DataFile] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    ignored: list[Ignored] = field(default_factory=list)


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


def walk(folder: Path, scan: Scan) -> Iterator[Path]:
    """Every file under `folder` in sorted order; hidden files and folders are recorded as ignored
    (one entry per hidden folder, however many files it holds) and not descended into."""
    for current, dirs, files in os.walk(folder):
        here = Path(current)
        for name in sorted(dirs):
            if name.startswith("."):
                scan.ignored.append(Ignored(here / name, "hidden folder (not read)"))
        dirs[:] = sorted(name for name in dirs if not name.startswith("."))
        for name in sorted(files):
            if name.startswith("."):
                scan.ignored.append(Ignored(here / name, "hidden file (not read)"))
            else:
                yield here / name


def is_blank(path: Path) -> bool:
    """Whether a (small) file holds nothing but white space: such a file can serve no split."""
    size = path.stat().st_size
    return size == 0 or (size <= BLANK_PROBE and not path.read_bytes().removeprefix(b"\xef\xbb\xbf").strip())


def count_files(folder: Path) -> int:
    return sum(len(files) for _, _, files in os.walk(folder))
