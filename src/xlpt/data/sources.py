"""The data of one task under one data folder (or the hub), discovered once and read on demand.

Training, evaluation and the sweep estimator all go through this object, so they see the same files
and the same labeledness decisions (see data/layout.py, data/choice.py and data/plan.py). It also
carries the folder's data contract (data/contract.py): what training and evaluation must log and
record about the files used, the files ignored and the rules applied.

    data = TaskData(task, data_dir)
    for line in data.log_lines(): log(line)        # run.log
    results["data"] = data.record()                # results.json / train_summary.json
    data.unusable("de")                            # why a language cannot be used, or None
"""

from __future__ import annotations

from xlpt.data.files import SPLITS
from xlpt.errors import ConfigError, DataFormatError


def is_hub(data_dir: str) -> bool:
    return data_dir == "hf" or str(data_dir).startswith("hf:")


class TaskData:
    def __init__(self, task, data_dir: str):
        from xlpt.data.layout import resolve

        self.task, self.data_dir = task, str(data_dir)
        self.sources = self.contract = None
        if not is_hub(self.data_dir):
            resolved = resolve(task.name, self.data_dir)
            self.sources, self.contract = resolved.sources, resolved.contract
            stray = self.contract.task_problems()
            if stray:
                # A stray data file or folder no language can be blamed for: which language it belongs
                # to is unknown, so no language's data can be trusted to be complete.
                first = stray[0]
                raise DataFormatError(first.path, first.line, f"{first.problem} (the {task.name} data folder is in "
                                      f"doubt until this is fixed; `xlpt data check --task {task.name}` lists "
                                      "every problem)")

    # ------------------------------------------------------------------------------------ languages

    def languages(self) -> list[str]:
        """Languages present, unusable ones included (on the hub: the task's benchmark languages)."""
        if self.sources is None:
            return sorted(self.task.languages)
        return sorted(set(self.sources) | set(self.contract.blocked()))

    def resolve_languages(self, wanted: list[str] | None) -> list[str]:
        """`wanted` (checked against the languages present) or, for None, every language present."""
        if self.sources is None and not self.task.languages:
            if not wanted:
                raise ConfigError(f"task {self.task.name} lists no languages, so `all` cannot be resolved on the "
                                  "hub; name them (data.eval_languages=eng_Latn,deu_Latn,... or --languages)")
            return list(wanted)
        present = self.languages()
        unknown = [lang for lang in wanted or [] if lang not in present]
        if unknown:
            raise ConfigError(f"no {self.task.name} data for {', '.join(unknown)} in {self.data_dir}; languages "
                              f"present: {', '.join(present)}")
        return list(wanted) if wanted else present

    def unusable(self, lang: str) -> str | None:
        """Why `lang`'s data cannot be used (a contract problem of one of its files), or None."""
        return None if self.contract is None else self.contract.blocked().get(lang)

    # ------------------------------------------------------------------------------------ splits

    def labeled_splits(self, lang: str) -> set[str]:
        """Splits of `lang` that carry labels (or can have them reconstructed, XNLI bg/el/ru/th test).
        An unusable language raises its problem: it must never look like a language without data."""
        if self.sources is None:
            return set(SPLITS) if not self.task.languages or lang in self.task.languages else set()
        self._refuse(lang)
        splits = self.sources.get(lang, {})
        return {split for split, source in splits.items() if source.labeled or source.label_source is not None}

    def splits(self, lang: str) -> set[str]:
        if self.sources is None:
            return set(SPLITS)
        self._refuse(lang)
        return set(self.sources.get(lang, {}))

    def load(self, lang: str, split: str):
        """The LoadedSplit of (lang, split); malformed files raise DataFormatError naming file and line."""
        from xlpt.data.loading import load_split

        if self.sources is None:
            return load_split(self.task.name, lang, split, self.data_dir)
        self._refuse(lang)
        if split not in self.sources.get(lang, {}):
            raise ConfigError(f"no {split} split for {self.task.name}/{lang} in {self.data_dir}")
        return load_split(self.task.name, lang, split, self.sources[lang][split])

    def partial(self, lang: str, split: str) -> str | None:
        """What is missing when `lang`'s `split` is only part of the benchmark's set (UDPOS de test), else None."""
        source = (self.sources or {}).get(lang, {}).get(split)
        return source.partial if source is not None else None

    # ------------------------------------------------------------------------------------ the contract

    def log_lines(self) -> list[str]:
        """What run.log says about the data: files used, ignored (with why), rules applied, problems."""
        if self.contract is None:
            return [f"data: {self.task.name} from the Hugging Face hub ({self.data_dir}); repo and config per "
                    "language are in each split's notes"]
        return self.contract.summary_lines()

    def record(self) -> dict:
        """The JSON record of the same, for results.json and train_summary.json (`"data": ...`)."""
        if self.contract is None:
            return {"hub": self.data_dir, "used": {}, "ignored": [], "rules": [], "problems": [],
                    "unusable_languages": {}}
        return self.contract.to_json()

    def _refuse(self, lang: str) -> None:
        refusal = self.contract.refusal(lang) if self.contract is not None else None
        if refusal is not None:
            raise refusal
