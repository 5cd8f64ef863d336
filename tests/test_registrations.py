"""Method and family names appear only where they are defined: everything else asks the records (issue #9:
"The number of files that test family/method names outside their own module is zero or close to it")."""

from __future__ import annotations

import re
from pathlib import Path

from xlpt.methods import METHODS
from xlpt.tasks.families import FAMILIES

SRC = Path(__file__).resolve().parents[1] / "src" / "xlpt"

# Where a name may be spelled out, and why.
ALLOWED = {
    "methods/": "each method's own module or folder, and the registry",
    "tasks/families/": "the family registry and implementations",
    "config/loading.py": "the migration table of the flat method section written by xlpt <= 0.1",
    "demo/run.py": "the demo's recipe: the two methods it compares",
    "reporting/gaps.py": "the report's headline comparison (prompt tuning minus full fine-tuning)",
    "lab/corpus.py": "writes the lab's task YAML files, which name their family as data",
    "lab/study.py": "the lab study's grid: the methods it compares",
    "lab/spec.py": "the lab preset's study section: its default methods and their budgets",
    "lab/report.py": "the lab report's gap: every method minus full fine-tuning",
}


def offenders() -> dict[str, list[str]]:
    names = "|".join(sorted(set(METHODS) | set(FAMILIES)))
    pattern = re.compile(rf"[\"']({names})[\"']")
    found = {}
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC).as_posix()
        if any(relative.startswith(prefix) for prefix in ALLOWED):
            continue
        hits = sorted({match.group(1) for match in pattern.finditer(path.read_text(encoding="utf-8"))})
        if hits:
            found[relative] = hits
    return found


def test_no_module_tests_method_or_family_names_outside_its_own():
    assert offenders() == {}


# ------------------------------------------------------------------------------------ method keys (issue #18)
# Generic code asks the method record (`input_positions`, `start_from`, `result_fields`, `planner_terms`, ...),
# never a key of the method's section: `cfg.method.name` is the only one it may read.
_METHOD_KEY_READS = (
    re.compile(r"getattr\(\s*[\w.]*\bcfg\.method\b"),
    re.compile(r"\bcfg\.method\.(?!name\b)(?!model_dump\b)\w+"),
)


def method_key_readers() -> dict[str, list[str]]:
    """{file: [line numbers: text]} of `cfg.method.<key>` / `getattr(cfg.method, ...)` reads outside methods/."""
    found = {}
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC).as_posix()
        if relative.startswith("methods/"):
            continue
        lines = [f"{number}: {line.strip()}" for number, line in
                 enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                 if any(pattern.search(line) for pattern in _METHOD_KEY_READS) and not line.lstrip().startswith("#")]
        if lines:
            found[relative] = lines
    return found


def test_generic_code_never_reads_a_methods_keys():
    found = method_key_readers()
    shown = "\n".join(f"  {file}:{line}" for file, lines in found.items() for line in lines)
    assert not found, f"read the method record instead (xlpt.methods.base.Method) in:\n{shown}"


def test_the_method_key_scan_sees_what_it_refuses():
    # the scan itself: a read of each kind is caught, `.name` and a docstring's `method.prompt_length` are not
    hits = [any(p.search(text) for p in _METHOD_KEY_READS) for text in (
        'getattr(cfg.method, "prompt_length", 0)', "run.cfg.method.init_from", "cfg.method.name",
        "set method.prompt_length=4")]
    assert hits == [True, True, False, False]


# --------------------------------------------------------------------------------------- what is registered
def _modules_under(package: Path) -> list[str]:
    """Names of the modules and packages directly in `package` (no private or registry modules)."""
    names = []
    for entry in sorted(package.iterdir()):
        if entry.name.startswith("_"):
            continue
        if entry.is_dir() and (entry / "__init__.py").exists():
            names.append(entry.name)
        elif entry.suffix == ".py":
            names.append(entry.stem)
    return names


def test_every_method_module_is_registered():
    import importlib

    unregistered = []
    for name in _modules_under(SRC / "methods"):
        if name == "base":
            continue
        module = importlib.import_module(f"xlpt.methods.{name}")
        record = getattr(module, "METHOD", None)
        if record is None or METHODS.get(record.name) is not record:
            unregistered.append(name)
    assert not unregistered, (f"methods/{unregistered}: each method module defines METHOD and is listed once in "
                              "methods/__init__.py")


def test_every_method_record_answers_what_generic_code_asks():
    import importlib.util

    for record in METHODS.values():
        section = record.config()
        assert isinstance(record.input_positions(section), int) and record.input_positions(section) >= 0
        assert record.start_from(section) is None  # nothing to start from by default
        assert isinstance(record.result_fields(section), dict)
        assert record.trained_parts and "\n" not in record.trained_parts
        if record.peft is not None:  # a module path that exists (imported lazily: it needs torch)
            assert importlib.util.find_spec(record.peft) is not None, f"{record.name}: no module {record.peft}"


def test_every_family_package_is_registered():
    import importlib

    problems = []
    for entry in sorted((SRC / "tasks" / "families").iterdir()):
        if not (entry.is_dir() and (entry / "__init__.py").exists()):
            continue
        module = importlib.import_module(f"xlpt.tasks.families.{entry.name}")
        record = getattr(module, "FAMILY", None)
        if record is None:
            problems.append(f"tasks/families/{entry.name}: defines no FAMILY")
        elif FAMILIES.get(record.name) is not record:
            problems.append(f"tasks/families/{entry.name}: FAMILY {record.name!r} is not registered in "
                            "tasks/families/__init__.py")
    assert not problems, "; ".join(problems)


def test_every_model_preset_names_a_known_architecture():
    from xlpt import schema
    from xlpt.models.architectures import ARCHITECTURES
    from xlpt.sweeps.planner import KNOWN_MODELS

    problems = []
    for path in sorted((SRC.parents[1] / "configs" / "models").glob("*.yaml")):
        name = (schema.read_yaml_file(path, "preset") or {}).get("model", {}).get("name")
        if name not in KNOWN_MODELS:
            problems.append(f"{path.name}: model.name {name!r} has no sizes in sweeps/planner.py KNOWN_MODELS")
        elif KNOWN_MODELS[name][0] not in ARCHITECTURES:
            problems.append(f"{path.name}: model type {KNOWN_MODELS[name][0]!r} is not in models/architectures.py")
    assert not problems, "\n".join(problems)
