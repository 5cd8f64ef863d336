"""pydantic's validation errors as one line a user can act on: which key, which value, what is allowed.

The formatter knows no schema of its own: the caller passes the model it validated (RunConfig, TaskSpec,
LabSpec), and the valid keys near an unknown one and the members of a tagged section (the run config's
`method` section, one model per method) are read from that model. So this module imports nothing of the
project (it used to import RunConfig and the method registry, closing a circle config/errors ->
config/run -> tasks/registry -> config/errors). `tree` (the validated input), where given, names list items
by their `name` (`languages[greek].share`).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import get_args

from pydantic import BaseModel, ValidationError

# Union members pydantic puts into an error's location (`data.template.str`): not part of the key.
_UNION_TAG = re.compile(r"^(function-.*|str|int|float|bool|none|Template|dict\[.*\]|list\[.*\]|tuple\[.*\])$")

_FRIENDLY = {
    "int_from_float": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "finite_number": "must be a finite number",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "string_type": "must be text",
    "extra_forbidden": "is not a known key here",
    "missing": "is required",
}


@dataclass
class _Place:
    """Where an error is: the dotted key, the tagged member it is in ((section, tag)), the tags of a tagged
    section the key names (for an unknown tag) and the model holding the key's last part."""

    key: str
    tagged: tuple[str, str] | None = None
    members: dict | None = None
    model: type[BaseModel] | None = None


def _tagged_members(annotation) -> dict[str, type[BaseModel]] | None:
    """{tag: member model} of a union of models told apart by a Literal `name` (the run config's `method`)."""
    members = [arg for arg in get_args(annotation) if isinstance(arg, type) and issubclass(arg, BaseModel)]
    if len(members) < 2:
        return None
    tags = {}
    for member in members:
        tag = get_args(member.model_fields["name"].annotation) if "name" in member.model_fields else ()
        if len(tag) != 1:
            return None
        tags[tag[0]] = member
    return tags


def _section_type(annotation):
    """The model a field holds (through Optional, Annotated, list, dict), else None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _section_type(arg)
        if found:
            return found
    return None


def _where(loc: tuple, model: type[BaseModel] | None, tree=None) -> _Place:
    """The place of `loc`, with pydantic's union tags removed."""
    parts, tagged, members, node = [], None, None, tree
    holder = owner = model  # the model the next part is a field of; the one that held the last part
    for part in loc:
        if isinstance(part, str) and _UNION_TAG.match(part):
            continue
        if members is not None and part in members:  # the tag of a tagged section: not part of the key
            tagged, holder, members = (parts[-1], part), members[part], None
            continue
        if isinstance(part, int):  # a list item: named by its `name` where it has one
            item = node[part] if isinstance(node, list) and part < len(node) else None
            name = item.get("name") if isinstance(item, dict) else None
            parts[-1:] = [f"{parts[-1] if parts else ''}[{name or part}]"]
        else:
            parts.append(str(part))
            owner, field = holder, holder.model_fields.get(part) if holder is not None else None
            members = _tagged_members(field.annotation) if field is not None else None
            holder = None if field is None or members else _section_type(field.annotation)
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            node = None
    return _Place(".".join(parts), tagged, members, owner)


def describe_error(error: dict, prefix: str = "", model: type[BaseModel] | None = None, tree=None) -> str:
    place = _where(error.get("loc", ()), model, tree)
    key = f"{prefix}{place.key}" if place.key else prefix.rstrip(".")
    kind, message = error.get("type", ""), error.get("msg", "")
    if kind == "union_tag_invalid":
        ctx = error.get("ctx", {})
        field = str(ctx.get("discriminator", "name")).strip("'")
        valid = ", ".join(place.members) if place.members else str(ctx.get("expected_tags", ""))
        return f"{key}.{field}={ctx.get('tag')!r}: unknown {key}; valid {key}s: {valid}"
    if kind == "extra_forbidden" and place.tagged is not None:
        section, tag = place.tagged
        settings = ", ".join(k for k in (place.model.model_fields if place.model else ()) if k != "name") or "none"
        return f"{key} is not a setting of {section} {tag} (its settings: {settings})"
    if kind == "extra_forbidden" and "." in key:
        return _unknown_key(key, place.model)
    if not key:  # a rule spanning sections: the message names the keys itself
        return message.removeprefix("Value error, ")
    if kind.startswith("value_error") or kind == "assertion_error":
        message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    elif kind in _FRIENDLY:
        message = _FRIENDLY[kind]
    elif kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        message = f"must be one of {expected}"
    elif kind in ("greater_than_equal", "greater_than", "less_than", "less_than_equal"):
        ctx = error.get("ctx", {})
        sign = {"greater_than_equal": ">=", "greater_than": ">", "less_than": "<", "less_than_equal": "<="}[kind]
        message = f"must be {sign} {next(iter(ctx.values()), '?')}"
    if kind == "missing" or kind == "extra_forbidden" and "input" not in error:
        return f"{key} {message}"
    value = error.get("input")
    if isinstance(value, (dict, list)) and kind.startswith("value_error"):  # a rule over a whole section
        field, _, rest = message.partition(": ")
        if rest and re.fullmatch(r"[a-z_]+", field) and not key.endswith(field):
            return f"{key}.{field}: {rest}"  # "syllables: min 3 > max 1" of languages[greek]
        return message if message.startswith(key) or f"{key}." in message else f"{key}: {message}"
    if kind == "extra_forbidden":
        return f"{key} {message}"
    if isinstance(value, (dict, list)):  # the value itself, shortened (its type name alone read as text 'dict')
        text = repr(value)
        return f"{key}={text if len(text) <= 80 else text[:77] + '...'}: {message}"
    return f"{key}={value!r}: {message}"


def describe_validation_error(err: ValidationError, prefix: str = "", model: type[BaseModel] | None = None,
                              tree=None) -> str:
    """All errors of `err`, one per clause, joined by '; '. `model`: what was validated (it names the valid keys
    near an unknown one and the members of tagged sections); without it the keys are still named."""
    return "; ".join(describe_error(error, prefix, model, tree) for error in err.errors(include_url=False))


def _unknown_key(key: str, holder: type[BaseModel] | None) -> str:
    section, _, leaf = key.rpartition(".")
    valid = list(holder.model_fields) if holder is not None else []
    close = difflib.get_close_matches(leaf, valid, n=1)
    hint = f" (did you mean {section}.{close[0]}?)" if close else ""
    return f"unknown config key {key!r}{hint}" + (f"; keys of {section}: {', '.join(valid)}" if valid else "")
