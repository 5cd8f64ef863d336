"""Evaluation batches of a small model on a CPU, run side by side instead of splitting each operator.

At the tiny test model's width (d 64) an operator is too small to share among threads: with 2 intra-op
threads its forward is barely faster than with one (torch profiler, XNLI en on 2 cores, 2 threads vs 1:
attention 1.8x faster, matrix products 1.08x, the element-wise operators slower, since waking the second
thread costs more than their work). Running whole batches on separate threads, every operator on the
thread that calls it, uses the cores instead: PyTorch releases the GIL inside operators, so only the
Python between them (about a fifth of a batch's time here) is serialized, which is also why more than
a few workers would only queue for the GIL. Each batch is computed entirely by one thread with
single-threaded kernels, so a batch's result does not depend on which worker ran it or on what ran
beside it (the tiny model's XNLI logits are bit-identical to one batch after another with 2 threads).

Wider models keep the usual intra-op threads: their matrix products are large enough to split, and
running batches side by side would multiply the memory of activations. The cut-off is conservative:
measured at d 64, applied up to 256.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable, Iterator, TypeVar

import torch

SMALL_WIDTH = 256
"""Hidden sizes up to this run batches side by side on a CPU (the tiny test model: 64)."""
MAX_WORKERS = 4
"""Batches at once at most, however many threads torch has: beyond this they would queue for the GIL."""

Batch, Result = TypeVar("Batch"), TypeVar("Result")


def batch_workers(hidden_size: int, device: torch.device) -> int:
    """How many batches to run at once: torch's intra-op thread count (at most MAX_WORKERS) for a small
    model on a CPU, else 1."""
    if device.type != "cpu" or hidden_size > SMALL_WIDTH:
        return 1
    return min(torch.get_num_threads(), MAX_WORKERS)


def map_batches(fn: Callable[[Batch], Result], batches: Iterable[Batch], workers: int) -> Iterator[Result]:
    """fn(batch) for every batch, in order. With workers > 1, on that many threads, each with one intra-op
    thread (torch's thread count is restored afterwards); grad mode, which is per thread, is the caller's."""
    if workers <= 1:
        yield from map(fn, batches)
        return
    grad = torch.is_grad_enabled()

    def run(batch: Batch) -> Result:
        with torch.set_grad_enabled(grad):
            return fn(batch)

    previous = torch.get_num_threads()
    pool = ThreadPoolExecutor(workers, initializer=torch.set_num_threads, initargs=(1,))
    try:
        yield from pool.map(run, batches)
    finally:  # also when the caller stops early (an error, Ctrl-C): batches not started are dropped
        pool.shutdown(cancel_futures=True)
        torch.set_num_threads(previous)  # the workers' setting is also torch's default for new threads
