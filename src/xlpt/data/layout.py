"""Finding data files on disk: which (language, split) each file holds, in which format, and which files
are not data or break the contract (data/contract.py). Which file then serves each split is
data/choice.py's decision.

Three layouts are understood:
- the shared layout `<task>/<lang>/<source-tag>/<file>` (sub-folders kept, e.g. `mmner/af_test/truth.csv`);
- XTREME's own `download/<task>/<split>-<lang>.tsv`; `data_dir` may be the `download/` folder or its parent
  (raw archives and folders XTREME leaves there are reported as ignored);
- a task's own `data.path` pattern, e.g. `sib200/{lang}/sib200-github/{split}.tsv` (data/pattern.py).

Languages come from the files present, never from the benchmark's list; a folder or file naming a
language the task does not know is a problem, not silently passed over. Linked folders and files are read
like real ones; what cannot be read (a broken link, no permission, a link cycle) is a problem (files.walk).

Which source folder serves a split, which files never serve one and which reader a source folder's files
take are the task YAML's `data.sources` (order, exclude, readers, formats: tasks/spec.SourceRules); this
module knows only the layouts' file names (`val` is dev: SuperGLUE's and XCOPA's name). `LayoutSource` is
the layout's DataSource (data/sources.py); `source_for` picks it or the pattern's.

    found = scan("xnli", data_dir)        # Scan: files, ignored, problems
    resolved = resolve(get_task("xnli"), data_dir)  # + the choice: sources (lang -> split -> SplitSource), contract
    discover(get_task("xnli"), data_dir)  # just the sources
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from xlpt.data.choice import FolderSource, Resolved, SplitSource
from xlpt.data.contract import Ignored, problem
from xlpt.data.files import (SPLITS, DataFile, Scan, copy_original, count_files, entry_kind, is_blank, not_data,
                             unreadable, walk)
from xlpt.data.formats.pairs import jsonl_is_labeled, pair_file_is_labeled
from xlpt.data.formats.tagged import tag_file_is_labeled
from xlpt.data.pattern import PatternSource
from xlpt.errors import ConfigError, DataFormatError
from xlpt.tasks import TaskSpec

__all__ = ["DataFile", "LayoutSource", "Resolved", "SPLITS", "Scan", "SplitSource", "classify", "discover",
           "resolve", "scan", "source_for"]

SPLIT_NAMES = {"train": "train", "dev": "dev", "validation": "dev", "val": "dev", "test": "test"}
XTREME_ORIGIN = "xtreme"
PAWS_HEADER = ("id", "sentence1", "sentence2", "label")
_LANG_DIR = re.compile(r"[a-z]{2,3}")
_XTREME_NAME = re.compile(r"(train|dev|test)-([a-z]{2,3})\.tsv")
_HF_SHARD = re.compile(r"(train|validation|dev|test)-\d+-of-\d+\.tsv")
_PLAIN_NAME = re.compile(r"(train|validation|val|dev|test)\.(jsonl|txt|tsv)")  # val: SuperGLUE's and XCOPA's dev
# PAWS-X's own tarball names (x-final/<lang>/{train,dev_2k,test_2k,translated_train}.tsv, header id/sentence1/...)
_PAWS_FINAL = re.compile(r"(train|dev_2k|test_2k|translated_train)\.tsv")
_CONLLU = re.compile(r"([a-z]{2,3})_\w+-ud-(train|dev|test)\.conllu")
_MMNER_DIR = re.compile(r"([a-z]{2,3})_(train|dev|test)")
_DATA_SUFFIXES = frozenset({".tsv", ".txt", ".jsonl", ".json", ".conllu", ".csv"})


class LayoutSource(FolderSource):
    """The DataSource (data/sources.py) of a task with `data.layout: xtreme`: the shared layout
    `<task>/<lang>/<source>/<file>` and XTREME's `download/<task>/<split>-<lang>.tsv`, chosen among by the
    task's `data.sources` rules (data/choice.py)."""

    def scan(self) -> Scan:
        spec, root = self.spec, self.root
        task_dirs = [d for d in (root / spec.name, root / "download" / spec.name) if d.is_dir()]
        if not task_dirs:
            raise ConfigError(f"no {spec.name} folder under {root} (looked for {root / spec.name} and "
                              f"{root / 'download' / spec.name}){_broken(root / spec.name)}")
        result = Scan(spec, root)
        for task_dir in task_dirs:
            _scan_task_dir(spec, task_dir, result)
        if not result.files and not result.problems:
            raise ConfigError(
                f"no {spec.name} data files under {', '.join(map(str, task_dirs))} (expected "
                f"<lang>/<source>/<file> or XTREME's <split>-<lang>.tsv)"
            )
        return result


def source_for(spec: TaskSpec, data_dir: Path | str) -> "LayoutSource | PatternSource":
    """The local DataSource of `task` under `data_dir` (its `data.layout`). ConfigError for a missing folder."""
    root = Path(data_dir)
    if not root.is_dir():
        raise ConfigError(f"data folder {root} is a file, not a folder" if root.exists() else
                          f"data folder {root} does not exist{_broken(root)}")
    return PatternSource(spec, root) if spec.data.layout == "path" else LayoutSource(spec, root)


def scan(task: TaskSpec, data_dir: Path | str) -> Scan:
    """Find and classify every file of `task` under `data_dir` (either layout). Raises ConfigError when
    there is no task folder or no data file at all."""
    return source_for(task, data_dir).scan()


def resolve(task: TaskSpec, data_dir: Path | str) -> Resolved:
    """The sources of every usable (language, split) and the folder's whole data contract."""
    return source_for(task, data_dir).resolve()


def discover(task: TaskSpec, data_dir: Path | str) -> dict[str, dict[str, SplitSource]]:
    """lang -> split -> SplitSource for every split that can be loaded from `data_dir` (languages with a
    contract problem are left out: `resolve(...).contract` says why)."""
    return resolve(task, data_dir).sources


def _broken(path: Path) -> str:
    return f" ({path} is a broken symbolic link)" if path.is_symlink() and not path.exists() else ""


# ----------------------------------------------------------------------------- the task folder


def _scan_task_dir(spec: TaskSpec, task_dir: Path, result: Scan) -> None:
    # XTREME's download/<task>/ also holds raw archives and folders: not data, reported as ignored.
    # A folder in the shared layout holds only language folders, so anything else there is a problem.
    try:
        entries = sorted(task_dir.iterdir())
    except OSError as err:
        result.problems.append(unreadable(task_dir, f"{err.strerror or err}", lambda path: None))
        return
    kinds = {entry: entry_kind(entry) for entry in entries}
    download = task_dir.parent.name == "download" or any(
        _XTREME_NAME.fullmatch(p.name) for p, (kind, _) in kinds.items() if kind == "file")
    for entry in entries:
        kind, why = kinds[entry]
        if entry.name.startswith("."):
            result.ignored.append(Ignored(entry, "hidden (not read)"))
        elif why is not None:  # a broken link, no permission: blame the language it names, else the task
            named = entry.name if _LANG_DIR.fullmatch(entry.name) else (_languages_named(spec, entry.name) or [""])[0]
            result.problems.append(unreadable(entry, why, lambda path: named))
        elif kind == "file":
            _scan_top_file(spec, entry, result, download)
        elif _LANG_DIR.fullmatch(entry.name):
            if _known_language(spec, entry.name, entry, result):
                _scan_lang_dir(spec, entry, result)
        elif download:
            result.ignored.append(Ignored(entry, f"folder of XTREME's raw download ({count_files(entry)} files), "
                                                 "not processed data"))
        else:
            result.problems.append(problem(
                entry, f"not a language folder: {spec.name} data goes in <lang>/<source>/<file> with a language "
                f"code of the task ({', '.join(spec.languages)}); rename it or move it out of the task folder",
                *_languages_named(spec, entry.name)))


def _scan_top_file(spec: TaskSpec, path: Path, result: Scan, download: bool) -> None:
    match = _XTREME_NAME.fullmatch(path.name)
    if match is not None:
        if _known_language(spec, match.group(2), path, result):
            _add(spec, path, match.group(2), XTREME_ORIGIN, result)
        return
    if why := not_data(path.name):
        result.ignored.append(Ignored(path, why))
    elif download and path.suffix.lower() not in _DATA_SUFFIXES and copy_original(path.name) is None:
        result.ignored.append(Ignored(path, "a file of XTREME's raw download (only <split>-<lang>.tsv is data)"))
    else:
        original = copy_original(path.name)
        hint = f" (a copy of {original}?)" if original else ""
        result.problems.append(problem(
            path, f"unrecognised {spec.name} file name {path.name!r}{hint}: data files here are "
            "<split>-<lang>.tsv; remove it or move it out of the task folder", *_languages_named(spec, path.name)))


def _scan_lang_dir(spec: TaskSpec, lang_dir: Path, result: Scan) -> None:
    for entry in walk(lang_dir, result, lambda path: lang_dir.name):
        if why := not_data(entry.name):
            result.ignored.append(Ignored(entry, why))
            continue
        relative = entry.relative_to(lang_dir).parts
        origin = relative[0] if len(relative) > 1 else "local"
        _add(spec, entry, lang_dir.name, origin, result)


def _known_language(spec: TaskSpec, lang: str, path: Path, result: Scan) -> bool:
    if lang in spec.languages:
        return True
    result.problems.append(problem(
        path, f"unknown language {lang!r} for {spec.name} (valid: {', '.join(spec.languages)})", lang))
    return False


def _languages_named(spec: TaskSpec, name: str) -> list[str]:
    """Task languages a stray file or folder name mentions (`dev-de (1).tsv`, `bg_old`): they are blamed."""
    words = re.split(r"[^a-z]+", name.lower())
    return [word for word in words if word in spec.languages]


def _add(spec: TaskSpec, path: Path, lang: str, origin: str, result: Scan) -> None:
    try:
        data_file = classify(spec, path, lang, origin)
    except DataFormatError as err:
        named = _name_language(path)
        also = [named] if named in spec.languages else []
        result.problems.append(problem(path, err.problem, lang, *also, line=err.line))
        return
    result.files.append(data_file)


# ----------------------------------------------------------------------------- one file


def classify(spec: TaskSpec, path: Path, lang: str, origin: str) -> DataFile:
    """Split, format and labeledness of one file from its name and contents. Raises DataFormatError."""
    split, fmt, name_lang = _from_name(spec, path)
    if name_lang is not None and name_lang != lang:
        raise DataFormatError(path, None, f"file name says language {name_lang!r} but it is filed under {lang!r}")
    if is_blank(path):
        raise DataFormatError(path, None, "empty file (no examples)")
    rules = spec.data.sources
    declared = rules.format_of(origin)
    fmt, labeled = _sniff(spec, path, fmt) if declared is None else (declared, _declared_is_labeled(path, declared))
    if rules.readers and fmt not in rules.readers:
        raise DataFormatError(path, None, f"read as {fmt}, which is not one of {spec.name}'s readers "
                              f"({', '.join(rules.readers)}: task data.sources.readers); not loaded")
    return DataFile(path, lang, split, fmt, labeled, origin, rules.exclusion(origin, path.name, split))


def _declared_is_labeled(path: Path, fmt: str) -> bool:
    """Labeledness of a file whose reader the task declares: JSON lines vote on a "label" key; other formats
    are taken as labeled (their reader reports a missing label by line)."""
    if not fmt.endswith("jsonl"):
        return True
    return jsonl_is_labeled(path.read_bytes().removeprefix(b"\xef\xbb\xbf").decode("utf-8", errors="replace"))


def _name_language(path: Path) -> str | None:
    """The language a recognised file name states (`dev-de.tsv`, `de_gsd-ud-test.conllu`), if any."""
    for pattern in (_XTREME_NAME, _CONLLU):
        if match := pattern.fullmatch(path.name):
            return match.group(2) if pattern is _XTREME_NAME else match.group(1)
    if path.name == "truth.csv" and (match := _MMNER_DIR.fullmatch(path.parent.name)):
        return match.group(1)
    return None


def _from_name(spec: TaskSpec, path: Path) -> tuple[str, str, str | None]:
    """(split, format guess, language named by the file) or DataFormatError for an unknown file name."""
    # word/tag files (XTREME's <split>-<lang>.tsv of words) are read as such by a task whose readers are the tagging ones
    name, tagging = path.name, "tag" in (spec.data.sources.readers or spec.family_record.layout_formats)
    if match := _XTREME_NAME.fullmatch(name):
        return match.group(1), ("tag" if tagging else "tsv"), match.group(2)
    if (match := _HF_SHARD.fullmatch(name)) and not tagging:
        return SPLIT_NAMES[match.group(1)], "hdr4q", None
    if (match := _PAWS_FINAL.fullmatch(name)) and not tagging and match.group(1) != "train":
        return {"dev_2k": "dev", "test_2k": "test", "translated_train": "train"}[match.group(1)], "tsv", None
    if (match := _PLAIN_NAME.fullmatch(name)) and not (tagging and match.group(2) != "tsv"):
        ext = match.group(2)
        fmt = {"jsonl": "jsonl", "txt": "txt3"}.get(ext, "tag" if tagging else "tsv")
        return SPLIT_NAMES[match.group(1)], fmt, None
    if (match := _CONLLU.fullmatch(name)) and tagging:
        return match.group(2), "conllu", match.group(1)
    if name == "truth.csv" and tagging and (match := _MMNER_DIR.fullmatch(path.parent.name)):
        return match.group(2), "csv_token", match.group(1)
    original = copy_original(name)
    if original is not None:
        raise DataFormatError(path, None, f"unrecognised {spec.name} file name {name!r}: a copy of {original!r}? "
                              "Two files must not claim one split; remove it or move it out of the task folder")
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
