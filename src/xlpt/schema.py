"""The building blocks every config section (and task definition) is made of: strict number types and the
project's one YAML reader.

Every YAML file a user writes (run configs, base configs, sweep files, task YAMLs, lab specs) is read here:
    read_yaml_file(path, what="YAML file")   # bytes -> UTF-8 check -> load_yaml; None for an empty file
    load_yaml(text, where)                   # text already in hand; `where` names it in errors
    parse_value(raw, key=None)               # one `key=value` command-line value
Each raises one-line ConfigErrors (`where:line: duplicate key 'x' (first at line N)`, `not valid YAML (...)`,
over 10 MB, alias bombs, not UTF-8), never a traceback. Never call yaml.safe_load on a user's file.

Traps this module closes:
- YAML 1.1 (PyYAML) reads `1e-5` as the *string* "1e-5" (it wants `1.0e-5`); our reader resolves every
  float spelling Python accepts (`1e-5`, `.5`, `5.`, `.inf`, `.nan`), so a learning rate written
  the way papers write it is a number.
- YAML 1.1 reads `yes`, `no`, `on` and `off` as booleans, so `train.dropout=off` or labels `[yes, no]`
  would silently become True/False; like YAML 1.2, only true/false are booleans here.
- YAML 1.1 reads `017` as octal 15, `1:30` as 90 and `2020-13-45` as a date (a crash); here they are 17
  and text, as in YAML 1.2. Duplicate keys (PyYAML keeps the last) are errors.
- pydantic's lax mode turns `true` into 1 and would accept it as a batch size; our integer and float
  types refuse booleans, fractional integers ("8.5") and, for floats, inf and nan.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
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
# The one reader for every YAML file a user writes (see the module docstring for the entry points).

MAX_YAML_BYTES = 10 * 1024 * 1024
"""Larger files are refused unread: no config, task or spec is near this; a bigger one is a mistake."""
MAX_ALIAS_EXPANSION = 100_000
"""Values that aliases may add once expanded: normal anchors add a few; a "billion laughs" bomb adds
billions, which every later step (validation, hashing, copying) would walk."""
_MAX_DEPTH = 200
"""Nesting deeper than this is no config; PyYAML's composer would hit Python's recursion limit."""


class _DuplicateKey(yaml.constructor.ConstructorError):
    """Two equal keys in one mapping (PyYAML would keep the last silently)."""


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core scalars, duplicate keys refused and bounded nesting."""

    def compose_node(self, parent, index):
        self._depth = getattr(self, "_depth", 0) + 1
        try:
            if self._depth > _MAX_DEPTH:
                raise yaml.composer.ComposerError(None, None, f"nested too deeply (more than {_MAX_DEPTH} levels)",
                                                  self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            _refuse_duplicates(self, node)
        return super().construct_mapping(node, deep)


def _refuse_duplicates(loader: _Loader, node: yaml.MappingNode) -> None:
    seen: dict = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue  # `<<: *base` merges; keys written next to it override merged ones by design
        key = loader.construct_object(key_node, deep=True)
        try:
            first = seen.setdefault(key, key_node.start_mark)
        except TypeError:
            continue  # unhashable key (`? [a, b]`): SafeConstructor reports it
        if first is not key_node.start_mark:
            raise _DuplicateKey(None, None, f"duplicate key {key!r} (first at line {first.line + 1})",
                                key_node.start_mark)


_FLOAT = re.compile(r"""^[-+]?(?:
      (?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    | \.[0-9_]+(?:[eE][-+]?[0-9]+)?
    | [0-9][0-9_]*[eE][-+]?[0-9]+
    | \.(?:inf|Inf|INF)
    | \.(?:nan|NaN|NAN)
)$""", re.X)
_INT = re.compile(r"^(?:[-+]?[0-9][0-9_]*|0o[0-7]+|0x[0-9a-fA-F]+)$")
# YAML 1.1 resolvers replaced or dropped: floats (1e-5 was text), booleans (yes/off), ints (017 was octal 15,
# 1:30 was 90), timestamps (2020-13-45 crashed; dates are text in YAML 1.2) and `=` (a tag nobody constructs).
_REPLACED = ("tag:yaml.org,2002:float", "tag:yaml.org,2002:bool", "tag:yaml.org,2002:int",
             "tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:value")
_Loader.yaml_implicit_resolvers = {key: [(tag, rx) for tag, rx in resolvers if tag not in _REPLACED]
                                   for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                              list("tTfF"))
_Loader.add_implicit_resolver("tag:yaml.org,2002:int", _INT, list("-+0123456789"))


def _construct_int(loader: _Loader, node) -> int:
    text = loader.construct_scalar(node).replace("_", "")
    if text[:2] in ("0o", "0x"):
        return int(text[2:], 8 if text[1] == "o" else 16)
    return int(text, 10)  # YAML 1.2: 017 is seventeen


_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def _expansion(root) -> int:
    """How many values the aliases under `root` add when expanded (a node reached twice counts twice).
    Raises ValueError for an alias inside the value it names (a cycle)."""
    sizes: dict[int, int] = {}
    active: set[int] = set()
    stack = [(root, False)]
    while stack:  # iterative post-order: sizes of children before their parent
        node, done = stack.pop()
        key = id(node)
        if done:
            children = node.value if isinstance(node, yaml.SequenceNode) else \
                [n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode) else []
            sizes[key] = 1 + sum(sizes[id(child)] for child in children)
            active.discard(key)
            continue
        if key in sizes:
            continue
        if key in active:
            raise ValueError("an alias refers to a value that contains it")
        active.add(key)
        stack.append((node, True))
        if isinstance(node, yaml.SequenceNode):
            stack.extend((child, False) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            stack.extend((child, False) for pair in node.value for child in pair)
    unique = len(sizes)
    return sizes[id(root)] - unique
def _load(text: str) -> Any:
    """Parse one document; yaml.YAMLError for bad YAML, ValueError (no line) for a refused structure."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        extra = _expansion(node)
        if extra > MAX_ALIAS_EXPANSION:
            raise ValueError(f"aliases expand to more than {MAX_ALIAS_EXPANSION:,} values ({extra:,}): "
                             "refused as an alias bomb; write the values out or use fewer aliases")
        return loader.construct_document(node)
    except RecursionError:
        raise ValueError("nested too deeply") from None
    finally:
        loader.dispose()


def load_yaml(text: str, where: str) -> Any:
    """Parse YAML text (YAML 1.2 numbers and booleans, unique keys, bounded size and alias expansion).

    Every problem is one ConfigError: `where:line: duplicate key 'x' (first at line N)`,
    `where:line: not valid YAML (...)`, `where: ... larger than 10 MB`, `where: aliases expand to ...`."""
    if len(text) > MAX_YAML_BYTES:
        raise ConfigError(f"{where}: {len(text) / 2**20:.1f} MB of YAML; files larger than "
                          f"{MAX_YAML_BYTES // 2**20} MB are refused")
    try:
        return _load(text)
    except _DuplicateKey as err:
        raise ConfigError(f"{where}:{err.problem_mark.line + 1}: {err.problem}") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{where}{_line(err)}: not valid YAML ({_problem(err)})") from None
    except ValueError as err:
        raise ConfigError(f"{where}: {err}") from None


def _line(err: yaml.YAMLError) -> str:
    mark = getattr(err, "problem_mark", None)
    return f":{mark.line + 1}" if mark is not None else ""


def _problem(err: yaml.YAMLError) -> str:
    problem = getattr(err, "problem", None) or str(err).splitlines()[0]
    return problem.replace("\n", " ")


def read_yaml_file(path: str | os.PathLike, what: str = "YAML file") -> Any:
    """Read a YAML file a user wrote (bytes, UTF-8 checked, then `load_yaml`). An empty file is None.

    Errors are one ConfigError naming the file: missing (`{what} PATH does not exist`), a folder,
    unreadable, over 10 MB, not UTF-8, or any of `load_yaml`'s."""
    path = Path(path)
    try:
        if path.is_dir():
            raise ConfigError(f"{path}: is a folder, not a {what}")
        size = path.stat().st_size
        if size > MAX_YAML_BYTES:
            raise ConfigError(f"{path}: {size / 2**20:.1f} MB; YAML files larger than "
                              f"{MAX_YAML_BYTES // 2**20} MB are refused")
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{what} {path} does not exist") from None
    except OSError as err:
        raise ConfigError(f"{path}: cannot read it ({err.strerror or err})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: not UTF-8 text (byte 0x{data[err.start]:02x} at offset {err.start}); "
                          "save the file as UTF-8") from None
    return load_yaml(text, str(path))


def parse_value(raw: str, key: str | None = None) -> Any:
    """A command-line value (`key=value`): YAML scalar rules with our floats; an empty value is "".

    Text that is not YAML (e.g. "a: b: c") stays text, the field's type decides; but a value opening a
    flow list or mapping (`[0.1`, `{a`) that does not parse is an error naming `key`: it was meant as one."""
    if not raw.strip():
        return raw
    name = f"{key}={raw}" if key else repr(raw)
    try:
        return _load(raw)
    except _DuplicateKey as err:
        raise ConfigError(f"{name}: {err.problem}") from None
    except yaml.YAMLError as err:
        if raw.lstrip()[:1] in ("[", "{"):
            kind = "list" if raw.lstrip()[0] == "[" else "mapping"
            raise ConfigError(f"{name}: not a valid flow {kind} ({_problem(err)}); close the brackets, or quote "
                              f"the value to mean text") from None
        return raw
    except ValueError as err:
        raise ConfigError(f"{name}: {err}") from None
