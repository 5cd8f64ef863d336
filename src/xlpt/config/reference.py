"""Every config key with its type, bounds, default and documentation: the text behind `xlpt train --help`."""

from __future__ import annotations

import textwrap
import typing

from pydantic.fields import FieldInfo

from xlpt.config.run import DataConfig, ModelConfig, TrainConfig
from xlpt.methods import METHODS

_BOUNDS = (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<"), ("min_length", "length >="))


def _unwrap(member) -> tuple[object, list]:
    """(base type, constraint objects) of a possibly Annotated type."""
    if typing.get_origin(member) is typing.Annotated:
        base, *extra = typing.get_args(member)
        inner, metadata = _unwrap(base)
        for item in extra:
            metadata += list(getattr(item, "metadata", [])) if isinstance(item, FieldInfo) else [item]
        return inner, metadata
    return member, []


def type_text(field: FieldInfo) -> str:
    """`int >= 1, or empty`, `one of: auto, bf16`, ... from the field's annotation and constraints."""
    annotation = field.annotation
    union = typing.get_origin(annotation) in (typing.Union, getattr(__import__("types"), "UnionType", None))
    members = list(typing.get_args(annotation)) if union else [annotation]
    optional = type(None) in members
    parts, metadata = [], list(field.metadata)
    for member in (m for m in members if m is not type(None)):
        base, extra = _unwrap(member)
        metadata += extra
        if typing.get_origin(base) is typing.Literal:
            parts.append("one of: " + ", ".join(str(v) for v in typing.get_args(base)))
        else:
            parts.append(getattr(base, "__name__", str(base)))
    text = " or ".join(parts)
    bounds = [f"{sign} {getattr(meta, key)}" for meta in metadata for key, sign in _BOUNDS if hasattr(meta, key)]
    if bounds:
        text += " " + ", ".join(bounds)
    return text + (", or empty" if optional else "")


def _section(prefix: str, model, skip: tuple[str, ...] = ()) -> list[str]:
    lines = []
    for name, field in model.model_fields.items():
        if name in skip:
            continue
        default = field.get_default(call_default_factory=True)
        shown = "empty" if default is None else default
        lines.append(f"  {prefix}.{name}  ({type_text(field)}; default: {shown})")
        doc = " ".join((field.description or "").split())
        lines += textwrap.wrap(doc, 100, initial_indent="      ", subsequent_indent="      ") if doc else []
    return lines


def config_reference() -> str:
    """The whole reference, grouped by section; the method section once per method."""
    lines = ["config keys (set in a --config YAML or as section.key=value):", "", "model:"]
    lines += _section("model", ModelConfig)
    lines += ["", "data:"] + _section("data", DataConfig)
    lines += ["", "train:"] + _section("train", TrainConfig)
    lines += ["", "method: method.name selects one method; each reads only its own keys"]
    for record in METHODS.values():
        lr = f"default learning rate {record.default_learning_rate}" if record.default_learning_rate else "trains nothing"
        lines += ["", f" {record.name}: {record.summary} ({lr})"]
        lines += _section("method", record.config, skip=("name",))
    return "\n".join(lines)
