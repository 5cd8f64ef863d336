"""Where readers send malformed-input reports: raise at once (loading) or collect and go on (`xlpt data check`)."""

from __future__ import annotations

from pathlib import Path

from xlpt.errors import DataFormatError


class ProblemSink:
    """Receives `DataFormatError`s from readers.

    By default the first problem is raised, so loading never continues past bad input. With
    `collect=True` problems are stored and the reader skips the bad record, which lets
    `xlpt data check` report every problem of a file in one run.
    """

    def __init__(self, collect: bool = False):
        self.collect = collect
        self.errors: list[DataFormatError] = []

    def report(self, path: Path | str, line: int | None, problem: str) -> None:
        error = DataFormatError(path, line, problem)
        if not self.collect:
            raise error
        self.errors.append(error)
