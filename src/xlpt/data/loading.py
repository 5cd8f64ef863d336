"""One loading API for every task, language and split, from a local folder or the Hugging Face hub.

    sources = discover(get_task("xnli"), data_dir)  # lang -> split -> SplitSource
    loaded = load_split(get_task("xnli"), "bg", "test", data_dir)
    loaded.examples, loaded.labeled, loaded.counts, loaded.notes
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from xlpt.data.choice import SplitSource
from xlpt.data.examples import Example, TaggedSentence
from xlpt.data.files import SPLITS
from xlpt.data.formats import read_file
from xlpt.data.layout import discover, resolve
from xlpt.data.reconstruction import reconstruct_labels
from xlpt.errors import ConfigError
from xlpt.tasks import TaskSpec

__all__ = ["LoadedSplit", "SplitSource", "discover", "load_split", "load_source"]


@dataclass
class LoadedSplit:
    """The examples of one split, with where they came from and what was counted or changed on the way."""

    task: str
    lang: str
    split: str
    examples: list[Example] | list[TaggedSentence]
    files: list[Path]
    labeled: bool
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    label_files: list[Path] = field(default_factory=list)
    """Files labels were taken from (XNLI reconstruction); part of provenance, not of `files`' counts."""

    @property
    def all_files(self) -> list[Path]:
        return list(self.files) + list(self.label_files)

    def __len__(self) -> int:
        return len(self.examples)


def load_split(
    task: TaskSpec,
    lang: str,
    split: str,
    source: str | Path | SplitSource,
    *,
    repair_iob: bool = False,
    limit: int | None = None,
) -> LoadedSplit:
    """Load one split from a local folder (either layout), an already discovered SplitSource, or `"hf"`.

    `"hf"` (or `"hf:<repo>"`, e.g. `"hf:unimelb-nlp/wikiann"`) loads from the Hugging Face hub.
    `repair_iob=True` turns orphan I-X tags into B-X (counted as `repaired`); otherwise nothing is changed.
    `limit` keeps the first N examples. Unknown tasks, languages or splits raise ConfigError listing valid ones.
    """
    spec = task
    _check_split(split)
    if limit is not None and limit < 0:
        raise ConfigError(f"limit must be >= 0, got {limit}")
    if isinstance(source, str) and (source == "hf" or source.startswith("hf:")):
        from xlpt.data.hub import read_hub_split

        read = read_hub_split(spec, lang, split, repo=source[3:] or None, limit=limit)
        loaded = LoadedSplit(read.task, read.lang, read.split, read.examples, read.files, read.labeled, read.counts,
                             read.notes)
    else:
        if not isinstance(source, SplitSource):
            source = _find_source(spec, lang, split, Path(source))
        loaded = load_source(spec, source, limit=limit)
    return _finish(spec, loaded, repair_iob=repair_iob)


def load_source(spec: TaskSpec, source: SplitSource, *, limit: int | None = None) -> LoadedSplit:
    """Read the files of a SplitSource (concatenated in order), reconstructing XNLI labels if linked."""
    counts: Counter = Counter()
    # Reconstruction must see every row to check the counts agree, so it reads everything first.
    read_limit = None if source.label_source else limit
    examples = _read_files(spec, source, counts, read_limit)
    notes = [f"read {source.describe()}"]
    notes += [f"skipped {reason}" for reason in source.skipped]
    labeled = source.labeled
    if source.label_source is not None:
        donor = source.label_source
        donor_examples = _read_files(spec, donor, Counter(), None)
        examples = reconstruct_labels(spec, examples, donor_examples, source.files[0], donor.files[0])
        labeled = True
        notes.append(
            f"labels reconstructed from {_display(donor.files[0])} by parallel row order "
            f"({len(examples)} rows in both files)"
        )
    if limit is not None:
        examples = examples[:limit]
    if source.label_source is not None:
        counts["reconstructed"] = len(examples)
    label_files = list(source.label_source.files) if source.label_source is not None else []
    return LoadedSplit(source.task, source.lang, source.split, examples, list(source.files), labeled, counts, notes,
                       label_files)


def _finish(spec: TaskSpec, loaded: LoadedSplit, *, repair_iob: bool = False) -> LoadedSplit:
    """Count quirks and apply the optional IOB repair (shared by the local and hub paths)."""
    counts = Counter(loaded.counts)
    counts.setdefault("reconstructed", 0)
    loaded.examples, quirks, notes = spec.family_record.read_quirks(spec, loaded.examples, repair_iob=repair_iob)
    counts.update(quirks)
    loaded.notes.extend(notes)
    loaded.counts = dict(counts)
    return loaded


def _read_files(spec: TaskSpec, source: SplitSource, counts: Counter, limit: int | None) -> list:
    streams = (read_file(path, source.fmt, task=spec, lang=source.lang, counts=counts) for path in source.files)
    return list(itertools.islice(itertools.chain.from_iterable(streams), limit))


def _find_source(spec: TaskSpec, lang: str, split: str, data_dir: Path) -> SplitSource:
    resolved = resolve(spec, data_dir)
    refusal = resolved.contract.refusal(lang)
    if refusal is not None:
        raise refusal
    sources = resolved.sources
    if lang not in sources:
        valid = ", ".join(sorted(sources)) or "none"
        raise ConfigError(f"no {spec.name} data for language {lang!r} in {data_dir}; languages present: {valid}")
    if split not in sources[lang]:
        present = ", ".join(s for s in SPLITS if s in sources[lang])
        found = resolved.found.files
        unused = [f"{f.path} ({f.excluded})" for f in found if f.lang == lang and f.split == split and f.excluded]
        why = f"; not usable: {'; '.join(unused)}" if unused else ""
        raise ConfigError(f"no {split} split for {spec.name}/{lang} in {data_dir}; splits present: {present}{why}")
    return sources[lang][split]


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise ConfigError(f"unknown split {split!r}; valid splits: {', '.join(SPLITS)}")


def _display(path: Path) -> str:
    """`xnli/en/hf-hkunlp/test.jsonl` style: the last four path parts are enough to identify a file."""
    return "/".join(path.parts[-4:])
