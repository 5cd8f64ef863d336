"""What one cluster job asks the scheduler for: GPUs, CPU cores, memory and wall time, per run.

Precedence, later wins: built-in defaults (`default_resources`) <- the planner's numbers for the run
(`planned_resources`) <- what the command line asked for (`--gpus --cpus --mem --time`, which apply to
every run). A sweep groups its runs by the resulting numbers and submits one job array per group.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass

from xlpt.errors import ConfigError


@dataclass(frozen=True)
class JobResources:
    gpus: int
    """GPUs per job (one node)."""
    cpus: int
    """CPU cores per job (data loading, tokenization)."""
    mem_gb: float
    """Host memory per job."""
    timeout_min: int
    """Wall time; a job still running then is signalled, checkpointed and requeued (see jobs.RunJob)."""

    def describe(self) -> str:
        hours, minutes = divmod(self.timeout_min, 60)
        return f"{self.gpus} GPU, {self.cpus} CPU, {self.mem_gb:g} GB, {hours}h{minutes:02d}"


def default_resources(cfg) -> JobResources:
    """A generous single-GPU job (none for a run pinned to the CPU): right for XGLM up to 1.7B."""
    return JobResources(gpus=0 if cfg.model.device == "cpu" else 1, cpus=8, mem_gb=64, timeout_min=24 * 60)


# The planner: a function cfg -> mapping with some of gpus / cpus / mem_gb / timeout_min (a missing key or
# None means no opinion). Until xlpt.sweeps.estimate provides one, there is none; then this line becomes
# `from xlpt.sweeps.estimate import job_resources as PLANNER`.
PLANNER = None


def planned_resources(cfg) -> dict:
    """The planner's numbers for this run ({} without a planner)."""
    return {} if PLANNER is None else dict(PLANNER(cfg))


def job_resources(cfg, requested: dict | None = None) -> JobResources:
    """The resources of the run `cfg`: defaults <- planner <- `requested` (the command line; None = not given)."""
    values = asdict(default_resources(cfg))
    for layer in (planned_resources(cfg), requested or {}):
        values.update({key: value for key, value in layer.items() if key in values and value is not None})
    return JobResources(**values)


# ------------------------------------------------------------------------------- command-line values

def parse_time(text: str) -> int:
    """Slurm's time formats -> whole minutes: MIN, MIN:SEC, H:MIN:SEC, D-H, D-H:MIN, D-H:MIN:SEC."""
    match = re.fullmatch(r"(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?", text.strip())
    if not match:
        raise ConfigError(f"--time {text!r}: use minutes (90) or Slurm's [D-]H:MM:SS (1-12:00:00)")
    days, first, second, third = match.groups()
    if days is not None:  # D-H[:MIN[:SEC]]
        minutes = int(days) * 1440 + int(first) * 60 + int(second or 0) + int(third or 0) / 60
    elif third is not None:  # H:MIN:SEC
        minutes = int(first) * 60 + int(second) + int(third) / 60
    else:  # MIN[:SEC]
        minutes = int(first) + int(second or 0) / 60
    if minutes <= 0:
        raise ConfigError(f"--time {text!r} must be more than zero")
    return math.ceil(minutes)


def parse_mem(text: str) -> float:
    """GB, or a number with a unit: 64, 64G, 500M, 1T."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([MGT]B?)?", text.strip(), re.IGNORECASE)
    if not match or float(match.group(1)) <= 0:
        raise ConfigError(f"--mem {text!r}: use gigabytes (64) or a number with M, G or T (500M, 64G)")
    scale = {"M": 1 / 1024, "G": 1, "T": 1024}[(match.group(2) or "G")[0].upper()]
    return float(match.group(1)) * scale


def requested_resources(gpus: int | None, cpus: int | None, mem: str | None, time: str | None) -> dict:
    """The command line's resource options, checked; None for an option not given."""
    if gpus is not None and gpus < 0:
        raise ConfigError(f"--gpus {gpus} must be 0 or more")
    if cpus is not None and cpus < 1:
        raise ConfigError(f"--cpus {cpus} must be 1 or more")
    return {"gpus": gpus, "cpus": cpus, "mem_gb": None if mem is None else parse_mem(mem),
            "timeout_min": None if time is None else parse_time(time)}
