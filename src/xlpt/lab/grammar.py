"""The meaning grammar: a lexicon of abstract lexemes and a sampler of sentence meanings.

Meanings are language-free. A `Clause` says who does what to whom and where ("Anna chases the big dog
in Oslo"), or what something is ("the dog is an animal"), possibly negated. Every clause has a topic:
the topic of its verb or of its copula subject, whose nouns come from that topic. `languages` turns a
clause into words of a particular language; the same clause gives parallel sentences in all of them.

Lexemes are ids such as `noun.animals.3`; their English glosses ("dog") are for people reading
examples, and no language uses them as words. Lexicon sizes come from the spec; a topic with more
nouns than the built-in gloss list gets numbered glosses ("animals-noun-13").

The pair task (`sample_pair`) is entailment vs contradiction under a referent reading: a definite noun
phrase names one referent, an adjective only describes it (dropping it keeps the reference), and a
location modifies the event. From a positive premise, dropping descriptions or the location keeps the
statement true (entailment) and negating the result contradicts it; from a negated premise only the
description may be dropped (a negated event "not ... in Oslo" says nothing about other places).
Copula pairs rely on categories being exclusive: "the dog is an animal" entails "the dog is not a
food" and contradicts "the dog is a food".
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import random
from dataclasses import dataclass

from xlpt.errors import ConfigError
from xlpt.lab.spec import GrammarSpec

# Glosses: English words that stand for lexemes in printed examples. Topic -> (category, nouns, verbs).
_TOPIC_GLOSSES = {
    "animals": ("animal", "dog cat horse cow bird mouse sheep goat duck bear fox wolf frog owl",
                "chases feeds sees follows scares finds"),
    "food": ("food", "bread apple rice cheese soup egg cake milk bean pear plum corn", "cooks eats buys tastes bakes serves"),
    "tools": ("tool", "hammer knife saw spade axe drill rope nail brush ladder needle shovel",
              "uses holds fixes sharpens lends breaks"),
    "clothes": ("garment", "shirt hat coat shoe sock scarf glove dress belt boot skirt vest",
                "wears washes sews folds irons mends"),
    "plants": ("plant", "tree rose oak fern moss grass lily vine palm reed ivy tulip", "waters plants cuts grows picks prunes"),
    "vehicles": ("vehicle", "car bus train boat bike truck plane cart ship tram van sled",
                 "drives parks repairs rides paints steers"),
    "music": ("instrument", "drum flute harp horn bell lute pipe organ gong banjo violin cello",
              "plays hears tunes carries hits buys"),
}
_ADJECTIVES = "big small old new red green good bad long short warm cold heavy light dark bright".split()
_FIRST_NAMES = "Anna Bo Carl Dana Emil Fay Gus Hana Ivan Jo Kim Lea Max Nia".split()
_SURNAMES = "Smith Berg Costa Dahl Ek Frey Gold Holm Ito Jung".split()
_PLACES = "Paris Lima Oslo Rome Kyiv Baku Dakar Quito Riga Sofia Hanoi Accra".split()
_NUMBERS = "two three four five six seven eight nine ten eleven".split()

FUNCTION_WORDS = {"the": "DET", "a": "DET", "is": "AUX", "not": "PART", "in": "ADP", "and": "CCONJ"}
"""Function lexemes (id `function.<gloss>`) and their POS tags."""

POS_TAGS = ("ADJ", "ADP", "AUX", "CCONJ", "DET", "NOUN", "NUM", "PART", "PROPN", "VERB")
ENTITY_TAGS = ("O", "B-PER", "I-PER", "B-LOC")
PAIR_LABELS = ("entailment", "contradiction")

ANCHOR_KINDS = {"names": ("first_name", "surname"), "places": ("place",), "numbers": ("number",)}
"""Spec anchor classes -> lexeme kinds kept identical to the base."""


@dataclass(frozen=True)
class Lexeme:
    id: str
    kind: str
    """noun, verb, category, adjective, first_name, surname, place, number or function."""
    pos: str
    topic: str | None
    gloss: str


def _glosses(listed: list[str], count: int, fallback: str) -> list[str]:
    return [listed[i] if i < len(listed) else f"{fallback}-{i + 1}" for i in range(count)]


@dataclass(frozen=True)
class Lexicon:
    lexemes: tuple[Lexeme, ...]

    def __post_init__(self):
        object.__setattr__(self, "_by_id", {lexeme.id: lexeme for lexeme in self.lexemes})
        groups: dict = {}
        for lexeme in self.lexemes:  # sampling asks for these groups constantly: index them once
            groups.setdefault((lexeme.kind, None), []).append(lexeme.id)
            if lexeme.topic is not None:
                groups.setdefault((lexeme.kind, lexeme.topic), []).append(lexeme.id)
        object.__setattr__(self, "_groups", {key: tuple(ids) for key, ids in groups.items()})

    def __getitem__(self, lexeme_id: str) -> Lexeme:
        return self._by_id[lexeme_id]

    def __len__(self) -> int:
        return len(self.lexemes)

    def ids(self, kind: str, topic: str | None = None) -> tuple[str, ...]:
        """Lexeme ids of a kind (of a topic), in lexicon order."""
        return self._groups.get((kind, topic), ())

    def category(self, topic: str) -> str:
        return f"category.{topic}"

    def gloss(self, lexeme_ids) -> str:
        return " ".join(self[i].gloss for i in lexeme_ids)


def build_lexicon(grammar: GrammarSpec) -> Lexicon:
    """The lexemes of the grammar, in a fixed order (no randomness: sizes alone determine it)."""
    items: list[Lexeme] = []
    for topic in grammar.topics:
        category, nouns, verbs = _TOPIC_GLOSSES.get(topic, (topic, "", ""))
        items.append(Lexeme(f"category.{topic}", "category", "NOUN", topic, category))
        for i, gloss in enumerate(_glosses(nouns.split(), grammar.nouns_per_topic, f"{topic}-noun")):
            items.append(Lexeme(f"noun.{topic}.{i}", "noun", "NOUN", topic, gloss))
        for i, gloss in enumerate(_glosses(verbs.split(), grammar.verbs_per_topic, f"{topic}-verb")):
            items.append(Lexeme(f"verb.{topic}.{i}", "verb", "VERB", topic, gloss))
    tables = (("adjective", "ADJ", _ADJECTIVES, grammar.adjectives), ("first_name", "PROPN", _FIRST_NAMES, grammar.first_names),
              ("surname", "PROPN", _SURNAMES, grammar.surnames), ("place", "PROPN", _PLACES, grammar.places),
              ("number", "NUM", _NUMBERS, grammar.numbers))
    for kind, pos, listed, count in tables:
        items += [Lexeme(f"{kind}.{i}", kind, pos, None, gloss) for i, gloss in enumerate(_glosses(listed, count, kind))]
    items += [Lexeme(f"function.{word}", "function", pos, None, word) for word, pos in FUNCTION_WORDS.items()]
    return Lexicon(tuple(items))


# ---------------------------------------------------------------------------------------------- meanings


@dataclass(frozen=True)
class NounPhrase:
    """A referring expression: a common noun with article or numeral (and maybe an adjective), or a name."""

    head: str
    """A noun, category or first-name lexeme."""
    determiner: str | None = None
    """function.the, function.a or a number lexeme; None for names."""
    adjective: str | None = None
    surname: str | None = None

    @property
    def is_name(self) -> bool:
        return self.head.startswith("first_name.")


@dataclass(frozen=True)
class Clause:
    topic: str
    subjects: tuple[NounPhrase, ...]
    """One noun phrase, or two coordinated ones ("X and Y")."""
    verb: str | None = None
    """A transitive verb; None for a copula clause ("X is a CATEGORY")."""
    obj: NounPhrase | None = None
    category: str | None = None
    """The copula's complement (a category lexeme)."""
    negated: bool = False
    place: str | None = None

    @property
    def is_copula(self) -> bool:
        return self.verb is None


@dataclass(frozen=True)
class Pair:
    premise: Clause
    hypothesis: Clause
    label: str


class ChoiceWeights:
    """The grammar's fixed word-choice weights: Zipfian frequency times a random selectional preference.

    Within each group (the nouns of a topic, the adjectives, ...) the lexeme of rank r (lexicon order) has
    frequency 1 / (r + 1)^zipf. A preference multiplies it by exp(strength * z), with z ~ N(0, 1) drawn
    once per (context, lexeme) pair: which nouns a verb takes as object or subject, which adjectives a
    noun takes (strength `preference`), which people and places a topic involves (`entity_preference`).
    Pretraining documents draw their topic with weights 1 / (r + 1)^topic_zipf. The weights depend only
    on the grammar seed, so every stream (and every language) shares them.

    Why this matters. Two languages of one grammar share no words except their anchors, so pretraining
    can only align them through statistics. With everything uniform, every topic has exactly the same
    statistics and any permutation of topics fits monolingual text equally well: measured on the tiny
    preset's budget (400k tokens, d=64), pretraining aligned word classes but mapped greek's topics onto
    the wrong base topics, and a classifier fine-tuned on the base transferred *below* chance (0.00 to
    0.09 on 4 topics). Word-specific preferences and unequal topic frequencies alone did not fix it at
    that budget (0.22, control 0.17; retrieval flagged the permutation: topic agreement 0.10, chance
    0.25). Anchors that lean towards topics did: entity_preference 1 gave 0.60 (control 0.36), 2.5 gave
    0.77 (control 0.34, higher than chance because the shared names now tell the topic even without
    pretraining). Real named entities are topic-bound in the same way.
    """

    def __init__(self, lexicon: Lexicon, grammar: GrammarSpec, seed: int):
        rng = random.Random(f"{seed}/preferences")
        self.tables: dict[tuple, tuple[tuple[str, ...], list[float]]] = {}

        def add(key, ids, strength: float = 0.0) -> None:
            # z is drawn for every table, used or not, so one strength never shifts another's draws
            weights = [(r + 1) ** -grammar.zipf * math.exp(strength * rng.gauss(0.0, 1.0)) for r in range(len(ids))]
            self.tables[key] = (ids, list(itertools.accumulate(weights)))

        for topic in grammar.topics:
            add(("verb", topic), lexicon.ids("verb", topic))
            add(("noun", topic), lexicon.ids("noun", topic))
            add(("first_name", topic), lexicon.ids("first_name"), grammar.entity_preference)
            add(("place", topic), lexicon.ids("place"), grammar.entity_preference)
            for verb in lexicon.ids("verb", topic):
                add(("subject", verb), lexicon.ids("noun", topic), grammar.preference)
                add(("object", verb), lexicon.ids("noun", topic), grammar.preference)
            for noun in lexicon.ids("noun", topic):
                add(("adjective", noun), lexicon.ids("adjective"), grammar.preference)
        add(("surname", None), lexicon.ids("surname"))
        add(("number", None), lexicon.ids("number"))
        topic_weights = [(r + 1) ** -grammar.topic_zipf for r in range(len(grammar.topics))]
        self.tables[("document_topic", None)] = (tuple(grammar.topics), list(itertools.accumulate(topic_weights)))

    def choose(self, rng: random.Random, relation: str, context=None) -> str:
        ids, cumulative = self.tables[(relation, context)]
        return rng.choices(ids, cum_weights=cumulative)[0]


class MeaningSampler:
    """Samples clauses from the grammar with the spec's probabilities; deterministic given its rng."""

    def __init__(self, lexicon: Lexicon, grammar: GrammarSpec, rng: random.Random, grammar_seed: int = 0):
        self.lexicon, self.grammar, self.rng = lexicon, grammar, rng
        self.p = grammar.probabilities
        self.weights = ChoiceWeights(lexicon, grammar, grammar_seed)

    def _chance(self, probability: float) -> bool:
        return self.rng.random() < probability

    def common_phrase(self, topic: str, noun: str | None = None) -> NounPhrase:
        """An article or numeral, maybe an adjective, and `noun` (default: a noun of the topic)."""
        rng, choose = self.rng, self.weights.choose
        noun = noun or choose(rng, "noun", topic)
        if self._chance(self.p.number):
            determiner = choose(rng, "number")
        else:
            determiner = "function.a" if self._chance(self.p.indefinite) else "function.the"
        adjective = choose(rng, "adjective", noun) if self._chance(self.p.adjective) else None
        return NounPhrase(noun, determiner, adjective)

    def name_phrase(self, topic: str) -> NounPhrase:
        surname = self.weights.choose(self.rng, "surname") if self._chance(self.p.surname) else None
        return NounPhrase(self.weights.choose(self.rng, "first_name", topic), surname=surname)

    def participant(self, topic: str, role: str, verb: str) -> NounPhrase:
        if self._chance(self.p.name):
            return self.name_phrase(topic)
        return self.common_phrase(topic, self.weights.choose(self.rng, role, verb))

    def transitive(self, topic: str) -> Clause:
        verb = self.weights.choose(self.rng, "verb", topic)
        subjects = [self.participant(topic, "subject", verb)]
        if self._chance(self.p.coordination):
            second = self.participant(topic, "subject", verb)
            while second == subjects[0]:
                second = self.participant(topic, "subject", verb)
            subjects.append(second)
        obj = self.participant(topic, "object", verb)
        place = self.weights.choose(self.rng, "place", topic) if self._chance(self.p.place) else None
        return Clause(topic, tuple(subjects), verb=verb, obj=obj, negated=self._chance(self.p.negation), place=place)

    def copula(self, topic: str) -> Clause:
        """A true statement: "X is a <its category>", or negated with another category."""
        negated = self._chance(self.p.negation)
        category = self.lexicon.category(topic)
        if negated:
            category = self.lexicon.category(self.rng.choice([t for t in self.grammar.topics if t != topic]))
        return Clause(topic, (self.common_phrase(topic),), category=category, negated=negated)

    def clause(self, topic: str | None = None) -> Clause:
        topic = topic or self.rng.choice(self.grammar.topics)
        return self.copula(topic) if self._chance(self.p.copula) else self.transitive(topic)

    def document(self) -> list[Clause]:
        """Sentences of one topic (a pretraining document; topics by `topic_zipf`, unlike task data)."""
        low, high = self.grammar.sentences_per_document
        topic = self.weights.choose(self.rng, "document_topic")
        return [self.clause(topic) for _ in range(self.rng.randint(low, high))]

    # ------------------------------------------------------------------------------------------ pairs

    def _drop_descriptions(self, phrase: NounPhrase) -> NounPhrase:
        return dataclasses.replace(phrase, adjective=None) if phrase.adjective and self._chance(0.5) else phrase

    def pair(self) -> Pair:
        """An entailment or contradiction pair (balanced labels); see the module docstring for the logic."""
        topic = self.rng.choice(self.grammar.topics)
        entail = self._chance(0.5)
        if self._chance(self.p.copula):
            premise = dataclasses.replace(self.copula(topic), negated=False, category=self.lexicon.category(topic))
            negated = self._chance(0.5)
            same = entail != negated  # "is a C" and "is not a C'" are entailed
            other = self.lexicon.category(self.rng.choice([t for t in self.grammar.topics if t != topic]))
            hypothesis = dataclasses.replace(premise, subjects=(self._drop_descriptions(premise.subjects[0]),),
                                             category=premise.category if same else other, negated=negated)
        else:
            premise = self.transitive(topic)
            subjects = tuple(self._drop_descriptions(s) for s in premise.subjects)
            changes = {"subjects": subjects, "obj": self._drop_descriptions(premise.obj)}
            if not premise.negated:  # weakening a positive event keeps it true
                if premise.place and self._chance(0.5):
                    changes["place"] = None
                if len(subjects) == 2 and self._chance(0.5):
                    changes["subjects"] = (subjects[self.rng.randrange(2)],)
            changes["negated"] = premise.negated if entail else not premise.negated
            hypothesis = dataclasses.replace(premise, **changes)
        return Pair(premise, hypothesis, PAIR_LABELS[0] if entail else PAIR_LABELS[1])


def sample_distinct(draw, n: int, exclude=frozenset(), what: str = "meanings", max_tries: int = 50) -> list:
    """`n` distinct results of `draw()` not in `exclude`, in draw order. Fails clearly when the grammar
    is too small to give that many (after `max_tries * n` draws)."""
    seen, result = set(exclude), []
    for _ in range(max_tries * n):
        item = draw()
        if item not in seen:
            seen.add(item)
            result.append(item)
            if len(result) == n:
                return result
    raise ConfigError(f"the grammar gave only {len(result)} distinct {what} of the {n} requested; "
                      "enlarge the lexicon (grammar.nouns_per_topic, adjectives, ...) or ask for fewer")
