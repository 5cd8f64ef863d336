"""Torch-free rules shared by the classification families (one text, a text pair): a template over the
example's text fields ends at the answer slot, and the label is read there — from label words (the
`verbalizer` head formulation) or from a fresh linear layer on the last real token (`linear_head`).

`classification_record(...)` builds a family's FamilyRecord from these rules; the families differ in
their default fields and their data quirks. The torch side is families/classification.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from xlpt.data.examples import Example
from xlpt.tasks.families.record import FamilyRecord
from xlpt.tasks.families.values import text_value

TEXT_FORMATS = ("tsv", "csv", "jsonl")
TEXT_METRICS = ("accuracy", "macro_f1")


def check_task(spec) -> None:
    if not spec.templates:
        raise ValueError(f"a {spec.family} task needs `template` and `label_words`")
    fields = spec.example_fields
    if spec.data.layout == "path":
        allowed = set(fields) | {"label", "id"}
        unknown = set(spec.data.columns) - allowed
        if unknown:
            raise ValueError(f"data.columns names unknown fields {sorted(unknown)}; {spec.family} fields are "
                             f"{', '.join(sorted(allowed))}")
    if spec.zero_shot is not None:
        from xlpt.tasks.spec import check_format

        check_format(spec.zero_shot.format, (*fields, "question", "word"), (*fields, "word"), "zero_shot.format")


def check_run(task, cfg) -> None:
    task.resolve_template(cfg.data.template)  # a bad name or inline template fails here, before any loading


def make_example(fields: Mapping[str, str], label, lang: str, id: str) -> Example:
    return Example(fields, label, lang, id)


def row_to_example(spec, row: Mapping, lang: str, where: str) -> Example:
    fields = {name: text_value(name, row.get(name)) for name in spec.example_fields}
    return Example(fields, row.get("label"), lang, str(row["id"]) if row.get("id") is not None else where)


def example_text(example) -> str:
    return "\n".join(example.fields.values())


def word_lists(example) -> list[list[str]]:
    """Whitespace words of each text field separately (a pair's two sentences are two lists)."""
    return [text.split() for text in example.fields.values()]


def score(spec, gold, pred) -> dict:
    from xlpt.evaluation.metrics import classification_scores

    return classification_scores(gold, pred, spec.labels)


def formulation(task, cfg) -> str:
    return cfg.head.formulation


def template(task, cfg):
    return task.resolve_template(cfg.data.template)


def head_reads(task, cfg) -> str:
    if cfg.head.formulation == "verbalizer":
        return ("no head: the LM's own label-word rows score the classes at the answer slot; "
                "head.formulation=linear_head adds one")
    return "the last real token (the answer slot)"


def head_parameters(task, cfg, hidden_size: int) -> int:
    """The verbalizer reads the LM's own label-word rows: no new parameters. A linear head: W and b."""
    if cfg.head.formulation == "verbalizer":
        return 0
    return hidden_size * task.num_labels + task.num_labels


def model_texts(task, cfg, example, zero_shot: bool) -> list[str]:
    fields = {name: value.strip() for name, value in example.fields.items()}
    if zero_shot and task.zero_shot is not None:
        return task.zero_shot.candidates(example.lang, fields)[0]
    return [task.resolve_template(cfg.data.template).text.format(**fields)]


def fed_tokens(n_tokens: int, max_length: int) -> int:
    return min(n_tokens, max_length)  # texts are truncated to data.max_length


def prediction_row(example, pred) -> dict:
    return {"pred": pred}


def classification_record(name: str, fields: tuple[str, ...], read_quirks: Callable,
                          layout_formats: frozenset[str] = frozenset()) -> FamilyRecord:
    return FamilyRecord(
        name=name, fields=fields, formats=TEXT_FORMATS, layout_formats=layout_formats, metrics=TEXT_METRICS,
        word_unit="whitespace", label_unit="example", starved_share=0.01,
        implementation="xlpt.tasks.families.classification:ClassificationFamily",
        check_task=check_task, check_run=check_run, make_example=make_example, row_to_example=row_to_example,
        example_text=example_text, word_lists=word_lists, read_quirks=read_quirks, score=score,
        formulation=formulation, template=template, head_reads=head_reads, head_parameters=head_parameters,
        model_texts=model_texts, fed_tokens=fed_tokens, prediction_row=prediction_row,
        zero_shot_options=("prefix_token", "pawsx_preprocess", "truncation", "target_delimiter"),
    )
