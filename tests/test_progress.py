"""Progress bars only on a terminal: a file or pipe never gets carriage-return redraws."""

from __future__ import annotations

import io
import os
import subprocess

from xlpt.progress import on_terminal, progress_bar


def test_a_bar_to_a_file_writes_nothing():
    stream = io.StringIO()
    for _ in progress_bar(range(50), desc="work", file=stream):
        pass
    assert stream.getvalue() == ""


def test_a_bar_to_a_terminal_is_drawn():
    primary, secondary = os.openpty()
    with os.fdopen(secondary, "w") as terminal:
        assert on_terminal(terminal)
        bar = progress_bar(range(3), desc="work", file=terminal)
        assert not bar.disable
        bar.close()
    os.close(primary)


def test_no_tqdm_bypasses_the_wrapper():
    """Every bar in xlpt goes through xlpt.progress (a direct tqdm( call would draw into log files)."""
    found = subprocess.run(["grep", "-rn", "--include=*.py", "tqdm(", "src/xlpt"], capture_output=True, text=True,
                           cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__)))).stdout
    assert [line for line in found.splitlines() if not line.startswith("src/xlpt/progress.py")] == []
