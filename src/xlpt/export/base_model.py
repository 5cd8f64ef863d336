"""Where a run's base model is now, for commands that load it again later (`xlpt predict`, `xlpt export`).

A run records `model.name` as it was given to `xlpt train`. A relative folder (`--model tiny-xglm`) means
the folder relative to the directory training ran in, which is not where predict or export may run. The
path is tried as written; then against the working directory the run recorded (train_summary.json or
results.json provenance `cwd`, where a version records it); then against the run directory's parents (the
usual layout: `xlpt train ... --out runs/x` from the project folder). Only a folder with a config.json
counts, and the console says where it was found. A name that looks like a hub id and is found nowhere stays
a hub id, unless the run says its model was one xlpt built (always a local folder). Otherwise one line
names every place tried and the way out (`--model FOLDER`).
"""

from __future__ import annotations

from pathlib import Path

from xlpt.errors import ConfigError, RunFileError
from xlpt.models.hub_access import is_hub_id
from xlpt.run_dir import RunDir

def resolve_base_model(run: RunDir, name: str, override: str | None = None) -> tuple[str, str | None]:
    """(the name or folder to load, a console note when it is not the recorded name as written)."""
    if override:
        return override, f"base model: {override} (--model; the run recorded {name})"
    path = Path(name).expanduser()
    if _is_model(path) or path.is_absolute() and path.exists():
        return name, None
    tried = [path.resolve()] if not path.is_absolute() else [path]
    if not path.is_absolute():
        for base in [*_recorded_cwds(run), *run.path.resolve().parents]:
            candidate = (Path(base) / path).resolve()
            if candidate in tried:
                continue
            tried.append(candidate)
            if _is_model(candidate):
                return str(candidate), f"base model: {candidate} (the run recorded the relative path {name})"
    if is_hub_id(name) and not _built_by_xlpt(run):
        return name, None  # a hub id stays a hub id (loading says what it can reach)
    shown = ", ".join(map(str, tried[:4])) + (f" and {len(tried) - 4} more" if len(tried) > 4 else "")
    raise ConfigError(f"the run's base model {name!r} (model.name) is not a model folder here; tried {shown}. "
                      "Pass --model FOLDER (the same base model) to load it from where it is now")


def _is_model(path: Path) -> bool:
    return (path / "config.json").is_file()


def _built_by_xlpt(run: RunDir) -> bool:
    """Whether training recorded a model xlpt built (`xlpt model tiny`, `xlpt lab`): always a local folder."""
    try:
        summary = run.read_summary() or {}
    except RunFileError:
        return False
    return bool(summary.get("pipeline_check") or summary.get("notices"))


def _recorded_cwds(run: RunDir) -> list[str]:
    """Working directories the run's files recorded (newer versions record where training ran)."""
    found = []
    for read in (run.read_summary, lambda: run.read_results("test")):
        try:
            data = read() or {}
        except RunFileError:
            continue
        for where in (data, data.get("provenance") if isinstance(data.get("provenance"), dict) else {}):
            if isinstance(where.get("cwd"), str):
                found.append(where["cwd"])
    return found


# ------------------------------------------------------------------------------------------ identity
#
# An adapter is only meaningful on the weights it was trained with. Two bases of one architecture and size
# (a tiny model rebuilt with another seed, a base and its fine-tuned sibling) fit the same adapter shapes
# exactly, so shapes alone cannot tell them apart: the identity also samples the input embedding's values.
