"""What a method is: a record that owns its config, its defaults and what it changes in the model.

A method module defines a config section (a `MethodConfig` subclass whose `name` is a Literal) and a
`Method` record, and is listed once in `methods/__init__.py`. Everything else asks the record, never
the method's name and never a key of its section: training asks `trains` and `start_from`, the model
builder and the estimates ask `input_positions`, results and exports ask `result_fields`, `trained_parts`
and `peft`, sweeps ask `config` for the keys it reads, the planner asks `planner_terms`
(tests/test_registrations.py refuses `cfg.method.<key>` reads outside this package). Importing a record
must stay cheap (no torch): configs are validated before any heavy import, so `prepare`/`evaluate` import
their code lazily.

Head settings (`formulation`, `word_repr`) are not a method's: they live in the run config's `head:`
section (config/run.py), read by the task family.
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


class SoftPromptSettings(MethodConfig):
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


@dataclass(frozen=True)
class PlannerTerms:
    """What the planner (sweeps/planner.py) counts for a method on one model shape, the task head excluded (the
    planner adds the head: it is the task's, not the method's)."""

    all_weights: bool = False
    """Every LM weight trains: 6N training FLOPs per token instead of 4N, gradients and optimizer state for the
    whole model."""
    added: int = 0
    """Float32 parameters the method adds (prompt, prefix, adapters)."""
    backprop: bool = False
    """Gradients flow through the decoder (anything but a head on a frozen model, or nothing at all)."""
    adapted: tuple[str, ...] = ()
    """Names (within a decoder layer) of the matrices whose weights or adapters train: autograd keeps their inputs."""
    prompt: int = 0
    """Positions added to every input sequence (soft prompt)."""
    prefix: int = 0
    """Key/value positions added to every layer's attention (prefix)."""


def no_positions(method_cfg) -> int:
    return 0


def prompt_positions(method_cfg) -> int:
    """Soft prompts and prefixes add `prompt_length` positions before the text (the model's maximum positions
    must hold them, and the planner counts them)."""
    return method_cfg.prompt_length


def no_start(method_cfg) -> str | None:
    return None


def adapter_start(method_cfg) -> str | None:
    """`method.init_from`: the PEFT adapter folder training starts from, or None."""
    return method_cfg.init_from


def no_fields(method_cfg) -> dict:
    return {}


def soft_prompt_fields(method_cfg) -> dict:
    return {"prompt_length": method_cfg.prompt_length, "prompt_init": method_cfg.prompt_init}


def frozen_model(method_cfg, shape) -> PlannerTerms:
    """Nothing of the model trains (a head on a frozen model, or nothing at all)."""
    return PlannerTerms()


def biases(method_cfg, shape) -> PlannerTerms:
    """The model's own bias terms train (BitFit): gradients flow through every layer, no matrix input is kept."""
    return PlannerTerms(added=shape.bias_params, backprop=True)


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
    """One line: what trains and how (shown in --help and the README table)."""
    trained_parts: str
    """What trains, as a short noun phrase for export messages and manifests (e.g. "biases (+ the task head,
    if any)"): exports say it instead of guessing the method from what is attached to the model."""
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
    input_positions: Callable[[MethodConfig], int] = no_positions
    """input_positions(method_cfg) -> extra sequence positions the method puts before the text (prompt_length
    for prompt and prefix tuning, else 0): checked against the model's maximum positions, counted by estimates."""
    start_from: Callable[[MethodConfig], str | None] = no_start
    """start_from(method_cfg) -> the PEFT adapter folder training starts from (`method.init_from`), or None."""
    result_fields: Callable[[MethodConfig], dict] = no_fields
    """result_fields(method_cfg) -> what results.json, manifests and exports record about the method beyond its
    name (e.g. {"prompt_length": 20, "prompt_init": "vocab", "prompt_position": "after_bos"})."""
    peft: str | None = None
    """Module holding the method's PEFT form (`xlpt.methods.<m>.peft`: export to and import from PEFT adapters),
    or None: nothing of it fits a PEFT adapter (full fine-tuning, head only, zero-shot, BitFit)."""
    planner_terms: Callable[..., PlannerTerms] = frozen_model
    """planner_terms(method_cfg, shape) -> PlannerTerms, where `shape` is sweeps.planner.ModelShape: what the
    planner counts for memory and FLOPs (the task head excluded)."""
    evaluate: Callable | None = None
    """evaluate(model, tokenizer, run_config, task, examples, progress, desc) -> (metrics, records),
    for methods that score differently from their task family (zero-shot in-context scoring)."""
    ignores: tuple[str, ...] = field(default=())
    """Keys of other sections this method never reads (e.g. optimizer keys for zero_shot): sweeps reset
    them so runs differing only there are one run."""
    check: Callable | None = None
    """check(run_config, task) -> None, raising ConfigError: consistency with other sections, run before
    any data or model is loaded (e.g. head_only needs a head)."""

    def peft_module(self):
        """The imported PEFT-form module (torch), or None when the method has none."""
        return importlib.import_module(self.peft) if self.peft else None

    def describe(self) -> str:
        keys = ", ".join(k for k in self.config.model_fields if k != "name") or "none"
        return f"{self.name}: {self.summary} (settings: {keys})"
