"""The tag format: blocks, blank lines, CRLF, prefixes, unlabeled files, writer round trip, corruption."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from xlpt.data.examples import TaggedSentence
from xlpt.data.formats.tagged import _tab_census, write_tagged
from xlpt.data.problems import ProblemSink
from xlpt.data.formats import read_file
from xlpt.tasks import get_task


def test_sentences_tags_and_ids(kit):
    path = kit.write("dev-en.tsv", "Sioux\tB-ORG\nFalls\tI-ORG\n\n(\tO\n")
    sentences, _ = kit.read(path, "tag", "panx")
    assert [(s.words, s.tags, s.id) for s in sentences] == [
        (("Sioux", "Falls"), ("B-ORG", "I-ORG"), "dev-en.tsv:1"),
        (("(",), ("O",), "dev-en.tsv:4"),
    ]


@pytest.mark.parametrize(
    "text, extra",
    [
        ("a\tNOUN\n\nb\tVERB", 0),  # no final newline
        ("a\tNOUN\n\nb\tVERB\n\n", 1),  # trailing blank line
        ("a\tNOUN\n\n\n\nb\tVERB\n", 2),  # doubled blank lines
        ("a\tNOUN\r\n\r\nb\tVERB\r\n", 0),  # CRLF
        ("\ufeffa\tNOUN\n\nb\tVERB\n", 0),  # BOM
    ],
)
def test_blank_line_variants_give_the_same_sentences(kit, text, extra):
    sentences, counts = kit.read(kit.write("test-en.tsv", text), "tag", "udpos")
    assert [(s.words, s.tags) for s in sentences] == [(("a",), ("NOUN",)), (("b",), ("VERB",))]
    assert counts["extra_blank_lines"] == extra
    assert sentences[1].id.endswith(":" + str(text.replace("\r", "").lstrip("\ufeff").split("\n").index("b\tVERB") + 1))


def test_matching_language_prefix_is_stripped_and_counted(kit):
    path = kit.write("dev-af.tsv", "af:Later\tO\naf:Rooi\tB-ORG\nen:Rose\tI-ORG\naf:\tO\n")
    (sentence,), counts = kit.read(path, "tag", "panx", "af")
    # only the file's own language prefix is removed; a bare "af:" is a real token
    assert sentence.words == ("Later", "Rooi", "en:Rose", "af:")
    assert counts["prefixes_stripped"] == 2


def test_unlabeled_file_reads_tokens_only(kit):
    (sentence,), _ = kit.read(kit.write("test-de.tsv", "Der\nHund\n"), "tag", "panx", "de")
    assert sentence.words == ("Der", "Hund") and sentence.tags is None


def test_writer_round_trip_labeled_and_unlabeled(kit):
    labeled = [TaggedSentence(("a", "b"), ("B-PER", "I-PER"), "en", "1"), TaggedSentence(("c",), ("O",), "en", "2")]
    path = kit.root / "out.tsv"
    assert write_tagged(path, labeled) == 2
    assert path.read_text() == "a\tB-PER\nb\tI-PER\n\nc\tO\n"  # XTREME layout: no blank line at the end
    back, _ = kit.read(path, "tag", "panx")
    assert [(s.words, s.tags) for s in back] == [(s.words, s.tags) for s in labeled]
    write_tagged(path, [TaggedSentence(("x", "y"), None, "en", "1")])
    (unlabeled,), _ = kit.read(path, "tag", "panx")
    assert (unlabeled.words, unlabeled.tags) == (("x", "y"), None)


def test_writer_refuses_what_it_cannot_round_trip(kit):
    with pytest.raises(ValueError, match="token"):
        write_tagged(kit.root / "x.tsv", [TaggedSentence(("a\tb",), ("O",), "en", "1")])
    with pytest.raises(ValueError, match="empty sentence"):
        write_tagged(kit.root / "x.tsv", [TaggedSentence((), (), "en", "1")])
    with pytest.raises(ValueError, match="mix"):
        write_tagged(kit.root / "x.tsv", [TaggedSentence(("a",), ("O",), "en", "1"), TaggedSentence(("b",), None, "en", "2")])


# --- corruption -----------------------------------------------------------------------------------


def test_tag_missing(kit):
    path = kit.write("dev-en.tsv", "a\tO\n\nb\tO\nc\n")
    kit.expect_error(path, "tag", "panx", 4, "tag missing", "'c'")


def test_unexpected_tag_in_unlabeled_file(kit):
    path = kit.write("test-en.tsv", "a\nb\n\nc\tO\n")
    kit.expect_error(path, "tag", "panx", 4, "unexpected tag column: most lines of this file have none")


def test_unknown_tag(kit):
    path = kit.write("dev-en.tsv", "a\tO\nb\tB-MISC\n")
    kit.expect_error(path, "tag", "panx", 2, "unknown tag", "'B-MISC'")


def test_too_many_columns(kit):
    path = kit.write("dev-en.tsv", "a\tNOUN\textra\n")
    kit.expect_error(path, "tag", "udpos", 1, "3 tab-separated columns")


def test_empty_token(kit):
    path = kit.write("dev-en.tsv", "a\tO\n\tO\n")
    kit.expect_error(path, "tag", "panx", 2, "empty token")


def test_invalid_utf8(kit):
    path = kit.write("dev-en.tsv", b"a\tO\n\n\xc3\x28\tO\n")
    kit.expect_error(path, "tag", "panx", 3, "invalid UTF-8")


def test_empty_file(kit):
    kit.expect_error(kit.write("dev-en.tsv", ""), "tag", "panx", None, "empty file")


def test_collecting_sink_reports_every_problem_and_keeps_good_sentences(kit):
    path = kit.write("dev-en.tsv", "a\tO\n\nb\tX\n\nc\n\nd\tO\n")
    sink = ProblemSink(collect=True)
    sentences = list(read_file(path, "tag", task=get_task("panx"), lang="en", problems=sink))
    assert [s.words for s in sentences] == [("a",), ("d",)]
    assert [(e.line, e.problem.split()[0]) for e in sink.errors] == [(3, "unknown"), (5, "tag")]


def test_prefixes_are_counted_once_on_the_careful_path_and_not_for_dropped_sentences(kit):
    # A line with two tabs anywhere turns the block fast path off for the file (it could misalign
    # columns), so every block is read line by line; the dropped block's prefixes are not counted.
    path = kit.write("dev-af.tsv", "af:a\tO\naf:b\tO\n\naf:c\tO\taf:d\n\naf:e\tO\n")
    sink = ProblemSink(collect=True)
    counts = Counter()
    sentences = list(read_file(path, "tag", task=get_task("panx"), lang="af", counts=counts, problems=sink))
    assert [s.words for s in sentences] == [("a", "b"), ("e",)]
    assert [e.line for e in sink.errors] == [4] and counts["prefixes_stripped"] == 3


# --- damage that used to be read silently -----------------------------------------------------------


@pytest.mark.parametrize("line", [" ", "\t", " \t "])
def test_whitespace_only_line_is_an_error_not_a_sentence_break(real, line):
    copy = real("tag")
    path = copy.write(copy.replace(3, line))
    copy.expect_error(path, 3, "line holds only whitespace")
    copy.assert_remainder(path, lost=1)  # the sentence is dropped whole, not split in two


def test_three_columns_next_to_a_tagless_line_are_not_realigned(kit):
    # The old block fast path only compared tab and line counts: this read as x/NOUN + NOUN/VERB.
    path = kit.write("dev-en.tsv", "x\tNOUN\tNOUN\nVERB\n\na\tNOUN\n")
    kit.expect_error(path, "tag", "udpos", 1, "3 tab-separated columns")


@pytest.mark.parametrize("name", ["tag", "panx_tag"])
def test_labeled_file_whose_line_1_lacks_its_tag_names_line_1(real, name):
    # The reader used to decide "unlabeled" from line 1 and report line 2 (or, on the folder scan, skip
    # the file from evaluation); the whole file decides.
    copy = real(name)
    path = copy.write(copy.replace(1, copy.lines[0].split("\t")[0]))
    copy.expect_error(path, 1, "tag missing for token", "(most lines of this file have a tag)")
    copy.assert_remainder(path, lost=1)


def test_a_tie_is_read_as_labeled_and_names_the_first_untagged_line(kit):
    path = kit.write("dev-en.tsv", "a\tNOUN\nb\n\nc\nd\tNOUN\n")
    kit.expect_error(path, "tag", "udpos", 2, "tag missing for token 'b'")


def test_census_agrees_with_a_plain_line_by_line_count():
    # The C-speed vote against the obvious implementation, on 20,000 random short mixes of tabs, LFs and text.
    rng = random.Random(0)
    for _ in range(20000):
        data = bytes(rng.choice(b"\t\nab ") for _ in range(rng.randint(0, 14)))
        lines = data.split(b"\n")[:-1] if data.endswith(b"\n") else data.split(b"\n")
        tagged = sum(b"\t" in line for line in lines)
        untagged = sum(1 for line in lines if line and b"\t" not in line)
        two_tabs = any(line.count(b"\t") > 1 for line in lines)
        assert _tab_census(data) == (tagged >= untagged, not two_tabs), data
