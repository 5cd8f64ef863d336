"""What the launcher (torchrun, Slurm via torchrun) told this process, read without importing torch.

The CLI asks these before it validates a config, so that a bad value is reported in well under a second
and only once (by rank 0) when N copies of a command start together.
"""

from __future__ import annotations

import os


def launched_rank() -> int:
    """This process's rank as the launcher set it (0 when not launched): usable before `setup`, e.g. to
    print a message once instead of N times."""
    try:
        return int(os.environ.get("RANK", "0"))
    except ValueError:
        return 0


def launched_world_size() -> int:
    """How many processes the launcher started (1 when not launched)."""
    try:
        return max(1, int(os.environ.get("WORLD_SIZE", "1")))
    except ValueError:
        return 1
