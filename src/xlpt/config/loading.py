"""Reading a run config: defaults <- YAML file(s), in order <- `section.key=value` overrides.

Layers are merged as plain trees and validated once at the end, so an error names the key and the
value that is wrong, whichever layer it came from. One rule is special: the `method` section belongs
to one method. A layer that names a different `method.name` than the layers before it starts that
section afresh (the earlier method's settings are dropped, and `notes` says which), so
`--config prompt_tuning.yaml --method lora` means "lora, with the rest of that file".
"""

from __future__ import annotations

import copy
import os
from typing import Any

from pydantic import ValidationError

from xlpt.validation_errors import describe_validation_error
from xlpt import schema
from xlpt.schema import parse_value
from xlpt.config.run import RunConfig
from xlpt.errors import ConfigError

from xlpt.methods import DEFAULT_METHOD

SECTIONS = ("model", "data", "method", "head", "train")

# Keys that left the method section for the head section (issue #18): a config or override still naming them
# gets one line saying the new key; recorded configs of earlier runs are migrated (`migrate_legacy`).
MOVED_TO_HEAD = ("formulation", "word_repr")

# Keys of the flat `method` section written by xlpt <= 0.1 and the method that reads each.
_LEGACY_METHOD_KEYS = {
    "prompt_length": ("prompt_tuning", "prefix_tuning"), "prompt_init": ("prompt_tuning", "prefix_tuning"),
    "init_text": ("prompt_tuning", "prefix_tuning"), "prompt_position": ("prompt_tuning",),
    "lora_r": ("lora",), "lora_alpha": ("lora",), "lora_dropout": ("lora",), "lora_targets": ("lora",),
}


class ConfigLayers:
    """The merged tree of all layers so far, and what the merge did (for the run log)."""

    def __init__(self):
        self.tree: dict = {}
        self.notes: list[str] = []

    def add(self, tree: dict, where: str) -> None:
        if not isinstance(tree, dict):
            raise ConfigError(f"{where}: a config must be a YAML mapping of sections ({', '.join(SECTIONS)})")
        for section, values in tree.items():
            if section == "sweep":
                continue  # a sweep file is a run config plus a sweep section (read by xlpt sweep)
            if section not in SECTIONS:
                raise ConfigError(f"{where}: unknown section {section!r}; sections are {', '.join(SECTIONS)}")
            if not isinstance(values, dict):
                raise ConfigError(f"{where}: section {section!r} must be a mapping of keys to values")
        self.add_items([(f"{section}.{key}", value) for section, values in tree.items() if section != "sweep"
                        for key, value in _flatten(values)], where)

    def add_items(self, items: list[tuple[str, Any]], where: str) -> None:
        """One layer of dotted keys. A layer naming another method starts the method section afresh."""
        names = [value for key, value in items if key == "method.name"]
        node = self.tree.get("method", {})
        current = node.get("name", DEFAULT_METHOD if node else None)
        if names and current not in (None, names[-1]):
            from xlpt.methods import METHODS

            keeps = METHODS[names[-1]].config.model_fields if names[-1] in METHODS else {}
            dropped = sorted(k for k in node if k not in keeps)
            kept = {k: v for k, v in node.items() if k in keeps and k != "name"}
            if dropped:
                self.notes.append(f"{where}: method.name={names[-1]} replaces {current}; its settings "
                                  f"{', '.join(dropped)} no longer apply")
            node.clear()
            node.update(kept)
        for key, value in items:
            self.set(key, value, where)

    def set(self, dotted: str, value: Any, where: str) -> None:
        section, _, key = dotted.partition(".")
        if section not in SECTIONS or not key:
            raise ConfigError(f"{where}: {dotted!r} is not a config key; keys look like section.key with sections "
                              f"{', '.join(SECTIONS)} (e.g. train.learning_rate)")
        if section == "method" and key in MOVED_TO_HEAD:
            raise ConfigError(f"{where}: method.{key} is now head.{key} (the head section); write head.{key}="
                              f"{value if isinstance(value, str) else '...'}")
        node = self.tree.setdefault(section, {})
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"{where}: {dotted!r} goes inside a value that is not a mapping")
        node[leaf] = value


def _flatten(values: dict, prefix: str = ""):
    for key, value in values.items():
        # `data.template` may be an inline mapping: keep it whole.
        if isinstance(value, dict) and f"{prefix}{key}" not in ("template",):
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def read_yaml_file(path: str | os.PathLike) -> Any:
    """A run config file through the project's one YAML reader (xlpt.schema.read_yaml_file); empty is {}."""
    return schema.read_yaml_file(path, "config file") or {}


def split_override(item: str) -> tuple[str, Any]:
    if "=" not in item:
        raise ConfigError(f"override {item!r} must look like section.key=value (e.g. train.learning_rate=1e-5)")
    key, raw = item.split("=", 1)
    return key.strip(), parse_value(raw.strip(), key.strip())


def build(layers: ConfigLayers, where: str = "config") -> RunConfig:
    """Validate the merged tree; every problem in one line naming the key(s)."""
    tree = copy.deepcopy(layers.tree)
    if isinstance(tree.get("method"), dict):
        tree["method"].setdefault("name", DEFAULT_METHOD)
    try:
        return RunConfig.model_validate(tree)
    except ValidationError as err:
        raise ConfigError(f"{where}: {describe_validation_error(err, model=RunConfig)}") from None


def load_config(path: str | os.PathLike | list | None = None, overrides: list[str] = (),
                notes: list[str] | None = None) -> RunConfig:
    """Defaults <- YAML file(s), in order <- `section.key=value` overrides (later wins). Validated.

    Several files compose: e.g. a model file (size, dtype, batch) then a task/method file. `notes`, if
    given, receives what the merge decided (e.g. a method change dropping settings)."""
    layers = ConfigLayers()
    paths = [] if path is None else [path] if isinstance(path, (str, os.PathLike)) else list(path)
    for item in paths:
        layers.add(read_yaml_file(item), str(item))
    if overrides:
        layers.add_items([split_override(item) for item in overrides], "command line")
    cfg = build(layers)
    if notes is not None:
        notes.extend(layers.notes)
    return cfg


def config_from_dict(tree: dict, where: str = "config") -> RunConfig:
    """A RunConfig from a resolved tree (config.yaml), migrating the layout of xlpt <= 0.1 if needed."""
    layers = ConfigLayers()
    layers.add(migrate_legacy(tree), where)
    return build(layers, where)


def migrate_legacy(tree: dict) -> dict:
    """Recorded configs of earlier versions, read as the run was: head keys written in the method section
    (before issue #18) move to `head`; xlpt <= 0.1 wrote one flat `method` section with every method's keys
    (and train.learning_rate null for defaults): keep only the keys the run's method reads; the values it
    did not read were defaults that never influenced the run."""
    method = tree.get("method") if isinstance(tree, dict) else None
    if isinstance(method, dict) and any(key in method for key in MOVED_TO_HEAD):
        tree = copy.deepcopy(tree)
        method = tree["method"]
        head = tree.setdefault("head", {})
        for key in MOVED_TO_HEAD:
            if key in method:
                head.setdefault(key, method.pop(key))
    if not isinstance(method, dict) or "lora_r" not in method or "prompt_length" not in method:
        return tree  # already per-method
    tree = copy.deepcopy(tree)
    name = method.get("name", DEFAULT_METHOD)
    kept = {"name": name}
    for key, value in method.items():
        readers = _LEGACY_METHOD_KEYS.get(key, ())
        if key == "name" or (readers is None and name != "zero_shot") or (readers and name in readers):
            kept[key] = value
    tree["method"] = kept
    return tree
