"""The data of one task under one data folder (or the hub), discovered once and read on demand.

Training, evaluation and the sweep estimator all go through this object, so they see the same files
and the same labeledness decisions (see data/layout.py and data/plan.py).
"""

from __future__ import annotations

from xlpt.data.layout import SPLITS
from xlpt.errors import ConfigError


def is_hub(data_dir: str) -> bool:
    return data_dir == "hf" or str(data_dir).startswith("hf:")


class TaskData:
    def __init__(self, task, data_dir: str):
        from xlpt.data.loading import discover

        self.task, self.data_dir = task, str(data_dir)
        self.sources = None if is_hub(self.data_dir) else discover(task.name, self.data_dir)

    def languages(self) -> list[str]:
        """Languages present (on the hub: the task's benchmark languages)."""
        return sorted(self.task.languages) if self.sources is None else sorted(self.sources)

    def labeled_splits(self, lang: str) -> set[str]:
        """Splits of `lang` that carry labels (or can have them reconstructed, XNLI bg/el/ru/th test)."""
        if self.sources is None:
            return set(SPLITS) if lang in self.task.languages else set()
        splits = self.sources.get(lang, {})
        return {split for split, source in splits.items() if source.labeled or source.label_source is not None}

    def splits(self, lang: str) -> set[str]:
        return set(SPLITS) if self.sources is None else set(self.sources.get(lang, {}))

    def load(self, lang: str, split: str):
        """The LoadedSplit of (lang, split); malformed files raise DataFormatError naming file and line."""
        from xlpt.data.loading import load_split

        if self.sources is None:
            return load_split(self.task.name, lang, split, self.data_dir)
        if split not in self.sources.get(lang, {}):
            raise ConfigError(f"no {split} split for {self.task.name}/{lang} in {self.data_dir}")
        return load_split(self.task.name, lang, split, self.sources[lang][split])
