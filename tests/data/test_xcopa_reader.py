"""The shared XCOPA files read in place: the upstream `question` errors are repaired from English COPA at the
same idx and counted per file, exactly as the data README lists them; clean languages are untouched."""

import json

import pytest

from xlpt.data.repairs_xcopa import repaired_question

# (lang, split file) -> questions taken from English (../shared/data/xcopa/README.md, "Quirks")
REPAIRS = {("th", "val"): 52, ("th", "test"): 250, ("tr", "val"): 52, ("tr", "test"): 51, ("sw", "val"): 6,
           ("sw", "test"): 37, ("id", "val"): 5, ("id", "test"): 4, ("it", "val"): 5, ("it", "test"): 4}
LANGS = ("et", "ht", "id", "it", "sw", "th", "tr", "vi", "zh")


def xcopa_file(data_dir, lang, split):
    return data_dir / "xcopa" / lang / "xcopa-github" / f"{split}.jsonl"


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("split", ["val", "test"])
def test_repairs_match_the_readme(data_dir, lang, split):
    path = xcopa_file(data_dir, lang, split)
    changed = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        question, what = repaired_question(path, row["idx"], row["question"])
        changed += what == "repaired"
        assert what in (None, "repaired") and question in ("cause", "effect")
        if what == "repaired":
            assert (row["question"], question) == ("effect", "cause")  # the only upstream error
    assert changed == REPAIRS.get((lang, split), 0)


def test_reader_counts_repairs_and_keeps_ids(data_dir):
    from xlpt.data.formats import read_file
    from xlpt.tasks import get_task

    from collections import Counter

    counts = Counter()
    examples = list(read_file(xcopa_file(data_dir, "it", "val"), "xcopa_jsonl", task=get_task("xcopa"), lang="it", counts=counts))
    assert len(examples) == 100 and counts["question_repaired"] == 5
    assert [ex.id for ex in examples[:3]] == ["0", "1", "2"]
    assert examples[62].fields["question"] == "cause" and examples[62].label in ("choice1", "choice2")
    english = list(read_file(data_dir / "xcopa" / "en" / "copa-superglue" / "train.jsonl", "copa_jsonl",
                             task=get_task("xcopa"), lang="en", counts=Counter()))
    assert len(english) == 400 and {ex.label for ex in english} == {"choice1", "choice2"}


def test_every_xcopa_file_matches_its_manifest_row(data_dir, manifest_rows):
    """Each of the 21 xcopa files, read by its manifest format's reader, gives the manifest's count, labeled."""
    from collections import Counter

    from xlpt.data.formats import read_file
    from xlpt.tasks import get_task

    spec, rows = get_task("xcopa"), [row for row in manifest_rows if row["task"] == "xcopa"]
    assert len(rows) == 21 and {row["fmt"] for row in rows} == {"xcopa_jsonl", "copa_jsonl"}
    for row in rows:
        examples = list(read_file(data_dir / row["dest"], row["fmt"], task=spec, lang=row["lang"], counts=Counter()))
        assert (len(examples), all(ex.label is not None for ex in examples)) == (row["n"], row["labeled"]), row
