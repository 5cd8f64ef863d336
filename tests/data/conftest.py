"""Fixtures for the data tests: `kit` writes hand-made files under tmp_path, reads them, expects errors."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from xlpt.data.formats import read_file
from xlpt.tasks import get_task
from xlpt.errors import DataFormatError


class FileKit:
    """Hand-written fixture files (never copies of the shared data) and assertions about reading them."""

    def __init__(self, root: Path):
        self.root = root

    def write(self, relative: str, text: str | bytes) -> Path:
        """Write exactly these characters/bytes (no newline translation) at root/relative."""
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8", newline="")
        return path

    @staticmethod
    def read(path: Path, fmt: str, task, lang: str = "en") -> tuple[list, Counter]:
        """Read with the reader of `fmt`; `task` is a TaskSpec or a task name (resolved here, once)."""
        counts: Counter = Counter()
        task = get_task(task) if isinstance(task, str) else task
        return list(read_file(path, fmt, task=task, lang=lang, counts=counts)), counts

    def expect_error(self, path: Path, fmt: str, task: str, line: int | None, *words: str, lang: str = "en"):
        """Reading must fail naming this file, this line, and a problem mentioning every word given."""
        with pytest.raises(DataFormatError) as info:
            self.read(path, fmt, task, lang)
        err = info.value
        assert err.path == str(path)
        assert err.line == line
        for word in words:
            assert word in err.problem, err.problem
        assert str(err).startswith(f"{path}:{line}: " if line is not None else f"{path}: ")
        return err


@pytest.fixture
def kit(tmp_path) -> FileKit:
    return FileKit(tmp_path)


@pytest.fixture(scope="session")
def manifest_rows(data_dir) -> list[dict]:
    """Rows of the real data's manifest.jsonl (schema checked once here)."""
    import json

    rows = [json.loads(line) for line in (data_dir / "manifest.jsonl").read_text(encoding="utf-8").splitlines()]
    for row in rows:
        assert {"task", "lang", "split", "dest", "fmt", "labeled", "n"} <= set(row), row
        assert isinstance(row["n"], int) and isinstance(row["labeled"], bool)
    return rows
