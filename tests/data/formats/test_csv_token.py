"""PAN-X mmner truth.csv: sentences grouped by sent_idx, `xx:` prefixes stripped, order enforced."""

from __future__ import annotations

HEADER = "sent_idx,word_idx,word,word_id,truth\n"


def test_groups_rows_into_sentences_and_strips_prefix(kit):
    text = HEADER + "0,0,af:Rooi,9262,B-ORG\n0,1,af:Rose,9274,I-ORG\n0,2,\"af:,\",450,O\n1,0,af:Die,3304,O\n"
    sentences, counts = kit.read(kit.write("af_test/truth.csv", text), "csv_token", "panx", "af")
    assert [(s.words, s.tags) for s in sentences] == [
        (("Rooi", "Rose", ","), ("B-ORG", "I-ORG", "O")),
        (("Die",), ("O",)),
    ]
    assert counts["prefixes_stripped"] == 4
    assert sentences[1].id == "truth.csv:5"


def test_word_index_out_of_order(kit):
    path = kit.write("af_test/truth.csv", HEADER + "0,0,af:a,1,O\n0,2,af:b,2,O\n")
    kit.expect_error(path, "csv_token", "panx", 3, "word_idx 2 out of order", lang="af")


def test_sentence_index_reappearing(kit):
    path = kit.write("af_test/truth.csv", HEADER + "0,0,af:a,1,O\n1,0,af:b,2,O\n0,0,af:c,3,O\n")
    kit.expect_error(path, "csv_token", "panx", 4, "appears again", lang="af")


def test_bad_header_and_unknown_tag(kit):
    path = kit.write("af_test/truth.csv", "word,truth\naf:a,O\n")
    kit.expect_error(path, "csv_token", "panx", 1, "expected header", lang="af")
    path = kit.write("af_test/truth.csv", HEADER + "0,0,af:a,1,B-MISC\n")
    kit.expect_error(path, "csv_token", "panx", 2, "unknown tag", lang="af")


def test_wrong_column_count(kit):
    path = kit.write("af_test/truth.csv", HEADER + "0,0,af:a,O\n")
    kit.expect_error(path, "csv_token", "panx", 2, "expected 5", lang="af")
