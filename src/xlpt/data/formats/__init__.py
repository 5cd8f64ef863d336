"""Readers for every real file format, keyed by the manifest's `fmt` names, and for tasks' own files.

Each reader takes a `ReadContext` and yields the task family's examples (`Example`, `TaggedSentence`).
Malformed input is reported through the context (DataFormatError naming file, line and problem);
quirks are counted. The shared/XTREME layouts use the manifest's formats (`READERS`); a task with
`data.layout: path` names its own format (`TASK_READERS`: tsv, csv, jsonl with `data.columns`; tag,
conllu for tagging).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

from xlpt.data.examples import Example, TaggedSentence
from xlpt.data.formats.choices import read_copa_jsonl, read_xcopa_jsonl
from xlpt.data.formats.conllu import read_conllu
from xlpt.data.formats.context import ReadContext
from xlpt.data.formats.csv_token import read_csv_token
from xlpt.data.formats.pairs import read_hdr4, read_hdr4q, read_jsonl, read_tsv2, read_tsv3, read_txt3
from xlpt.data.formats.table import read_table_csv, read_table_jsonl, read_table_tsv
from xlpt.data.formats.tagged import read_tagged
from xlpt.data.problems import ProblemSink
from xlpt.errors import ConfigError
from xlpt.tasks import TaskSpec

READERS: dict[str, Callable[[ReadContext], Iterator]] = {
    "tsv3": read_tsv3,
    "tsv2": read_tsv2,
    "txt3": read_txt3,
    "hdr4": read_hdr4,
    "hdr4q": read_hdr4q,
    "jsonl": read_jsonl,
    "tag": read_tagged,
    "conllu": read_conllu,
    "csv_token": read_csv_token,
    "xcopa_jsonl": read_xcopa_jsonl,
    "copa_jsonl": read_copa_jsonl,
}
TASK_READERS: dict[str, Callable[[ReadContext], Iterator]] = {
    "tsv": read_table_tsv,
    "csv": read_table_csv,
    "jsonl": read_table_jsonl,
    "tag": read_tagged,
    "conllu": read_conllu,
}
PAIR_FORMATS = frozenset({"tsv3", "tsv2", "txt3", "hdr4", "hdr4q", "jsonl"})
"""The pair readers (what `xlpt score --gold-format` may name); which family reads which format is the
family's `layout_formats`."""


def read_file(
    path: Path | str,
    fmt: str,
    *,
    task: TaskSpec,
    lang: str,
    counts: Counter | None = None,
    problems: ProblemSink | None = None,
) -> Iterator[Example | TaggedSentence]:
    """Examples of one file in format `fmt`. Raises ConfigError for an unknown format or task/format mismatch."""
    spec = task
    readers, allowed = _readers(spec)
    if fmt not in readers:
        raise ConfigError(f"unknown data format {fmt!r}; valid formats: {', '.join(readers)}")
    if fmt not in allowed:
        raise ConfigError(f"format {fmt!r} cannot hold {spec.name} data (use one of: {', '.join(sorted(allowed))})")
    ctx = ReadContext(Path(path), spec, lang, counts if counts is not None else Counter(), problems or ProblemSink())
    return readers[fmt](ctx)


def _readers(spec) -> tuple[dict, frozenset]:
    """The reader table of the task's layout, and the formats its family may use."""
    if spec.data.layout == "path":
        return TASK_READERS, frozenset(spec.family_record.formats)
    # The task YAML's declared readers (data.sources.readers), else every reader of its family's examples.
    return READERS, frozenset(spec.data.sources.readers) or spec.family_record.layout_formats

