"""Progress bars that appear only on a terminal.

A bar redraws its line with carriage returns; in a log file or a pipe every redraw becomes text (a demo
wrote 800 lines of them) and nested bars interleave. So every bar in xlpt goes through `progress_bar`,
which is tqdm shown only when the caller wants it and the bar's stream (stderr by default) is a terminal.
"""

from __future__ import annotations

import sys

from tqdm.auto import tqdm


def on_terminal(stream=None) -> bool:
    """Whether `stream` (default: stderr) is an interactive terminal."""
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


def progress_bar(iterable=None, *, disable: bool | None = False, **kwargs) -> tqdm:
    """tqdm with the same arguments; `disable` True (or None, tqdm's "decide for me") or a stream that is
    not a terminal turn it off, so redirected output never gets a bar."""
    shown = not disable and on_terminal(kwargs.get("file"))
    return tqdm(iterable, disable=not shown, **kwargs)
