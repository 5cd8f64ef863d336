"""Tasks as data: YAML definitions (spec.py, builtin/), their registry (registry.py) and the task families
that turn them into model inputs, heads, losses and metrics (families/)."""

from xlpt.tasks.registry import all_tasks, get_task, include_path, load_task_file, register
from xlpt.tasks.spec import TaskSpec, Template

__all__ = ["TaskSpec", "Template", "all_tasks", "get_task", "include_path", "load_task_file", "register"]
