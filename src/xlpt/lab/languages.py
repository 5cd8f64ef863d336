"""Languages: a lexicon map from lexemes to words, a word order, and a realiser from clauses to words.

The base language generates its words: random consonant-vowel syllables in its script. A derived
language maps every lexeme to a word of its own, bijectively (no two lexemes share a form, including
the case-marked forms), by one of three routes:

* generate: fresh random words in its script, with its own number of syllables per word;
* transliterate: the base word letter by letter (base consonant i -> this script's consonant i; within
  the same script the letters are rotated by one, a cipher), so word lengths equal the base's exactly;
* identity: the base words themselves.

Anchors (names, places, numbers, and `anchor_share` of the other lexemes) keep the base word in any
route, like proper names shared across real languages.

A sentence is realised as constituents: S (subject phrase; two phrases joined by "and"), V (optional
negation particle + verb, or + copula), O (object phrase, or "a CATEGORY" after a copula), arranged in
the language's order; the location phrase ("in PLACE" / "PLACE in") ends the sentence. Inside a noun
phrase the article or numeral comes first and the adjective stands before or after the noun. With case
marking, the last word of the object phrase's head (the noun, or the name's last word) takes an
accusative suffix. Every word carries its lexeme, POS tag and entity tag, so tags need no annotation.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from xlpt.errors import ConfigError
from xlpt.lab.grammar import ANCHOR_KINDS, Clause, Lexicon, NounPhrase
from xlpt.lab.scripts import SCRIPTS
from xlpt.lab.spec import LabSpec, LanguageSpec

_MARKABLE = ("noun", "first_name", "surname")
"""Lexeme kinds that can head an object phrase and so take the accusative suffix."""
_ENTITY = {"first_name": "B-PER", "surname": "I-PER", "place": "B-LOC"}


@dataclass(frozen=True)
class Token:
    word: str
    pos: str
    entity: str
    lexeme: str
    accusative: bool = False


@dataclass(frozen=True)
class Language:
    spec: LanguageSpec
    lexicon: Lexicon
    stems: dict
    """Lexeme id -> word."""
    accusative: str | None
    """The object suffix, when the language marks case."""
    anchors: frozenset
    """Lexeme ids whose word is the base word (all of them for an identity lexicon)."""

    def __post_init__(self):
        # (POS, entity tag) per lexeme, looked up for every word realised
        tags = {lex.id: (lex.pos, _ENTITY.get(lex.kind, "O")) for lex in self.lexicon.lexemes}
        object.__setattr__(self, "_tags", tags)
        object.__setattr__(self, "_forms", None)

    @property
    def name(self) -> str:
        return self.spec.name

    def form(self, lexeme_id: str, accusative: bool = False) -> str:
        return self.stems[lexeme_id] + (self.accusative if accusative and self.accusative else "")

    def takes_case(self, lexeme_id: str) -> bool:
        """Whether the lexeme has an accusative form in this language."""
        return self.accusative is not None and self.lexicon[lexeme_id].kind in _MARKABLE

    def forms(self) -> dict[str, tuple[str, bool]]:
        """Every surface form -> (lexeme, accusative?). Bijective (checked when the language is built)."""
        if self._forms is None:
            table = {self.form(i): (i, False) for i in self.stems}
            table.update({self.form(i, True): (i, True) for i in self.stems if self.takes_case(i)})
            object.__setattr__(self, "_forms", table)
        return dict(self._forms)

    def shared_with(self, other: "Language", words: list[str]) -> list[bool]:
        """For each of this language's `words`: is it written identically in `other` (same lexeme, same case)?"""
        forms = self.forms()
        flags = []
        for word in words:
            lexeme, marked = forms[word]
            flags.append(other.form(lexeme, marked) == word)
        return flags

    # ------------------------------------------------------------------------------------- realising

    def _token(self, lexeme_id: str, accusative: bool = False) -> Token:
        marked = accusative and self.accusative is not None
        pos, entity = self._tags[lexeme_id]
        return Token(self.stems[lexeme_id] + self.accusative if marked else self.stems[lexeme_id], pos, entity,
                     lexeme_id, marked)

    def phrase(self, phrase: NounPhrase, accusative: bool = False) -> list[Token]:
        if phrase.is_name:
            ids = [phrase.head] + ([phrase.surname] if phrase.surname else [])
            return [self._token(i, accusative and k == len(ids) - 1) for k, i in enumerate(ids)]
        noun = [self._token(phrase.head, accusative)]
        adjective = [self._token(phrase.adjective)] if phrase.adjective else []
        body = adjective + noun if self.spec.adjective == "before" else noun + adjective
        return ([self._token(phrase.determiner)] if phrase.determiner else []) + body

    def realize(self, clause: Clause) -> list[Token]:
        subject = self.phrase(clause.subjects[0])
        for extra in clause.subjects[1:]:
            subject += [self._token("function.and")] + self.phrase(extra)
        verb = [self._token("function.not")] if clause.negated else []
        verb.append(self._token("function.is" if clause.is_copula else clause.verb))
        if clause.is_copula:
            obj = [self._token("function.a"), self._token(clause.category)]
        else:
            obj = self.phrase(clause.obj, accusative=True)
        parts = {"S": subject, "V": verb, "O": obj}
        tokens = [token for constituent in self.spec.order for token in parts[constituent]]
        if clause.place:
            adposition, place = self._token("function.in"), self._token(clause.place)
            tokens += [adposition, place] if self.spec.adposition == "pre" else [place, adposition]
        return tokens

    def words(self, clause: Clause) -> list[str]:
        return [token.word for token in self.realize(clause)]

    def sentence(self, clause: Clause) -> str:
        return " ".join(self.words(clause))

    def document(self, clauses: list[Clause]) -> str:
        """Sentences joined with the language's period (a pretraining document)."""
        period = self.spec.period
        return " ".join(f"{self.sentence(clause)} {period}" for clause in clauses)


# ------------------------------------------------------------------------------------------- building


def _letters(spec: LanguageSpec) -> tuple[str, str]:
    return SCRIPTS[spec.script].letters(spec.consonants, spec.vowels)


def _random_word(rng: random.Random, consonants: str, vowels: str, syllables: int) -> str:
    return "".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(syllables))


def _generate(lexicon: Lexicon, spec: LanguageSpec, ids: list[str], taken: set, rng: random.Random) -> dict:
    """Distinct random words for `ids` (function words get the minimum length), avoiding `taken`."""
    consonants, vowels = _letters(spec)
    low, high = spec.syllables
    words = {}
    for lexeme_id in ids:
        length_range = (low, low) if lexicon[lexeme_id].kind == "function" else (low, high)
        for _ in range(10000):
            word = _random_word(rng, consonants, vowels, rng.randint(*length_range))
            if word not in taken:
                break
        else:
            raise ConfigError(f"languages[{spec.name}]: cannot make {len(ids)} distinct words of {low}-{high} "
                              f"syllables from {len(consonants)} consonants x {len(vowels)} vowels; "
                              "allow longer words (syllables) or more letters (consonants, vowels)")
        taken.add(word)
        words[lexeme_id] = word
    return words


def _transliterate(base: "Language", spec: LanguageSpec) -> dict[str, str]:
    """Map base letters to this script's letters by position (rotated by one within the same script)."""
    base_c, base_v = _letters(base.spec)
    own_c, own_v = _letters(spec)
    shift = 1 if spec.script == base.spec.script else 0
    table = {c: own_c[(i + shift) % len(base_c)] for i, c in enumerate(base_c)}
    table.update({v: own_v[(i + shift) % len(base_v)] for i, v in enumerate(base_v)})
    return {i: "".join(table[ch] for ch in word) for i, word in base.stems.items()}


def _anchor_ids(lexicon: Lexicon, spec: LanguageSpec, rng: random.Random) -> frozenset:
    kinds = {kind for anchor in spec.anchors for kind in ANCHOR_KINDS[anchor]}
    fixed = [lex.id for lex in lexicon.lexemes if lex.kind in kinds]
    rest = [lex.id for lex in lexicon.lexemes if lex.kind not in kinds]
    return frozenset(fixed + rng.sample(rest, round(spec.anchor_share * len(rest))))


def _suffix(spec: LanguageSpec, stems: dict, lexicon: Lexicon, rng: random.Random) -> str:
    """A one-syllable accusative suffix whose marked forms collide with no other form."""
    consonants, vowels = _letters(spec)
    words = set(stems.values())
    for _ in range(1000):
        suffix = _random_word(rng, consonants, vowels, 1)
        marked = [stems[i] + suffix for i in stems if lexicon[i].kind in _MARKABLE]
        if not words.intersection(marked) and len(set(marked)) == len(marked):
            return suffix
    raise ConfigError(f"languages[{spec.name}]: no accusative suffix keeps the word forms distinct")


def _check_bijective(language: Language) -> None:
    forms: dict[str, str] = {}
    for lexeme_id in language.stems:
        for marked in ([False, True] if language.takes_case(lexeme_id) else [False]):
            form = language.form(lexeme_id, marked)
            if form in forms:
                raise ConfigError(f"languages[{language.name}]: {lexeme_id} and {forms[form]} would both be "
                                  f"written {form!r}; change the seed, the anchors or the lexicon route")
            forms[form] = lexeme_id


def build_language(spec: LanguageSpec, lexicon: Lexicon, seed: int, base: Language | None = None) -> Language:
    """The language's lexicon map; deterministic in (seed, language name, the language's own settings)."""
    rng = random.Random(f"{seed}/lexicon/{spec.name}")
    ids = [lex.id for lex in lexicon.lexemes]
    if base is None:
        stems, anchors = _generate(lexicon, spec, ids, set(), rng), frozenset()
    else:
        anchors = _anchor_ids(lexicon, spec, rng)
        stems = {i: base.stems[i] for i in anchors}
        if spec.lexicon == "identity":
            stems, anchors = dict(base.stems), frozenset(ids)  # every word is the base's
        elif spec.lexicon == "transliterate":
            stems.update({i: w for i, w in _transliterate(base, spec).items() if i not in anchors})
        else:
            free = [i for i in ids if i not in anchors]
            stems.update(_generate(lexicon, spec, free, set(stems.values()), rng))
        stems = {i: stems[i] for i in ids}
    accusative = _suffix(spec, stems, lexicon, rng) if spec.case_marking else None
    language = Language(spec, lexicon, stems, accusative, anchors)
    _check_bijective(language)
    return language


def build_languages(spec: LabSpec, lexicon: Lexicon) -> dict[str, Language]:
    """Base first, then the derived languages in spec order."""
    base = build_language(spec.base, lexicon, spec.seed)
    languages = {base.name: base}
    for language_spec in spec.languages:
        languages[language_spec.name] = build_language(language_spec, lexicon, spec.seed, base)
    return languages
