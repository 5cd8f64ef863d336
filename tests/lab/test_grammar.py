"""The meaning grammar: lexicon sizes, determinism, topic consistency and the logic of the pair labels."""

import random
from collections import Counter

import pytest

from xlpt.errors import ConfigError
from xlpt.lab.grammar import PAIR_LABELS, ChoiceWeights, MeaningSampler, build_lexicon, sample_distinct

from .conftest import make_spec


def sampler(spec, lexicon, seed=0):
    return MeaningSampler(lexicon, spec.grammar, random.Random(seed))


def test_lexicon_has_the_sizes_the_spec_asks_for(spec, lexicon):
    g = spec.grammar
    kinds = Counter(lex.kind for lex in lexicon.lexemes)
    assert kinds["noun"] == g.nouns_per_topic * len(g.topics)
    assert kinds["verb"] == g.verbs_per_topic * len(g.topics)
    assert kinds["category"] == len(g.topics)
    assert (kinds["adjective"], kinds["first_name"], kinds["surname"], kinds["place"], kinds["number"]) == (
        g.adjectives, g.first_names, g.surnames, g.places, g.numbers)
    assert len({lex.id for lex in lexicon.lexemes}) == len(lexicon)
    for kind in kinds:  # every group lists each lexeme once
        assert len(lexicon.ids(kind)) == len(set(lexicon.ids(kind))) == kinds[kind]


def test_topics_beyond_the_gloss_lists_get_numbered_glosses():
    spec = make_spec(grammar={"topics": ["animals", "zorbs"], "nouns_per_topic": 20})
    lexicon = build_lexicon(spec.grammar)
    assert lexicon["noun.zorbs.0"].gloss == "zorbs-noun-1" and lexicon["category.zorbs"].gloss == "zorbs"
    assert lexicon["noun.animals.19"].gloss == "animals-noun-20"


def test_sampling_is_deterministic_in_the_seed(spec, lexicon):
    first = [sampler(spec, lexicon, 3).clause() for _ in range(50)]
    assert first == [sampler(spec, lexicon, 3).clause() for _ in range(50)]
    assert first != [sampler(spec, lexicon, 4).clause() for _ in range(50)]


def test_every_content_word_belongs_to_the_clause_topic(spec, lexicon):
    draw = sampler(spec, lexicon)
    for _ in range(500):
        clause = draw.clause()
        phrases = list(clause.subjects) + ([clause.obj] if clause.obj else [])
        topics = {lexicon[p.head].topic for p in phrases if not p.is_name}
        if clause.verb:
            topics.add(lexicon[clause.verb].topic)
        assert topics <= {clause.topic}
        if clause.is_copula:  # true statements only: "X is a <its category>" / "X is not a <another>"
            assert (clause.category == lexicon.category(clause.topic)) != clause.negated


def _describes(weaker, phrase) -> bool:
    """`weaker` is `phrase` with at most its adjective dropped (same referent)."""
    same = (weaker.head, weaker.determiner, weaker.surname) == (phrase.head, phrase.determiner, phrase.surname)
    return same and weaker.adjective in (phrase.adjective, None)


def test_pair_labels_follow_the_entailment_rules(spec, lexicon):
    """An independent restatement of the rules in the grammar's docstring, checked on every sampled pair."""
    draw = sampler(spec, lexicon)
    pairs = [draw.pair() for _ in range(1000)]
    for pair in pairs:
        p, h = pair.premise, pair.hypothesis
        if p.is_copula:
            assert not p.negated and p.category == lexicon.category(p.topic)
            true = (h.category == p.category) != h.negated
            assert pair.label == ("entailment" if true else "contradiction")
        else:
            assert pair.label == ("entailment" if p.negated == h.negated else "contradiction")
            assert (h.verb, h.topic) == (p.verb, p.topic) and _describes(h.obj, p.obj)
            # each hypothesis subject is a premise subject, in order, with at most its description dropped
            kept = iter(p.subjects)
            assert all(any(_describes(s, other) for other in kept) for s in h.subjects)
            if p.negated:  # nothing but descriptions may be dropped from a negated event
                assert h.place == p.place and len(h.subjects) == len(p.subjects)
            else:
                assert h.place in (p.place, None)
    counts = Counter(pair.label for pair in pairs)
    assert set(counts) == set(PAIR_LABELS) and abs(counts["entailment"] - 500) < 60
    kinds = Counter((pair.premise.is_copula, pair.label) for pair in pairs)
    assert len(kinds) == 4  # both labels occur for both kinds of pair


def test_sample_distinct_gives_distinct_items_and_fails_clearly_when_the_grammar_is_too_small():
    rng = random.Random(0)
    items = sample_distinct(lambda: rng.randrange(100), 50, exclude={1, 2, 3})
    assert len(set(items)) == 50 and not {1, 2, 3} & set(items)
    with pytest.raises(ConfigError, match="only 10 distinct test sentences of the 20 requested"):
        sample_distinct(lambda: rng.randrange(10), 20, what="test sentences")


def _frequencies(weights, relation, context, draws=20000):
    rng = random.Random(1)
    counts = Counter(weights.choose(rng, relation, context) for _ in range(draws))
    return {k: v / draws for k, v in counts.items()}


def test_choice_weights_are_zipfian_with_word_specific_preferences(lexicon):
    flat = make_spec(grammar={"zipf": 1.0, "preference": 0.0, "entity_preference": 0.0}).grammar
    weights = ChoiceWeights(lexicon, flat, seed=0)
    nouns = lexicon.ids("noun", "animals")
    freq = _frequencies(weights, "noun", "animals")
    assert freq[nouns[0]] / freq[nouns[1]] == pytest.approx(2.0, rel=0.1)  # 1/1 vs 1/2
    verbs = lexicon.ids("verb", "animals")
    assert weights.tables[("object", verbs[0])] == weights.tables[("object", verbs[1])]

    preferring = ChoiceWeights(lexicon, make_spec(grammar={"preference": 1.0}).grammar, seed=0)
    first, second = (_frequencies(preferring, "object", v) for v in verbs[:2])
    assert 0.5 * sum(abs(first.get(n, 0) - second.get(n, 0)) for n in nouns) > 0.15  # total variation
    assert preferring.tables != ChoiceWeights(lexicon, make_spec(grammar={"preference": 1.0}).grammar, seed=1).tables


def test_uniform_grammar_draws_every_word_equally_often(lexicon):
    uniform = ChoiceWeights(lexicon, make_spec(grammar={"zipf": 0.0, "preference": 0.0, "entity_preference": 0.0}).grammar,
                            seed=0)
    freq = _frequencies(uniform, "first_name", "food", draws=30000)
    assert max(freq.values()) - min(freq.values()) < 0.02 and len(freq) == len(lexicon.ids("first_name"))


def test_entity_preference_alone_decides_whether_names_tell_the_topic(lexicon):
    neutral = ChoiceWeights(lexicon, make_spec(grammar={"preference": 2.0, "entity_preference": 0.0}).grammar, seed=0)
    assert neutral.tables[("first_name", "animals")] == neutral.tables[("first_name", "food")]
    telling = ChoiceWeights(lexicon, make_spec(grammar={"preference": 2.0, "entity_preference": 1.0}).grammar, seed=0)
    assert telling.tables[("place", "animals")] != telling.tables[("place", "food")]
    # the other tables do not depend on the entity setting
    assert all(neutral.tables[key] == telling.tables[key] for key in neutral.tables if key[0] not in ("first_name", "place"))


def test_document_topics_follow_topic_zipf_while_task_clauses_stay_balanced(lexicon):
    skewed = make_spec(grammar={"topic_zipf": 1.0})
    draw = MeaningSampler(lexicon, skewed.grammar, random.Random(0), 0)
    documents = Counter(draw.document()[0].topic for _ in range(8000))
    first, second = skewed.grammar.topics[:2]
    assert documents[first] / documents[second] == pytest.approx(2.0, rel=0.1)
    clauses = Counter(draw.clause().topic for _ in range(8000))
    assert max(clauses.values()) / min(clauses.values()) < 1.15
