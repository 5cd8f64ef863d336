"""The `xlpt` command. Each command group lives in its own module exposing `register(subparsers)`.

`register` adds an argparse sub-parser and sets `func=handler(args) -> int` on it. Handlers import
heavy libraries (torch, transformers) only when they need them, so a bad option, config value or path
is reported in well under a second. Errors derived from `XlptError` are printed as one line (no
traceback) and exit with status 2; so are file-system errors (disk full, permission denied).
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys

from xlpt import __version__
from xlpt.errors import XlptError

# One line per command module (xlpt.cli.<name>), in the order they appear in --help.
COMMAND_MODULES = [
    "data",
    "model",
    "train",
    "predict",
    "export",
    "sweep",
    "demo",
    "tokenization",
    "score",
    "report",
    "audit",
    "tasks",
    "lab",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="xlpt",
        description="Zero-shot cross-lingual transfer with decoder-only multilingual LMs: "
        "soft prompt tuning vs fine-tuning on XNLI, PAWS-X, UDPOS, PAN-X, SIB-200 and your own tasks.",
    )
    parser.add_argument("--version", action=_PrintVersion, nargs=0,
                        help="print xlpt's version, its source commit and the versions of torch, transformers "
                        "and peft, then exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(f"xlpt.cli.{name}").register(sub)
    return parser


class _PrintVersion(argparse.Action):
    """argparse's own version action wraps the line at the terminal's width; a bug report wants it whole."""

    def __call__(self, parser, namespace, values, option_string=None):
        print(version_line())
        parser.exit()


def version_line() -> str:
    """What a bug report needs: xlpt's version and commit, and the libraries numbers depend on (read from
    package metadata, so --version costs no torch import)."""
    from xlpt.provenance import git_commit, package_versions

    versions = package_versions()
    commit = git_commit()
    libraries = ", ".join(f"{name} {versions.get(name) or 'not installed'}" for name in ("torch", "transformers", "peft"))
    return f"xlpt {versions.get('xlpt') or __version__}{f' (commit {commit})' if commit else ''}; {libraries}"


OVERRIDE = re.compile(r"^(model|data|method|train)\.[A-Za-z_][A-Za-z0-9_.]*=")


def parse(parser: argparse.ArgumentParser, argv: list[str] | None):
    """Parse, letting `section.key=value` overrides stand anywhere among the options: they are taken out
    first (argparse would read one after an option as unrecognized) and handed to the command."""
    argv = sys.argv[1:] if argv is None else list(argv)
    overrides = [token for token in argv if OVERRIDE.match(token)]
    args = parser.parse_args([token for token in argv if not OVERRIDE.match(token)])
    if overrides:
        if not hasattr(args, "overrides"):
            parser.error(f"`xlpt {args.command}` takes no section.key=value overrides (got {overrides[0]})")
        args.overrides = overrides + list(args.overrides or [])
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(build_parser(), argv)
    _library_bars_on_terminal_only()
    from xlpt.errors import TrainingInterrupted

    try:
        code = int(args.func(args) or 0)
        if code == 0:
            _leave_process_group()
        return code
    except TrainingInterrupted as err:
        print(f"xlpt: {err}", file=sys.stderr)
        return 130
    except XlptError as err:
        print(f"xlpt: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # `xlpt ... | head`: the reader went away; not an error of ours. Silence the flush at exit too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as err:  # disk full, read-only folder, permission denied: one line, no traceback
        where = f"{err.filename}: " if getattr(err, "filename", None) else ""
        print(f"xlpt: error: {where}{err.strerror or err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("xlpt: interrupted", file=sys.stderr)
        return 130


def _library_bars_on_terminal_only() -> None:
    """Hugging Face's own bars (downloads, "Writing model shards") follow xlpt's rule (xlpt.progress): none in
    a pipe or a log file. The variable is read when huggingface_hub is imported, which has not happened yet."""
    from xlpt.progress import on_terminal

    if not on_terminal():
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def _leave_process_group() -> None:
    """Under torchrun, every process leaves the group together once its command is done
    (xlpt.distributed.context.finish); a command that never joined one has not imported it."""
    context = sys.modules.get("xlpt.distributed.context")
    if context is not None:
        context.finish()


if __name__ == "__main__":
    sys.exit(main())
