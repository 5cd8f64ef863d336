"""The building blocks every config section (and task definition) is made of: strict number types and a YAML reader.

Three traps this module closes:
- YAML 1.1 (PyYAML) reads `1e-5` as the *string* "1e-5" (it wants `1.0e-5`); our reader resolves every
  float spelling Python accepts (`1e-5`, `.5`, `5.`, `.inf`, `.nan`), so a learning rate written
  the way papers write it is a number.
- YAML 1.1 reads `yes`, `no`, `on` and `off` as booleans, so `train.dropout=off` or labels `[yes, no]`
  would silently become True/False; like YAML 1.2, only true/false are booleans here.
- pydantic's lax mode turns `true` into 1 and would accept it as a batch size; our integer and float
  types refuse booleans, fractional integers ("8.5") and, for floats, inf and nan.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from xlpt.errors import ConfigError


class Section(BaseModel):
    """A config section: unknown keys are errors, assignments are validated, field docstrings are docs."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, use_attribute_docstrings=True,
                              protected_namespaces=())


def _not_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("expected a number, got a boolean")
    return value


Int = Annotated[int, BeforeValidator(_not_bool)]
"""A whole number; `true`, `8.5` and `"many"` are errors."""
Float = Annotated[float, Field(allow_inf_nan=False), BeforeValidator(_not_bool)]
"""A finite number; `true`, `inf` and `nan` are errors."""
Bool = Annotated[bool, Field(strict=True)]
"""true or false only: pydantic's lax mode would take `yes`, `on`, `1` or "t" (which our YAML keeps as text)."""


# ------------------------------------------------------------------------------------------- YAML

class _Loader(yaml.SafeLoader):
    """SafeLoader that also reads `1e-5`, `2E+3` (and the YAML 1.1 spellings) as floats."""


_FLOAT = re.compile(r"""^[-+]?(?:
      (?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    | \.[0-9_]+(?:[eE][-+]?[0-9]+)?
    | [0-9][0-9_]*[eE][-+]?[0-9]+
    | \.(?:inf|Inf|INF)
    | \.(?:nan|NaN|NAN)
)$""", re.X)
_REPLACED = ("tag:yaml.org,2002:float", "tag:yaml.org,2002:bool")
_Loader.yaml_implicit_resolvers = {key: [(tag, rx) for tag, rx in resolvers if tag not in _REPLACED]
                                   for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                              list("tTfF"))


def load_yaml(text: str, where: str) -> Any:
    """Parse YAML text with our float rules; errors name `where` and the line."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader derives from SafeLoader
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ConfigError(f"{where}{line}: not valid YAML ({problem})") from None


def parse_value(raw: str) -> Any:
    """A command-line value (`key=value`): YAML scalar rules with our floats; an empty value is ""."""
    if not raw.strip():
        return raw
    try:
        return yaml.load(raw, Loader=_Loader)  # noqa: S506
    except yaml.YAMLError:
        return raw  # not YAML (e.g. "a: b: c"): keep the text, the field's type decides
