"""Hub conversion with locally built `datasets.Dataset`s carrying each hub dataset's schema (no network)."""

from __future__ import annotations

import re

import pytest

datasets = pytest.importorskip("datasets")
from datasets import ClassLabel, Dataset, Features, Sequence, Value  # noqa: E402

from xlpt.data import hub  # noqa: E402
from xlpt.data.hub import hub_location, rows_to_examples  # noqa: E402
from xlpt.data.loading import load_split  # noqa: E402
from xlpt.errors import ConfigError, DataFormatError  # noqa: E402
from xlpt.tasks import get_task

PANX_TAGS = get_task('panx').labels
UPOS_TAGS = get_task('udpos').labels

NER = ClassLabel(names=list(PANX_TAGS))


def xnli_dataset(labels):
    features = Features({"premise": Value("string"), "hypothesis": Value("string"),
                         "label": ClassLabel(names=["entailment", "neutral", "contradiction"])})
    return Dataset.from_dict({"premise": ["p"] * len(labels), "hypothesis": ["h"] * len(labels), "label": labels}, features=features)


def pawsx_dataset(labels):
    features = Features({"id": Value("int32"), "sentence1": Value("string"), "sentence2": Value("string"),
                         "label": ClassLabel(names=["0", "1"])})
    n = len(labels)
    return Dataset.from_dict({"id": list(range(4, 4 + n)), "sentence1": ["s"] * n, "sentence2": ["t"] * n, "label": labels}, features=features)


def test_facebook_xnli_rows():
    examples = rows_to_examples(get_task("xnli"), "de", "test", xnli_dataset([0, 1, 2]))
    assert [e.label for e in examples] == ["entailment", "neutral", "contradiction"]
    assert (examples[0].text_a, examples[0].text_b, examples[0].lang) == ("p", "h", "de")


def test_paws_x_rows_map_class_names_and_keep_missing_labels_as_none():
    examples = rows_to_examples(get_task("pawsx"), "fr", "train", pawsx_dataset([1, 0, -1]))
    assert [e.label for e in examples] == ["paraphrase", "not_paraphrase", None]
    assert [e.id for e in examples] == ["4", "5", "6"]


def test_xtreme_udpos_uses_the_datasets_own_class_order():
    # The names come from the features, so a reordered ClassLabel still maps correctly.
    features = Features({"tokens": Sequence(Value("string")), "pos_tags": Sequence(ClassLabel(names=list(UPOS_TAGS)))})
    data = Dataset.from_dict({"tokens": [["Ich", "war", "im"]], "pos_tags": [[10, 3, 1]]}, features=features)
    (sentence,) = rows_to_examples(get_task("udpos"), "de", "test", data)
    assert sentence.words == ("Ich", "war", "im") and sentence.tags == ("PRON", "AUX", "ADP")
    reordered = Features({"tokens": Sequence(Value("string")), "pos_tags": Sequence(ClassLabel(names=list(reversed(UPOS_TAGS))))})
    data = Dataset.from_dict({"tokens": [["x"]], "pos_tags": [[0]]}, features=reordered)
    assert rows_to_examples(get_task("udpos"), "de", "test", data)[0].tags == ("X",)


@pytest.mark.parametrize("with_spans", [False, True])  # google/xtreme PAN-X.<lang> / unimelb-nlp/wikiann
def test_panx_and_wikiann_rows(with_spans):
    columns = {"tokens": Sequence(Value("string")), "ner_tags": Sequence(NER), "langs": Sequence(Value("string"))}
    rows = {"tokens": [["Sioux", "Falls", "Arena"]], "ner_tags": [[3, 4, 4]], "langs": [["en", "en", "en"]]}
    if with_spans:
        columns["spans"] = Sequence(Value("string"))
        rows["spans"] = [["ORG: Sioux Falls Arena"]]
    (sentence,) = rows_to_examples(get_task("panx"), "en", "dev", Dataset.from_dict(rows, features=Features(columns)))
    assert sentence.tags == ("B-ORG", "I-ORG", "I-ORG")


def test_conversion_errors_name_the_row():
    columns = Features({"tokens": Sequence(Value("string")), "ner_tags": Sequence(NER)})
    data = Dataset.from_dict({"tokens": [["a"], ["b", "c"]], "ner_tags": [[0], [0]]}, features=columns)
    with pytest.raises(DataFormatError) as info:
        rows_to_examples(get_task("panx"), "en", "dev", data, where="hf:google/xtreme/PAN-X.en[validation]")
    assert (info.value.path, info.value.line) == ("hf:google/xtreme/PAN-X.en[validation]", 2)
    assert "2 words but 1 tags" in info.value.problem
    with pytest.raises(DataFormatError, match="missing column"):
        rows_to_examples(get_task("xnli"), "en", "dev", [{"premise": "p", "label": 0}])
    with pytest.raises(DataFormatError, match="outside the ClassLabel"):
        rows_to_examples(get_task("xnli"), "en", "dev", _RowsWithFeatures([{"premise": "p", "hypothesis": "h", "label": 5}]))


class _RowsWithFeatures(list):
    """Plain rows carrying XNLI's hub features: a label id the ClassLabel itself would refuse to store."""

    features = xnli_dataset([0]).features


def test_hub_locations():
    assert str(hub_location(get_task("xnli"), "th", "dev")) == "hf:facebook/xnli/th[validation]"
    assert str(hub_location(get_task("pawsx"), "ko", "test")) == "hf:google-research-datasets/paws-x/ko[test]"
    assert str(hub_location(get_task("udpos"), "eu", "train")) == "hf:google/xtreme/udpos.Basque[train]"
    assert str(hub_location(get_task("panx"), "sw", "test")) == "hf:google/xtreme/PAN-X.sw[test]"
    assert str(hub_location(get_task("panx"), "pl", "test")) == "hf:unimelb-nlp/wikiann/pl[test]"  # not in google/xtreme
    assert str(hub_location(get_task("panx"), "sw", "test", "unimelb-nlp/wikiann")) == "hf:unimelb-nlp/wikiann/sw[test]"
    with pytest.raises(ConfigError, match="no udpos config for 'wo'"):
        hub_location(get_task("udpos"), "wo", "test")
    with pytest.raises(ConfigError, match="unknown language 'xx'"):
        hub_location(get_task("xnli"), "xx", "test")


def test_load_split_hf_goes_through_load_dataset(monkeypatch):
    calls = []

    def fake_load_dataset(repo, config, split):
        calls.append((repo, config, split))
        return xnli_dataset([2, 0, 1, 1])

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    loaded = load_split(get_task("xnli"), "sw", "test", "hf", limit=3)
    assert calls == [("facebook/xnli", "sw", "test")]
    assert [e.label for e in loaded.examples] == ["contradiction", "entailment", "neutral"]
    assert loaded.labeled and loaded.files == [] and loaded.counts["duplicates"] == 2
    assert loaded.notes == ["read hf:facebook/xnli/sw[test]"]


def test_hub_failure_is_a_clear_config_error(monkeypatch):
    def offline(*args, **kwargs):
        raise ConnectionError("no network")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(ConfigError, match="could not load hf:google/xtreme/udpos.English\\[train\\].*no network"):
        load_split(get_task("udpos"), "en", "train", "hf")
    assert hub.HUB_SPLITS["dev"] == "validation"


# --- SIB-200 and tasks described only by their YAML hub section -----------------------------------


def sib200_dataset(rows):
    """Davlan/sib200's schema (per FLORES-200 config; splits train/validation/test): index_id int64, text
    string, category string (the topic name, not a ClassLabel)."""
    features = Features({"index_id": Value("int64"), "text": Value("string"), "category": Value("string")})
    ids, texts, categories = zip(*rows)
    return Dataset.from_dict({"index_id": list(ids), "text": list(texts), "category": list(categories)},
                             features=features)


def test_davlan_sib200_rows():
    from xlpt.data.examples import TextExample

    data = sib200_dataset([(431, "Turkey is encircled by seas.", "geography"), (403, "Radar", "science/technology")])
    examples = rows_to_examples(get_task("sib200"), "eng_Latn", "test", data)
    assert examples == [TextExample("Turkey is encircled by seas.", "geography", "eng_Latn", "431"),
                        TextExample("Radar", "science/technology", "eng_Latn", "403")]
    with pytest.raises(DataFormatError, match="unknown label 'weather'"):
        rows_to_examples(get_task("sib200"), "eng_Latn", "test", sib200_dataset([(1, "x", "weather")]))


def test_sib200_location_is_the_flores_code_and_validation_split(monkeypatch):
    assert str(hub_location(get_task("sib200"), "zho_Hant", "dev")) == "hf:Davlan/sib200/zho_Hant[validation]"
    calls = []

    def fake_load_dataset(repo, config, split):
        calls.append((repo, config, split))
        return sib200_dataset([(1, "a", "travel"), (2, "b", "sports"), (3, "c", "travel")])

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    loaded = load_split(get_task("sib200"), "swh_Latn", "test", "hf", limit=2)
    assert calls == [("Davlan/sib200", "swh_Latn", "test")]
    assert [(e.id, e.label, e.lang) for e in loaded.examples] == [("1", "travel", "swh_Latn"), ("2", "sports", "swh_Latn")]
    assert loaded.labeled and loaded.counts["duplicates"] == 0


def test_a_task_without_a_language_list_needs_explicit_languages_on_the_hub(config):
    from xlpt.data.plan import plan_languages
    from xlpt.data.sources import TaskData

    data = TaskData(get_task("sib200"), "hf")
    cfg = config(data__task="sib200", data__data_dir="hf")
    assert plan_languages(cfg, data, "test", ["eng_Latn", "deu_Latn"]) == ({"eng_Latn": "test", "deu_Latn": "test"}, {})
    with pytest.raises(ConfigError, match="lists no languages.*data.eval_languages"):
        plan_languages(cfg, data, "test", None)
    assert data.record()["hub"] == "hf" and data.log_lines()[0].startswith("data: sib200 from the Hugging Face hub")


USER_HUB_TASK = """
name: mytopic
family: text_classification
labels: [science, travel]
metric: accuracy
data: {{path: "{{lang}}/{{split}}.tsv", format: tsv}}
template: "{{text}} Topic:"
label_words: {{science: " science", travel: " travel"}}
hub: {hub}
"""


def test_a_user_task_loads_from_the_hub_by_its_yaml_section(user_task):
    user_task(USER_HUB_TASK.format(hub='{repo: someone/topics, config: "topics-{lang}", splits: {dev: dev}, '
                                       'columns: {text: sentence, label: topic}}'))
    assert str(hub_location(get_task("mytopic"), "fr", "dev")) == "hf:someone/topics/topics-fr[dev]"
    features = Features({"sentence": Value("string"), "topic": ClassLabel(names=["travel", "science"])})
    data = Dataset.from_dict({"sentence": ["s1", "s2"], "topic": [0, 1]}, features=features)
    examples = rows_to_examples(get_task("mytopic"), "fr", "dev", data)
    assert [(e.text, e.label, e.id) for e in examples] == [("s1", "travel", "hf:mytopic/fr[dev]:1"),
                                                           ("s2", "science", "hf:mytopic/fr[dev]:2")]
    with pytest.raises(DataFormatError, match="missing column"):
        rows_to_examples(get_task("mytopic"), "fr", "dev", [{"text": "s", "topic": 0}])


@pytest.mark.parametrize("hub, words", [
    ("{repo: a/b, colums: {text: t}}", "unknown hub key(s) colums"),
    ("{loader: squad}", "hub.loader='squad' is not one of udpos, panx"),
    ("{config: x}", "hub.repo must name the dataset"),
    ("{repo: a/b, columns: [text]}", "hub.columns must map names to names"),
])
def test_bad_hub_sections_are_one_line_errors(user_task, hub, words):
    user_task(USER_HUB_TASK.format(hub=hub))
    with pytest.raises(ConfigError, match=re.escape(words)):
        hub_location(get_task("mytopic"), "fr", "dev")


def test_a_task_without_a_hub_section_says_so(user_task):
    user_task(USER_HUB_TASK.format(hub="null"))
    with pytest.raises(ConfigError, match="has no hub: section, so data_dir=hf cannot load it"):
        load_split(get_task("mytopic"), "fr", "dev", "hf")


def test_task_data_reads_the_hub_through_its_data_source(monkeypatch):
    # TaskData has no hub branch: the HubSource says which languages and splits exist and what load_split reads
    monkeypatch.setattr(datasets, "load_dataset", lambda repo, config, split: sib200_dataset([(7, "a", "travel")]))
    from xlpt.data.sources import TaskData

    data = TaskData(get_task("sib200"), "hf")
    assert data.resolve_languages(["swh_Latn"]) == ["swh_Latn"] and data.labeled_splits("swh_Latn") == {"train", "dev", "test"}
    loaded = data.load("swh_Latn", "dev")
    assert [(e.id, e.label) for e in loaded.examples] == [("7", "travel")]
    assert loaded.notes[0] == "read hf:Davlan/sib200/swh_Latn[validation]"
