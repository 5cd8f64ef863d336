"""The data of one task under one data folder (or the hub), discovered once and read on demand.

Training, evaluation and the sweep estimator all go through this object, so they see the same files
and the same labeledness decisions (see data/layout.py, data/choice.py and data/plan.py). It also
carries the folder's data contract (data/contract.py): what training and evaluation must log and
record about the files used, the files ignored and the rules applied.

Where the data comes from is a `DataSource`: a task's `data.path` pattern (data/pattern.PatternSource),
the XTREME / shared layout (data/layout.LayoutSource) or the Hugging Face hub (data/hub.HubSource). Each
emits the same `Scan` (files and splits per language, ignored entries, problems) and the same `Resolved`
choice, so nothing here asks which one it is.

    data = TaskData(task, data_dir)
    for line in data.log_lines(): log(line)        # run.log
    results["data"] = data.record()                # results.json / train_summary.json
    data.unusable("de")                            # why a language cannot be used, or None
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from xlpt.data.choice import Resolved, SplitSource
from xlpt.data.contract import Contract
from xlpt.data.files import Scan
from xlpt.data.hub import HubSource, is_hub
from xlpt.data.layout import source_for
from xlpt.errors import ConfigError, DataFormatError

if TYPE_CHECKING:
    from xlpt.tasks import TaskSpec

__all__ = ["DataSource", "TaskData", "data_source", "is_hub"]


class DataSource(Protocol):
    """Where a task's data comes from. Implementations: PatternSource, LayoutSource, HubSource."""

    spec: TaskSpec
    where: str
    """The data folder, or `hf` / `hf:<repo>`: what messages name."""
    open_languages: bool
    """True when languages beyond the scan may be named (a hub task without a language list)."""

    def scan(self) -> Scan:
        """Everything found: files and splits per language, ignored entries, problems."""

    def resolve(self, languages: Sequence[str] = ()) -> Resolved:
        """Which entry serves each (language, split), and the contract; `languages` are added by an open source."""

    def reads(self, source: SplitSource) -> SplitSource | str:
        """What `data.loading.load_split` is given to read a chosen split."""

    def log_lines(self, contract: Contract) -> list[str]:
        """What run.log says about the data."""

    def record(self, contract: Contract) -> dict:
        """The JSON record of the same."""


def data_source(spec: TaskSpec, where) -> DataSource:
    """The DataSource of `task` at `where` (a data folder, or `hf` / `hf:<repo>`)."""
    return HubSource(spec, str(where)) if is_hub(str(where)) else source_for(spec, where)


class TaskData:
    def __init__(self, task: TaskSpec, data_dir):
        self.task, self.data_dir = task, str(data_dir)
        self.source = data_source(self.task, self.data_dir)
        self._take(self.source.resolve())
        stray = self.contract.task_problems()
        if stray:
            # A stray data file or folder no language can be blamed for: which language it belongs
            # to is unknown, so no language's data can be trusted to be complete.
            first = stray[0]
            name = self.task.name
            raise DataFormatError(first.path, first.line, f"{first.problem} (the {name} data folder is in "
                                  f"doubt until this is fixed; `xlpt data check --task {name}` lists "
                                  "every problem)")

    def _take(self, resolved: Resolved) -> None:
        self.resolved, self.sources, self.contract = resolved, resolved.sources, resolved.contract

    # ------------------------------------------------------------------------------------ languages

    def languages(self) -> list[str]:
        """Languages present, unusable ones included (on the hub: the task's benchmark languages)."""
        return sorted(set(self.sources) | set(self.contract.blocked()))

    def resolve_languages(self, wanted: list[str] | None) -> list[str]:
        """`wanted` (checked against the languages present) or, for None, every language present."""
        if self.source.open_languages:
            if not wanted:
                raise ConfigError(f"task {self.task.name} lists no languages, so `all` cannot be resolved on the "
                                  "hub; name them (data.eval_languages=eng_Latn,deu_Latn,... or --languages)")
            self._include(wanted)
        present = self.languages()
        unknown = [lang for lang in wanted or [] if lang not in present]
        if unknown:
            raise ConfigError(f"no {self.task.name} data for {', '.join(unknown)} in {self.data_dir}; languages "
                              f"present: {', '.join(present)}")
        return list(wanted) if wanted else present

    def unusable(self, lang: str) -> str | None:
        """Why `lang`'s data cannot be used (a contract problem of one of its files), or None."""
        return self.contract.blocked().get(lang)

    # ------------------------------------------------------------------------------------ splits

    def labeled_splits(self, lang: str) -> set[str]:
        """Splits of `lang` that carry labels (or can have them reconstructed, XNLI bg/el/ru/th test).
        An unusable language raises its problem: it must never look like a language without data."""
        splits = self._splits(lang)
        return {split for split, source in splits.items() if source.labeled or source.label_source is not None}

    def splits(self, lang: str) -> set[str]:
        return set(self._splits(lang))

    def load(self, lang: str, split: str):
        """The LoadedSplit of (lang, split); malformed files raise DataFormatError naming file and line."""
        from xlpt.data.loading import load_split

        splits = self._splits(lang)
        if split not in splits:
            raise ConfigError(f"no {split} split for {self.task.name}/{lang} in {self.data_dir}")
        return load_split(self.task, lang, split, self.source.reads(splits[split]))

    def partial(self, lang: str, split: str) -> str | None:
        """What is missing when `lang`'s `split` is only part of the benchmark's set (UDPOS de test), else None."""
        source = self.sources.get(lang, {}).get(split)
        return source.partial if source is not None else None

    # ------------------------------------------------------------------------------------ the contract

    def log_lines(self) -> list[str]:
        """What run.log says about the data: files used, ignored (with why), rules applied, problems."""
        return self.source.log_lines(self.contract)

    def record(self) -> dict:
        """The JSON record of the same, for results.json and train_summary.json (`"data": ...`)."""
        return self.source.record(self.contract)

    def _splits(self, lang: str) -> dict[str, SplitSource]:
        if self.source.open_languages and lang not in self.sources:
            self._include([lang])
        refusal = self.contract.refusal(lang)
        if refusal is not None:
            raise refusal
        return self.sources.get(lang, {})

    def _include(self, langs: Sequence[str]) -> None:
        """An open source (a hub task without a language list) takes the languages a run names."""
        missing = [lang for lang in langs if lang not in self.sources]
        if missing:
            self._take(self.source.resolve([*self.sources, *missing]))
