"""The written corpus and task data: layout, parallel dev/test, disjoint splits, shares, determinism."""

import csv
import hashlib

import pytest
import yaml

from xlpt.lab.corpus import TASKS, topic_template, write_text
from xlpt.lab.grammar import ENTITY_TAGS, POS_TAGS
from xlpt.lab.languages import build_languages

from .conftest import make_spec


def read_tsv(path):
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def read_tagged(path):
    """An independent reader of token<TAB>tag files with blank lines between sentences."""
    sentences = []
    for block in path.read_text(encoding="utf-8").strip("\n").split("\n\n"):
        sentences.append([tuple(line.split("\t")) for line in block.split("\n")])
    assert all(len(pair) == 2 for sentence in sentences for pair in sentence)
    return sentences


@pytest.fixture(scope="module")
def written(tmp_path_factory, spec, lexicon, languages):
    root = tmp_path_factory.mktemp("lab-text")
    return root, write_text(spec, lexicon, languages, root)


def test_layout_is_what_the_task_yamls_point_to(written, spec):
    root, manifest = written
    for task in TASKS:
        definition = yaml.safe_load((root / "data" / "tasks" / f"{task}.yaml").read_text(encoding="utf-8"))
        assert definition["name"] == task and definition["data"]["train_lang"] == "base"
        for lang in spec.language_names:
            for split in ("dev", "test") if lang != "base" else ("train", "dev", "test"):
                assert (root / "data" / definition["data"]["path"].format(lang=lang, split=split)).is_file()
    assert not (root / "data" / "lab_topic" / "greek" / "train.tsv").exists()  # train in the base only
    assert manifest["train_languages"] == ["base"]


def test_dev_and_test_are_parallel_across_languages(written, spec, languages):
    root, _ = written
    forms = {name: language.forms() for name, language in languages.items()}
    for split in ("dev", "test"):
        rows = {lang: read_tsv(root / "data" / "lab_topic" / lang / f"{split}.tsv") for lang in spec.language_names}
        base = rows["base"]
        for lang, lang_rows in rows.items():
            assert [(r["id"], r["label"]) for r in lang_rows] == [(r["id"], r["label"]) for r in base]
            for mine, theirs in zip(lang_rows, base):  # the same lexemes, whatever the order and script
                decode = lambda text, name: sorted(forms[name][w][0] for w in text.split(" "))  # noqa: E731
                assert decode(mine["text"], lang) == decode(theirs["text"], "base")
        pos = {lang: read_tagged(root / "data" / "lab_pos" / lang / f"{split}.tsv") for lang in spec.language_names}
        ner = {lang: read_tagged(root / "data" / "lab_ner" / lang / f"{split}.tsv") for lang in spec.language_names}
        for lang in spec.language_names:
            assert [[w for w, _ in s] for s in pos[lang]] == [r["text"].split(" ") for r in rows[lang]]
            assert [[w for w, _ in s] for s in ner[lang]] == [r["text"].split(" ") for r in rows[lang]]
            assert {t for s in pos[lang] for _, t in s} <= set(POS_TAGS)
            assert {t for s in ner[lang] for _, t in s} <= set(ENTITY_TAGS)
        pairs = {lang: read_tsv(root / "data" / "lab_nli" / lang / f"{split}.tsv") for lang in spec.language_names}
        assert all([r["label"] for r in pairs[lang]] == [r["label"] for r in pairs["base"]] for lang in pairs)


def test_splits_are_disjoint_and_have_the_requested_sizes(written, spec):
    root, _ = written
    texts = {split: [r["text"] for r in read_tsv(root / "data" / "lab_topic" / "base" / f"{split}.tsv")]
             for split in ("train", "dev", "test")}
    sizes = {"train": spec.tasks.train, "dev": spec.tasks.dev, "test": spec.tasks.test}
    assert {split: len(t) for split, t in texts.items()} == sizes
    assert all(len(set(t)) == len(t) for t in texts.values())  # distinct meanings give distinct sentences
    assert not set(texts["train"]) & set(texts["test"]) and not set(texts["dev"]) & set(texts["test"])
    assert not set(texts["train"]) & set(texts["dev"])
    pairs = [(r["text_a"], r["text_b"]) for r in read_tsv(root / "data" / "lab_nli" / "base" / "test.tsv")]
    assert len(pairs) == spec.tasks.test and len(set(pairs)) == len(pairs)


def test_pretraining_mixture_follows_the_shares(written, spec):
    root, manifest = written
    for language in spec.all_languages:
        expected = round(language.share * spec.corpus.sentences)
        assert manifest["pretraining"][language.name]["sentences"] == expected
        documents = (root / "corpus" / "train" / f"{language.name}.txt").read_text(encoding="utf-8").splitlines()
        assert len(documents) == manifest["pretraining"][language.name]["documents"]
        assert sum(d.split(" ").count(language.period) for d in documents) == expected


def test_label_words_are_base_words_seen_in_pretraining(written, spec, languages):
    root, _ = written
    corpus_words = set((root / "corpus" / "train" / "base.txt").read_text(encoding="utf-8").split())
    for task in ("lab_topic", "lab_nli"):
        definition = yaml.safe_load((root / "data" / "tasks" / f"{task}.yaml").read_text(encoding="utf-8"))
        label_words = definition["templates"]["default"]["label_words"]
        assert set(label_words) == set(definition["labels"])
        for word in label_words.values():
            assert word.startswith(" ") and word[1:] in corpus_words
    topic = yaml.safe_load((root / "data" / "tasks" / "lab_topic.yaml").read_text(encoding="utf-8"))
    base = languages["base"]
    assert topic["templates"]["default"]["template"] == "{text} " + base.stems["function.is"] + " " + base.stems["function.a"]


def test_the_task_files_register_and_their_data_loads(written, spec):
    """The written YAMLs go through the ordinary task registry and data layer, in every language."""
    from xlpt.data.sources import TaskData
    from xlpt.tasks import include_path

    root, _ = written
    tasks = {task.name: task for task in include_path(root / "data" / "tasks")}
    assert set(tasks) == {"lab_topic", "lab_nli", "lab_pos", "lab_ner"}
    topic = TaskData(tasks["lab_topic"], root / "data")
    assert set(topic.labeled_splits("base")) == {"train", "dev", "test"}
    for name in spec.language_names:
        examples = topic.load(name, "test").examples
        assert len(examples) == spec.tasks.test and {ex.label for ex in examples} <= set(spec.grammar.topics)


def test_topic_template_follows_the_base_word_order(lexicon):
    for order, expected in [("SOV", "{text} A"), ("VSO", "IS {text} A"), ("OSV", "{text} A")]:
        spec = make_spec(base={"name": "base", "order": order, "share": 0.5})
        base = build_languages(spec, lexicon)["base"]
        words = {"A": base.stems["function.a"], "IS": base.stems["function.is"]}
        assert topic_template(base) == " ".join(words.get(w, w) for w in expected.split(" "))


def _digest(root):
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def test_writing_twice_gives_identical_files(written, tmp_path, spec, lexicon, languages):
    root, _ = written
    write_text(spec, lexicon, languages, tmp_path)
    assert _digest(tmp_path) == _digest(root)


def test_changing_one_language_leaves_the_others_files_unchanged(written, tmp_path, spec, lexicon):
    root, _ = written
    changed = make_spec(languages=[*[s.model_dump() for s in spec.languages[:2]],
                                   spec.languages[2].model_dump() | {"order": "OSV"}])
    write_text(changed, lexicon, build_languages(changed, lexicon), tmp_path)
    before, after = _digest(root), _digest(tmp_path)
    same = [path for path in before if "georgian" not in path and path not in ("lexicon.tsv", "data/manifest.json")]
    assert all(before[path] == after[path] for path in same)
    assert before["data/lab_topic/georgian/test.tsv"] != after["data/lab_topic/georgian/test.tsv"]
