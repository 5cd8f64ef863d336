"""Methods decide which parameters change. Each module (or folder, PEFT style) owns a config section and a
`Method` record (see base.py); this list is the registry: what exists, in the order `--help` shows it.

Adding a method: write `methods/<name>.py` (or `methods/<name>/`) with its config and `METHOD`, add
one line here, add configs and tests. Nothing else tests method names.
"""

from __future__ import annotations

from xlpt.errors import ConfigError
from xlpt.methods import bitfit, full_finetune, head_only, lora, prefix_tuning, prompt_tuning, zero_shot
from xlpt.methods.base import Method, MethodConfig

# In the order tables show them: baselines, then from fewest to most trained parameters.
METHODS: dict[str, Method] = {record.name: record for record in (
    zero_shot.METHOD,
    head_only.METHOD,
    prompt_tuning.METHOD,
    bitfit.METHOD,
    prefix_tuning.METHOD,
    lora.METHOD,
    full_finetune.METHOD,
)}
DEFAULT_METHOD = "prompt_tuning"
"""The method of a config that names none (the study's subject)."""


def get_method(name: str) -> Method:
    if name not in METHODS:
        raise ConfigError(f"unknown method {name!r}; valid methods: {', '.join(METHODS)}")
    return METHODS[name]


__all__ = ["DEFAULT_METHOD", "METHODS", "Method", "MethodConfig", "get_method"]
