"""Save and restore only what a method trains (a soft prompt is kilobytes; full FT saves the model).

Writes are atomic (write to a temporary file, then rename), so a run killed at any moment leaves
either the previous checkpoint or the new one, never a torn file. Loading checks every tensor's name
and shape against the model (a copy would otherwise broadcast a [1, d] prompt into a [20, d] one), and
a damaged file gets one line naming it and what to do.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from xlpt.errors import RunFileError


def trainable_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.detach().cpu().clone() for name, p in model.named_parameters() if p.requires_grad}


def load_trainable_state(model: nn.Module, state: dict, source: str | os.PathLike = "checkpoint") -> None:
    """Copy `state` into the model's trainable parameters; names and shapes must match exactly."""
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise RunFileError(source, "does not hold a state dict of tensors")
    params = {name: p for name, p in model.named_parameters() if p.requires_grad}
    missing, unexpected = params.keys() - state.keys(), state.keys() - params.keys()
    if missing or unexpected:
        raise RunFileError(source, f"does not fit this model: missing {sorted(missing)[:5]}, unexpected "
                           f"{sorted(unexpected)[:5]} (was it written by another method or config?)")
    wrong = [f"{name} {tuple(state[name].shape)} != {tuple(p.shape)}" for name, p in params.items()
             if tuple(state[name].shape) != tuple(p.shape)]
    if wrong:
        raise RunFileError(source, f"tensor shapes do not fit this model: {'; '.join(wrong[:3])}")
    with torch.no_grad():
        for name, value in state.items():
            params[name].copy_(value.to(params[name].device, params[name].dtype))


def atomic_save(obj, path: str | os.PathLike) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def load(path: str | os.PathLike):
    """The object saved at `path`; a missing, truncated or garbled file is one RunFileError."""
    path = Path(path)
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except FileNotFoundError:
        raise RunFileError(path, "is missing") from None
    except Exception as err:  # torch raises zip, pickle, EOF and runtime errors for damaged files
        raise RunFileError(path, f"is damaged and cannot be read ({type(err).__name__}: {str(err)[:120]}); "
                           "delete it and train again (or resume from the other checkpoint)") from None
