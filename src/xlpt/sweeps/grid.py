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
      exclude:                  # optional: drop runs matching *every* key of an entry (list = any of);
        - {method.name: zero_shot, data.task: [udpos, panx]}   # values are converted by the key's type
                                # (1e-3 matches 0.001); an entry that matches no run is an error

Values inside `per_task` / `per_method` may be lists too: they are extra axes that only apply to that
task or method (a learning-rate search for prompt tuning alone, say). Nested mappings
(`train: {seed: 1}`) and dotted keys (`train.seed: 1`) mean the same thing everywhere.

The file is read like every YAML file a user writes (xlpt.schema): YAML 1.2 numbers and booleans (`off`
is text, which a boolean setting then refuses), duplicate keys refused with file:line. Every `method.*`
setting must belong to some method the sweep runs, and `per_method` settings to that method. A grid of
more than MAX_RUNS points (counted by multiplication, before anything is expanded) needs `--yes`.

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
import math
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any

from xlpt.config import RunConfig, config_from_dict
from xlpt.errors import ConfigError
from xlpt.run_dir import run_id
from xlpt.schema import parse_value, read_yaml_file
from xlpt.config.loading import DEFAULT_METHOD, SECTIONS
from xlpt.methods import METHODS, get_method
from xlpt.tasks import get_task

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
    notes: list[str] = field(default_factory=list)
    """What expansion noticed but did not refuse (printed by the CLI as notes)."""


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

    @cached_property
    def task_spec(self):
        """The run's TaskSpec, resolved once where the sweep is planned; estimates and claims take it."""
        return get_task(self.cfg.data.task)

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
    # the reader of every file a user writes: YAML 1.2 numbers and booleans (`off` is text, `1e-3` a number),
    # duplicate keys refused with file:line, bounded size and alias expansion; so a sweep means what `xlpt
    # train` reads from the same file
    tree = read_yaml_file(path, "sweep file")
    return parse_sweep(tree if tree is not None else {}, path, overrides)


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
    for base_path in _base_paths(section.get("base_configs"), path, where):
        base_tree = read_yaml_file(base_path, "base config")
        if base_tree is None:
            continue
        if not isinstance(base_tree, dict):
            raise ConfigError(f"{base_path}: a base config must be a mapping of config sections "
                              f"(got a {type(base_tree).__name__}); it is named in {where} sweep.base_configs")
        base_tree.pop("sweep", None)
        _deep_merge(base, base_tree)
    _deep_merge(base, {key: tree[key] for key in SECTIONS if key in tree})
    for key in flatten(base, where):
        check_key(key, f"{where}: base config")

    out, description = section.get("out"), section.get("description")
    if out is not None and (not isinstance(out, str) or not out.strip()):
        raise ConfigError(f"{where}: sweep.out must be a folder name, got {out!r}"[:300])
    if description is not None and not isinstance(description, str):
        raise ConfigError(f"{where}: sweep.description must be text, got a {type(description).__name__}")
    grid = _axes(section.get("grid") or {}, f"{where}: sweep.grid")
    spec = SweepSpec(name=name.strip(), path=path, base=base, grid=grid, out=out, description=description or "")
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
            if kind == "per_method":
                _check_method_keys(str(selected), axes, f"{where}: sweep.per_method.{selected}")
            parsed[str(selected)] = axes
        setattr(spec, kind, parsed)
    exclude = section.get("exclude") or []
    if not isinstance(exclude, list) or not all(isinstance(entry, dict) and entry for entry in exclude):
        raise ConfigError(f"{where}: sweep.exclude must be a list of non-empty mappings (dotted key -> value)")
    spec.exclude = [_exclude_rule(entry, f"{where}: sweep.exclude[{k}]") for k, entry in enumerate(exclude, 1)]
    spec.overrides = parse_overrides(overrides)
    _check_method_settings(spec, where)
    return spec


def _check_method_settings(spec: SweepSpec, where: str) -> None:
    """Every `method.*` setting (base, grid, per_task, override) must be read by some method this sweep runs.
    A run silently drops the keys its own method does not read (so one grid can cover several methods);
    a key that *no* method of the sweep reads can only be a mistake, which `xlpt train` refuses too."""
    base_flat = flatten(spec.base, "base")
    names = _names(spec, base_flat, "method.name", DEFAULT_METHOD)
    methods = sorted({name for name in names if name in METHODS})
    if not methods:
        return  # an unknown method name is reported by config_from_dict, with the valid names
    places = [("the base config", base_flat), ("sweep.grid", spec.grid), ("the command line", spec.overrides)]
    places += [(f"sweep.per_task.{task}", axes) for task, axes in spec.per_task.items()]
    for place, settings in places:
        for key in settings:
            section, _, name = key.partition(".")
            if section != "method" or name.split(".")[0] == "name":
                continue
            if not any(name.split(".")[0] in METHODS[method].config.model_fields for method in methods):
                raise ConfigError(f"{where}: {key} (in {place}) is not a setting of any method this sweep runs "
                                  f"({', '.join(methods)})")


def _names(spec: SweepSpec, base_flat: dict, key: str, default: str) -> list[str]:
    """The values `key` (data.task or method.name) takes in the sweep's runs, one per value of its axis."""
    return [str(spec.overrides.get(key, value)) for value in spec.grid.get(key, [base_flat.get(key, default)])]


def _base_paths(value, path: Path | None, where: str) -> list[Path]:
    """sweep.base_configs: a file name or a list of them, relative to the sweep file."""
    names = [] if value is None else value if isinstance(value, list) else [value]
    if not all(isinstance(name, str) and name.strip() for name in names):
        raise ConfigError(f"{where}: sweep.base_configs must be a list of file names (relative to this file), "
                          f"got {value!r}"[:300])
    return [(path.parent if path else Path.cwd()) / name for name in names]


def parse_overrides(items: list[str]) -> dict[str, Any]:
    parsed = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"override {item!r} must look like key.sub=value (e.g. train.max_steps=30)")
        key, raw = (part.strip() for part in item.split("=", 1))
        check_key(key, "override")
        parsed[key] = parse_value(raw, key)  # the same rules as `xlpt train key=value`
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


def _check_method_keys(method: str, axes: dict[str, list], where: str) -> None:
    """A method's own settings must be keys of its config, as `xlpt train` demands: in a grid, keys of other
    methods are dropped from a run (they do not apply to it), but under per_method they can only be a mistake."""
    reads = METHODS[method].config.model_fields
    for key in axes:
        section, _, name = key.partition(".")
        if section == "method" and name.split(".")[0] not in reads:
            raise ConfigError(f"{where}: {key} is not a setting of method {method} (its keys: "
                              f"{', '.join(f'method.{k}' for k in reads)})")


def _exclude_rule(entry: dict, where: str) -> dict[str, list]:
    """An exclude entry with every value converted by its field's type, so `1e-3`, `0.001` and `"1"` match
    the grid's values the way the resolved config holds them."""
    rule = _axes(entry, where)
    return {key: [_typed(key, value, where) for value in values] for key, values in rule.items()}


def _typed(dotted: str, value: Any, where: str) -> Any:
    """`value` as the config field `dotted` holds it (ConfigError when that field cannot hold it)."""
    from pydantic import TypeAdapter, ValidationError

    info = _field(dotted)
    if isinstance(value, (list, dict)):
        raise ConfigError(f"{where}: {dotted}={value!r} must be one value or a list of single values")
    if info is None:  # a nested setting: compared as written
        return value
    try:
        kind = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
        return TypeAdapter(kind).validate_python(value)
    except ValidationError as err:
        problem = err.errors()[0]["msg"]
        raise ConfigError(f"{where}: {dotted}={value!r}: {problem}") from None


def _field(dotted: str):
    """The pydantic field of a dotted key (for `method.*`, the first method that has it); None for a nested key."""
    section, _, key = dotted.partition(".")
    if "." in key or dotted == "method.name":  # each method's `name` admits only itself: compare as written
        return None
    if section == "method":
        return next((record.config.model_fields[key] for record in METHODS.values()
                     if key in record.config.model_fields), None)
    return RunConfig.model_fields[section].annotation.model_fields.get(key)


def _check_selected(kind: str, selected: str, where: str) -> None:
    if kind == "per_method" and selected not in METHODS:
        raise ConfigError(f"{where}: sweep.per_method names unknown method {selected!r}; valid: {', '.join(METHODS)}")
    if kind == "per_task":
        try:
            get_task(selected)
        except ConfigError as err:
            raise ConfigError(f"{where}: sweep.per_task: {err}") from None


def _deep_merge(into: dict, tree: dict) -> dict:
    for key, value in tree.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _deep_merge(into[key], value)
        else:
            into[key] = copy.deepcopy(value)
    return into


# -------------------------------------------------------------------------------------------- expansion


MAX_RUNS = 10_000
"""A grid larger than this is expanded only when asked (`xlpt sweep --yes`): a product of a few long axes
is easily millions of runs, and a typo should cost one line, not minutes of expansion."""


def count_runs(spec: SweepSpec) -> int:
    """The number of grid points with their per_task / per_method axes, before exclusion and deduplication,
    by multiplication only: grid axes x (sum over the tasks of their axes' sizes) x (same for methods)."""
    base_flat = flatten(spec.base, "base")

    def factor(kind: str, key: str, default: str) -> int:
        return sum(_size(getattr(spec, kind).get(name, {})) for name in _names(spec, base_flat, key, default))

    others = _size({key: values for key, values in spec.grid.items() if key not in SELECTORS.values()})
    return (others * factor("per_task", "data.task", _default_task())
            * factor("per_method", "method.name", DEFAULT_METHOD))


def _size(axes: dict[str, list]) -> int:
    return math.prod(len(values) for values in axes.values())


def _default_task() -> str:
    return RunConfig.model_fields["data"].default_factory().task


def expand(spec: SweepSpec, yes: bool = False) -> list[PlannedRun]:
    """Every distinct resolved run of the sweep, in order, with its stable id. More than MAX_RUNS grid points
    need `yes`. An exclude entry that matches no run is an error (a note when overrides are given)."""
    total = count_runs(spec)
    if total > MAX_RUNS and not yes:
        raise ConfigError(f"sweep {spec.name!r} has {total:,} runs (grid points before exclusion and "
                          f"deduplication), over {MAX_RUNS:,}; pass --yes to expand it anyway")
    runs: list[PlannedRun] = []
    seen: set[str] = set()
    matched = [0] * len(spec.exclude)
    base_flat = flatten(spec.base, "base")
    default_task = _default_task()
    for point in _product(spec.grid):
        def current(key: str, default: Any) -> Any:
            return spec.overrides.get(key, point.get(key, base_flat.get(key, default)))

        task = str(current("data.task", default_task))
        method = str(current("method.name", DEFAULT_METHOD))
        task_axes = spec.per_task.get(task, {})
        method_axes = spec.per_method.get(method, {})
        for task_point in _product(task_axes):
            for method_point in _product(method_axes):
                assignments = {**point, **task_point, **method_point, **spec.overrides}
                cfg = _resolve(spec, assignments)
                hits = _matching_rules(cfg, spec.exclude)
                for k in hits:
                    matched[k] += 1
                if hits:
                    continue
                cfg = canonical(cfg)
                rid = run_id(cfg)
                if rid in seen:
                    continue
                seen.add(rid)
                runs.append(PlannedRun(rid, cfg, len(runs) + 1))
    _check_excludes(spec, matched)
    _describe_settings(runs)
    return runs


def _check_excludes(spec: SweepSpec, matched: list[int]) -> None:
    """An exclude entry that matches no run is refused rather than warned about: it is almost always a typo
    (a value spelled unlike the grid's), and its cost is GPU-hours spent on runs the author meant to drop,
    while a warning scrolls past above a long listing. Command-line overrides may pin a key on purpose and
    leave a file's excludes nothing to match, so then it is only a note (spec.notes)."""
    where = str(spec.path) if spec.path else "sweep"
    for k, (rule, hits) in enumerate(zip(spec.exclude, matched), 1):
        if hits:
            continue
        shown = ", ".join(f"{key}: {values[0] if len(values) == 1 else values}" for key, values in rule.items())
        line = f"{where}: sweep.exclude[{k}] {{{shown}}} matches no run of the grid"
        if not spec.overrides:
            raise ConfigError(f"{line}; check its keys and values against sweep.grid (or remove it)")
        spec.notes.append(f"{line} (with the command-line overrides)")


def canonical(cfg: RunConfig) -> RunConfig:
    """Reset what the run's method never reads to its default (its record's `ignores`), so the id only
    depends on settings that can change the result."""
    tree = cfg.to_dict()
    for dotted in irrelevant_keys(cfg.method.name):
        section, key = dotted.split(".")
        tree[section][key] = _section_default(section, key)
    return config_from_dict(tree)


def _section_default(section: str, key: str) -> Any:
    """The default of `section.key` of a section other than `method` (whose keys are the method's own)."""
    return RunConfig.model_fields[section].default_factory().model_dump(mode="json", by_alias=True)[key]


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


def _matching_rules(cfg: RunConfig, rules: list[dict[str, list]]) -> list[int]:
    """Indexes of the exclude rules every key of which matches `cfg`."""
    return [k for k, rule in enumerate(rules) if all(get_value(cfg, key) in values for key, values in rule.items())]


def _describe_settings(runs: list[PlannedRun]) -> None:
    """Record each run's key settings for display: its learning rate, its prompt length (prompt methods),
    and whatever else differs between runs of the same task, method and model (seeds, a searched axis)."""
    flats = [flatten(run.cfg.to_dict(), "run") for run in runs]
    # With several models (the lab's pretrained and control, a size sweep), each line names its model:
    # two runs that differ only there must not read alike.
    several_models = len({run.model for run in runs}) > 1
    groups: dict[tuple, list[dict]] = {}
    for run, flat in zip(runs, flats):
        groups.setdefault((run.task, run.method, run.model), []).append(flat)
    for run, flat in zip(runs, flats):
        group = groups[(run.task, run.method, run.model)]
        settings = {"model": Path(str(run.model)).name or str(run.model)} if several_models else {}
        if run.cfg.method_record.trains:
            settings["train.learning_rate"] = run.cfg.learning_rate
        described = run.cfg.method_record.result_fields(run.cfg.method)
        if "prompt_length" in described:
            settings["method.prompt_length"] = described["prompt_length"]
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


__all__ = ["SweepSpec", "PlannedRun", "load_sweep", "parse_sweep", "expand", "count_runs", "MAX_RUNS", "canonical",
           "select",
           "default_out", "short_settings", "irrelevant_keys"]
