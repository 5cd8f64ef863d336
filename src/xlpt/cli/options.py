"""Options several commands share, defined once."""

from __future__ import annotations

import argparse


def add_include_path(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--include-path", action="append", default=[], metavar="DIR",
                        help="folder of task YAML files to register (lm-evaluation-harness's --include_path); "
                        "repeatable. See `xlpt tasks --help` and README 'Extending xlpt'")


def apply_include_path(args) -> None:
    """Register the tasks of every --include-path folder (before any config naming them is read)."""
    from xlpt.tasks import include_path

    for folder in getattr(args, "include_path", None) or []:
        include_path(folder)
