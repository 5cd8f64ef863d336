"""GPU settings and host-to-device copies.

TF32: on Ampere and later GPUs, float32 matmuls may run on TF32 tensor cores (10-bit mantissa inputs,
float32 accumulation), several times faster. Under bf16 autocast most matmuls are bf16 anyway; TF32
covers what stays float32 (e.g. evaluation with autocast off). `train.tf32=false` turns it off.

Copies: a batch is collated on the CPU; copying it from pinned (page-locked) memory with
non_blocking=True lets the copy overlap with GPU work already queued. On CPU both are no-ops.
"""

from __future__ import annotations

import torch


def configure(device: torch.device, tf32: bool) -> None:
    """Set the process-wide matmul precision for `device` (only CUDA has a choice)."""
    if device.type != "cuda":
        return
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32


def to_device(tensors: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    """The batch on `device`; to a GPU through pinned memory without blocking the host."""
    if device.type != "cuda":
        return {key: value.to(device) for key, value in tensors.items()}
    return {key: value.pin_memory().to(device, non_blocking=True) for key, value in tensors.items()}
