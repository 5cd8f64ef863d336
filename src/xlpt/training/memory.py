"""Peak tensor memory on any device, for checking the planner where there is no allocator statistic.

On a GPU, `torch.cuda.max_memory_allocated` says how many bytes of tensors were alive at the worst moment.
A CPU has no such counter (the process's resident size also counts Python, libraries and the allocator's
own slack), so `TensorMeter` counts it itself: while active, it sees every tensor an operation creates
(a TorchDispatchMode), adds its storage's bytes once, and subtracts them when the storage is freed. Tensors
that existed before (weights, buffers) are passed in. Backward runs on the calling thread for CPU tensors, so
gradients and autograd's saved tensors are seen too. A measuring instrument: slow, for tests and benchmarks.
"""

from __future__ import annotations

import weakref

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves


class TensorMeter(TorchDispatchMode):
    """`with TensorMeter(*model.parameters(), *model.buffers()) as meter: ...` then `meter.peak` (bytes)."""

    def __init__(self, *existing: torch.Tensor):
        super().__init__()
        self._live: dict[int, int] = {}
        self.current = 0
        self.peak = 0
        for tensor in existing:
            self._track(tensor)

    def _track(self, tensor) -> None:
        if not isinstance(tensor, torch.Tensor) or tensor.device.type == "meta":
            return
        storage = tensor.untyped_storage()  # one Python object per storage, shared by all its views
        key = id(storage)
        if key in self._live:
            return
        self._live[key] = storage.nbytes()
        self.current += self._live[key]
        self.peak = max(self.peak, self.current)
        weakref.finalize(storage, self._free, key)

    def _free(self, key: int) -> None:
        self.current -= self._live.pop(key, 0)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for tensor in tree_leaves(out):
            self._track(tensor)
        return out


def saved_for_backward_bytes(forward) -> int:
    """Bytes of the tensors autograd keeps for the backward pass while `forward()` runs (the activation
    memory of a step, e.g. B x H x S^2 attention weights under eager attention). A count, not a timing."""
    total = 0

    def pack(tensor):
        nonlocal total
        total += tensor.numel() * tensor.element_size()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        forward()
    return total
