"""Fixtures for the reader tests: copies of real files under tmp_path, damaged on purpose.

`real("tsv3")` gives a `RealCopy` of one small real file of that format (`real("panx_tag")`: a
PAN-X tag file). Its `write(lines)` puts the (damaged) lines under tmp_path with the real file's
name, so example ids (`<name>:<line>`) can be compared with those of the untouched original;
`assert_remainder` checks that reading the damaged copy while collecting problems gives exactly
the original's examples, less the damaged ones.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from xlpt.data.formats import read_file
from xlpt.tasks import get_task
from xlpt.data.problems import ProblemSink
from xlpt.errors import DataFormatError

# One small real file per format (and a PAN-X tag file): name -> (path under the data folder, format, task, language).
REAL_FILES = {
    "tag": ("udpos/ta/xtreme-topro/dev-ta.tsv", "tag", "udpos", "ta"),
    "panx_tag": ("panx/af/xtreme-mesh/dev-af.tsv", "tag", "panx", "af"),
    "tsv3": ("pawsx/es/xtreme-mesh/dev-es.tsv", "tsv3", "pawsx", "es"),
    "tsv2": ("xnli/bg/xtreme-mesh/test-bg.tsv", "tsv2", "xnli", "bg"),
    "txt3": ("xnli/de/xglue-supergleber/test.txt", "txt3", "xnli", "de"),
    "hdr4": ("pawsx/de/xglue-supergleber/test.tsv", "hdr4", "pawsx", "de"),
    "hdr4q": ("pawsx/zh/hf-mesh/test-00000-of-00001.tsv", "hdr4q", "pawsx", "zh"),
    "jsonl": ("xnli/en/hf-hkunlp/test.jsonl", "jsonl", "xnli", "en"),
    "conllu": ("udpos/de/ud-v2.5/de_pud-ud-test.conllu", "conllu", "udpos", "de"),
    "csv_token": ("panx/af/mmner/af_test/truth.csv", "csv_token", "panx", "af"),
}
# A line of each file that holds one whole record or token (after any header and comments).
RECORD_LINE = {"tag": 5, "panx_tag": 5, "tsv3": 5, "tsv2": 5, "txt3": 5, "hdr4": 6, "hdr4q": 6, "jsonl": 5,
               "conllu": 7, "csv_token": 6}

_originals: dict[str, list] = {}


class RealCopy:
    """One of REAL_FILES, its lines, and checks on damaged copies of it."""

    def __init__(self, name: str, data_dir: Path, root: Path):
        relative, self.fmt, task, self.lang = REAL_FILES[name]
        self.task = get_task(task)
        self.name, self.source, self.root = name, data_dir / relative, root
        self.record_line = RECORD_LINE[name]
        lines = self.source.read_bytes().decode("utf-8").split("\n")
        self.lines = lines[:-1] if lines[-1] == "" else lines

    def write(self, lines: list[str] | None = None, *, raw: bytes | None = None, final_newline: bool = True) -> Path:
        """The file with these lines (LF-joined) or these bytes, under the real file's name."""
        path = self.root / self.name / self.source.name
        path.parent.mkdir(parents=True, exist_ok=True)
        if raw is None:
            raw = ("\n".join(self.lines if lines is None else lines) + ("\n" if final_newline else "")).encode("utf-8")
        path.write_bytes(raw)
        return path

    def insert(self, number: int, text: str, at: int = 3) -> list[str]:
        """The lines with `text` put into line `number` (1-based) after its first `at` characters."""
        line = self.lines[number - 1]
        return self.lines[:number - 1] + [line[:at] + text + line[at:]] + self.lines[number:]

    def replace(self, number: int, line: str) -> list[str]:
        """The lines with line `number` (1-based) replaced."""
        return self.lines[:number - 1] + [line] + self.lines[number:]

    def original(self) -> list:
        if self.name not in _originals:
            _originals[self.name] = self.read(self.source)
        return _originals[self.name]

    def read(self, path: Path, counts=None) -> list:
        return list(read_file(path, self.fmt, task=self.task, lang=self.lang, counts=counts))

    def collect(self, path: Path) -> tuple[list, list[DataFormatError]]:
        sink = ProblemSink(collect=True)
        examples = list(read_file(path, self.fmt, task=self.task, lang=self.lang, problems=sink))
        return examples, sink.errors

    def expect_error(self, path: Path, line: int | None, *words: str) -> DataFormatError:
        """Loading must stop at a DataFormatError naming this file, this line and every word given."""
        with pytest.raises(DataFormatError) as info:
            self.read(path)
        err = info.value
        assert (err.path, err.line) == (str(path), line), str(err)
        assert all(word in err.problem for word in words), err.problem
        return err

    def assert_remainder(self, path: Path, lost: int, *, same_ids: bool = True) -> list[DataFormatError]:
        """Collecting problems, the copy yields only unchanged original examples, all but `lost` of them."""
        examples, errors = self.collect(path)
        original = self.original()
        assert errors, "the damage was not reported"
        if same_ids:
            assert set(examples) <= set(original), "an example was changed or invented"
        else:  # lines were inserted or removed, so line-based ids move; compare the content
            assert {_content(e) for e in examples} <= {_content(e) for e in original}
        assert len(original) - len(examples) == lost
        return errors


def _content(example) -> tuple:
    if hasattr(example, "text_a"):
        return example.text_a, example.text_b, example.label
    return example.words, example.tags


@pytest.fixture
def real(data_dir, tmp_path):
    """real(name) -> RealCopy of that small real file (names: the formats, and "panx_tag")."""
    return lambda name: RealCopy(name, data_dir, tmp_path)

