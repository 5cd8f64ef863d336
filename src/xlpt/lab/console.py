"""The lab's two outputs: a console that fits one screen and `lab.log` with every line.

The console gets one line per stage, one per finished study run, the notice once and the summary tables;
the training detail (every evaluation of every run, each run's notice) goes to `<lab>/lab.log`, one line
per message and never a carriage return (progress bars are terminal-only, xlpt.progress). Each study run
also keeps its own `run.log`.
"""

from __future__ import annotations

import sys
from pathlib import Path


class LabLog:
    """`detail(...)`: lab.log only; `say(...)`: lab.log and, unless `console` is False, stdout."""

    def __init__(self, console: bool = True):
        self.console = console
        self.stream = sys.stdout  # the console, even while the study's echo is redirected here (as_file)
        self.path: Path | None = None
        self._pending: list[str] = []

    def open(self, path: Path) -> None:
        """Start writing to `path` (appended: a rerun adds to the same log); earlier lines are flushed."""
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            handle.writelines(line + "\n" for line in self._pending)
        self._pending = []

    def _write(self, text: str) -> None:
        lines = [line for line in text.replace("\r", "\n").split("\n") if line.strip()]
        if self.path is None:
            self._pending += lines
            return
        with self.path.open("a", encoding="utf-8") as handle:
            handle.writelines(line + "\n" for line in lines)

    def detail(self, *parts, **_) -> None:
        self._write(" ".join(str(part) for part in parts))

    def say(self, *parts, flush: bool = False, **_) -> None:
        text = " ".join(str(part) for part in parts)
        self._write(text)
        if self.console:
            print(text, file=self.stream, flush=flush)

    def sweep_line(self, *parts, **kwargs) -> None:
        """The sweep's own lines: a run starting goes to the log only, its outcome to the console too."""
        text = " ".join(str(part) for part in parts)
        (self.detail if text.rstrip().endswith(" starting") else self.say)(text, **kwargs)

    def as_file(self) -> "_LogFile":
        """A write-only text file whose lines go to lab.log (for contextlib.redirect_stdout)."""
        return _LogFile(self)


class _LogFile:
    def __init__(self, log: LabLog):
        self.log, self.buffer = log, ""

    def write(self, text: str) -> int:
        self.buffer += text
        *lines, self.buffer = self.buffer.replace("\r", "\n").split("\n")
        for line in lines:
            self.log.detail(line)
        return len(text)

    def flush(self) -> None:
        if self.buffer:
            self.log.detail(self.buffer)
            self.buffer = ""

    def isatty(self) -> bool:
        return False
