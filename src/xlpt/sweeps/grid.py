"""Sweep files: a base run config plus a `sweep:` section, expanded into resolved run configs with stable ids.

A sweep file is an ordinary run config (top-level `model`, `data`, `method`, `train`; `xlpt train
--config` and `load_config` ignore the `sweep:` section) with one extra section:

    sweep:
      name: pt-vs-ft            # required; recorded with every run in the store
      description: ...          # optional free text
      out: runs/pt-vs-ft        # optional; default runs/<name>; relative paths are relative to the cwd
      base_configs: [../models/xglm-564m.yaml]   # optional; composed *under* this file's own sections,
                                # in order, paths relative to this file (like repeated `--config`)
      grid:                     # axes: dotted config key -> list of values (a scalar is a 1-value axis)
        data.task: [xnli, pawsx]
        method.name: [prompt_tuning, full_finetune]
        train.seed: [1, 2, 3]
      per_task:                 # optional: task -> settings applied to that task's runs
        xnli: {train.epochs: 2}
      per_method:               # optional: method -> settings applied to that method's runs
        prompt_tuning: {train.learning_rate: [3.0e-2, 3.0e-1], method.prompt_length: 20}
        full_finetune: {train.learning_rate: 1.0e-5}
      exclude:                  # optional: drop runs matching *every* key of an entry (list = any of)
        - {method.name: zero_shot, data.task: [udpos, panx]}

Values inside `per_task` / `per_method` may be lists too: they are extra axes that only apply to that
task or method (a learning-rate search for prompt tuning alone, say). Nested mappings
(`train: {seed: 1}`) and dotted keys (`train.seed: 1`) mean the same thing everywhere.

Resolution order for each run, later wins: defaults <- base_configs <- this file's sections <- grid
point <- per_task <- per_method <- command-line `key=value` overrides. Each result is validated by
`config_from_dict`; unknown keys or invalid values raise ConfigError naming the offending entry.

Runs are listed in grid order (the first axis varies slowest). Settings a method cannot use are reset
to their defaults before the id is computed (see `irrelevant_keys`), so e.g. `method.prompt_length: [20, 100]`
gives one full fine-tuning run, not two identical ones: configs that resolve identically are one run.
The id is `run_id(cfg)`, a hash of the resolved config: the same on every machine and in every process.

Evaluation uses each run's own `data.eval_split` and `data.eval_languages` (part of the config, hence
of the id), so there is no separate `evaluate:` section.
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from xlpt.config import RunConfig, config_from_dict
from xlpt.errors import ConfigError
from xlpt.run_dir import run_id
from xlpt.config.loading import DEFAULT_METHOD
from xlpt.methods import METHODS, get_method
from xlpt.tasks import get_task

SECTIONS = ("model", "data", "method", "train")
SWEEP_KEYS = ("name", "description", "out", "base_configs", "grid", "per_task", "per_method", "exclude")
# The keys that select a `per_task` / `per_method` entry.
SELECTORS = {"per_task": "data.task", "per_method": "method.name"}

def irrelevant_keys(method: str) -> tuple[str, ...]:
    """Keys of other sections `method` never reads (its record's `ignores`); its own section holds
    exactly the keys it reads, so other methods' keys are dropped from its runs before the id is computed."""
    return get_method(method).ignores


@dataclass
class SweepSpec:
    """A parsed sweep file (nothing expanded yet)."""

    name: str
    path: Path | None
    base: dict
    """Merged base config tree (base_configs, then the file's own sections)."""
    grid: dict[str, list]
    per_task: dict[str, dict[str, list]] = field(default_factory=dict)
    per_method: dict[str, dict[str, list]] = field(default_factory=dict)
    exclude: list[dict[str, list]] = field(default_factory=list)
    overrides: dict[str, Any] = field(default_factory=dict)
    out: str | None = None
    description: str = ""


@dataclass
class PlannedRun:
    """One resolved run of a sweep."""

    id: str
    cfg: RunConfig
    position: int
    """1-based position in the sweep's order."""
    settings: dict[str, Any] = field(default_factory=dict)
    """Key settings for display: learning rate, prompt length (prompt methods), and what differs between
    runs of the same task, method and model (see _describe_settings)."""

    @property
    def task(self) -> str:
        return self.cfg.data.task

    @property
    def method(self) -> str:
        return self.cfg.method.name

    @property
    def model(self) -> str:
        return self.cfg.model.name


# ---------------------------------------------------------------------------------------------- parsing


def load_sweep(path: str | Path, overrides: list[str] = ()) -> SweepSpec:
    """Read and check a sweep file; `overrides` are `key=value` strings applied to every run."""
    path = Path(path)
    try:
        tree = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError(f"cannot read sweep file {path}: {err}") from err
    return parse_sweep(tree, path, overrides)


def parse_sweep(tree: dict, path: Path | None = None, overrides: list[str] = ()) -> SweepSpec:
    where = str(path) if path else "sweep"
    if not isinstance(tree, dict):
        raise ConfigError(f"{where}: a sweep file must be a YAML mapping")
    unknown = set(tree) - set(SECTIONS) - {"sweep"}
    if unknown:
        raise ConfigError(f"{where}: unknown top-level keys {sorted(unknown)}; expected {', '.join(SECTIONS)} and sweep")
    section = tree.get("sweep")
    if not isinstance(section, dict):
        raise ConfigError(f"{where}: no `sweep:` section (a mapping with at least `name` and `grid`)")
    bad = set(section) - set(SWEEP_KEYS)
    if bad:
        hint = " (evaluation follows data.eval_split / data.eval_languages)" if "evaluate" in bad else ""
        raise ConfigError(f"{where}: unknown sweep keys {sorted(bad)}; valid: {', '.join(SWEEP_KEYS)}{hint}")
    name = section.get("name")
    if not isinstance(name, str) or not name.strip() or "/" in name:
        raise ConfigError(f"{where}: sweep.name must be a non-empty string without '/'")

    base: dict = {}
    for rel in _as_list(section.get("base_configs") or []):
        base_path = (path.parent if path else Path.cwd()) / rel
        try:
            base_tree = yaml.safe_load(base_path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as err:
            raise ConfigError(f"{where}: cannot read base config {base_path}: {err}") from err
        base_tree.pop("sweep", None)
        _deep_merge(base, base_tree)
    _deep_merge(base, {key: tree[key] for key in SECTIONS if key in tree})
    for key in flatten(base, where):
        check_key(key, f"{where}: base config")

    grid = _axes(section.get("grid") or {}, f"{where}: sweep.grid")
    spec = SweepSpec(name=name.strip(), path=path, base=base, grid=grid, out=section.get("out"),
                     description=str(section.get("description") or ""))
    for kind, selector in SELECTORS.items():
        entries = section.get(kind) or {}
        if not isinstance(entries, dict):
            raise ConfigError(f"{where}: sweep.{kind} must map a {selector.split('.')[1]} name to settings")
        parsed = {}
        for selected, settings in entries.items():
            _check_selected(kind, str(selected), where)
            axes = _axes(settings or {}, f"{where}: sweep.{kind}.{selected}")
            if selector in axes or any(other in axes for other in SELECTORS.values()):
                raise ConfigError(f"{where}: sweep.{kind}.{selected} cannot set {', '.join(SELECTORS.values())}")
            parsed[str(selected)] = axes
        setattr(spec, kind, parsed)
    exclude = section.get("exclude") or []
    if not isinstance(exclude, list) or not all(isinstance(entry, dict) and entry for entry in exclude):
        raise ConfigError(f"{where}: sweep.exclude must be a list of non-empty mappings (dotted key -> value)")
    spec.exclude = [_axes(entry, f"{where}: sweep.exclude") for entry in exclude]
    spec.overrides = parse_overrides(overrides)
    return spec


def parse_overrides(items: list[str]) -> dict[str, Any]:
    parsed = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"override {item!r} must look like key.sub=value (e.g. train.max_steps=30)")
        key, raw = (part.strip() for part in item.split("=", 1))
        check_key(key, "override")
        parsed[key] = yaml.safe_load(raw) if raw else raw
    return parsed


def section_keys(section: str) -> list[str]:
    """The keys of a config section; for `method`, the keys of every method (each run keeps its own)."""
    if section == "method":
        return sorted({key for record in METHODS.values() for key in record.config.model_fields})
    return list(RunConfig.model_fields[section].annotation.model_fields)


def check_key(dotted: str, where: str) -> None:
    """Fail unless `dotted` names a setting of some section (e.g. train.learning_rate, method.lora_r)."""
    section, _, key = dotted.partition(".")
    if section not in SECTIONS:
        raise ConfigError(f"{where}: unknown config key {dotted!r}; keys start with one of {', '.join(SECTIONS)}")
    if not key:
        raise ConfigError(f"{where}: {dotted!r} is a section, not a setting; name a key inside it")
    valid = section_keys(section)
    if key.split(".")[0] not in valid:
        raise ConfigError(f"{where}: unknown config key {dotted!r}; valid keys here: "
                          f"{', '.join(f'{section}.{k}' for k in valid)}")


def flatten(tree: dict, where: str, prefix: str = "") -> dict[str, Any]:
    """{'train': {'seed': 1}, 'data.task': 'x'} -> {'train.seed': 1, 'data.task': 'x'}."""
    flat = {}
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, where, dotted + "."))
        else:
            flat[dotted] = value
    return flat


def _axes(tree: dict, where: str) -> dict[str, list]:
    if not isinstance(tree, dict):
        raise ConfigError(f"{where} must be a mapping of dotted config keys to values or lists of values")
    axes = {}
    for key, values in flatten(tree, where).items():
        check_key(key, where)
        values = values if isinstance(values, list) else [values]
        if not values:
            raise ConfigError(f"{where}: {key} has an empty list of values")
        axes[key] = values
    return axes


def _check_selected(kind: str, selected: str, where: str) -> None:
    if kind == "per_method" and selected not in METHODS:
        raise ConfigError(f"{where}: sweep.per_method names unknown method {selected!r}; valid: {', '.join(METHODS)}")
    if kind == "per_task":
        try:
            get_task(selected)
        except ConfigError as err:
            raise ConfigError(f"{where}: sweep.per_task: {err}") from None


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def _deep_merge(into: dict, tree: dict) -> dict:
    for key, value in tree.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _deep_merge(into[key], value)
        else:
            into[key] = copy.deepcopy(value)
    return into


# -------------------------------------------------------------------------------------------- expansion


def expand(spec: SweepSpec) -> list[PlannedRun]:
    """Every distinct resolved run of the sweep, in order, with its stable id."""
    runs: list[PlannedRun] = []
    seen: set[str] = set()
    base_flat = flatten(spec.base, "base")
    for point in _product(spec.grid):
        def current(key: str, default: Any) -> Any:
            return spec.overrides.get(key, point.get(key, base_flat.get(key, default)))

        task = str(current("data.task", RunConfig.model_fields["data"].default_factory().task))
        method = str(current("method.name", DEFAULT_METHOD))
        task_axes = spec.per_task.get(task, {})
        method_axes = spec.per_method.get(method, {})
        for task_point in _product(task_axes):
            for method_point in _product(method_axes):
                assignments = {**point, **task_point, **method_point, **spec.overrides}
                cfg = _resolve(spec, assignments)
                if _excluded(cfg, spec.exclude):
                    continue
                cfg = canonical(cfg)
                rid = run_id(cfg)
                if rid in seen:
                    continue
                seen.add(rid)
                runs.append(PlannedRun(rid, cfg, len(runs) + 1))
    _describe_settings(runs)
    return runs


def canonical(cfg: RunConfig) -> RunConfig:
    """Reset what the run's method never reads to its default (its record's `ignores`), so the id only
    depends on settings that can change the result."""
    tree = cfg.to_dict()
    defaults = RunConfig(method=cfg.method.model_copy()).to_dict()
    for dotted in irrelevant_keys(cfg.method.name):
        section, key = dotted.split(".")
        tree[section][key] = defaults[section][key]
    return config_from_dict(tree)


def _resolve(spec: SweepSpec, assignments: dict[str, Any]) -> RunConfig:
    tree = copy.deepcopy(spec.base)
    for dotted, value in assignments.items():
        *parents, leaf = dotted.split(".")
        node = tree
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    method = tree.setdefault("method", {})
    name = method.get("name", DEFAULT_METHOD)
    if name in METHODS:  # keys of other methods (a grid over prompt_length, say) do not apply to this run
        reads = METHODS[name].config.model_fields
        tree["method"] = {key: value for key, value in method.items() if key in reads}
    try:
        return config_from_dict(tree)
    except ConfigError as err:
        shown = ", ".join(f"{k}={v}" for k, v in assignments.items())
        raise ConfigError(f"sweep {spec.name!r}: the run with {shown or 'the base config'} is invalid: {err}") from None


def _product(axes: dict[str, list]):
    keys = list(axes)
    for values in itertools.product(*(axes[key] for key in keys)):
        yield dict(zip(keys, values))


def get_value(cfg: RunConfig, dotted: str) -> Any:
    section, key = dotted.split(".", 1)
    return cfg.to_dict()[section].get(key)


def _excluded(cfg: RunConfig, rules: list[dict[str, list]]) -> bool:
    return any(all(get_value(cfg, key) in values for key, values in rule.items()) for rule in rules)


def _describe_settings(runs: list[PlannedRun]) -> None:
    """Record each run's key settings for display: its learning rate, its prompt length (prompt methods),
    and whatever else differs between runs of the same task, method and model (seeds, a searched axis)."""
    flats = [flatten(run.cfg.to_dict(), "run") for run in runs]
    groups: dict[tuple, list[dict]] = {}
    for run, flat in zip(runs, flats):
        groups.setdefault((run.task, run.method, run.model), []).append(flat)
    for run, flat in zip(runs, flats):
        group = groups[(run.task, run.method, run.model)]
        settings = {}
        if run.cfg.method_record.trains:
            settings["train.learning_rate"] = run.cfg.learning_rate
        if hasattr(run.cfg.method, "prompt_length"):
            settings["method.prompt_length"] = run.cfg.method.prompt_length
        for key, value in flat.items():
            if key not in settings and len({repr(other.get(key)) for other in group}) > 1:
                settings[key] = value
        run.settings = settings


def select(runs: list[PlannedRun], only: list[str]) -> list[PlannedRun]:
    """Runs whose id starts with one of `only` (each prefix must match exactly one run)."""
    chosen = []
    for prefix in only:
        matches = [run for run in runs if run.id.startswith(prefix)]
        if len(matches) != 1:
            state = "no run" if not matches else f"{len(matches)} runs"
            raise ConfigError(f"--only {prefix!r} matches {state} of this sweep (ids: see --dry-run)")
        if matches[0] not in chosen:
            chosen.append(matches[0])
    return sorted(chosen, key=lambda run: run.position)


def default_out(spec: SweepSpec) -> Path:
    return Path(spec.out) if spec.out else Path("runs") / spec.name


# Short names for the progress lines and --dry-run's settings column.
SHORT_NAMES = {"train.seed": "seed", "train.learning_rate": "lr", "method.prompt_length": "L",
               "method.prompt_init": "init", "train.max_steps": "steps", "train.epochs": "epochs"}


def short_settings(settings: dict[str, Any]) -> str:
    return " ".join(f"{SHORT_NAMES.get(key, key.split('.')[-1])}={value}" for key, value in settings.items())


__all__ = ["SweepSpec", "PlannedRun", "load_sweep", "parse_sweep", "expand", "canonical", "select",
           "default_out", "short_settings", "irrelevant_keys"]
