"""`xlpt tasks`: the registered tasks (built in and from --include-path), their families and templates."""

from __future__ import annotations

import json

from xlpt.cli.options import add_include_path, apply_include_path


def register(sub) -> None:
    parser = sub.add_parser(
        "tasks", help="list the tasks xlpt knows (built-in and from --include-path)",
        description="List every registered task: its family, labels, metric, templates and where it is defined. "
        "A task is a YAML file (see README 'Extending xlpt'); add yours with --include-path DIR.")
    add_include_path(parser)
    parser.add_argument("--json", action="store_true", help="print the full definitions as JSON")
    parser.set_defaults(func=_tasks)


def _tasks(args) -> int:
    from xlpt.tasks import all_tasks

    apply_include_path(args)
    tasks = all_tasks()
    if args.json:
        print(json.dumps({name: t.model_dump(mode="json", by_alias=True) | {"source": t.source}
                          for name, t in tasks.items()}, indent=2, ensure_ascii=False))
        return 0
    for name, task in sorted(tasks.items()):
        templates = ", ".join(task.templates) or "-"
        print(f"{name:12} {task.family:20} {task.metric:9} {len(task.labels):3} labels  templates: {templates:18} "
              f"{task.source}")
    return 0
