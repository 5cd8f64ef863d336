"""Multiple choice (XCOPA, XStoryCloze, XWinograd, Belebele): a context and N choices, the choice the LM
finds most likely wins.

A task declares its example fields (`fields:`), its labels (one per choice, in order) and a `prompt:`
section (prompt.py) that renders an example into a context and N continuations, exactly as the
benchmark's lm-eval task does. Scores are the continuations' summed log-likelihoods (acc), per character
(acc_norm), per byte (acc_bytes) and per token (acc_tokens); the context is read once per example. Every
method trains on cross-entropy over the N scores (training/choice_objective.py); there is no task head,
so head_only has nothing to train. Torch-free: the torch side is implementation.py.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from xlpt.data.examples import Example
from xlpt.tasks.families.multiple_choice.prompt import ChoicePrompt, parse_prompt
from xlpt.tasks.families.record import FamilyRecord

_PROMPTS: dict[tuple[str, str], ChoicePrompt] = {}


def task_prompt(spec) -> ChoicePrompt:
    """The task's parsed `prompt:` section (parsed once per task definition)."""
    key = (spec.name, spec.definition_hash())
    if key not in _PROMPTS:
        _PROMPTS[key] = parse_prompt(spec.prompt, spec.example_fields, spec.labels)
    return _PROMPTS[key]


def check_task(spec) -> None:
    if spec.templates:
        raise ValueError("a multiple_choice task has no templates or label_words; its `prompt:` section says how "
                         "an example becomes a context and its choices")
    prompt = parse_prompt(spec.prompt, spec.example_fields, spec.labels)
    unused = [name for name in spec.example_fields if name not in prompt.used_fields()]
    if unused:
        raise ValueError(f"prompt: field(s) {', '.join(unused)} are never used by the prompt, so the model would "
                         "never see them; use them or leave them out of `fields`")
    if spec.metric not in FAMILY.metrics:
        raise ValueError(f"metric {spec.metric!r} is not one of {', '.join(FAMILY.metrics)} for multiple_choice")


def check_run(task, cfg) -> None:
    if cfg.data.template is not None:
        raise ValueError(f"data.template={cfg.data.template!r}: multiple_choice task {task.name} has no templates; "
                         "its prompt is the task YAML's `prompt:` section")
    if cfg.head.formulation == "linear_head":
        # A linear head would be silently ignored: the choices' own continuations are what gets scored.
        raise ValueError(f"head.formulation=linear_head: multiple_choice task {task.name} has no task head; its "
                         "choices are scored by the LM head (leave head.formulation unset)")


def make_example(fields: Mapping, label, lang: str, id: str) -> Example:
    return Example(dict(fields), label, lang, id)


def row_to_example(spec, row: Mapping, lang: str, where: str) -> Example:
    fields = {}
    for name in spec.example_fields:
        value = row.get(name)
        if not isinstance(value, str):
            raise ValueError(f"field {name!r} must be text, got {type(value).__name__}")
        fields[name] = value
    return Example(fields, row.get("label"), lang, str(row.get("id") or where))


def example_text(example) -> str:
    return " ".join(example.fields.values())


def word_lists(example) -> list[list[str]]:
    """One whitespace word list per text field (premise, each choice, ...), as the contract asks."""
    return [text.split() for text in example.fields.values()]


def read_quirks(spec, examples, *, repair_iob: bool = False):
    """Quality counts after reading: examples with an empty text field (kept: a choice may be short)."""
    counts = Counter(empty_field=sum(1 for ex in examples if any(not v.strip() for v in ex.fields.values())))
    return examples, +counts, []


def score(spec, gold, pred) -> dict:
    pairs = [(g, p) for g, p in zip(gold, pred) if g is not None]
    return {"accuracy": sum(g == p for g, p in pairs) / len(pairs) if pairs else 0.0, "n": len(pairs)}


def model_texts(task, cfg, example, zero_shot: bool) -> list[str]:
    rendered = task_prompt(task).render(dict(example.fields), example.lang, example.id)
    return [context + continuation for context, continuation in zip(rendered.contexts, rendered.continuations)]


FAMILY = FamilyRecord(
    name="multiple_choice",
    fields=("context", "choice1", "choice2"),
    formats=("jsonl",),
    layout_formats=frozenset({"xcopa_jsonl", "copa_jsonl"}),
    metrics=("accuracy", "acc_norm", "acc_bytes", "acc_tokens"),
    word_unit="whitespace",
    label_unit="example",
    starved_share=0.05,
    implementation="xlpt.tasks.families.multiple_choice.implementation:MultipleChoiceFamily",
    check_task=check_task,
    check_run=check_run,
    make_example=make_example,
    row_to_example=row_to_example,
    example_text=example_text,
    word_lists=word_lists,
    read_quirks=read_quirks,
    score=score,
    formulation=lambda task, cfg: "choice_loglikelihood",
    template=lambda task, cfg: None,
    head_reads=lambda task, cfg: "no task head: choices are scored by the LM head, as their summed token "
                                "log-probabilities",
    head_parameters=lambda task, cfg, hidden_size: 0,
    model_texts=model_texts,
    fed_tokens=lambda n_tokens, max_length: min(n_tokens, max_length),
    prediction_row=lambda example, pred: {"pred": pred},
)
