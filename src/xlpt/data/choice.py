"""Which file serves each (language, split), by explicit rules that are all written into the contract.

Rules, in order:
1. Several files of one split in one source folder are read together only when that is their format's
   convention: UD treebanks of a language (CoNLL-U, concatenated in name order) and a complete set of
   Hugging Face shards (`test-00000-of-00002.tsv`, `test-00001-of-00002.tsv`). Any other pair (a second
   copy, a renamed file, an incomplete shard set) is a problem of the language: nothing is concatenated
   or dropped silently.
2. Among source folders, labeled before unlabeled, then the task's source order (its YAML's
   `data.sources.order`; the four XTREME tasks declare the manifest's primary picks
   xtreme > xfinal > hf > ud > mmner > supergleber > xglue, `xfinal` being PAWS-X's own tarball layout).
   Two sources of equal rank (e.g. `xtreme-mesh` and `xtreme-topro`, or two folders no prefix names) are
   ambiguous: a problem.
3. Files the task's `data.sources.exclude` names never serve those splits (XNLI: XGLUE's train/dev, a
   re-split of XNLI dev); the scan marks them (DataFile.excluded) and they are recorded as ignored.
4. Label-parallel tasks (XNLI): an unlabeled dev/test split takes its labels row by row from a labeled
   language (en if it has one).
Every choice among several candidates, every concatenation and every reconstruction is a `rule` line;
every candidate passed over is `ignored` with the reason; languages lacking a split are listed too.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from xlpt.data.contract import Contract, Ignored, problem
from xlpt.data.files import SPLITS, DataFile, Scan

if TYPE_CHECKING:
    from xlpt.tasks import TaskSpec

_SHARD = re.compile(r"(?:train|validation|dev|test)-(\d+)-of-(\d+)\.\w+")


@dataclass(frozen=True)
class SplitSource:
    """What `load_split` reads for one (task, language, split)."""

    task: str
    lang: str
    split: str
    fmt: str
    files: tuple[Path, ...]
    labeled: bool
    """Whether the files carry labels (before any reconstruction)."""
    origin: str
    label_source: SplitSource | None = None
    """Label-parallel tasks: a labeled split of another language to take labels from, row by row."""
    skipped: tuple[str, ...] = ()
    """Other candidate files for this split and why they were not used."""
    partial: str | None = None
    """Set when the files are only part of the benchmark's set for this split (task `complete_test`): what is
    missing. Results and tables mark the language."""

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
class Resolved:
    """The outcome of discovery: lang -> split -> SplitSource for what can be read, and the contract."""

    sources: dict[str, dict[str, SplitSource]]
    contract: Contract = field(repr=False)
    found: Scan = field(repr=False)


class FolderSource:
    """What the two local DataSources (data/sources.py) share: a scan of a data folder, then this module's
    choice. Subclasses (data/layout.LayoutSource, data/pattern.PatternSource) implement `scan`."""

    open_languages = False
    """A folder holds the languages it holds: no other language may be named."""

    def __init__(self, spec: TaskSpec, root: Path):
        self.spec, self.root, self.where = spec, root, str(root)

    def scan(self) -> Scan:
        raise NotImplementedError

    def resolve(self, languages=()) -> Resolved:
        return choose_sources(self.scan())

    def reads(self, source: SplitSource) -> SplitSource:
        """What `load_split` is given for a chosen split: the files themselves."""
        return source

    def log_lines(self, contract: Contract) -> list[str]:
        return contract.summary_lines()

    def record(self, contract: Contract) -> dict:
        return contract.to_json()


def choose_sources(found: Scan) -> Resolved:
    """Apply the module's rules to everything a scan found."""
    spec = found.spec
    contract = Contract(found.task, found.root, ignored=list(found.ignored), problems=list(found.problems))
    grouped: dict[tuple[str, str], list[DataFile]] = defaultdict(list)
    for data_file in found.files:
        grouped[data_file.lang, data_file.split].append(data_file)
    chosen: dict[str, dict[str, SplitSource]] = {}
    for (lang, split), candidates in sorted(grouped.items()):
        source = _choose(spec, lang, split, candidates, contract)
        if source is not None:
            chosen.setdefault(lang, {})[split] = source
    blocked = contract.blocked()
    for lang in sorted(set(chosen) & set(blocked)):
        for source in chosen.pop(lang).values():
            contract.ignored += [Ignored(path, f"not used: language {lang} is unusable (see its problem)")
                                 for path in source.files]
    if spec.data.label_parallel:
        _link_label_sources(chosen, contract)
    _unlabeled_rule(chosen, contract)
    _partial_rule(spec, chosen, contract)
    _coverage_rule(chosen, contract)
    contract.used = {lang: {split: list(splits[split].files) for split in SPLITS if split in splits}
                     for lang, splits in sorted(chosen.items())}
    return Resolved(chosen, contract, found)


def _choose(spec: TaskSpec, lang: str, split: str, candidates: list[DataFile],
            contract: Contract) -> SplitSource | None:
    """The source of one split, or None (after recording why) when no file may serve it."""
    def rank(files: list[DataFile]) -> tuple[bool, int]:
        return not _labeled(files), spec.data.sources.rank(files[0].origin)

    excluded = [data_file for data_file in candidates if data_file.excluded]
    contract.ignored += [Ignored(data_file.path, data_file.excluded) for data_file in excluded]
    groups: dict[str, list[DataFile]] = defaultdict(list)
    for data_file in candidates:
        if not data_file.excluded:
            groups[data_file.origin].append(data_file)
    readable = [_one_source(lang, split, files, contract) for files in groups.values()]  # every group reports
    if not groups or not all(readable):
        return None
    ranked = sorted(groups.values(), key=rank)
    best, rest = ranked[0], ranked[1:]
    if rest and rank(rest[0]) == rank(best):
        names = ", ".join(contract.relative(files[0].path) for files in (best, rest[0]))
        contract.problems.append(problem(
            best[0].path, f"two sources of equal rank for {lang} {split}: {names} (source order "
            f"{source_order(spec)}); keep one of them", lang))
        return None
    files = tuple(sorted((f.path for f in best), key=lambda p: p.name))  # deterministic concatenation order
    skipped = [f"{f.path}: {f.excluded}" for f in excluded]
    skipped += [_pass_over(spec, lang, split, best, other, contract) for other in rest]
    _choice_rule(spec, lang, split, best, files, rest, excluded, contract)
    return SplitSource(spec.name, lang, split, best[0].fmt, files, _labeled(best), best[0].origin, skipped=tuple(skipped))


def _one_source(lang: str, split: str, files: list[DataFile], contract: Contract) -> bool:
    """Whether the files one source folder has for a split may be read together (rule 1)."""
    shards = [_SHARD.fullmatch(f.path.name) for f in files]
    if any(shards):
        have = sorted(int(m.group(1)) for m in shards if m)
        totals = {int(m.group(2)) for m in shards if m}
        if all(shards) and len(totals) == 1 and have == list(range(totals.pop())):
            return True
        contract.problems.append(problem(
            files[0].path, f"incomplete or mixed shard set for {lang} {split} in {files[0].origin}: "
            f"{', '.join(f.path.name for f in files)} (every shard 0..N-1 of N is needed)", lang))
        return False
    if len(files) == 1 or (all(f.fmt == "conllu" for f in files)):
        return True
    names = ", ".join(contract.relative(f.path) for f in files)
    contract.problems.append(problem(
        files[0].path, f"{len(files)} files for {lang} {split} in one source folder ({files[0].origin}): {names}; "
        "keep one (only UD treebanks and complete shard sets are read together)", lang))
    return False


def _labeled(files: list[DataFile]) -> bool:
    return all(f.labeled for f in files)


def source_order(spec: TaskSpec) -> str:
    """The task's source order as the contract writes it."""
    return " > ".join(spec.data.sources.order) or "none declared (data.sources.order)"


def _pass_over(spec: TaskSpec, lang: str, split: str, best: list[DataFile], files: list[DataFile], contract: Contract) -> str:
    """Record candidates that lost to `best` as ignored; the `skipped` text for the SplitSource."""
    if _labeled(best) and not _labeled(files):
        why = f"unlabeled; the labeled {best[0].origin} is preferred"
    else:
        why = f"lower in the source order {source_order(spec)}; {best[0].origin} is preferred"
    for data_file in files:
        contract.ignored.append(Ignored(data_file.path, f"not used for {lang} {split}: {why}"))
    return "; ".join(f"{data_file.path}: not used ({why})" for data_file in files)


def _choice_rule(spec: TaskSpec, lang, split, best, files, rest, excluded, contract: Contract) -> None:
    task = spec.name
    names = ", ".join(contract.relative(p) for p in files)
    if len(files) > 1:
        kind = "UD treebanks" if best[0].fmt == "conllu" else "shards"
        contract.rules.append(f"{task} {lang} {split}: {len(files)} {kind} read together in name order: {names}")
    if rest or excluded:
        others = [contract.relative(f.path) for other in rest for f in other]
        others += [f"{contract.relative(f.path)} (never used)" for f in excluded]
        contract.rules.append(f"{task} {lang} {split}: reads {best[0].origin} (labeled first, then source order "
                              f"{source_order(spec)}); passed over: {', '.join(others)}")


def _link_label_sources(chosen: dict[str, dict[str, SplitSource]], contract: Contract) -> None:
    """Unlabeled dev/test splits of a label-parallel task borrow labels from en (else the first labeled)."""
    for split in ("dev", "test"):
        donors = sorted(lang for lang, splits in chosen.items() if split in splits and splits[split].labeled)
        takers = sorted(lang for lang, splits in chosen.items() if split in splits and not splits[split].labeled)
        if not donors or not takers:
            continue
        donor = chosen["en" if "en" in donors else donors[0]][split]
        for lang in takers:
            chosen[lang][split] = replace(chosen[lang][split], label_source=donor)
        contract.rules.append(
            f"{contract.task} {split}: {', '.join(takers)} have no labels; they are taken row by row from "
            f"{donor.lang} ({', '.join(contract.relative(p) for p in donor.files)}) because the task is "
            "label-parallel (row counts are checked)")


def _partial_rule(spec, chosen: dict[str, dict[str, SplitSource]], contract: Contract) -> None:
    """A test read from fewer files than the benchmark's (UDPOS de without HDT) is marked partial."""
    for lang, expected in spec.data.complete_test.items():
        source = chosen.get(lang, {}).get("test")
        if source is None:
            continue
        have = sorted({path.name.split("-")[0] for path in source.files})
        missing = [stem for stem in expected if stem not in have]
        if not missing:
            continue
        note = (f"partial test set: {', '.join(have)} without {', '.join(missing)} (the benchmark's {lang} test is "
                f"{' + '.join(expected)})")
        chosen[lang]["test"] = replace(source, partial=note)
        contract.rules.append(f"{contract.task} {lang} test: {note}")


def _unlabeled_rule(chosen: dict[str, dict[str, SplitSource]], contract: Contract) -> None:
    for split in SPLITS:
        langs = sorted(lang for lang, splits in chosen.items()
                       if split in splits and not splits[split].labeled and splits[split].label_source is None)
        if langs:
            contract.rules.append(f"{contract.task} {split}: unlabeled (no labels in the file, none to reconstruct; "
                                  f"cannot be scored): {', '.join(langs)}")


def _coverage_rule(chosen: dict[str, dict[str, SplitSource]], contract: Contract) -> None:
    for split in SPLITS:
        having = sorted(lang for lang, splits in chosen.items() if split in splits)
        lacking = sorted(set(chosen) - set(having))
        if not lacking:
            continue
        if not having:
            contract.rules.append(f"{contract.task}: no language has a {split} split")
        elif len(having) < len(lacking):
            contract.rules.append(f"{contract.task}: {split} split only for {', '.join(having)} ({len(lacking)} "
                                  "other languages have none)")
        else:
            contract.rules.append(f"{contract.task}: no {split} split for {', '.join(lacking)} ({len(lacking)} of "
                                  f"{len(chosen)} languages)")
