"""Rules every reader shares through its ReadContext: a file without examples is an error, and
labeledness is a vote of the whole file."""

from __future__ import annotations

import pytest

from xlpt.data.formats import read_file
from xlpt.tasks import get_task
from xlpt.data.formats.context import labeled_by_vote
from xlpt.data.problems import ProblemSink

CONLLU_COMMENTS = "# newdoc id = n01001\n# sent_id = n01001011\n# text = Ein Satz.\n\n# newpar\n"


@pytest.mark.parametrize(
    "name, fmt, task, lang, text",
    [
        ("test.tsv", "hdr4", "pawsx", "de", "id\tsentence1\tsentence2\tlabel\n"),
        ("test-00000-of-00001.tsv", "hdr4q", "pawsx", "zh", "id\tsentence1\tsentence2\tlabel\n\n"),
        ("truth.csv", "csv_token", "panx", "af", "sent_idx,word_idx,word,word_id,truth\n"),
        ("de_pud-ud-test.conllu", "conllu", "udpos", "de", CONLLU_COMMENTS),
    ],
)
def test_a_file_without_examples_is_a_file_level_error(kit, name, fmt, task, lang, text):
    # Such files used to pass `xlpt data check` with 0 examples and then crash training.
    kit.expect_error(kit.write(name, text), fmt, task, None, "no examples", lang=lang)


def test_a_real_conllu_header_alone_has_no_examples(real):
    copy = real("conllu")
    comments = [line for line in copy.lines[:10] if line.startswith("#")]
    copy.expect_error(copy.write(comments), None, "no examples")


def test_no_examples_is_not_added_when_every_record_was_already_reported(kit):
    path = kit.write("test.tsv", "id\tsentence1\tsentence2\tlabel\n1\ta\tb\t7\n")
    sink = ProblemSink(collect=True)
    assert list(read_file(path, "hdr4", task=get_task("pawsx"), lang="de", problems=sink)) == []
    assert [(e.line, e.problem.split(" (")[0]) for e in sink.errors] == [(2, "unknown label id 7")]


def test_the_vote_counts_records_and_a_tie_is_labeled():
    assert labeled_by_vote(3, 2) and not labeled_by_vote(2, 3)
    # a tie is loaded as labeled, so its disagreeing lines are reported instead of being skipped
    assert labeled_by_vote(2, 2) and labeled_by_vote(0, 0)
