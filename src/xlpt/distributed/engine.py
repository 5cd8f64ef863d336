"""How the model trains on this process: alone, replicated (DDP) or sharded (FSDP2).

The global batch. Every process computes the same order of micro-batches (training.batching, seeded per
epoch). A micro-batch of train.batch_size examples is split over the N processes (process r takes
examples r, r+N, r+2N, ... of it); each process computes the *summed* loss of its examples and the number
of units the task averages over (examples for classification, labeled words for tagging), and

    micro-batch loss = (sum over processes of summed losses) / (sum over processes of units)

which is exactly the mean one process computes over the whole micro-batch. Gradient accumulation then
divides by train.grad_accum as in one process. So N processes follow one process's optimisation with the
same config: same global batch, same steps, same learning-rate schedule, float rounding aside. A process
whose share of a short micro-batch is empty computes one example with weight 0, so that every process
joins every collective.

Gradients. Replicated (train.sharding=none, N > 1): torch DistributedDataParallel averages gradients over
the processes, so each process backpropagates its summed loss / total units x N. Sharded (full): FSDP2
`fully_shard` on every decoder layer and then on the task model; each process keeps 1/N of the weights,
gradients and AdamW state, and a layer's weights are gathered only while it computes. Reduce-scatter also
averages, same scaling. With bf16 autocast the sharded model computes in bf16 from float32 master weights
(MixedPrecisionPolicy, gradients reduced in float32). One process: the loop's own code path, unchanged.

Also here, because they change the model before it is wrapped: activation checkpointing (each decoder
layer recomputed in the backward pass; torch.utils.checkpoint, non-reentrant). model.compile then compiles
per layer (models/build.py), the unit that is sharded and recomputed.
"""

from __future__ import annotations

import functools
from contextlib import nullcontext

import torch
from torch import nn

from xlpt import checkpoints
from xlpt.distributed.context import Context
from xlpt.errors import ConfigError


def checkpoint_activations(layers: list[nn.Module]) -> None:
    """Recompute each layer in the backward pass instead of keeping its activations.

    transformers' own switch (gradient_checkpointing_enable) acts only in train mode, so it would be silently
    off with train.dropout=off (the LM then runs in eval mode), and it drops caches, i.e. a prefix-tuning
    prefix; this wraps the layer's forward whenever gradients are recorded. The non-reentrant checkpoint
    restores the RNG state, so dropout masks in the recomputation are the ones of the forward pass."""
    for layer in layers:
        layer.forward = _checkpointed(layer.forward)


def _checkpointed(forward):
    @functools.wraps(forward)
    def run(*args, **kwargs):
        if not torch.is_grad_enabled():
            return forward(*args, **kwargs)
        return torch.utils.checkpoint.checkpoint(forward, *args, use_reentrant=False, **kwargs)

    return run


class Engine:
    """Wraps the task model for this process and runs its micro-batches (see the module docstring).

    `model` stays the task model to evaluate and to read trainable weights from; `train_model` is what the
    training forward calls (the DDP wrapper, or the model itself)."""

    def __init__(self, model: nn.Module, cfg, context: Context, compute_dtype: torch.dtype | None = None):
        self.model, self.context = model, context
        self.sharded = cfg.sharding == "full"
        if self.sharded and not context.distributed:
            raise ConfigError("train.sharding=full shards the model over the processes torchrun starts (2 or more): "
                              "torchrun --nproc-per-node N -m xlpt train ... (README: Scaling up)")
        if cfg.gradient_checkpointing or self.sharded:
            layers = model.backbone.layers()
            if cfg.gradient_checkpointing:
                if getattr(model, "prefix", None) is not None:
                    raise ConfigError("train.gradient_checkpointing does not work with prefix_tuning: the prefix "
                                      "reaches every layer as a cache that a recomputed layer would extend twice")
                checkpoint_activations(layers)
                # the shared `</s> + prompt` states reach the layers as a cache, which a recomputed layer
                # would extend a second time (models/task_model.py): not shared under checkpointing
                model.share_prompt_in_training = False
        self.train_model = model
        if self.sharded:
            model.reuse_shared_prefix = False  # computed outside the sharded forward (models/task_model.py)
            _shard(model, layers, context, compute_dtype)
        elif context.distributed:
            self.train_model = _replicate(model, context)

    def describe(self) -> str:
        if self.sharded:
            return f"sharded over {self.context.world_size} processes (FSDP2)"
        if self.context.distributed:
            return f"replicated on {self.context.world_size} processes (DDP)"
        return "one process"

    # ------------------------------------------------------------------------------------ micro-batches
    def share(self, indices: list[int]) -> tuple[list[int], float]:
        """This process's examples of a global micro-batch, and their weight (0 for a stand-in example)."""
        mine = indices[self.context.rank :: self.context.world_size]
        return (mine, 1.0) if mine else (indices[:1], 0.0)

    def accumulating(self, sync: bool):
        """Context for one micro-batch's forward and backward: DDP synchronises gradients only on the last
        micro-batch of an optimizer step. (The sharded model reduce-scatters every micro-batch: that keeps its
        gradients sharded between micro-batches.)"""
        if sync or self.train_model is self.model:
            return nullcontext()
        return self.train_model.no_sync()

    def forward(self, objective, indices: list[int], device: torch.device, precision) -> tuple[torch.Tensor, int, torch.Tensor]:
        """(the micro-batch's mean loss, its real tokens, the tensor to backpropagate) for a global micro-batch.

        The mean loss and the token count are those of the whole micro-batch on every process, so every process
        takes the same decisions (a non-finite loss stops all of them at the same step)."""
        if not self.context.distributed:
            batch = objective.batch(indices, device)
            with precision:
                loss, n_tokens = objective.loss(self.train_model, batch)
            return loss.detach(), n_tokens, loss
        if not hasattr(objective, "loss_terms"):
            raise ConfigError(f"{type(objective).__name__} has no loss_terms(model, batch) -> (summed loss, units, "
                              "tokens); training on several processes needs it")
        mine, weight = self.share(indices)
        batch = objective.batch(mine, device)
        with precision:
            total, units, tokens = objective.loss_terms(self.train_model, batch)
        loss_sum, all_units, all_tokens = self.context.all_sum([float(total.detach()) * weight, units * weight,
                                                                tokens * weight])
        mean = loss_sum / all_units if all_units else float("nan")  # no units at all: as one process, not finite
        scaled = total * (weight * self.context.world_size / max(all_units, 1.0))
        return torch.tensor(mean), int(all_tokens), scaled

    @staticmethod
    def backward(loss: torch.Tensor, grad_accum: int) -> None:
        (loss / grad_accum).backward()

    def clip_gradients(self, params: list[torch.Tensor], max_norm: float) -> torch.Tensor:
        """Clip the global gradient norm; returns the norm before clipping (the same on every process)."""
        if not self.sharded:
            return torch.nn.utils.clip_grad_norm_(params, max_norm)
        from torch.distributed.tensor import DTensor

        norm = torch.nn.utils.get_total_norm([p.grad for p in params if p.grad is not None])
        if isinstance(norm, DTensor):  # each process holds a part of the norm: combine them
            norm = norm.full_tensor()
        torch.nn.utils.clip_grads_with_norm_(params, max_norm, norm)
        return norm

    # ------------------------------------------------------------------------------------ weights
    def trainable_state(self) -> dict[str, torch.Tensor] | None:
        """Whole (unsharded) CPU copies of the trainable parameters on rank 0, None on the others.
        Collective when sharded: every process must call it."""
        if not self.sharded:
            return checkpoints.trainable_state(self.model) if self.context.is_main else None
        self.reshard()
        state = {}
        for name, param in self.model.named_parameters():
            if param.requires_grad:
                full = param.detach().full_tensor()  # all-gather: every process takes part
                if self.context.is_main:
                    state[name] = full.cpu().clone()
        return state if self.context.is_main else None

    def sharded_trainables(self) -> dict[str, torch.Tensor]:
        """This process's shards of the trainable parameters (for torch.distributed.checkpoint)."""
        self.reshard()
        return {name: param for name, param in self.model.named_parameters() if param.requires_grad}

    def reshard(self) -> None:
        """Back to sharded parameters everywhere. After a forward without backward (a dev evaluation) the root
        unit keeps its gathered parameters, and they would read as whole tensors."""
        from torch.distributed.fsdp import FSDPModule

        for module in self.model.modules():
            if isinstance(module, FSDPModule):
                module.reshard()


def _replicate(model: nn.Module, context: Context) -> nn.Module:
    """DDP. Its constructor broadcasts rank 0's weights, so every replica starts the same. Buffers (positions,
    label-word ids) are constants, the same everywhere: they are not synchronised at every forward."""
    import inspect

    from torch.nn.parallel import DistributedDataParallel

    no_buffer_sync = ({"forward_sync_buffers": False}
                      if "forward_sync_buffers" in inspect.signature(DistributedDataParallel.__init__).parameters
                      else {"broadcast_buffers": False})  # the name before torch 2.13
    return DistributedDataParallel(model, device_ids=[context.device.index] if context.device.type == "cuda" else None,
                                   gradient_as_bucket_view=True, **no_buffer_sync)


def _shard(model: nn.Module, layers: list[nn.Module], context: Context, compute_dtype: torch.dtype | None) -> None:
    """FSDP2: each decoder layer is one unit (gathered for its forward and backward, then freed); the rest of
    the task model (embeddings, tied LM head, prompt, prefix, task head) is the root unit. Tied weights must
    share a unit, which the root is. Parameters on the CPU are moved, shard by shard, to this process's device."""
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

    mesh = init_device_mesh(context.device.type, (context.world_size,))
    policy = (MixedPrecisionPolicy(param_dtype=compute_dtype, reduce_dtype=torch.float32) if compute_dtype
              else MixedPrecisionPolicy())
    for layer in layers:
        fully_shard(layer, mesh=mesh, mp_policy=policy)
    fully_shard(model, mesh=mesh, mp_policy=policy)
