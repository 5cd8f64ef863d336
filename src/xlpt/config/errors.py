"""pydantic's validation errors as one line a user can act on: which key, which value, what is allowed."""

from __future__ import annotations

import re

from pydantic import ValidationError

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


def _where(loc: tuple) -> tuple[str, str | None]:
    """(dotted key, method name) with pydantic's union tags (the method section's discriminator) removed."""
    from xlpt.methods import METHODS

    parts = [str(part) for part in loc if not (isinstance(part, str) and _UNION_TAG.match(part))]
    method = None
    if len(parts) > 1 and parts[0] == "method" and parts[1] in METHODS:
        method = parts.pop(1)
    return ".".join(parts), method


def describe_error(error: dict, prefix: str = "") -> str:
    where, method = _where(error.get("loc", ()))
    key = f"{prefix}{where}" if where else prefix.rstrip(".")
    kind, message = error.get("type", ""), error.get("msg", "")
    if kind == "union_tag_invalid":
        from xlpt.methods import METHODS

        tag = error.get("ctx", {}).get("tag")
        return f"{key}.name={tag!r}: unknown method; valid methods: {', '.join(METHODS)}"
    if kind == "extra_forbidden" and method is not None:
        from xlpt.methods import METHODS

        settings = ", ".join(k for k in METHODS[method].config.model_fields if k != "name") or "none"
        return f"{key} is not a setting of method {method} (its settings: {settings})"
    if kind == "extra_forbidden" and "." in key and method is None:
        return _unknown_key(key)
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
    if isinstance(value, (dict, list)) and kind.startswith("value_error"):
        return message  # a rule over a whole section: its message names the keys
    if kind == "extra_forbidden":
        return f"{key} {message}"
    if isinstance(value, (dict, list)):  # the value itself, shortened (its type name alone read as text 'dict')
        text = repr(value)
        return f"{key}={text if len(text) <= 80 else text[:77] + '...'}: {message}"
    return f"{key}={value!r}: {message}"


def describe_validation_error(err: ValidationError, prefix: str = "") -> str:
    """All errors of `err`, one per clause, joined by '; '."""
    return "; ".join(describe_error(error, prefix) for error in err.errors(include_url=False))


def _unknown_key(key: str) -> str:
    import difflib

    from xlpt.config.run import RunConfig

    section, _, leaf = key.partition(".")
    field = RunConfig.model_fields.get(section)
    valid = list(getattr(field.annotation, "model_fields", {})) if field is not None else []
    close = difflib.get_close_matches(leaf, valid, n=1)
    hint = f" (did you mean {section}.{close[0]}?)" if close else ""
    return f"unknown config key {key!r}{hint}; keys of {section}: {', '.join(valid)}"
