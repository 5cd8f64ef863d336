"""Batches run side by side (evaluation/batch_workers.py): results in order, the caller's grad mode, one
intra-op thread per worker, torch's thread count restored, nothing left running when the caller stops."""

import threading
import time

import torch

from xlpt.evaluation.batch_workers import batch_workers, map_batches


def test_results_come_in_order_with_the_callers_grad_mode_and_one_thread_per_worker():
    seen = []

    def fn(batch):
        seen.append((threading.get_ident(), torch.is_grad_enabled(), torch.get_num_threads()))
        return batch * 10

    threads = torch.get_num_threads()
    with torch.no_grad():
        assert list(map_batches(fn, range(40), workers=2)) == [b * 10 for b in range(40)]
    assert {(grad, n) for _, grad, n in seen} == {(False, 1)}
    assert threading.get_ident() not in {ident for ident, _, _ in seen}
    assert torch.get_num_threads() == threads
    seen.clear()
    assert list(map_batches(fn, range(3), workers=1)) == [0, 10, 20]  # one worker: the caller's thread
    assert {ident for ident, _, _ in seen} == {threading.get_ident()}


def test_a_caller_that_stops_early_leaves_no_batch_running():
    started = []

    def fn(batch):
        started.append(batch)
        time.sleep(0.001)  # a batch takes a while: the caller stops long before the last one could start
        return batch

    before = set(threading.enumerate())
    results = map_batches(fn, range(10_000), workers=2)
    assert next(results) == 0
    results.close()
    count = len(started)
    assert count < 10_000 and set(threading.enumerate()) <= before  # the workers are gone ...
    assert len(started) == count  # ... and the batches not started were cancelled, not merely unread


def test_only_small_models_on_a_cpu_run_batches_side_by_side():
    cpu, threads = torch.device("cpu"), torch.get_num_threads()
    try:
        for n in (1, 2, 16):
            torch.set_num_threads(n)
            assert batch_workers(64, cpu) == min(n, 4) and batch_workers(1024, cpu) == 1
    finally:
        torch.set_num_threads(threads)
    assert batch_workers(64, torch.device("cuda")) == 1
