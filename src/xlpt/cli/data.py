"""`xlpt data stats|check`: what a data folder holds, and whether every file in it is well-formed."""

from __future__ import annotations

import argparse
import json
import os

from xlpt.cli.options import add_include_path, apply_include_path
from xlpt.errors import ConfigError

DATA_DIR_ENV = "XLPT_DATA_DIR"


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "data",
        help="inspect and validate data folders",
        description="Inspect (stats) and validate (check) the task data under a folder in the shared layout "
        "<task>/<lang>/<source>/<file>, XTREME's download/<task>/<split>-<lang>.tsv, or a task's own data.path "
        "pattern. Both account for every file under the task folder: used (for which language and split), "
        "ignored (with the reason), or a problem that makes its language unusable.",
    )
    commands = parser.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
    commands.required = True

    stats = commands.add_parser(
        "stats",
        help="per language and split: examples, words, labels, quirk counts, files",
        description="Load every split found for a task and print, per language and split: examples "
        "(sentences for tagging), words (whitespace words of the text(s) for classification; tokens for "
        "tagging), label distribution, reconstructed/duplicate/repaired counts, whether it is labeled, and its "
        "files; then the rules applied, the files ignored and any problem. Exit status 1 if a file breaks the "
        "data contract or cannot be read (the other languages are still listed).",
    )
    _add_common(stats)
    stats.add_argument("--json", action="store_true",
                       help='print exactly one JSON object {"task": T, "languages": {LANG: {SPLIT: {...}}}, '
                       '"unusable": {...}, "errors": {...}, "data": {used, ignored, rules, problems}, "ok": bool} '
                       "instead of the table")
    stats.add_argument("--lang", metavar="L1,L2",
                       help="only these comma-separated languages (default: every language found)")
    stats.add_argument("--repair-iob", action="store_true",
                       help="turn orphan I-X tags into B-X before counting (the repairs are counted)")
    stats.set_defaults(func=run_stats)

    check = commands.add_parser(
        "check",
        help="validate every file of a task; print each problem as file:line: reason",
        description="Read every recognised file of a task (also the ones not picked for loading) and report "
        "every problem as file:line: reason, then the rules applied and the files ignored. Exit status 1 if "
        "any problem was found, 0 with a one-line OK summary otherwise. Then the protocol of a default run "
        "(training on the task's source language): the training rows and their labels, and, for tasks whose "
        "rows are parallel across languages, how many dev/test rows of each language translate training or "
        "checkpoint-selection rows (left out / flagged by evaluation).",
    )
    _add_common(check)
    check.set_defaults(func=run_check)


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--task", required=True, help="task name: xnli, pawsx, udpos, panx, sib200 or yours")
    add_include_path(parser)
    parser.add_argument("--data-dir", default=os.environ.get(DATA_DIR_ENV),
                        help=f"data folder (shared layout, or an XTREME download/ folder or its parent); "
                        f"default: ${DATA_DIR_ENV}")
    parser.add_argument("--no-progress", action="store_true",
                        help="never show the progress bar (it is shown on stderr only when that is a terminal)")


def _data_dir(args) -> str:
    apply_include_path(args)
    if not args.data_dir:
        raise ConfigError(f"no data folder given: pass --data-dir or set ${DATA_DIR_ENV}")
    return args.data_dir


def _task(args):
    """The command's task, resolved once (after --include-path registered the user's tasks)."""
    from xlpt.tasks import get_task

    apply_include_path(args)
    return get_task(args.task)


def _progress(args) -> bool | None:
    return False if args.no_progress else None


def run_stats(args) -> int:
    from xlpt.data.stats import format_table, task_stats

    langs = [lang.strip() for lang in args.lang.split(",") if lang.strip()] if args.lang else None
    data_dir = _data_dir(args)
    stats = task_stats(_task(args), data_dir, langs=langs, repair_iob=args.repair_iob, progress=_progress(args))
    print(json.dumps(stats, ensure_ascii=False) if args.json else format_table(stats))
    return 0 if stats["ok"] else 1


def _protocol_preview(task, report) -> list[str]:
    """The training rows and parallel overlap of a default run on this folder (data/preview.py)."""
    from xlpt.config.loading import config_from_dict
    from xlpt.data.preview import protocol_lines

    cfg = config_from_dict({"data": {"task": task.name, "data_dir": str(report.contract.root)}})
    return protocol_lines(cfg, task, splits=("test", "dev"))


def run_check(args) -> int:
    from xlpt.data.check import check_task

    data_dir = _data_dir(args)
    task = _task(args)
    report = check_task(task, data_dir, progress=_progress(args))
    for problem in report.problems:
        print(problem)
    for line in report.contract.summary_lines()[1:]:
        if line.startswith(("rule: ", "ignored: ", "unusable: ")):
            print(line)
    if report.ok:
        for line in _protocol_preview(task, report):
            print(line)
        print(report.summary())
        return 0
    print(f"{report.task}: {len(report.problems)} problem(s) in {report.files} files checked")
    return 1
