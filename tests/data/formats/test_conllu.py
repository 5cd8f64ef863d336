"""CoNLL-U with XTREME's conventions: multiword surface forms, empty nodes skipped, comments ignored."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from xlpt.data.formats import read_file
from xlpt.tasks import get_task
from xlpt.data.problems import ProblemSink


def _row(token_id, form, upos="_"):
    return "\t".join([token_id, form, "_", upos, "_", "_", "_", "_", "_", "_"])


GOOD = "\n".join([
    "# sent_id = s1",
    "# text = Ich war im Haus.",
    _row("1", "Ich", "PRON"),
    _row("2", "war", "AUX"),
    _row("3-4", "im"),
    _row("3", "in", "ADP"),
    _row("4", "dem", "DET"),
    _row("4.1", "ghost", "X"),
    _row("5", "Haus", "NOUN"),
    "",
    "# sent_id = s2",
    _row("1", "Ja", "INTJ"),
    "",
]) + "\n"


def test_multiword_token_is_kept_as_surface_with_first_part_tag(kit):
    sentences, counts = kit.read(kit.write("de_gsd-ud-test.conllu", GOOD), "conllu", "udpos", "de")
    assert sentences[0].words == ("Ich", "war", "im", "Haus")
    assert sentences[0].tags == ("PRON", "AUX", "ADP", "NOUN")
    assert [s.id for s in sentences] == ["de_gsd-ud-test.conllu:s1", "de_gsd-ud-test.conllu:s2"]
    assert counts["multiword_tokens"] == 1 and counts["empty_nodes"] == 1


def test_crlf_and_missing_final_blank_line(kit):
    text = GOOD.rstrip("\n").replace("\n", "\r\n")
    sentences, _ = kit.read(kit.write("x-ud-test.conllu", text), "conllu", "udpos", "de")
    assert [s.words for s in sentences] == [("Ich", "war", "im", "Haus"), ("Ja",)]


def test_wrong_column_count(kit):
    path = kit.write("x-ud-test.conllu", _row("1", "a", "NOUN") + "\n1\tb\tNOUN\n")
    kit.expect_error(path, "conllu", "udpos", 2, "expected 10", "got 3")


def test_unknown_upos(kit):
    path = kit.write("x-ud-test.conllu", _row("1", "a", "NOUN") + "\n" + _row("2", "b", "NN") + "\n")
    kit.expect_error(path, "conllu", "udpos", 2, "unknown UPOS", "'NN'")


def test_multiword_range_without_words(kit):
    path = kit.write("x-ud-test.conllu", "# c\n" + _row("1", "a", "NOUN") + "\n" + _row("2-3", "zum") + "\n\n")
    kit.expect_error(path, "conllu", "udpos", 1, "2-3 has no component words")


def test_invalid_range(kit):
    path = kit.write("x-ud-test.conllu", _row("3-2", "zum") + "\n")
    kit.expect_error(path, "conllu", "udpos", 1, "invalid multiword token range")


# --- sentences merged by a lost blank line, and other structure damage --------------------------


def _first_blank(lines):
    return lines.index("")


def test_lost_blank_line_before_a_commented_sentence_names_its_first_comment(real):
    copy = real("conllu")
    blank = _first_blank(copy.lines)
    path = copy.write(copy.lines[:blank] + copy.lines[blank + 1:])
    copy.expect_error(path, blank + 1, "comment line after the tokens", "blank line between two sentences missing")
    copy.assert_remainder(path, lost=2, same_ids=False)  # both halves of the merged block are dropped


def test_lost_blank_line_before_an_uncommented_sentence_names_the_restarting_word(real):
    copy = real("conllu")
    blank = _first_blank(copy.lines)
    body = next(i for i in range(blank + 1, len(copy.lines)) if not copy.lines[i].startswith("#"))
    path = copy.write(copy.lines[:blank] + copy.lines[body:])
    copy.expect_error(path, blank + 1, "word id 1 again inside a sentence")
    copy.assert_remainder(path, lost=2, same_ids=False)


def test_duplicate_sent_id_names_both_lines(real):
    copy = real("conllu")
    first = next(i for i, line in enumerate(copy.lines) if line.startswith("# sent_id"))
    second = next(i for i in range(first + 1, len(copy.lines)) if copy.lines[i].startswith("# sent_id"))
    path = copy.write(copy.replace(second + 1, copy.lines[first]))
    copy.expect_error(path, second + 1, f"duplicate sent_id {copy.lines[first].split('= ')[1]!r}",
                      f"already used on line {first + 1}")
    copy.assert_remainder(path, lost=1)


def test_real_files_have_unique_sent_ids_so_repeats_are_errors(data_dir):
    # Checked before making a repeat an error: every sentence of the 3 real files has its own sent_id.
    for path in sorted((data_dir / "udpos" / "de" / "ud-v2.5").glob("*.conllu")):
        sent_ids = re.findall(r"^# sent_id = (.*)$", path.read_text(encoding="utf-8"), re.M)
        sentences = list(read_file(path, "conllu", task=get_task("udpos"), lang="de"))
        assert [s.id for s in sentences] == [f"{path.name}:{i}" for i in sent_ids]
        assert len(set(sent_ids)) == len(sent_ids) == len(sentences)


@pytest.mark.parametrize(
    "rows, line, words",
    [
        ([_row("1", "a", "NOUN"), _row("2", "b", "NOUN"), _row("4", "c", "NOUN")], 3,
         ("word id 4 out of order", "expected 3")),
        ([_row("1.1", "x", "X"), _row("1", "a", "NOUN")], 1, ("empty node 1.1 out of order",)),
        ([_row("1-2", "zum"), _row("1", "zu", "ADP")], 1, ("1-2 lacks its component words 2..2",)),
        ([_row("1", "a", "NOUN"), _row("3-4", "zum")], 2, ("multiword token 3-4 out of order",)),
        (["# sent_id = a", "# sent_id = b", _row("1", "a", "NOUN")], 2, ("second sent_id 'b'",)),
        ([_row("1", "a", "NOUN"), "# text = b", _row("1", "b", "NOUN")], 2, ("comment line after the tokens",)),
        ([_row("1", "a", "NOUN"), " ", _row("2", "b", "NOUN")], 2, ("line holds only whitespace",)),
    ],
)
def test_structure_damage_names_the_line(kit, rows, line, words):
    path = kit.write("x-ud-test.conllu", "\n".join(rows) + "\n\n")
    kit.expect_error(path, "conllu", "udpos", line, *words, lang="de")


def test_counts_come_only_from_kept_sentences(kit):
    bad = [_row("1-2", "zum"), _row("1", "zu", "ADP"), _row("2", "dem", "DET"), _row("2.1", "x", "X"),
           _row("4", "d", "NOUN")]
    counts, sink = Counter(), ProblemSink(collect=True)
    path = kit.write("x-ud-test.conllu", "\n".join(bad) + "\n\n" + GOOD)
    sentences = list(read_file(path, "conllu", task=get_task("udpos"), lang="de", counts=counts, problems=sink))
    assert [s.words for s in sentences] == [("Ich", "war", "im", "Haus"), ("Ja",)]
    assert counts["multiword_tokens"] == 1 and counts["empty_nodes"] == 1  # GOOD's only
    assert [e.line for e in sink.errors] == [5]
