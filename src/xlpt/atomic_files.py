"""Atomic file writes: a reader (or a process killed mid-write) sees the old file or the new one, never
half of one. Every text and JSON file xlpt writes goes through here; torch and safetensors files through
xlpt.checkpoints."""

from __future__ import annotations

import json
import os
from pathlib import Path


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write `text` to a temporary file beside `path` (named per process), then rename it over `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_json_atomic(path: str | os.PathLike, data, indent: int = 2, sort_keys: bool = False) -> None:
    """JSON with NaN/inf refused (they are not JSON): a non-finite number is a bug upstream, not data."""
    write_text_atomic(path, json.dumps(data, indent=indent, ensure_ascii=False, allow_nan=False, default=str,
                                       sort_keys=sort_keys) + "\n")
