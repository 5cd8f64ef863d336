"""The `xlpt` command. Each command group lives in its own module exposing `register(subparsers)`.

`register` adds an argparse sub-parser and sets `func=handler(args) -> int` on it. Errors derived
from `XlptError` are printed as one line (no traceback) and exit with status 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from xlpt.errors import XlptError

# One line per command module (xlpt.cli.<name>), in the order they appear in --help.
COMMAND_MODULES = [
    "data",
    "model",
    "train",
    "sweep",
    "demo",
    "tokenization",
    "score",
    "report",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="xlpt",
        description="Zero-shot cross-lingual transfer with decoder-only multilingual LMs: "
        "soft prompt tuning vs fine-tuning on XNLI, PAWS-X, UDPOS and PAN-X.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(f"xlpt.cli.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except XlptError as err:
        print(f"xlpt: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("xlpt: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
