"""Hub conversion with locally built `datasets.Dataset`s carrying each hub dataset's schema (no network)."""

from __future__ import annotations

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
    examples = rows_to_examples("xnli", "de", "test", xnli_dataset([0, 1, 2]))
    assert [e.label for e in examples] == ["entailment", "neutral", "contradiction"]
    assert (examples[0].text_a, examples[0].text_b, examples[0].lang) == ("p", "h", "de")


def test_paws_x_rows_map_class_names_and_keep_missing_labels_as_none():
    examples = rows_to_examples("pawsx", "fr", "train", pawsx_dataset([1, 0, -1]))
    assert [e.label for e in examples] == ["paraphrase", "not_paraphrase", None]
    assert [e.id for e in examples] == ["4", "5", "6"]


def test_xtreme_udpos_uses_the_datasets_own_class_order():
    # The names come from the features, so a reordered ClassLabel still maps correctly.
    features = Features({"tokens": Sequence(Value("string")), "pos_tags": Sequence(ClassLabel(names=list(UPOS_TAGS)))})
    data = Dataset.from_dict({"tokens": [["Ich", "war", "im"]], "pos_tags": [[10, 3, 1]]}, features=features)
    (sentence,) = rows_to_examples("udpos", "de", "test", data)
    assert sentence.words == ("Ich", "war", "im") and sentence.tags == ("PRON", "AUX", "ADP")
    reordered = Features({"tokens": Sequence(Value("string")), "pos_tags": Sequence(ClassLabel(names=list(reversed(UPOS_TAGS))))})
    data = Dataset.from_dict({"tokens": [["x"]], "pos_tags": [[0]]}, features=reordered)
    assert rows_to_examples("udpos", "de", "test", data)[0].tags == ("X",)


@pytest.mark.parametrize("with_spans", [False, True])  # google/xtreme PAN-X.<lang> / unimelb-nlp/wikiann
def test_panx_and_wikiann_rows(with_spans):
    columns = {"tokens": Sequence(Value("string")), "ner_tags": Sequence(NER), "langs": Sequence(Value("string"))}
    rows = {"tokens": [["Sioux", "Falls", "Arena"]], "ner_tags": [[3, 4, 4]], "langs": [["en", "en", "en"]]}
    if with_spans:
        columns["spans"] = Sequence(Value("string"))
        rows["spans"] = [["ORG: Sioux Falls Arena"]]
    (sentence,) = rows_to_examples("panx", "en", "dev", Dataset.from_dict(rows, features=Features(columns)))
    assert sentence.tags == ("B-ORG", "I-ORG", "I-ORG")


def test_conversion_errors_name_the_row():
    columns = Features({"tokens": Sequence(Value("string")), "ner_tags": Sequence(NER)})
    data = Dataset.from_dict({"tokens": [["a"], ["b", "c"]], "ner_tags": [[0], [0]]}, features=columns)
    with pytest.raises(DataFormatError) as info:
        rows_to_examples("panx", "en", "dev", data, where="hf:google/xtreme/PAN-X.en[validation]")
    assert (info.value.path, info.value.line) == ("hf:google/xtreme/PAN-X.en[validation]", 2)
    assert "2 tokens but 1 tags" in info.value.problem
    with pytest.raises(DataFormatError, match="missing column"):
        rows_to_examples("xnli", "en", "dev", [{"premise": "p", "label": 0}])
    with pytest.raises(DataFormatError, match="outside the ClassLabel"):
        rows_to_examples("xnli", "en", "dev", _RowsWithFeatures([{"premise": "p", "hypothesis": "h", "label": 5}]))


class _RowsWithFeatures(list):
    """Plain rows carrying XNLI's hub features: a label id the ClassLabel itself would refuse to store."""

    features = xnli_dataset([0]).features


def test_hub_locations():
    assert str(hub_location("xnli", "th", "dev")) == "hf:facebook/xnli/th[validation]"
    assert str(hub_location("pawsx", "ko", "test")) == "hf:google-research-datasets/paws-x/ko[test]"
    assert str(hub_location("udpos", "eu", "train")) == "hf:google/xtreme/udpos.Basque[train]"
    assert str(hub_location("panx", "sw", "test")) == "hf:google/xtreme/PAN-X.sw[test]"
    assert str(hub_location("panx", "pl", "test")) == "hf:unimelb-nlp/wikiann/pl[test]"  # not in google/xtreme
    assert str(hub_location("panx", "sw", "test", "unimelb-nlp/wikiann")) == "hf:unimelb-nlp/wikiann/sw[test]"
    with pytest.raises(ConfigError, match="no udpos config for 'wo'"):
        hub_location("udpos", "wo", "test")
    with pytest.raises(ConfigError, match="unknown language 'xx'"):
        hub_location("xnli", "xx", "test")


def test_load_split_hf_goes_through_load_dataset(monkeypatch):
    calls = []

    def fake_load_dataset(repo, config, split):
        calls.append((repo, config, split))
        return xnli_dataset([2, 0, 1, 1])

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    loaded = load_split("xnli", "sw", "test", "hf", limit=3)
    assert calls == [("facebook/xnli", "sw", "test")]
    assert [e.label for e in loaded.examples] == ["contradiction", "entailment", "neutral"]
    assert loaded.labeled and loaded.files == [] and loaded.counts["duplicates"] == 2
    assert loaded.notes == ["read hf:facebook/xnli/sw[test]"]


def test_hub_failure_is_a_clear_config_error(monkeypatch):
    def offline(*args, **kwargs):
        raise ConnectionError("no network")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(ConfigError, match="could not load hf:google/xtreme/udpos.English\\[train\\].*no network"):
        load_split("udpos", "en", "train", "hf")
    assert hub.HUB_SPLITS["dev"] == "validation"
