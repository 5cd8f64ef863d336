"""Task definitions: label sets, language lists, templates and label words (as data)."""

from xlpt.tasks.spec import TASKS, TaskSpec, get_task

__all__ = ["TASKS", "TaskSpec", "get_task"]
