"""Which tasks exist: the built-in YAML files (tasks/builtin/) plus folders added with `--include-path`.

    get_task("xnli")                      # a TaskSpec
    include_path("my_tasks/")             # registers every *.yaml under the folder (recursively)

Task names are unique: a user task may not silently replace a built-in or another user task (the
second definition is an error naming both files). Run directories keep a copy of their task's
definition (task.yaml), so a run can be evaluated later without the folder it came from.
"""

from __future__ import annotations

import difflib
from importlib import resources
from pathlib import Path

from pydantic import ValidationError

from xlpt.schema import load_yaml, read_yaml_file
from xlpt.validation_errors import describe_validation_error
from xlpt.errors import ConfigError
from xlpt.tasks.spec import TaskSpec

_TASKS: dict[str, TaskSpec] = {}
_BUILTIN_LOADED = False
BUILTIN_SOURCE = "xlpt/tasks/builtin/"


def _builtin() -> None:
    global _BUILTIN_LOADED
    if _BUILTIN_LOADED:
        return
    _BUILTIN_LOADED = True
    folder = resources.files("xlpt.tasks").joinpath("builtin")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            register(parse_task(entry.read_text(encoding="utf-8"), f"{BUILTIN_SOURCE}{entry.name}"))


def parse_task(text: str, source: str) -> TaskSpec:
    """A TaskSpec from YAML text; every problem is one ConfigError naming `source` and the key."""
    return task_from_tree(load_yaml(text, source), source)


def task_from_tree(tree, source: str) -> TaskSpec:
    """A TaskSpec from a parsed YAML tree (see parse_task)."""
    if not isinstance(tree, dict):
        raise ConfigError(f"{source}: a task file must be a YAML mapping (name, family, labels, ...)")
    try:
        return TaskSpec.model_validate({**tree, "source": source})
    except ValidationError as err:
        raise ConfigError(f"{source}: {describe_validation_error(err, model=TaskSpec)}") from None


def load_task_file(path: str | Path) -> TaskSpec:
    """A task YAML file through the project's one YAML reader (UTF-8, size, duplicate keys, aliases)."""
    return task_from_tree(read_yaml_file(path, "task file"), str(path))


def register(spec: TaskSpec) -> TaskSpec:
    """Add a task; the same definition twice is fine, two different ones under one name are an error."""
    known = _TASKS.get(spec.name)
    if known is not None and known.definition_hash() != spec.definition_hash():
        raise ConfigError(f"task {spec.name!r} is defined twice, differently: {known.source} and {spec.source}; "
                          "rename one")
    _TASKS.setdefault(spec.name, spec)
    return _TASKS[spec.name]


def include_path(folder: str | Path) -> list[TaskSpec]:
    """Register every task YAML under `folder` (lm-evaluation-harness's --include_path). Returns them."""
    _builtin()
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise ConfigError(f"--include-path {folder}: not a folder")
    files = sorted(p for p in root.rglob("*.yaml") if p.is_file()) + sorted(p for p in root.rglob("*.yml") if p.is_file())
    if not files:
        raise ConfigError(f"--include-path {folder}: no task YAML files (*.yaml) in it")
    return [register(load_task_file(path)) for path in files]


def get_task(name: str) -> TaskSpec:
    """Look a task up by name; unknown names fail with the valid list and a suggestion."""
    _builtin()
    key = str(name).strip().lower().replace("-", "")
    if key in _TASKS:
        return _TASKS[key]
    close = difflib.get_close_matches(key, _TASKS, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise ConfigError(f"unknown task {name!r}; valid tasks: {', '.join(sorted(_TASKS))} (add your own with "
                      f"--include-path DIR).{hint}")


def all_tasks() -> dict[str, TaskSpec]:
    _builtin()
    return dict(_TASKS)


def builtin_tasks() -> dict[str, TaskSpec]:
    """Only the tasks shipped in tasks/builtin/, whatever else this process registered."""
    _builtin()
    return {name: spec for name, spec in _TASKS.items() if spec.source.startswith(BUILTIN_SOURCE)}
