"""Languages: bijective lexicon maps, scripts, word orders, case marking, parallel meanings, gold tags."""

import random
import unicodedata
from collections import Counter

import pytest
from seqeval.metrics.sequence_labeling import get_entities

from xlpt.errors import ConfigError
from xlpt.lab.grammar import Clause, MeaningSampler, NounPhrase
from xlpt.lab.languages import build_language, build_languages
from xlpt.lab.scripts import SCRIPTS

from .conftest import make_spec


def clauses(spec, lexicon, n=300, seed=0):
    draw = MeaningSampler(lexicon, spec.grammar, random.Random(seed))
    return [draw.clause() for _ in range(n)]


def test_scripts_share_no_letter_and_survive_normalisation():
    letters = [ch for script in SCRIPTS.values() for ch in script.consonants + script.vowels]
    assert len(letters) == len(set(letters))
    assert all(unicodedata.normalize("NFKC", ch) == ch and len(ch) == 1 for ch in letters)
    assert all(len(s.consonants) >= 12 and len(s.vowels) >= 5 for s in SCRIPTS.values())


def test_every_lexicon_map_is_bijective_including_case_forms(languages, lexicon):
    for language in languages.values():
        expected = len(lexicon) + sum(language.takes_case(lex.id) for lex in lexicon.lexemes)
        forms = language.forms()
        assert len(forms) == expected, language.name  # no two (lexeme, case) pairs share a form
        assert all(language.form(lexeme, marked) == form for form, (lexeme, marked) in forms.items())


def test_transliteration_keeps_lengths_and_changes_only_letters(spec, languages):
    base, greek = languages["base"], languages["greek"]
    greek_letters = set(SCRIPTS["greek"].consonants + SCRIPTS["greek"].vowels)
    for lexeme, word in greek.stems.items():
        assert len(word) == len(base.stems[lexeme])
        if lexeme in greek.anchors:
            assert word == base.stems[lexeme]
        else:
            assert set(word) <= greek_letters
    assert greek.anchors == {i for i in base.stems if i.startswith(("first_name.", "surname."))}


def test_identity_and_same_script_cipher(lexicon):
    spec = make_spec(languages=[{"name": "same", "lexicon": "identity", "order": "SOV", "share": 0.25},
                                {"name": "cipher", "lexicon": "transliterate", "share": 0.25}])
    languages = build_languages(spec, lexicon)
    base = languages["base"]
    assert languages["same"].stems == base.stems
    cipher = languages["cipher"].stems
    assert all(cipher[i] != base.stems[i] and len(cipher[i]) == len(base.stems[i]) for i in base.stems)


def test_generated_words_follow_the_syllable_range(languages, lexicon):
    georgian = languages["georgian"]  # syllables [4, 5]; anchors: numbers, places
    for lexeme, word in georgian.stems.items():
        if lexeme in georgian.anchors:
            continue
        syllables = len(word) // 2  # every syllable is one consonant and one vowel
        assert syllables == 4 if lexicon[lexeme].kind == "function" else 4 <= syllables <= 5


def test_a_language_depends_only_on_the_seed_its_settings_and_the_base(spec, lexicon, languages):
    alone = make_spec(languages=[spec.languages[1].model_dump() | {"share": 0.5}])
    rebuilt = build_languages(alone, lexicon)["armenian"]
    assert rebuilt.stems == languages["armenian"].stems and rebuilt.accusative == languages["armenian"].accusative
    other_seed = build_language(spec.languages[1], lexicon, seed=1, base=languages["base"])
    assert other_seed.stems != languages["armenian"].stems


def test_too_few_letters_for_the_lexicon_fails_clearly(lexicon):
    spec = make_spec(languages=[{"name": "tiny", "script": "greek", "consonants": 2, "vowels": 1,
                                 "syllables": [1, 1], "share": 0.5}])
    with pytest.raises(ConfigError, match=r"languages\[tiny\]: cannot make .* distinct words of 1-1 syllables"):
        build_languages(spec, lexicon)


ORDER_CLAUSE = Clause("animals", (NounPhrase("noun.animals.0", "function.the"),), verb="verb.animals.0",
                      obj=NounPhrase("noun.animals.1", "function.a", "adjective.0"), negated=True, place="place.0")


@pytest.mark.parametrize("order", ["SVO", "SOV", "VSO", "VOS", "OVS", "OSV"])
def test_word_order_places_subject_verb_and_object(lexicon, order):
    spec = make_spec(languages=[{"name": "x", "script": "greek", "order": order, "share": 0.5}])
    tokens = build_languages(spec, lexicon)["x"].realize(ORDER_CLAUSE)
    lexemes = [t.lexeme for t in tokens]
    position = {"S": lexemes.index("noun.animals.0"), "V": lexemes.index("verb.animals.0"),
                "O": lexemes.index("noun.animals.1")}
    assert sorted(position, key=position.get) == list(order)
    assert lexemes[position["V"] - 1] == "function.not"  # negation stays with its verb
    assert lexemes[-2:] == ["function.in", "place.0"]  # the location phrase ends the sentence


def test_adjective_adposition_and_case_settings(lexicon):
    spec = make_spec(languages=[{"name": "x", "script": "greek", "adjective": "after", "adposition": "post",
                                 "case_marking": True, "share": 0.5}])
    language = build_languages(spec, lexicon)["x"]
    tokens = language.realize(ORDER_CLAUSE)
    lexemes = [t.lexeme for t in tokens]
    assert lexemes[lexemes.index("noun.animals.1") + 1] == "adjective.0"
    assert lexemes[-2:] == ["place.0", "function.in"]
    marked = {t.lexeme: t.word for t in tokens if t.accusative}
    assert marked == {"noun.animals.1": language.stems["noun.animals.1"] + language.accusative}
    assert tokens[lexemes.index("noun.animals.0")].word == language.stems["noun.animals.0"]


def test_parallel_sentences_express_the_same_lexemes_with_the_same_tags(spec, lexicon, languages):
    forms = {name: language.forms() for name, language in languages.items()}
    for clause in clauses(spec, lexicon):
        realised = {name: language.realize(clause) for name, language in languages.items()}
        reference = Counter((t.lexeme, t.pos, t.entity) for t in realised["base"])
        for name, tokens in realised.items():
            assert Counter((t.lexeme, t.pos, t.entity) for t in tokens) == reference, name
            decoded = [forms[name][t.word][0] for t in tokens]  # words map back to their lexemes
            assert decoded == [t.lexeme for t in tokens]


def test_entity_spans_are_valid_iob2_and_cover_exactly_the_names_and_places(spec, lexicon, languages):
    for clause in clauses(spec, lexicon, 200, seed=5):
        phrases = list(clause.subjects) + ([clause.obj] if clause.obj else [])
        names = Counter(("PER", 2 if p.surname else 1) for p in phrases if p.is_name)
        expected = names + Counter([("LOC", 1)] * bool(clause.place))
        for language in languages.values():
            tokens = language.realize(clause)
            spans = get_entities([t.entity for t in tokens])  # seqeval's own reading of the IOB2 tags
            assert Counter((kind, end - start + 1) for kind, start, end in spans) == expected
            assert all(t.pos == lexicon[t.lexeme].pos for t in tokens)
