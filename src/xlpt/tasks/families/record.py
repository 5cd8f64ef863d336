"""What a task family is: a torch-free record (`FamilyRecord`) plus a torch side it points at.

Generic code (data loading, evaluation, reporting, planning, export) asks the record a question —
which formats, how to build an example from a row, how to score, how many head parameters — and never
branches on which family it holds. The record's methods are plain functions stored as fields (so a
family package builds its record from module functions, and a record lacking one is refused when the
registry loads, not when a run reaches the missing call).

The torch side (`implementation`, "module:Class") builds the model, the training objective, evaluation,
prediction and the zero-shot baseline; `FamilyImplementation` below is its protocol.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields as dataclass_fields
from typing import Any, Protocol

# The record's methods every family must give (checked by the registry, see families/__init__.py).
REQUIRED_METHODS = (
    "check_task", "check_run", "make_example", "row_to_example", "example_text", "word_lists", "read_quirks",
    "score", "formulation", "template", "head_reads", "head_parameters", "model_texts", "fed_tokens",
    "prediction_row",
)


@dataclass(frozen=True)
class FamilyRecord:
    name: str
    fields: tuple[str, ...]
    """Default text fields of an example (template placeholders / data columns besides `label`); a task
    YAML may declare its own `fields:` where the family allows it."""
    formats: tuple[str, ...]
    """Formats a task with `data.layout: path` may name in `data.format`."""
    layout_formats: frozenset[str]
    """Manifest formats of the shared/XTREME layouts (data/formats READERS) that yield this family's examples."""
    metrics: tuple[str, ...]
    """Headline metrics a task of this family may choose (first = default)."""
    word_unit: str
    """What a "word" is in analyses of this family's text (one phrase, printed in reports)."""
    label_unit: str
    """What one label is attached to: "example" or "word" (audit messages count in it)."""
    starved_share: float | None
    """A training label below this share of all labels is reported as starved; None = not checked
    (tag frequencies are Zipfian: a rare tag below 1% is normal)."""
    implementation: str
    """`module:Class` of the torch side (FamilyImplementation), constructed as Class(record)."""
    hub_defaults: Mapping[str, str] = field(default_factory=dict)
    """Default hub column per field, "label" and "id" (a task's `hub.columns` overrides)."""
    zero_shot_options: tuple[str, ...] = ()
    """The zero_shot method's settings (method.prefix_token, ...) this family's baseline honours; the method
    refuses a non-default value of any other (it would be silently ignored)."""

    # Methods (plain functions; see family_api.md for what each answers).
    check_task: Callable | None = None
    check_run: Callable | None = None
    make_example: Callable | None = None
    row_to_example: Callable | None = None
    example_text: Callable | None = None
    word_lists: Callable | None = None
    read_quirks: Callable | None = None
    score: Callable | None = None
    formulation: Callable | None = None
    template: Callable | None = None
    head_reads: Callable | None = None
    head_parameters: Callable | None = None
    model_texts: Callable | None = None
    fed_tokens: Callable | None = None
    prediction_row: Callable | None = None

    def missing(self) -> list[str]:
        """The required methods this record does not give (the registry refuses such a record)."""
        return [name for name in REQUIRED_METHODS if not callable(getattr(self, name, None))]

    def load(self) -> "FamilyImplementation":
        """The family's torch side (imported on first use, then cached)."""
        cached = _LOADED.get(self.name)
        if cached is None:
            module_name, _, attribute = self.implementation.partition(":")
            cached = _LOADED[self.name] = getattr(importlib.import_module(module_name), attribute)(self)
        return cached


_LOADED: dict[str, Any] = {}
RECORD_ATTRIBUTES = tuple(f.name for f in dataclass_fields(FamilyRecord))


class FamilyImplementation(Protocol):
    record: FamilyRecord

    def build_model(self, task, cfg, backbone, tokenizer):
        """The task model (models.task_model.TaskModel subclass) with its head, before the method applies."""

    def objective(self, task, cfg, tokenizer, train_examples, dev_examples, log):
        """The training.loop.Objective: batches, loss, and the dev score used for checkpoint selection."""

    def evaluate(self, task, model, tokenizer, cfg, examples, progress, desc, predictions_path=None):
        """(metrics, records) for one language: metrics carry the task metric and `n`; records are one
        {"id", "gold", "pred"} per example in file order. May also write `predictions_path` in the data's
        own format (tagging: token<TAB>tag)."""

    def predict(self, task, model, tokenizer, cfg, examples, progress):
        """(one prediction per example, counts of truncations/windows) as evaluation predicts, without gold."""

    def zero_shot(self, task, model, tokenizer, cfg, examples, progress, desc):
        """(metrics, records) of the in-context baseline; ConfigError (one line) where the family has none."""
