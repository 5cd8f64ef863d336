"""More than one process: data-parallel and sharded training, sharded evaluation (README "Scaling up").

xlpt uses PyTorch's own engine: `torchrun` (torch.distributed.run) starts N copies of an ordinary xlpt
command, and each copy joins the process group here. Nothing else is needed; the same config trains the
same way on 1 or N devices.

    context.py   which process this is (rank, world size, device) and the few collectives xlpt uses
    engine.py    how the model trains: alone, replicated (DDP) or sharded (FSDP2), with loss averaging
                 over the real number of examples/words of each global micro-batch
    snapshot.py  resumable snapshots of a sharded run (torch.distributed.checkpoint) and of the others
    launcher_env.py  rank and world size as the launcher set them, read without importing torch
    devices.py   GPU settings (TF32) and host-to-device copies (pinned memory, non-blocking)

Only rank 0 writes the run's files (config, logs, summaries, checkpoints, results); every rank reads.
"""

from xlpt.distributed.launcher_env import launched_rank, launched_world_size

__all__ = ["Context", "finish", "launched_rank", "launched_world_size", "setup"]


def __getattr__(name):
    # `Context` and `setup` need torch; the CLI imports this package before it validates a config, and a
    # bad value must be reported before torch is imported (tests/hostile/test_cli_and_runs.py).
    if name in ("Context", "finish", "setup"):
        from xlpt.distributed import context

        return getattr(context, name)
    raise AttributeError(f"module 'xlpt.distributed' has no attribute {name!r}")
