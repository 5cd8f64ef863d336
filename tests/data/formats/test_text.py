"""Decoding and lines, shared by every reader: NUL and lone CR are damage named by line, CRLF is
tolerated, line numbers count LF only, empty files are file-level errors, CSV records are exact."""

from __future__ import annotations

import csv
from collections import Counter

import pytest

from xlpt.data.formats import read_file
from xlpt.tasks import get_task
from xlpt.data.problems import ProblemSink

FORMATS = ["conllu", "csv_token", "hdr4", "hdr4q", "jsonl", "tag", "tsv2", "tsv3", "txt3"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_nul_byte_is_named_and_only_its_record_is_dropped(real, fmt):
    copy = real(fmt)
    line = copy.record_line
    path = copy.write(copy.insert(line, "\x00"))
    copy.expect_error(path, line, "NUL byte at column 4")
    copy.assert_remainder(path, lost=1)


@pytest.mark.parametrize("fmt", FORMATS)
def test_lone_cr_is_named_and_shifts_no_later_line(real, fmt):
    # A CR would start a new record for the csv module and for str.splitlines: every later line
    # number (and so every later example id) would move by one. The remainder keeps its ids.
    copy = real(fmt)
    line = copy.record_line
    path = copy.write(copy.insert(line, "\r"))
    copy.expect_error(path, line, "carriage return (CR) at column 4")
    copy.assert_remainder(path, lost=1)


@pytest.mark.parametrize("fmt", FORMATS)
def test_crlf_copy_reads_exactly_like_the_original(real, fmt):
    copy = real(fmt)
    counts = Counter()
    assert copy.read(copy.write([line + "\r" for line in copy.lines]), counts) == copy.original()
    assert counts["crlf_lines"] == len(copy.lines)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("text", ["", "\n\n", " \n\t\n"])
def test_empty_file_is_a_file_level_error(real, fmt, text):
    copy = real(fmt)
    copy.expect_error(copy.write(raw=text.encode()), None, "empty file (no examples)")


def test_line_separators_other_than_lf_are_data(real):
    # U+2028 and 0x1c end a line for str.splitlines, not for these files (real XNLI/PAWS-X text has 0x1c/0x1d).
    copy = real("tsv3")
    path = copy.write(copy.insert(5, "\u2028\x1c\x1d", at=10))
    examples = copy.read(path)
    assert len(examples) == len(copy.original())
    assert examples[5:] == copy.original()[5:] and "\u2028\x1c\x1d" in examples[4].text_a


def test_cr_only_line_ends_are_reported_not_read_as_one_line(kit):
    path = kit.write("dev-en.tsv", "a\tNOUN\rb\tNOUN\r\rc\tNOUN\r")
    kit.expect_error(path, "tag", "udpos", 1, "carriage return (CR) at column 7")


# --- CSV records -----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["tsv3", "hdr4q"])
def test_a_2_mb_quoted_field_is_read_exactly(real, fmt):
    copy = real(fmt)
    line = copy.record_line
    cells = copy.lines[line - 1].split("\t")
    long = 'a ""quoted"" ' + "x" * 2_000_000
    cells[-2] = f'"{long}"'
    examples = copy.read(copy.write(copy.replace(line, "\t".join(cells))))
    index = line - 1 - (fmt == "hdr4q")  # the header is not an example
    assert examples[index].text_b == long.replace('""', '"')
    assert examples[:index] + examples[index + 1:] == copy.original()[:index] + copy.original()[index + 1:]
    assert csv.field_size_limit() == 131072  # raised for the read only


def test_reading_resumes_after_a_quoting_error(real):
    copy = real("tsv3")
    path = copy.write(copy.insert(5, '"', at=0))  # an opening quote that is never closed properly
    err = copy.expect_error(path, 5, "bad CSV quoting")
    assert "unbalanced quote" in err.problem
    errors = copy.assert_remainder(path, lost=1)
    assert [e.line for e in errors] == [5]


def test_quoted_field_over_several_lines_is_one_error_and_no_row(kit):
    path = kit.write("dev-en.tsv", 'a\tb\tneutral\n"open\nclosed"\td\tneutral\nc\td\tneutral\n')
    sink = ProblemSink(collect=True)
    examples = list(read_file(path, "tsv3", task=get_task("xnli"), lang="en", problems=sink))
    assert [(e.line, e.problem.split(" (")[0]) for e in sink.errors] == [(2, "quoted field runs from line 2 to 3")]
    assert [e.id for e in examples] == ["dev-en.tsv:1", "dev-en.tsv:4"]
