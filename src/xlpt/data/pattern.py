"""Finding a task's files by its `data.path` pattern, e.g. `sib200/{lang}/sib200-github/{split}.tsv`.

The pattern is relative to --data-dir. `{lang}` stands for any language id (letters, digits, `_`, `-`:
FLORES-200 codes such as `eng_Latn` are ids like any other), `{split}` for train, dev or test. Every file
under the pattern's fixed prefix (`sib200/` here) is accounted for:

- a file the pattern matches is data for that (language, split);
- a copy of such a file (`test.tsv.bak`, `test (1).tsv`), the same file in another format (`test.csv`,
  `test.tsv.gz`), or a file shaped like the data (same depth and extension) that the pattern does not
  match (`validation.tsv`, `tst.tsv`) is a problem of its language:
  the user meant it as data, and reading around it would change what the language is scored on;
- anything else (SIB-200's `labels.txt`, README.md, manifests) is ignored, with the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from xlpt.data.choice import FolderSource
from xlpt.data.contract import Ignored, problem
from xlpt.data.files import LANG_ID, DataFile, Scan, copy_original, is_blank, not_data, walk
from xlpt.data.formats.tagged import tag_file_is_labeled
from xlpt.errors import ConfigError
from xlpt.tasks import TaskSpec

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_SPLIT = r"(?P<split>train|dev|test)"


@dataclass(frozen=True)
class PathPattern:
    """A compiled `data.path`."""

    text: str
    parts: tuple[str, ...]
    regex: re.Pattern
    prefix: tuple[str, ...]
    """The literal folders before the first placeholder: everything under them is accounted for."""
    lang_part: int
    """Index of the path component holding {lang}."""
    lang_regex: re.Pattern
    """Matches that component alone (any split), to tell which language a stray file belongs to."""

    def match(self, relative: PurePosixPath) -> tuple[str, str] | None:
        """(lang, split) of a path relative to the data folder, or None."""
        found = self.regex.fullmatch(str(relative))
        return (found.group("lang"), found.group("split")) if found else None

    def language_of(self, relative: PurePosixPath) -> str | None:
        """The language folder or name part a stray file sits in, if it can be told."""
        parts = relative.parts
        if len(parts) <= self.lang_part or parts[:len(self.prefix)] != self.prefix:
            return None
        found = self.lang_regex.fullmatch(parts[self.lang_part])
        return found.group("lang") if found else None

    def with_its_extension(self, relative: PurePosixPath) -> tuple[str, str] | None:
        """(lang, split) if the file matches once given the pattern's extension (`test.csv`, `test.tsv.gz`
        for `{split}.tsv`): the split's file in another format, or compressed."""
        name = relative.name.split(".")[0]
        suffix = "".join(PurePosixPath(self.parts[-1]).suffixes)
        return self.match(relative.with_name(name + suffix)) if name and suffix else None

    def shaped_like_data(self, relative: PurePosixPath) -> bool:
        """Same depth and extension as the data files: meant as data, even if the pattern does not match."""
        return len(relative.parts) == len(self.parts) and relative.suffix == PurePosixPath(self.parts[-1]).suffix


def compile_pattern(text: str, where: str = "data.path") -> PathPattern:
    """Check and compile a pattern; ConfigError names what is wrong."""
    path = PurePosixPath(text)
    if path.is_absolute() or ".." in path.parts or "\\" in text:
        raise ConfigError(f"{where}={text!r}: must be a relative path inside --data-dir (no leading /, no ..)")
    unknown = sorted({name for name in _PLACEHOLDER.findall(text)} - {"lang", "split"})
    if unknown:
        raise ConfigError(f"{where}={text!r}: unknown placeholder(s) {', '.join('{' + n + '}' for n in unknown)}; "
                          "only {lang} and {split} are filled in")
    if "{" in _PLACEHOLDER.sub("", text) or "}" in _PLACEHOLDER.sub("", text):
        raise ConfigError(f"{where}={text!r}: unbalanced braces")
    parts = path.parts
    lang_part = next(i for i, part in enumerate(parts) if "{lang}" in part)
    first = next(i for i, part in enumerate(parts) if "{" in part)
    return PathPattern(text, parts, re.compile(_to_regex(text)), parts[:first], lang_part,
                       re.compile(_to_regex(parts[lang_part], any_split=True)))


def _to_regex(text: str, any_split: bool = False) -> str:
    pieces, seen = [], set()
    for literal, name in re.findall(r"([^{]*)(?:\{(lang|split)\})?", text):
        pieces.append(re.escape(literal))
        if name == "lang":
            pieces.append("(?P=lang)" if "lang" in seen else r"(?P<lang>[^/]+)")
        elif name == "split":
            pieces.append(r"[^/]*" if any_split else ("(?P=split)" if "split" in seen else _SPLIT))
        seen.add(name)
    return "".join(pieces)


class PatternSource(FolderSource):
    """The DataSource (data/sources.py) of a task with a `data.path` pattern: one file per (language, split)."""

    def scan(self) -> Scan:
        return scan_pattern(self.spec, self.root)


def scan_pattern(spec: TaskSpec, root: Path) -> Scan:
    """Every file under the pattern's fixed prefix, classified (see the module docstring); symbolic links
    are followed, and what cannot be read is a problem of the language it sits in (data/files.walk)."""
    pattern = compile_pattern(spec.data.path, f"task {spec.name}: data.path")
    base = root.joinpath(*pattern.prefix)
    if not base.is_dir():
        broken = f" ({base} is a broken symbolic link)" if base.is_symlink() and not base.exists() else ""
        raise ConfigError(f"no {spec.name} data folder {base} (data.path {pattern.text!r} under --data-dir "
                          f"{root}){broken}")
    result = Scan(spec, root)

    def blame(path: Path) -> str | None:
        return pattern.language_of(PurePosixPath(path.relative_to(root).as_posix()))

    for path in walk(base, result, blame):
        _classify(spec, pattern, root, path, result)
    if not result.files and not result.problems:
        raise ConfigError(f"no {spec.name} data files under {base}: nothing matches data.path {pattern.text!r} "
                          "({split} is train, dev or test)")
    return result


def _classify(spec: TaskSpec, pattern: PathPattern, root: Path, path: Path, result: Scan) -> None:
    relative = PurePosixPath(path.relative_to(root).as_posix())
    found = pattern.match(relative)
    if found is not None:
        _add(spec, path, *found, pattern, result)
        return
    original = copy_original(relative.name)
    copied = original is not None and pattern.match(relative.with_name(original))
    renamed = pattern.with_its_extension(relative)
    if copied:
        result.problems.append(problem(
            path, f"a copy of {original!r}? Two files must not claim {copied[0]} {copied[1]}: remove it or move it "
            "out of the data folder", copied[0]))
    elif renamed is not None:
        result.problems.append(problem(
            path, f"{relative.name!r} is {renamed[0]} {renamed[1]} in another format: data.path {pattern.text!r} "
            "names the file format; convert or rename it, or move it out of the data folder", renamed[0]))
    elif pattern.shaped_like_data(relative) and not not_data(relative.name):
        result.problems.append(problem(
            path, f"looks like data but does not match data.path {pattern.text!r} ({{split}} must be train, dev "
            "or test); rename it or move it out of the data folder", pattern.language_of(relative) or ""))
    else:
        result.ignored.append(Ignored(path, not_data(relative.name) or f"not a data file of data.path "
                                                                        f"{pattern.text!r}"))


def _add(spec: TaskSpec, path: Path, lang: str, split: str, pattern: PathPattern, result: Scan) -> None:
    if not LANG_ID.fullmatch(lang):
        result.problems.append(problem(
            path, f"{lang!r} is not a language id (letters, digits, _ and - only): a copy of a language folder?",
            lang))
        return
    if spec.languages and lang not in spec.languages:
        result.problems.append(problem(
            path, f"unknown language {lang!r} for {spec.name} (valid: {', '.join(spec.languages)})", lang))
        return
    if is_blank(path):
        result.problems.append(problem(path, "empty file (no examples)", lang))
        return
    fmt = spec.data.format
    labeled = True  # table files must have the label column; CoNLL-U always has UPOS
    if fmt == "tag":
        labeled = tag_file_is_labeled(path.read_bytes().removeprefix(b"\xef\xbb\xbf").replace(b"\r\n", b"\n"))
    result.files.append(DataFile(path, lang, split, fmt, labeled, pattern.text))
