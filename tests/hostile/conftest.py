"""Helpers for the hostile-input suite: run the real CLI and capture its one-line errors.

The suite (issue #8), counted as collected: here 73 cases (test_config_values.py 53: hostile config values
and overrides; test_cli_and_runs.py 20: bad paths, partial evaluations, damaged run files, full disk,
read-only folders, pipes, kills, divergence); tests/data/formats 193 reader cases (every corruption kind of
every file format, exact line numbers); tests/data/test_contract.py and test_quality.py 30 (files used or
ignored with a reason, labeledness from the whole file, a broken language fails the command). Each asserts
one clear line or an exact result: never a traceback, never a silently changed number."""

from __future__ import annotations

import subprocess
import sys

import pytest

from xlpt.cli import main


class CliResult:
    def __init__(self, code: int, out: str, err: str):
        self.code, self.out, self.err = code, out, err

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.startswith("xlpt: error:")]


@pytest.fixture
def xlpt(capsys):
    """xlpt(*argv) -> CliResult, in this process (fast)."""

    def run(*argv: str) -> CliResult:
        code = main([str(a) for a in argv])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


@pytest.fixture
def xlpt_process():
    """xlpt_process(*argv) -> CliResult from a fresh Python process (imports, exit codes, tracebacks)."""

    def run(*argv: str, stdin: str | None = None) -> CliResult:
        proc = subprocess.run([sys.executable, "-m", "xlpt", *map(str, argv)], capture_output=True, text=True,
                              input=stdin, timeout=600)
        return CliResult(proc.returncode, proc.stdout, proc.stderr)

    return run


def assert_one_line_error(result: CliResult, *fragments: str) -> None:
    """Exit status 2, exactly one error line containing every fragment, and no traceback."""
    assert result.code == 2, (result.code, result.err)
    assert "Traceback" not in result.err, result.err
    assert len(result.error_lines) == 1, result.err
    for fragment in fragments:
        assert fragment in result.error_lines[0], (fragment, result.error_lines[0])


@pytest.fixture
def one_line_error():
    return assert_one_line_error
