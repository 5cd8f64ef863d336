"""What a method is: a record that owns its config, its defaults and what it changes in the model.

A method module defines a config section (a `MethodConfig` subclass whose `name` is a Literal) and a
`Method` record, and is listed once in `methods/__init__.py`. Everything else asks the record, never
the method's name: training asks `trains`, evaluation asks `evaluate`, sweeps ask `config` for the
keys it reads, the planner asks `updates_all_weights`. Importing a record must stay cheap (no torch):
configs are validated before any heavy import, so `prepare`/`evaluate` import their code lazily.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Callable, Literal

from pydantic import Field, model_validator

from xlpt.schema import Section


class MethodConfig(Section):
    """Settings every method section has. Subclasses narrow `name` to a Literal of their own name."""

    name: str


class HeadSettings(MethodConfig):
    """Settings of methods that train on a task head (every method but zero_shot)."""

    formulation: Literal["verbalizer", "linear_head"] = "verbalizer"
    """Classification: verbalizer (label words at the answer slot, no new parameters) | linear_head (a new
    linear layer on the last real token's hidden state)."""
    word_repr: Literal["last", "first", "mean"] = "last"
    """Tagging: which subword represents a word: last (default; in a causal model only the last subword
    has seen the whole word) | first | mean."""


class SoftPromptSettings(HeadSettings):
    """Settings of methods that start from soft-prompt vectors (prompt tuning, prefix tuning)."""

    prompt_length: int = Field(20, ge=1, le=4096)
    """Number of soft prompt vectors (virtual tokens). Checked against the model's maximum positions."""
    prompt_init: Literal["random", "vocab", "text"] = "vocab"
    """random | vocab (embeddings of sampled real tokens) | text (embeddings of `init_text`)."""
    init_text: str | None = None
    """Text whose token embeddings initialise the prompt when prompt_init=text (no special tokens)."""

    @model_validator(mode="after")
    def _text_init_has_text(self):
        if self.prompt_init == "text" and not (self.init_text or "").strip():
            raise ValueError("method.prompt_init=text needs method.init_text (the text whose embeddings start the prompt)")
        return self


def lazy(target: str) -> Callable:
    """A callable that imports `module:function` on first call: records stay importable without torch."""
    module_name, _, attribute = target.partition(":")

    def call(*args, **kwargs):
        return getattr(importlib.import_module(module_name), attribute)(*args, **kwargs)

    call.__qualname__ = call.__name__ = target
    return call


@dataclass(frozen=True)
class Method:
    """The registration record of one method."""

    name: str
    display_name: str
    """How tables and plots call it (e.g. "Prompt tuning")."""
    config: type[MethodConfig]
    """Its config section (validated); the keys it reads are exactly this model's fields."""
    summary: str
    """One line: what trains (shown in --help and the README table)."""
    prepare: Callable
    """prepare(task_model, run_config, tokenizer): freeze/add parameters in place."""
    default_learning_rate: float | None
    """Used when train.learning_rate is not set; None for methods that train nothing."""
    trains: bool = True
    """False: nothing is optimised (no training loop, no checkpoint, no selection split)."""
    uses_input_prompt: bool = False
    """Adds soft-prompt vectors to the input sequence (shifts text positions)."""
    updates_all_weights: bool = False
    """Weight gradients for every matrix (full fine-tuning): 6N training FLOPs per token instead of 4N,
    and optimizer state for the whole model."""
    evaluate: Callable | None = None
    """evaluate(model, tokenizer, run_config, task, examples, progress, desc) -> (metrics, records),
    for methods that score differently from their task family (zero-shot in-context scoring)."""
    ignores: tuple[str, ...] = field(default=())
    """Keys of other sections this method never reads (e.g. optimizer keys for zero_shot): sweeps reset
    them so runs differing only there are one run."""
    check: Callable | None = None
    """check(run_config, task) -> None, raising ConfigError: consistency with other sections, run before
    any data or model is loaded (e.g. head_only needs a head)."""

    def describe(self) -> str:
        keys = ", ".join(k for k in self.config.model_fields if k != "name") or "none"
        return f"{self.name}: {self.summary} (settings: {keys})"
