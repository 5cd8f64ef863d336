"""Whether a model name can be loaded at all, decided in a second rather than after minutes of retries.

Offline, `from_pretrained("facebook/xglm-564M")` retries the hub for one to two minutes and then fails with
a multi-line message that never mentions a local folder. Before any load, `model_access(name)` tells which
of three cases holds, once per process:

- `local`:   the name is a folder (or looks like a path; a missing one is an error naming it);
- `hub`:     a hub id and the hub answers: transformers downloads (or revalidates its cache) as usual;
- `cached`:  a hub id, the hub is out of reach (or HF_HUB_OFFLINE is set) but the Hugging Face cache holds
             the model: it loads from the cache only (`local_files_only=True`), no retries.

A hub id that is neither reachable nor cached is one line saying why and how to point `--model` (or
`model.name=`) at a local folder. Reaching the hub means opening a TCP connection to HF_ENDPOINT's host
(or to the HTTPS proxy, when one is set) within `TIMEOUT_S` seconds; that is what every download needs first.
"""

from __future__ import annotations

import functools
import os
import socket
from pathlib import Path
from urllib.parse import urlparse

from xlpt.errors import ConfigError

TIMEOUT_S = 3.0
_TRUE = {"1", "true", "yes", "on"}


def looks_local(name: str) -> bool:
    """A path rather than a hub id: it exists, or it is written as one (./x, /x, ~/x, x/y/z, x\\y)."""
    return (Path(name).expanduser().exists() or name.startswith((".", "/", "~"))
            or name.count("/") > 1 or "\\" in name)


def model_access(name: str) -> str:
    """'local', 'hub' or 'cached' (see the module docstring); raises ConfigError when none applies."""
    name = str(name)
    if looks_local(name):
        path = Path(name).expanduser()
        if path.exists() and not path.is_dir():
            raise ConfigError(f"model {name} is a file; give the folder that holds config.json and the weights")
        if not path.is_dir():
            raise ConfigError(f"model folder {name} does not exist")
        return "local"
    _check_repo_id(name)
    reason = hub_unusable()
    if reason is None:
        return "hub"
    if _cached(name):
        return "cached"
    raise ConfigError(f"model {name!r} is not a local folder and not in the Hugging Face cache "
                      f"({_cache_dir()}), and the hub cannot be used ({reason}); download it where there is a "
                      f"network (`hf download {name} --local-dir models/{name.split('/')[-1]}`) and pass that "
                      f"folder: --model models/{name.split('/')[-1]} (or model.name=...)")


def hub_unusable() -> str | None:
    """Why the hub cannot be used right now (HF_HUB_OFFLINE set, or no connection), or None when it can.
    For datasets: `datasets` then reads its cache only (a miss fails at once instead of retrying)."""
    offline = _offline_flag()
    return f"{offline} is set" if offline else _unreachable()


def local_files_only(name: str) -> bool:
    """What to pass to `from_pretrained(..., local_files_only=...)` for `name` (True: read the cache, no network)."""
    return model_access(name) == "cached"


def is_hub_id(name: str) -> bool:
    """Whether `name` is spelled as a hub id (`name` or `org/name`, as the hub validates it) and not as a path."""
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    if looks_local(name):
        return False
    try:
        validate_repo_id(name)
    except HFValidationError:
        return False
    return True


def _check_repo_id(name: str) -> None:
    if not is_hub_id(name):
        raise ConfigError(f"model {name!r} is not a folder here and not a hub id (`org/name`: letters, digits, "
                          "'-', '_', '.'; at most 96 characters)")


def _offline_flag() -> str | None:
    for variable in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        if os.environ.get(variable, "").strip().lower() in _TRUE:
            return variable
    return None


@functools.lru_cache(maxsize=None)
def _unreachable() -> str | None:
    """Why the hub cannot be reached (one short phrase), or None when a connection opens in time."""
    endpoint = os.environ.get("HF_ENDPOINT") or "https://huggingface.co"
    scheme = "https" if endpoint.startswith("https") else "http"
    proxy = os.environ.get(f"{scheme.upper()}_PROXY") or os.environ.get(f"{scheme}_proxy")
    target = urlparse(proxy if proxy else endpoint)
    host = target.hostname
    port = target.port or (443 if target.scheme == "https" else 80)
    if not host:
        return f"cannot read a host from {proxy or endpoint!r}"
    try:
        with socket.create_connection((host, port), timeout=TIMEOUT_S):
            return None
    except OSError as err:
        via = f"proxy {host}:{port}" if proxy else f"{host}:{port}"
        return f"no connection to {via} within {TIMEOUT_S:g} s: {err.strerror or err}"


def _cache_dir() -> str:
    from huggingface_hub import constants

    return str(constants.HF_HUB_CACHE)


def _cached(name: str) -> bool:
    """Whether the cache holds the model's config (the weights may still be missing: transformers then
    fails with the cache's own message, quickly, as nothing is retried with local_files_only)."""
    from huggingface_hub import try_to_load_from_cache

    try:
        return isinstance(try_to_load_from_cache(name, "config.json"), str)
    except Exception:  # an id the cache layer rejects (e.g. invalid characters) is not cached
        return False
