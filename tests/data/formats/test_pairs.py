"""Pair readers: quoting, raw files, headers, jsonl, label normalisation, and every corruption kind."""

from __future__ import annotations

import json

import pytest

from xlpt.data.examples import PairExample
from xlpt.data.formats.pairs import write_pairs


def test_tsv3_reads_csv_quoting_with_embedded_quotes_and_tabs(kit):
    path = kit.write(
        "dev-en.tsv",
        '"He said ""no"" loudly"\tplain\tneutral\n'
        '"a\tb"\t"c ""d"""\tcontradictory\n'
        "x\ty\tentailment\n",
    )
    examples, _ = kit.read(path, "tsv3", "xnli")
    assert [e.text_a for e in examples] == ['He said "no" loudly', "a\tb", "x"]
    assert examples[1].text_b == 'c "d"'
    # XNLI-1.0's `contradictory` is XTREME's `contradiction`
    assert [e.label for e in examples] == ["neutral", "contradiction", "entailment"]
    assert [e.id for e in examples] == ["dev-en.tsv:1", "dev-en.tsv:2", "dev-en.tsv:3"]


def test_write_pairs_round_trips_through_the_tsv3_reader(kit):
    original = [
        PairExample('quote " inside', "tab\there", "paraphrase", "de", "a"),
        PairExample('"wrapped"', "   spaces kept  ", "not_paraphrase", "de", "b"),
    ]
    path = kit.root / "out.tsv"
    assert write_pairs(path, original) == 2
    back, _ = kit.read(path, "tsv3", "pawsx", "de")
    assert [(e.text_a, e.text_b, e.label) for e in back] == [(e.text_a, e.text_b, e.label) for e in original]


def test_write_pairs_without_labels_writes_tsv2(kit):
    path = kit.root / "test.tsv"
    write_pairs(path, [PairExample("a", "b", None, "en", "1")])
    assert path.read_text() == "a\tb\n"
    back, _ = kit.read(path, "tsv2", "pawsx")
    assert back[0].label is None


def test_write_pairs_refuses_line_breaks_and_partial_labels(kit):
    with pytest.raises(ValueError, match="line break"):
        write_pairs(kit.root / "x.tsv", [PairExample("a\nb", "c", None, "en", "1")])
    with pytest.raises(ValueError, match="only some"):
        write_pairs(kit.root / "x.tsv", [PairExample("a", "b", None, "en", "1"), PairExample("a", "b", "paraphrase", "en", "2")])


def test_pawsx_int_labels_map_to_names(kit):
    path = kit.write("dev-de.tsv", "a\tb\t0\nc\td\t1\n")
    examples, _ = kit.read(path, "tsv3", "pawsx", "de")
    assert [e.label for e in examples] == ["not_paraphrase", "paraphrase"]
    assert all(e.lang == "de" for e in examples)


def test_tsv2_is_unlabeled(kit):
    path = kit.write("test-en.tsv", 'a\t"b ""c"""\n')
    (example,), _ = kit.read(path, "tsv2", "xnli")
    assert (example.text_b, example.label) == ('b "c"', None)


def test_raw_hdr4_keeps_quotes_literally(kit):
    # SuperGLEBer PAWS-X files are not CSV-quoted: a csv reader would eat these quotes.
    path = kit.write("test.tsv", 'id\tsentence1\tsentence2\tlabel\n4\t"Hi" she said\tsay "hi\t1\n')
    (example,), _ = kit.read(path, "hdr4", "pawsx", "de")
    assert (example.id, example.text_a, example.text_b, example.label) == ("4", '"Hi" she said', 'say "hi', "paraphrase")


def test_hdr4q_unquotes_pandas_fields(kit):
    path = kit.write("test-00000-of-00001.tsv", 'id\tsentence1\tsentence2\tlabel\n7\t"a ""q"" b"\tc\t0\n')
    (example,), _ = kit.read(path, "hdr4q", "pawsx", "zh")
    assert (example.id, example.text_a, example.label) == ("7", 'a "q" b', "not_paraphrase")


def test_txt3_has_string_labels_and_no_quoting(kit):
    path = kit.write("test.txt", '"x\ty"\tneutral\n')
    (example,), _ = kit.read(path, "txt3", "xnli", "de")
    assert (example.text_a, example.text_b) == ('"x', 'y"')


def test_jsonl_int_labels_and_unicode_escapes(kit):
    rows = [{"premise": "\u0645\u0631\u062d\u0628\u0627", "hypothesis": "h", "label": 2}, {"premise": "p", "hypothesis": "h", "label": 0}]
    path = kit.write("test.jsonl", "".join(json.dumps(row) + "\n" for row in rows))
    examples, _ = kit.read(path, "jsonl", "xnli", "ar")
    assert [e.label for e in examples] == ["contradiction", "entailment"]
    assert examples[0].text_a == "مرحبا"


def test_trailing_blank_lines_crlf_and_bom_are_accepted_and_counted(kit):
    path = kit.write("dev-en.tsv", "\ufeffa\tb\tneutral\r\nc\td\tentailment\r\n\r\n\r\n")
    examples, counts = kit.read(path, "tsv3", "xnli")
    assert [(e.text_a, e.label) for e in examples] == [("a", "neutral"), ("c", "entailment")]
    assert counts["bom"] == 1 and counts["crlf_lines"] == 4 and counts["trailing_blank_lines"] == 2


# --- corruption: each names file, line and problem -------------------------------------------------


def test_wrong_column_count(kit):
    path = kit.write("dev-en.tsv", "a\tb\tneutral\nonly\ttwo\n")
    kit.expect_error(path, "tsv3", "xnli", 2, "expected 3", "got 2")


def test_unknown_label(kit):
    path = kit.write("dev-en.tsv", "a\tb\tneutral\nc\td\tmaybe\n")
    kit.expect_error(path, "tsv3", "xnli", 2, "unknown label", "'maybe'")


def test_label_id_out_of_range(kit):
    path = kit.write("dev-en.tsv", "a\tb\t2\n")
    kit.expect_error(path, "tsv3", "pawsx", 1, "unknown label id 2")


def test_unbalanced_quote_is_not_merged_into_one_row(kit):
    path = kit.write("dev-en.tsv", 'a\tb\tneutral\n"open\tb\tneutral\nc\td\tneutral\n')
    kit.expect_error(path, "tsv3", "xnli", 2, "quote")


def test_quoted_field_spanning_lines_is_reported_not_merged(kit):
    path = kit.write("dev-en.tsv", 'a\tb\tneutral\n"open\nclosed"\td\tneutral\nc\td\tneutral\n')
    kit.expect_error(path, "tsv3", "xnli", 2, "runs from line 2 to 3")


def test_text_after_closing_quote(kit):
    path = kit.write("dev-en.tsv", '"a"x\tb\tneutral\n')
    kit.expect_error(path, "tsv3", "xnli", 1, "bad CSV quoting")


def test_blank_line_inside_the_file(kit):
    path = kit.write("dev-en.tsv", "a\tb\tneutral\n\nc\td\tneutral\n")
    kit.expect_error(path, "tsv3", "xnli", 2, "blank line")


def test_invalid_utf8_names_the_line(kit):
    path = kit.write("dev-en.tsv", b"a\tb\tneutral\nc\td\tneutral\n\xff\xfe\tx\tneutral\n")
    kit.expect_error(path, "tsv3", "xnli", 3, "invalid UTF-8")


def test_empty_file(kit):
    path = kit.write("dev-en.tsv", "\n\n")
    kit.expect_error(path, "tsv3", "xnli", None, "empty file")


def test_wrong_header(kit):
    path = kit.write("test.tsv", "sentence1\tsentence2\tlabel\na\tb\t1\n")
    kit.expect_error(path, "hdr4", "pawsx", 1, "expected header")


def test_invalid_json_line(kit):
    path = kit.write("test.jsonl", '{"premise": "p", "hypothesis": "h", "label": 0}\n{"premise": \n')
    kit.expect_error(path, "jsonl", "xnli", 2, "invalid JSON")


def test_jsonl_label_missing_in_a_labeled_file(kit):
    path = kit.write("test.jsonl", '{"premise": "p", "hypothesis": "h", "label": 0}\n{"premise": "p", "hypothesis": "h"}\n')
    kit.expect_error(path, "jsonl", "xnli", 2, "label missing")


# --- damaged copies of real files, and the whole-file vote --------------------------------------


@pytest.mark.parametrize("fmt", ["tsv3", "txt3"])
def test_labeled_file_whose_line_1_lacks_its_label_names_line_1(real, fmt):
    copy = real(fmt)
    path = copy.write(copy.replace(1, copy.lines[0].rsplit("\t", 1)[0]))
    copy.expect_error(path, 1, "expected 3 tab-separated columns", "got 2")
    copy.assert_remainder(path, lost=1)


def test_unlabeled_file_whose_line_1_has_a_label_names_line_1(real):
    copy = real("tsv2")
    path = copy.write(copy.replace(1, copy.lines[0] + "\tneutral"))
    copy.expect_error(path, 1, "expected 2 tab-separated columns", "got 3")
    copy.assert_remainder(path, lost=1)


def test_txt3_decides_labeled_by_a_vote_of_all_records(kit):
    path = kit.write("test.txt", "a\tb\nc\td\ne\tf\tneutral\n")
    kit.expect_error(path, "txt3", "xnli", 3, "expected 2 tab-separated columns", "got 3", lang="de")
    (first, second), _ = kit.read(kit.write("test.txt", "a\tb\nc\td\n"), "txt3", "xnli", "de")
    assert (first.text_a, first.label, second.text_b) == ("a", None, "d")


def test_jsonl_row_1_without_label_in_a_labeled_file_names_line_1(real):
    copy = real("jsonl")
    path = copy.write(copy.replace(1, '{"premise": "p", "hypothesis": "h"}'))
    copy.expect_error(path, 1, "label missing (most rows of this file have one)")
    copy.assert_remainder(path, lost=1)


def test_jsonl_mostly_unlabeled_reports_the_labeled_row(kit):
    rows = '{"premise": "p", "hypothesis": "h"}\n' * 2 + '{"premise": "p", "hypothesis": "h", "label": 1}\n'
    kit.expect_error(kit.write("test.jsonl", rows), "jsonl", "xnli", 3, "label present, but most rows")


@pytest.mark.parametrize("fmt", ["hdr4", "hdr4q"])
def test_duplicate_id_names_both_lines(real, fmt):
    copy = real(fmt)
    lines = copy.lines[:9] + [copy.lines[2]] + copy.lines[9:]  # line 3 again as line 10
    path = copy.write(lines)
    copy.expect_error(path, 10, f"duplicate id {copy.lines[2].split(chr(9))[0]!r}: already used on line 3")
    # ids come from the id column, so every other example keeps its id; the repeat is not read twice
    examples, errors = copy.collect(path)
    assert examples == copy.original() and [e.line for e in errors] == [10]


def test_duplicate_jsonl_id_names_both_lines(kit):
    rows = "".join('{"id": %d, "premise": "p", "hypothesis": "h", "label": 0}\n' % i for i in (1, 2, 1))
    kit.expect_error(kit.write("test.jsonl", rows), "jsonl", "xnli", 3, "duplicate id '1': already used on line 1")


@pytest.mark.parametrize("fmt", ["hdr4", "txt3"])
def test_a_2_mb_raw_field_is_read_exactly(real, fmt):
    copy = real(fmt)
    line = copy.record_line
    cells = copy.lines[line - 1].split("\t")
    cells[-2] += "y" * 2_000_000
    examples = copy.read(copy.write(copy.replace(line, "\t".join(cells))))
    index = line - 1 - (fmt == "hdr4")
    assert examples[index].text_b == cells[-2]
    assert examples[:index] + examples[index + 1:] == copy.original()[:index] + copy.original()[index + 1:]


def test_header_damage_stops_the_file_without_a_second_error(real):
    copy = real("hdr4")
    path = copy.write(copy.insert(1, "\x00"))
    examples, errors = copy.collect(path)
    assert examples == [] and [(e.line, e.problem.split(" at")[0]) for e in errors] == [(1, "NUL byte")]
