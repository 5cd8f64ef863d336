"""Per-language explanatory variables (fertility, pretraining shares) read from `xlpt tokenization --json`.

The gap between prompt tuning and fine-tuning is set against these. Fertility depends on the task's
text (it is measured on the task's data), pretraining share only on the model's corpus, so a file is
matched to a (task, model) by task first; see `features_for`.

Two shares: `pretraining_share` is the *natural* share (tokens over all tokens), `sampled_share` the
share of the training mixture after XGLM's low-resource upsampling (`pretraining_share_upsampled` in
the file). Files written before the sampled share was exported lack it; for a language whose natural
share is exactly XGLM's published ratio, the sampled share is then taken from the same published row
(`xlpt.analysis.pretraining`), never guessed for any other model.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from xlpt.errors import ConfigError


@dataclass(frozen=True)
class LanguageFeatures:
    fertility: float | None
    pretraining_share: float | None
    in_pretraining: bool | None = None
    """The file's explicit flag (None when absent): False means the model never saw the language."""
    sampled_share: float | None = None
    """Share of the training mixture after upsampling (XGLM's `upsampled_ratio`); None when unknown."""


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
        natural = _number(entry.get("pretraining_share"))
        sampled = _number(entry.get("pretraining_share_upsampled"))
        if sampled is None and "pretraining_share_upsampled" not in entry:
            sampled = _published_sampled_share(lang, natural)
        languages[lang] = LanguageFeatures(_number(entry.get("fertility")), natural,
                                           seen if isinstance(seen, bool) else None, sampled)
    return FeatureFile(path, _text(data.get("model")), _text(data.get("task")), languages)


def _published_sampled_share(lang: str, natural: float | None) -> float | None:
    """XGLM's upsampled ratio for `lang` when the file's natural share is XGLM's published one (the file
    was made for XGLM); else None. Joins through the same table as `xlpt tokenization`."""
    from xlpt.analysis.pretraining import pretraining_share

    if natural is None:
        return None
    row = pretraining_share(lang)
    if row.ratio is None or not math.isclose(row.ratio, natural, rel_tol=1e-9):
        return None
    return row.upsampled_ratio


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
