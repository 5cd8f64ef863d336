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
