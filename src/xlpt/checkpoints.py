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
    except OSError:
        raise
    except Exception as err:  # torch wraps write failures (a full disk) in RuntimeError
        raise _write_error(path, err) from None
    finally:
        tmp.unlink(missing_ok=True)


def save_weights(state: dict[str, torch.Tensor], path: str | os.PathLike, metadata: dict[str, str] | None = None) -> None:
    """Weights only, as safetensors (no pickle: safe to load from anywhere), atomically."""
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        save_file({k: v.contiguous() for k, v in state.items()}, str(tmp), metadata=metadata)
        os.replace(tmp, path)
    except OSError:
        raise
    except Exception as err:  # safetensors reports a failed write (a full disk) as its own error type
        raise _write_error(path, err) from None
    finally:
        tmp.unlink(missing_ok=True)


def _write_error(path: Path, err: Exception) -> RunFileError:
    return RunFileError(path, f"cannot be written ({type(err).__name__}: {str(err)[:160]}); is the disk full or the "
                        "folder read-only? The previous checkpoint, if any, is intact")


BASE_IDENTITY = "base_model_identity"
"""Metadata key of best.safetensors holding the base model's identity as JSON (models/identity.py): which
model the weights were trained on, so a later export or predict on another base is refused."""


def identity_metadata(identity: dict) -> dict[str, str]:
    """The metadata entry training adds to best.safetensors (`save_weights(..., metadata=...)`)."""
    import json

    return {BASE_IDENTITY: json.dumps(identity, sort_keys=True)}


def load_weights(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """A state dict from best.safetensors (or a best.pt written by xlpt <= 0.1)."""
    path = Path(path)
    if path.suffix != ".safetensors":
        return load(path)
    from safetensors.torch import load_file

    if not path.exists():
        raise RunFileError(path, "is missing")
    try:
        return load_file(str(path))
    except Exception as err:  # truncated or garbled: safetensors raises its own error types
        raise RunFileError(path, f"is damaged and cannot be read ({type(err).__name__}: {str(err)[:120]}); "
                           "delete it and train again") from None


class BackgroundWriter:
    """Writes weights in a background thread (the tensors are copied to CPU first, so training goes on
    while the disk works). `wait()` before anything that must see the file, e.g. a resumable snapshot
    that names the best step. At most one write is in flight; a newer one waits for it."""

    def __init__(self):
        self._thread = None
        self._error: BaseException | None = None

    def submit(self, state: dict[str, torch.Tensor], path: Path, metadata: dict[str, str] | None = None) -> None:
        import threading

        self.wait()

        def work():
            try:
                save_weights(state, path, metadata)
            except BaseException as err:  # reported on the next wait(): never lose a failed write silently
                self._error = err

        self._thread = threading.Thread(target=work, name="xlpt-checkpoint", daemon=False)
        self._thread.start()

    def wait(self) -> None:
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._error is not None:
            error, self._error = self._error, None
            raise error


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
