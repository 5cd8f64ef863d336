"""CoNLL-U with XTREME's conventions: multiword surface forms, empty nodes skipped, comments ignored."""

from __future__ import annotations


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
