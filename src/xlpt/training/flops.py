"""Training FLOPs per token and model FLOPs utilisation (MFU), as nanoGPT logs it.

Per token, a matrix multiply with N weights costs 2N FLOPs forward; backward costs 2N for activation
gradients plus 2N for weight gradients. Full fine-tuning pays all three (6N); with a frozen model
(prompt tuning, prefix tuning, LoRA, head only) no weight gradients are formed, so ~4N. N counts the
weights a token passes through: every non-embedding matrix plus the output projection as used (the
label-word rows only, for classification heads: negligible). Attention score FLOPs are left out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is imported where it is used: the planner reads PEAK_FLOPS without it
    import torch
    from torch import nn

# Dense bf16 peak FLOP/s of common accelerators (vendor datasheets, without sparsity).
PEAK_FLOPS = {"H100": 989e12, "H200": 989e12, "A100": 312e12, "L40S": 362e12, "A10G": 125e12, "V100": 125e12}


def matmul_params(lm: nn.Module) -> int:
    """Weights of the model's Linear layers that every token passes through (no embedding tables)."""
    from torch import nn

    head = lm.get_output_embeddings()
    return sum(m.weight.numel() for m in lm.modules() if isinstance(m, nn.Linear) and m is not head)


def train_flops_per_token(lm: nn.Module, full_finetune: bool) -> float:
    return (6 if full_finetune else 4) * matmul_params(lm)


def peak_flops(device: torch.device) -> float | None:
    if device.type != "cuda":
        return None  # CPU peaks vary too much to quote one number
    name = torch.cuda.get_device_name(device)
    return next((flops for key, flops in PEAK_FLOPS.items() if key in name), None)
