"""Per-language explanatory variables (fertility, pretraining share) read from `xlpt tokenization --json`.

The gap between prompt tuning and fine-tuning is set against these. Fertility depends on the task's
text (it is measured on the task's data), pretraining share only on the model's corpus, so a file is
matched to a (task, model) by task first; see `features_for`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from xlpt.errors import ConfigError


@dataclass(frozen=True)
class LanguageFeatures:
    fertility: float | None
    pretraining_share: float | None
    in_pretraining: bool | None = None
    """The file's explicit flag (None when absent): False means the model never saw the language."""


@dataclass(frozen=True)
class FeatureFile:
    path: Path
    model: str | None
    task: str | None
    languages: dict[str, LanguageFeatures]


def load_feature_files(paths: list[Path]) -> list[FeatureFile]:
    """Read every `--tokenization` file; a bad file is a user error that names the file."""
    return [_load_one(Path(p)) for p in paths]


def _load_one(path: Path) -> FeatureFile:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"tokenization file not found: {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ConfigError(f"{path}: cannot read tokenization JSON ({err})") from None
    if not isinstance(data, dict) or not isinstance(data.get("languages"), dict):
        raise ConfigError(f"{path}: expected an object with a 'languages' mapping (from `xlpt tokenization --json`)")
    languages = {}
    for lang, entry in data["languages"].items():
        if not isinstance(entry, dict):
            raise ConfigError(f"{path}: languages.{lang} is not an object")
        seen = entry.get("in_pretraining")
        languages[lang] = LanguageFeatures(_number(entry.get("fertility")), _number(entry.get("pretraining_share")),
                                           seen if isinstance(seen, bool) else None)
    return FeatureFile(path, _text(data.get("model")), _text(data.get("task")), languages)


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _text(value) -> str | None:
    return str(value) if value not in (None, "") else None


def features_for(files: list[FeatureFile], task: str, model: str) -> FeatureFile | None:
    """The best file for a (task, model): same task and model, else same task (XGLM sizes share one
    tokenizer), else a task-less file with the same model, else any task-less file."""
    ranked = [
        lambda f: f.task == task and f.model == model,
        lambda f: f.task == task,
        lambda f: f.task is None and f.model == model,
        lambda f: f.task is None,
    ]
    for matches in ranked:
        for candidate in files:
            if matches(candidate):
                return candidate
    return None
