"""Run several train + evaluate jobs in one torchrun process group (one launch instead of one per job).

    python -m torch.distributed.run --standalone --nproc-per-node 2 tests/training/distributed_jobs.py JOBS.json

JOBS.json: [{"overrides": ["section.key=value", ...], "out": "run dir"}, ...]. Each job goes through the
library's own entry points (train_run, then evaluate_run), exactly as `xlpt train --evaluate` calls them.
"""

import json
import sys

from xlpt.config import load_config
from xlpt.distributed import finish
from xlpt.evaluation.evaluate import evaluate_run
from xlpt.training.run import train_run


def main(path: str) -> None:
    for job in json.loads(open(path, encoding="utf-8").read()):
        cfg = load_config(None, job["overrides"])
        train_run(cfg, job["out"], progress=False, echo=False)
        evaluate_run(job["out"], progress=False, echo=False)
    finish()  # as the xlpt command does: every process leaves the group together


if __name__ == "__main__":
    main(sys.argv[1])
