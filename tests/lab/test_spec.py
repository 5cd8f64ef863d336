"""The lab spec: defaults, one-line errors naming key and value for hostile input, and the cache key."""

import pytest
import yaml

from xlpt.errors import ConfigError
from xlpt.lab.spec import build_key, load_spec, spec_from_dict

from .conftest import make_spec

MINIMAL = {"base": {"name": "base", "share": 0.6},
           "languages": [{"name": "greek", "script": "greek", "share": 0.4}],
           "pretraining": {"tokens": 1000}}


def with_change(path: str, value):
    """MINIMAL with one dotted key (list items by index) set to `value`."""
    tree = yaml.safe_load(yaml.safe_dump(MINIMAL))
    *parents, leaf = path.split(".")
    node = tree
    for part in parents:
        node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
    node[int(leaf) if leaf.isdigit() else leaf] = value
    return tree


def error_of(tree) -> str:
    with pytest.raises(ConfigError) as caught:
        spec_from_dict(tree, "lab.yaml")
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_minimal_spec_gets_documented_defaults():
    spec = spec_from_dict(MINIMAL)
    assert spec.language_names == ["base", "greek"]
    assert spec.languages[0].order == "SVO" and spec.languages[0].lexicon == "generate"
    assert spec.tokenizer.mode == "natural" and spec.pretraining.tokens == 1000


@pytest.mark.parametrize("path, value, expected", [
    ("languages.0.shaer", 0.4, "unknown config key 'languages[greek].shaer' (did you mean languages[greek].share?); "
                               "keys of languages[greek]: name, script,"),
    ("grammar.probabilities.neg", 0.1, "unknown config key 'grammar.probabilities.neg'; keys of grammar.probabilities: "
                                       "copula, negation,"),
    ("languages.0.script", "klingon", "languages[greek].script='klingon': must be one of 'latin', 'greek',"),
    ("languages.0.share", 0.3, "share: pretraining shares must sum to 1, they sum to 0.9 (base=0.6, greek=0.3)"),
    ("languages.0.share", "half", "languages[greek].share='half': must be a number"),
    ("languages.0.share", True, "languages[greek].share=True: expected a number, got true"),
    ("pretraining.tokens", 1.5, "pretraining.tokens=1.5: must be a whole number"),
    ("pretraining.tokens", True, "pretraining.tokens=True: expected a whole number, got true"),
    ("pretraining.steps", 10, "pretraining: give exactly one budget of tokens, steps or seconds, got ['tokens', 'steps']"),
    ("languages.0.name", "Greek", "languages[Greek].name='Greek': String should match pattern '^[a-z]"),
    ("languages.0.syllables", [3, 1], "languages[greek].syllables: min 3 > max 1"),
    ("languages.0.consonants", 40, "languages[greek].consonants: the greek inventory has 16, got 40"),
    ("languages.0.piece_syllables", 1, "languages[greek].piece_syllables=1 only applies with tokenizer.mode=segmented"),
    ("languages.0.lexicon", "identity", "lexicon identity keeps the base words, so script must be 'latin'"),
    ("languages.0.name", "base", "languages: duplicate language names in ['base', 'base']"),
    ("base.anchors", ["names"], "base: the base language generates its own words"),
    ("model.heads", 3, "d_model 128 is not divisible by heads 3"),
    ("grammar.topics", ["animals"], "topics: need at least 2 topics"),
    ("retrieval.sentences", 500, "retrieval.sentences 500 > tasks.test 400"),
    ("study.methods", {"prompt_tunning": {"learning_rate": 0.3, "steps": 10}},
     "study.methods: unknown method 'prompt_tunning'; valid: "),
    ("study.methods", {"zero_shot": {"learning_rate": 0.3, "steps": 10}}, "zero_shot trains nothing"),
    ("study.methods", {}, "study.methods: give at least one method"),
    ("study.methods.full_finetune", {"learning_rate": 0, "steps": 10},
     "study.methods.full_finetune.learning_rate=0: must be > 0"),
    ("study.methods.full_finetune", {"learning_rate": 1e-3, "steps": 10, "settings": {"train.seed": 3}},
     "settings: train.seed is set by the study itself"),
    ("study.methods.full_finetune", {"learning_rate": 1e-3, "steps": 10, "settings": {"method.prompt_lenght": 3}},
     "unknown config key 'method.prompt_lenght'"),
    ("study.seeds", [1, 1], "study.seeds: duplicates in [1, 1]"),
    ("study.seeds", [], "study.seeds: give at least one"),
    ("study.tasks", ["lab_pos"], "study.tasks[0]='lab_pos': must be one of 'lab_topic' or 'lab_nli'"),
    ("study.models", ["pretrained", "random"], "study.models[1]='random': must be one of 'pretrained' or 'control'"),
])
def test_bad_values_fail_with_one_line_naming_key_and_value(path, value, expected):
    message = error_of(with_change(path, value))
    assert message.startswith("lab.yaml: ") and expected in message, message


def test_missing_required_section_is_named():
    tree = dict(MINIMAL)
    del tree["pretraining"]
    assert error_of(tree) == "lab.yaml: pretraining is required"


def test_several_problems_are_all_named_on_one_line():
    tree = with_change("languages.0.script", "klingon")
    tree["languages"][0]["order"] = "XYZ"
    message = error_of(tree)
    problems = message.removeprefix("lab.yaml: ").split("; ")
    assert len(problems) == 2, message
    assert problems[0].startswith("languages[greek].script='klingon': must be one of 'latin'"), message
    assert problems[1].startswith("languages[greek].order='XYZ': must be one of 'SVO'"), message


def test_integer_keys_accept_scientific_notation_as_yaml_writes_it(tmp_path):
    path = tmp_path / "lab.yaml"
    path.write_text(yaml.safe_dump(MINIMAL).replace("tokens: 1000", "tokens: 2e6"))
    assert load_spec(path).pretraining.tokens == 2_000_000


def test_segmented_scripts_need_one_setting_per_script():
    languages = [{"name": "a", "script": "greek", "share": 0.2, "piece_syllables": 1},
                 {"name": "b", "script": "greek", "lexicon": "transliterate", "share": 0.2}]
    tree = dict(MINIMAL, languages=languages, tokenizer={"mode": "segmented"})
    assert "languages written in greek must share one setting" in error_of(tree)


@pytest.mark.parametrize("text, expected", [
    ("base: {name: base, share: 1}\nbase: {name: b, share: 1}\n", "lab.yaml:2: duplicate key 'base' (first at line 1)"),
    ("base: [unclosed\n", "lab.yaml:2: not valid YAML"),
    ("- a list\n", "lab.yaml: a lab spec must be a YAML mapping, got list"),
])
def test_unreadable_files_name_file_and_line(tmp_path, text, expected):
    path = tmp_path / "lab.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_spec(path)
    assert str(caught.value).startswith(str(tmp_path / expected)), caught.value


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="lab spec .*absent.yaml does not exist"):
        load_spec(tmp_path / "absent.yaml")


def test_build_key_covers_what_is_built_and_nothing_else():
    spec = make_spec()
    assert build_key(spec) == build_key(make_spec())
    assert build_key(spec) == build_key(make_spec(retrieval={"sentences": 20}, name="renamed"))
    assert build_key(spec) == build_key(make_spec(study={"seeds": [7, 8]}))  # the study reuses the built lab
    changed = [make_spec(seed=1), make_spec(pretraining={"steps": 21, "batch_size": 16}),
               make_spec(tokenizer={"mode": "balanced"}), make_spec(model={"d_model": 32, "layers": 1, "heads": 2})]
    assert len({build_key(s) for s in changed} | {build_key(spec)}) == len(changed) + 1
