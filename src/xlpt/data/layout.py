"""Finding data files on disk: which (language, split) each file holds, in which format, and which to use.

Two layouts are understood, and may be mixed:
- the shared layout `<task>/<lang>/<source-tag>/<file>` (sub-folders kept, e.g. `mmner/af_test/truth.csv`);
- XTREME's own `download/<task>/<split>-<lang>.tsv`; `data_dir` may be the `download/` folder or its parent.

Languages come from the files present, never from the benchmark's list. Where several files could
serve one split, `choose_source` applies the manifest's primary picks: labeled before unlabeled, then
source order xtreme > hf > ud > mmner > supergleber > xglue; XGLUE's XNLI train/dev are never used.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path

from xlpt.data.formats.pairs import jsonl_is_labeled, pair_file_is_labeled
from xlpt.data.formats.tagged import tag_file_is_labeled
from xlpt.errors import ConfigError, DataFormatError
from xlpt.tasks import TaskSpec, get_task

SPLITS = ("train", "dev", "test")
SPLIT_NAMES = {"train": "train", "dev": "dev", "validation": "dev", "test": "test"}
ORIGIN_ORDER = ("xtreme", "hf", "ud", "mmner", "supergleber", "xglue")
XTREME_ORIGIN = "xtreme"
PAWS_HEADER = ("id", "sentence1", "sentence2", "label")
_LANG_DIR = re.compile(r"[a-z]{2,3}")
_XTREME_NAME = re.compile(r"(train|dev|test)-([a-z]{2,3})\.tsv")
_HF_SHARD = re.compile(r"(train|validation|dev|test)-\d+-of-\d+\.tsv")
_PLAIN_NAME = re.compile(r"(train|validation|dev|test)\.(jsonl|txt|tsv)")
_CONLLU = re.compile(r"([a-z]{2,3})_\w+-ud-(train|dev|test)\.conllu")
_MMNER_DIR = re.compile(r"([a-z]{2,3})_(train|dev|test)")


@dataclass(frozen=True)
class DataFile:
    """One recognised data file: what it holds and how to read it."""

    path: Path
    lang: str
    split: str
    fmt: str
    labeled: bool
    origin: str
    """Source tag (`xtreme-mesh`, `hf-hkunlp`, `ud-v2.5`, ...); `xtreme` for a download/ folder."""
    excluded: str | None = None
    """Why this file must never serve its split (e.g. XGLUE's re-split of XNLI dev)."""


@dataclass(frozen=True)
class SplitSource:
    """What `load_split` would read for one (task, language, split)."""

    task: str
    lang: str
    split: str
    fmt: str
    files: tuple[Path, ...]
    labeled: bool
    """Whether the files carry labels (before any reconstruction)."""
    origin: str
    label_source: SplitSource | None = None
    """XNLI only: a parallel labeled split of another language to take labels from, row by row."""
    skipped: tuple[str, ...] = ()
    """Other candidate files for this split and why they were not used."""

    @property
    def format(self) -> str:
        """Alias of `fmt` (the manifest's format key)."""
        return self.fmt

    def describe(self) -> str:
        names = ", ".join(path.name for path in self.files)
        state = "labeled" if self.labeled else "unlabeled"
        extra = f", labels from {self.label_source.lang}" if self.label_source else ""
        return f"{self.origin} [{self.fmt}, {state}{extra}]: {names}"


@dataclass
class Scan:
    """Everything found for one task under a data folder."""

    task: str
    root: Path
    files: list[DataFile] = field(default_factory=list)
    problems: list[DataFormatError] = field(default_factory=list)


def scan(task: str, data_dir: Path | str) -> Scan:
    """Find and classify every data file of `task` under `data_dir` (both layouts)."""
    spec = get_task(task)
    root = Path(data_dir)
    if not root.is_dir():
        raise ConfigError(f"data folder {root} does not exist")
    task_dirs = [d for d in (root / spec.name, root / "download" / spec.name) if d.is_dir()]
    if not task_dirs:
        raise ConfigError(
            f"no {spec.name} folder under {root} (looked for {root / spec.name} and {root / 'download' / spec.name})"
        )
    result = Scan(spec.name, root)
    for task_dir in task_dirs:
        _scan_task_dir(spec, task_dir, result)
    if not result.files and not result.problems:
        raise ConfigError(
            f"no {spec.name} data files under {', '.join(map(str, task_dirs))} (expected "
            f"<lang>/<source>/<file> or XTREME's <split>-<lang>.tsv)"
        )
    return result


def discover(task: str, data_dir: Path | str) -> dict[str, dict[str, SplitSource]]:
    """lang -> split -> SplitSource for every split that can be loaded from `data_dir`."""
    return choose_sources(scan(task, data_dir))


def choose_sources(found: Scan) -> dict[str, dict[str, SplitSource]]:
    """Pick one source per (lang, split) by the primary-pick rules; then link XNLI label reconstruction."""
    grouped: dict[tuple[str, str], list[DataFile]] = defaultdict(list)
    for data_file in found.files:
        grouped[data_file.lang, data_file.split].append(data_file)
    chosen: dict[str, dict[str, SplitSource]] = {}
    for (lang, split), candidates in sorted(grouped.items()):
        source = choose_source(found.task, lang, split, candidates)
        if source is not None:
            chosen.setdefault(lang, {})[split] = source
    if get_task(found.task).data.label_parallel:
        _link_label_sources(chosen)
    return chosen


def choose_source(task: str, lang: str, split: str, candidates: list[DataFile]) -> SplitSource | None:
    """The best usable source among the candidate files of one split, or None if none may be used."""
    skipped = [f"{f.path}: {f.excluded}" for f in candidates if f.excluded]
    groups: dict[tuple[str, str], list[DataFile]] = defaultdict(list)
    for data_file in candidates:
        if not data_file.excluded:
            groups[data_file.origin, data_file.fmt].append(data_file)
    if not groups:
        return None
    ranked = sorted(groups.values(), key=lambda files: _rank(files[0].origin, all(f.labeled for f in files)))
    best, rest = ranked[0], ranked[1:]
    best_labeled = all(f.labeled for f in best)
    for files in rest:
        why = "unlabeled" if best_labeled and not all(f.labeled for f in files) else "lower in source order"
        skipped += [f"{f.path}: not used ({why}; {best[0].origin} preferred)" for f in files]
    files = tuple(sorted((f.path for f in best), key=lambda p: p.name))  # deterministic concatenation order
    return SplitSource(task, lang, split, best[0].fmt, files, best_labeled, best[0].origin, skipped=tuple(skipped))


def _rank(origin: str, labeled: bool) -> tuple:
    order = next((i for i, prefix in enumerate(ORIGIN_ORDER) if origin.startswith(prefix)), len(ORIGIN_ORDER))
    return (not labeled, order, origin)


def _link_label_sources(chosen: dict[str, dict[str, SplitSource]]) -> None:
    """XNLI dev/test are 15-way parallel with identical labels: unlabeled ones borrow from en (else any)."""
    for split in ("dev", "test"):
        donors = sorted(lang for lang, splits in chosen.items() if split in splits and splits[split].labeled)
        if not donors:
            continue
        donor = chosen["en" if "en" in donors else donors[0]][split]
        for lang, splits in chosen.items():
            if split in splits and not splits[split].labeled:
                splits[split] = replace(splits[split], label_source=donor)


def _scan_task_dir(spec: TaskSpec, task_dir: Path, result: Scan) -> None:
    for entry in sorted(task_dir.iterdir()):
        if entry.is_file():
            _scan_xtreme_file(spec, entry, result)
        elif entry.is_dir() and _LANG_DIR.fullmatch(entry.name):
            if _known_language(spec, entry.name, entry, result):
                _scan_lang_dir(spec, entry, result)
        # Other folders (XTREME's raw panx_dataset/, ud-treebanks-v2.5/, ...) are not processed data.


def _scan_xtreme_file(spec: TaskSpec, path: Path, result: Scan) -> None:
    match = _XTREME_NAME.fullmatch(path.name)
    if match is None:
        return  # download/<task>/ also holds raw archives and logs; only <split>-<lang>.tsv is data
    if _known_language(spec, match.group(2), path, result):
        _add(spec, path, match.group(2), XTREME_ORIGIN, result)


def _scan_lang_dir(spec: TaskSpec, lang_dir: Path, result: Scan) -> None:
    for entry in sorted(lang_dir.rglob("*")):
        if not entry.is_file() or entry.name.startswith(".") or entry.suffix.lower() == ".md":
            continue
        relative = entry.relative_to(lang_dir).parts
        origin = relative[0] if len(relative) > 1 else "local"
        _add(spec, entry, lang_dir.name, origin, result)


def _known_language(spec: TaskSpec, lang: str, path: Path, result: Scan) -> bool:
    if lang in spec.languages:
        return True
    result.problems.append(
        DataFormatError(path, None, f"unknown language {lang!r} for {spec.name} (valid: {', '.join(spec.languages)})")
    )
    return False


def _add(spec: TaskSpec, path: Path, lang: str, origin: str, result: Scan) -> None:
    try:
        data_file = classify(spec, path, lang, origin)
    except DataFormatError as err:
        result.problems.append(err)
        return
    result.files.append(data_file)


def classify(spec: TaskSpec, path: Path, lang: str, origin: str) -> DataFile:
    """Split, format and labeledness of one file from its name and contents. Raises DataFormatError."""
    split, fmt, name_lang = _from_name(spec, path)
    if name_lang is not None and name_lang != lang:
        raise DataFormatError(path, None, f"file name says language {name_lang!r} but it is filed under {lang!r}")
    fmt, labeled = _sniff(spec, path, fmt)
    excluded = None
    if spec.name == "xnli" and origin.startswith("xglue") and split in ("train", "dev"):
        excluded = "not used (XGLUE's German train/dev is a re-split of the XNLI dev set, not independent data)"
    return DataFile(path, lang, split, fmt, labeled, origin, excluded)


def _from_name(spec: TaskSpec, path: Path) -> tuple[str, str, str | None]:
    """(split, format guess, language named by the file) or DataFormatError for an unknown file name."""
    name, tagging = path.name, spec.family == "tagging"
    if match := _XTREME_NAME.fullmatch(name):
        return match.group(1), ("tag" if tagging else "tsv"), match.group(2)
    if (match := _HF_SHARD.fullmatch(name)) and not tagging:
        return SPLIT_NAMES[match.group(1)], "hdr4q", None
    if (match := _PLAIN_NAME.fullmatch(name)) and not (tagging and match.group(2) != "tsv"):
        ext = match.group(2)
        fmt = {"jsonl": "jsonl", "txt": "txt3"}.get(ext, "tag" if tagging else "tsv")
        return SPLIT_NAMES[match.group(1)], fmt, None
    if (match := _CONLLU.fullmatch(name)) and tagging:
        return match.group(2), "conllu", match.group(1)
    if name == "truth.csv" and tagging and (match := _MMNER_DIR.fullmatch(path.parent.name)):
        return match.group(2), "csv_token", match.group(1)
    raise DataFormatError(path, None, f"unrecognised {spec.name} file name {name!r}; not loaded")


def _sniff(spec: TaskSpec, path: Path, fmt: str) -> tuple[str, bool]:
    """Resolve `tsv` to tsv3/tsv2/hdr4 and tell whether the file has labels, from the whole file.

    Labeledness is a vote of all records, by the functions the readers use themselves
    (`tag_file_is_labeled`, `jsonl_is_labeled`, `pair_file_is_labeled`), so scan and reader always
    agree: a damaged first line never makes a labeled file look unlabeled (which would quietly take
    it out of evaluation). A header is the first line by definition, so hdr4/hdr4q are still
    recognised by it.
    """
    if fmt in ("conllu", "csv_token"):
        return fmt, True
    data = path.read_bytes().removeprefix(b"\xef\xbb\xbf")
    if b"\r" in data:  # CRLF is tolerated by the readers: vote on the lines they will see
        data = data.replace(b"\r\n", b"\n")
    if fmt == "tag":
        return fmt, tag_file_is_labeled(data)
    text = data.decode("utf-8", errors="replace")  # leniently: the readers report encoding problems precisely
    if fmt == "jsonl":
        return fmt, jsonl_is_labeled(text)
    first = _first_line(text)
    fields = next(csv.reader([first], delimiter="\t"), []) if first else []
    if fmt == "hdr4q":
        return fmt, "label" in fields
    if fmt == "tsv" and tuple(fields[:3]) == PAWS_HEADER[:3]:
        return "hdr4", "label" in fields  # the raw PAWS-X layout: no CSV quoting
    if fmt == "txt3":
        return fmt, pair_file_is_labeled(text, quoted=False)
    return ("tsv3", True) if pair_file_is_labeled(text, quoted=True) else ("tsv2", False)


def _first_line(text: str) -> str:
    """First non-blank line of `text` (read lazily: the file may be large)."""
    return next((line.rstrip("\n") for line in io.StringIO(text) if line.strip()), "")
