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


# --- damaged copies of the real truth.csv -----------------------------------------------------------


def test_bad_row_drops_its_whole_sentence_never_shortens_it(real):
    copy = real("csv_token")
    path = copy.write(copy.replace(3, copy.lines[2].rsplit(",", 1)[0] + ",B-XXX"))
    copy.expect_error(path, 3, "unknown tag 'B-XXX'")
    errors = copy.assert_remainder(path, lost=1)
    assert [e.line for e in errors] == [3]  # no follow-on "word_idx out of order" for the next row


def test_runaway_quote_is_named_at_its_line_and_reading_resumes(real):
    copy = real("csv_token")
    path = copy.write(copy.replace(3, '0,1,"af:open,1,O'))
    copy.expect_error(path, 3, "bad CSV quoting", "unbalanced quote")
    errors = copy.assert_remainder(path, lost=1)
    assert [e.line for e in errors] == [3]


def test_missing_row_is_a_word_index_gap(real):
    copy = real("csv_token")
    path = copy.write(copy.lines[:3] + copy.lines[4:])
    copy.expect_error(path, 4, "word_idx 3 out of order in sentence 0 (expected 2)")
    copy.assert_remainder(path, lost=1, same_ids=False)


def test_reappearing_sentence_names_where_it_started(kit):
    path = kit.write("af_test/truth.csv", HEADER + "0,0,af:a,1,O\n1,0,af:b,2,O\n0,0,af:c,3,O\n")
    kit.expect_error(path, "csv_token", "panx", 4, "appears again", "started on line 2", lang="af")


def test_a_2_mb_word_is_read_exactly(real):
    copy = real("csv_token")
    long = "af:" + "z" * 2_000_000
    cells = copy.lines[2].split(",")
    path = copy.write(copy.replace(3, ",".join(cells[:2] + [long] + cells[3:])))
    first, *rest = copy.read(path)
    before = copy.original()[0].words
    assert first.words[1] == long[3:] and first.words[:1] + first.words[2:] == before[:1] + before[2:]
    assert rest == copy.original()[1:]
