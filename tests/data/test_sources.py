"""One DataSource protocol (data/sources.py): pattern, XTREME-layout and hub sources emit the same scan and
choice; a task's source order, exclusions and readers are its YAML's `data.sources`."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from xlpt.data.choice import Resolved
from xlpt.data.files import Scan
from xlpt.data.hub import HubSource
from xlpt.data.layout import LayoutSource, resolve, scan
from xlpt.data.pattern import PatternSource
from xlpt.data.sources import TaskData, data_source
from xlpt.errors import ConfigError
from xlpt.tasks import get_task

XNLI_ROW = "p\th\tneutral\n"

# A task in the XTREME layout shaped like XCOPA: <lang>/<source>/{train,val,test}.jsonl, readers declared per
# source folder. (The real xcopa task is H4's YAML; this stand-in keeps the layout tested on its own.)
COPA_LIKE = """
name: copalike
family: pair_classification
labels: [choice1, choice2]
metric: accuracy
languages: [en, et, zh]
data:
  layout: xtreme
  sources:
    readers: [xcopa_jsonl, copa_jsonl]
    formats: {{xcopa-github: xcopa_jsonl, copa-superglue: copa_jsonl}}
    {extra}
  train_lang: en
  parallel: row
template: "{{text_a}} {{text_b}}"
label_words: {{choice1: " one", choice2: " two"}}
"""
COPA_ROW = '{"premise": "p", "choice1": "a", "choice2": "b", "question": "cause", "idx": 0, "label": 1}\n'


def test_the_three_sources_emit_the_same_scan_and_choice(kit):
    kit.write("xnli/de/xtreme-mesh/dev-de.tsv", XNLI_ROW)
    kit.write("sib200/eng_Latn/sib200-github/dev.tsv", "index_id\tcategory\ttext\n1\ttravel\tx\n")
    sources = [data_source(get_task("xnli"), kit.root), data_source(get_task("sib200"), kit.root),
               data_source(get_task("pawsx"), "hf")]
    assert [type(source) for source in sources] == [LayoutSource, PatternSource, HubSource]
    for source in sources:
        found, resolved = source.scan(), source.resolve()
        assert isinstance(found, Scan) and isinstance(resolved, Resolved) and found.spec is source.spec
        assert {f.lang for f in found.files} == set(resolved.sources)
        assert source.record(resolved.contract) and source.log_lines(resolved.contract)
    hub = sources[2].resolve()
    assert sorted(hub.sources) == sorted(get_task("pawsx").languages)
    assert sources[2].reads(hub.sources["de"]["test"]) == "hf"


def test_a_language_the_hub_cannot_hold_is_a_problem_of_that_language():
    data = TaskData(get_task("udpos"), "hf")  # google/xtreme has no udpos config for Wolof
    assert "no udpos config for 'wo'" in data.unusable("wo") and data.unusable("de") is None
    assert data.splits("de") == {"train", "dev", "test"}
    assert data.record()["hub"] == "hf" and data.record()["unusable_languages"]["wo"]


def test_functions_take_the_task_object(kit):
    kit.write("xnli/de/xtreme-mesh/dev-de.tsv", XNLI_ROW)
    task = get_task("xnli")
    assert scan(task, kit.root).spec is task and resolve(task, kit.root).sources == resolve(get_task("xnli"), kit.root).sources
    assert TaskData(task, kit.root).task is task


def test_the_source_order_is_the_tasks_own(user_task, kit):
    extra = "order: [copa, xcopa]   # copa-superglue before xcopa-github"
    user_task(COPA_LIKE.format(extra=extra))
    kit.write("copalike/en/xcopa-github/val.jsonl", COPA_ROW)
    kit.write("copalike/en/copa-superglue/val.jsonl", COPA_ROW)
    dev = resolve(get_task("copalike"), kit.root)
    assert dev.sources["en"]["dev"].origin == "copa-superglue" and dev.sources["en"]["dev"].fmt == "copa_jsonl"
    assert any("source order copa > xcopa" in rule for rule in dev.contract.rules)


def test_without_an_order_two_sources_of_one_split_are_a_problem(user_task, kit):
    user_task(COPA_LIKE.format(extra=""))
    kit.write("copalike/en/xcopa-github/val.jsonl", COPA_ROW)
    kit.write("copalike/en/copa-superglue/val.jsonl", COPA_ROW)
    (item,) = resolve(get_task("copalike"), kit.root).contract.problems
    assert "two sources of equal rank for en dev" in item.problem and "none declared" in item.problem


def test_yaml_exclusions_and_readers(user_task, kit):
    extra = ("exclude: [{origin: xcopa, splits: [dev], why: a re-split of test}, "
             "{file: train.jsonl, why: machine translated}]")
    user_task(COPA_LIKE.format(extra=extra))
    kit.write("copalike/et/xcopa-github/val.jsonl", COPA_ROW)
    kit.write("copalike/et/xcopa-github/test.jsonl", COPA_ROW)
    kit.write("copalike/en/copa-superglue/train.jsonl", COPA_ROW)
    kit.write("copalike/zh/other/test.jsonl", COPA_ROW)  # read as jsonl, which this task does not declare
    resolved = resolve(get_task("copalike"), kit.root)
    assert set(resolved.sources["et"]) == {"test"} and "en" not in resolved.sources
    reasons = {item.path.name + " " + item.path.parent.name: item.reason for item in resolved.contract.ignored}
    assert reasons["val.jsonl xcopa-github"] == "not used (a re-split of test)"
    assert reasons["train.jsonl copa-superglue"] == "not used (machine translated)"
    (item,) = resolved.contract.problems
    assert item.langs == ("zh",) and "read as jsonl, which is not one of copalike's readers" in item.problem


@pytest.mark.parametrize("extra, words", [
    ("exclude: [{splits: [dev], why: x}]", "names neither `origin` nor `file`"),
    ("exclude: [{origin: xglue, splits: [validation], why: x}]", "validation"),
    ("exclude: [{origin: xglue}]", "why"),
    ("order: [xtreme, xtreme]", "data.sources.order names xtreme twice"),
    ("formats: {a/b: copa_jsonl}", "'a/b' is not a source-folder prefix"),
    ("formats: {xcopa: tsv3}", "data.sources.formats uses tsv3, not among data.sources.readers"),
    ("colour: red", "colour"),
])
def test_bad_sources_sections_are_one_line_errors(user_task, extra, words):
    text = COPA_LIKE.format(extra=extra)
    if extra.startswith("formats:"):  # replaces the declared formats (a second `formats` is a duplicate key)
        text = COPA_LIKE.format(extra="").replace("formats: {xcopa-github: xcopa_jsonl, copa-superglue: copa_jsonl}",
                                                 extra)
    with pytest.raises(ConfigError) as info:
        user_task(text)
    assert words in str(info.value) and "\n" not in str(info.value).strip()


def test_sources_rules_belong_to_the_xtreme_layout(user_task):
    text = COPA_LIKE.format(extra="").replace("layout: xtreme", 'path: "{lang}/{split}.tsv"\n  format: tsv')
    with pytest.raises(ConfigError, match="data.sources applies to layout: xtreme only"):
        user_task(text)
    with pytest.raises(ConfigError, match="data.corpus='flores200' needs data.parallel"):
        user_task(COPA_LIKE.format(extra="").replace("  parallel: row", "  corpus: flores200"))


def test_the_builtin_xtreme_rules_live_in_the_yamls():
    xnli, pawsx = get_task("xnli").data.sources, get_task("pawsx").data.sources
    assert xnli.order == ("xtreme", "xfinal", "hf", "ud", "mmner", "supergleber", "xglue")
    assert xnli.exclusion("xglue-supergleber", "dev.txt", "dev").startswith("not used (XGLUE's German train/dev")
    assert xnli.exclusion("xglue-supergleber", "test.txt", "test") is None
    assert pawsx.exclusion("xfinal-cla", "translated_train.tsv", "train").startswith("not used (PAWS-X's machine")
    assert get_task("udpos").data.sources.readers == ("tag", "conllu")
    assert get_task("sib200").data.corpus == "flores200"


def test_copa_like_val_is_dev_and_rows_align_within_a_split_only(user_task, kit):
    from xlpt.data.plan import RowsRead, evaluation_rows
    from xlpt.data.sampling import Sample

    user_task(COPA_LIKE.format(extra=""))
    kit.write("copalike/en/copa-superglue/train.jsonl", COPA_ROW * 4)
    kit.write("copalike/en/copa-superglue/val.jsonl", COPA_ROW * 2)
    kit.write("copalike/et/xcopa-github/val.jsonl", COPA_ROW * 2)
    sources = resolve(get_task("copalike"), kit.root).sources
    assert set(sources["en"]) == {"train", "dev"} and set(sources["et"]) == {"dev"}
    # English train rows are other items than dev/test (COPA-dev 1-400): an XCOPA dev row is never excluded for
    # them, while selection on English dev flags the aligned rows
    def sample(*rows):
        return Sample(list(rows), 4, 0, False)

    et_dev = [SimpleNamespace(label="choice1", stratum="choice1", id=str(i)) for i in range(2)]
    read = RowsRead("en", sample(0, 1, 2, 3), "train", frozenset(), sample(1), "dev", frozenset())
    rows = evaluation_rows(et_dev, "et", "dev", read, None, 0, "row")
    assert (rows.excluded_parallel, rows.parallel_to_selection, rows.indices) == (0, 1, [0, 1])
    trained_on_dev = RowsRead("en", sample(0), "dev", frozenset(), sample(1), "dev", frozenset())
    rows = evaluation_rows(et_dev, "et", "dev", trained_on_dev, None, 0, "row")
    assert (rows.excluded_parallel, rows.indices) == (1, [1])
