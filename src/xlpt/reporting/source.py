"""The run's source (training) language, read from its results, for every "without source" number.

A run is trained on one language (config `data.train_lang`: "en" for XTREME tasks, "eng_Latn" for
SIB-200, the base language in a lab, anything a user sets) and evaluated on others; its score on the
training language measures in-language learning, not transfer, so averages without it, significance
families and correlations all leave it out. Results files name it in `source_language`; older ones
may only have it in the stored config, and the oldest in neither: those were all trained on English.
"""

from __future__ import annotations

LEGACY_SOURCE = "en"
"""The source of results that record none: before `source_language` existed every run trained on en."""


def source_language(results: dict) -> str:
    """`source_language`, else the stored config's `data.train_lang`, else the task's own source language,
    else "en" (the oldest results)."""
    value = results.get("source_language")
    if isinstance(value, str) and value:
        return value
    config = results.get("config")
    data = config.get("data") if isinstance(config, dict) else None
    value = data.get("train_lang") if isinstance(data, dict) else None
    if isinstance(value, str) and value:
        return value
    return _task_source(results.get("task")) or LEGACY_SOURCE


def _task_source(task) -> str | None:
    """The task's own source language (eng_Latn for SIB-200), when results name a registered task."""
    from xlpt.errors import ConfigError
    from xlpt.tasks import get_task

    try:
        return get_task(task).train_lang if isinstance(task, str) else None
    except ConfigError:
        return None


def average_without_source(results: dict) -> float | None:
    """`average_without_source`, or the older `average_without_en` (it already left out the config's
    training language, whatever it was: evaluation computed it against `data.train_lang`)."""
    value = results.get("average_without_source")
    return results.get("average_without_en") if value is None else value


def without_source_label(sources) -> str:
    """'Average w/o source (eng_Latn)': the row label names the language(s) it leaves out."""
    names = sorted(set(sources))
    return f"Average w/o source ({', '.join(names)})" if names else "Average w/o source"
