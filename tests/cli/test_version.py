"""`xlpt --version`: what a bug report needs, without loading torch."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata

import xlpt


def test_version_names_xlpt_and_the_libraries_numbers_depend_on():
    done = subprocess.run([sys.executable, "-m", "xlpt", "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    line = done.stdout.strip()
    assert len(line.splitlines()) == 1
    assert line.startswith(f"xlpt {xlpt.__version__}")
    for package in ("torch", "transformers", "peft"):
        assert f"{package} {metadata.version(package)}" in line


def test_version_imports_no_torch():
    probe = "import sys; from xlpt.cli import version_line; version_line(); print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr
