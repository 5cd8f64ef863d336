"""Exceptions that carry enough context for a user to fix their input without a traceback."""

from __future__ import annotations


class XlptError(Exception):
    """Base class: the CLI prints these as one clear message and exits non-zero."""


class DataFormatError(XlptError):
    """A data file is malformed. Always names the file, the line (1-based) and the problem."""

    def __init__(self, path, line, problem: str):
        self.path = str(path)
        self.line = line
        self.problem = problem
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {problem}")


class ConfigError(XlptError):
    """A configuration value is invalid or an unknown name was requested."""


class RunFileError(XlptError):
    """A file of a run directory (config, checkpoint, summary, results) is missing, damaged or does not fit."""

    def __init__(self, path, problem: str):
        self.path = str(path)
        super().__init__(f"{self.path}: {problem}")


class TrainingDiverged(XlptError):
    """The loss or gradient norm became non-finite: the run stops and is marked `diverged`."""


class TrainingInterrupted(XlptError):
    """Training stopped on a signal after saving its resumable snapshot; rerunning resumes it."""
