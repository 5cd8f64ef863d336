"""The lab spec: one YAML file describing the grammar, the languages, the tokenizer and the model.

Every key is validated (pydantic v2, unknown keys rejected); a bad value fails with one line naming the
file, the key and the value. `build_key` hashes everything that determines what the lab builds, so a
second run with the same spec reuses the corpora, the tokenizer and the pretrained model.

A minimal spec (every other key has a default, documented on its field below):

    base: {name: base, script: latin, share: 0.5}
    languages:
      - {name: greek, script: greek, lexicon: transliterate, share: 0.5}
    pretraining: {tokens: 500000}
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from xlpt.errors import ConfigError
from xlpt.lab.scripts import SCRIPT_NAMES, SCRIPTS
from xlpt.schema import Bool, read_yaml_file
from xlpt.validation_errors import describe_validation_error

FORMAT_VERSION = 2
"""Bumped whenever generation, tokenization or pretraining code changes what a spec builds, so that a
cached lab built by older code is never reused for a spec that would now build something else.
2: task YAMLs in the `templates:` form; models marked as lab findings (`notice`), not pipeline checks."""

ORDERS = ("SVO", "SOV", "VSO", "VOS", "OVS", "OSV")
ANCHOR_KINDS = ("names", "places", "numbers")


def _integral(value):
    """Accept 2e6 or 2000000.0 for an integer key (YAML reads `2e6` as a string), reject 2.5 and true."""
    if isinstance(value, bool):
        raise ValueError(f"expected a whole number, got {str(value).lower()}")
    if isinstance(value, str):
        try:
            value = float(value.replace("_", ""))
        except ValueError:
            return value  # pydantic reports it
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"expected a finite whole number, got {value}")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _real(value):
    """Reject true/false for a number key (pydantic would read them as 1.0 and 0.0), and .inf/.nan: an
    infinite learning rate or init std would pass `> 0` and fail deep inside pretraining."""
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {str(value).lower()}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {value}")
    return value


Count = Annotated[int, BeforeValidator(_integral), Field(ge=1)]
Seed = Annotated[int, BeforeValidator(_integral), Field(ge=0, le=2**32 - 1)]
"""Seeds stay within 32 bits, like train.seed: torch.manual_seed overflows past 64 bits mid-run."""
Probability = Annotated[float, BeforeValidator(_real), Field(ge=0.0, le=1.0)]
Positive = Annotated[float, BeforeValidator(_real), Field(gt=0)]
Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
"""Lowercase ASCII names (language ids, topics): they become folder names and task-data language ids."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Probabilities(_Section):
    """How often each optional construction appears when a sentence is sampled."""

    copula: Probability = 0.25
    """Share of sentences of the form "X is a CATEGORY" (the rest are transitive: X VERB Y)."""
    negation: Probability = 0.25
    adjective: Probability = 0.35
    """Chance that a common noun phrase has an adjective."""
    place: Probability = 0.3
    """Chance of a location phrase ("in PLACE") on a transitive sentence."""
    name: Probability = 0.3
    """Chance that a participant (subject or object) of a transitive sentence is a person's name (an entity)."""
    surname: Probability = 0.5
    """Chance that a person's name has a surname (a two-word entity: B-PER I-PER)."""
    number: Probability = 0.15
    """Chance that a noun phrase has a numeral instead of an article."""
    indefinite: Probability = 0.4
    """Chance of "a" instead of "the" when the noun phrase has an article."""
    coordination: Probability = 0.1
    """Chance that the subject of a transitive sentence is two coordinated phrases (X and Y)."""


class GrammarSpec(_Section):
    """The meaning grammar shared by every language: lexicon sizes per category and sentence settings."""

    topics: list[Name] = ["animals", "food", "tools", "clothes"]
    """Topic labels; each topic has its own nouns, verbs and category word ("animal")."""
    nouns_per_topic: Count = 12
    verbs_per_topic: Count = 4
    adjectives: Count = 12
    first_names: Count = 10
    surnames: Count = 8
    places: Count = 8
    numbers: Count = 6
    probabilities: Probabilities = Probabilities()
    topic_zipf: Annotated[float, BeforeValidator(_real), Field(ge=0, le=4)] = 0.0
    """Topic frequencies of pretraining documents fall as 1 / rank^topic_zipf (topics in spec order; 0 = all
    equally frequent). Task data stays balanced over topics."""
    zipf: Annotated[float, BeforeValidator(_real), Field(ge=0, le=4)] = 1.0
    """Word frequencies within each group (a topic's nouns, the adjectives, ...) fall as 1 / rank^zipf."""
    preference: Annotated[float, BeforeValidator(_real), Field(ge=0, le=4)] = 1.0
    """Strength of the random selectional preferences (verb -> subject and object nouns, noun -> adjectives):
    the log-weight standard deviation."""
    entity_preference: Annotated[float, BeforeValidator(_real), Field(ge=0, le=4)] = 2.5
    """The same for topic -> people and places. Names and places are the usual anchors (written alike in
    every language), so with a preference here an anchor tells the topic: pretraining can then tell which
    topic of one language is which of another, and a model without pretraining transfers a little through
    the anchors alone. With 0 (topic-neutral anchors) small pretraining budgets align topics to the wrong
    ones; see grammar.ChoiceWeights for the measurements."""
    sentences_per_document: tuple[Count, Count] = (1, 4)
    """Pretraining documents hold this many sentences (min, max) of one topic in one language."""

    @model_validator(mode="after")
    def _check(self):
        if len(self.topics) < 2:
            raise ValueError(f"topics: need at least 2 topics, got {self.topics}")
        if len(set(self.topics)) != len(self.topics):
            raise ValueError(f"topics: duplicate topic names in {self.topics}")
        low, high = self.sentences_per_document
        if low > high:
            raise ValueError(f"sentences_per_document: min {low} > max {high}")
        return self


class LanguageSpec(_Section):
    """One language: how its words look, how it orders them, and its share of the pretraining mixture."""

    name: Name
    script: Literal[SCRIPT_NAMES] = "latin"
    lexicon: Literal["generate", "transliterate", "identity"] = "generate"
    """How words are made. generate: fresh random words (length from `syllables`); transliterate: the base
    word letter by letter in this script (same lengths, no shared letters); identity: the base words
    themselves (script must be the base's). The base language itself always generates."""
    syllables: tuple[Count, Count] = (1, 3)
    """Syllables per content word (min, max) when generating; function words get the minimum."""
    consonants: Count = 12
    """Consonant letters used (the first N of the script's inventory)."""
    vowels: Count = 5
    order: Literal[ORDERS] = "SVO"
    """Order of subject, verb and object (the verb constituent includes the negation particle)."""
    adjective: Literal["before", "after"] = "before"
    """Adjective before or after its noun."""
    adposition: Literal["pre", "post"] = "pre"
    """"in PLACE" (preposition) or "PLACE in" (postposition); the location phrase ends the sentence."""
    case_marking: Bool = False
    """Mark objects with an accusative suffix (one syllable, generated in this script)."""
    anchors: list[Literal[ANCHOR_KINDS]] = []
    """Word classes kept identical to the base (in the base script), like names shared across languages."""
    anchor_share: Probability = 0.0
    """Share of the remaining lexemes (chosen at random, fixed by the seed) also kept identical to the base."""
    share: Probability
    """Share of the pretraining sentences in this language (all shares sum to 1; 0 = never pretrained on)."""
    piece_syllables: Annotated[int, Field(ge=1)] | None = None
    """Only with tokenizer.mode=segmented: split this language's words into pieces of this many syllables
    (1 = one token per syllable). None: one token per word."""
    period: Annotated[str, Field(min_length=1, max_length=3, pattern=r"^[^\s\w]+$")] = "."
    """Sentence separator in pretraining documents (punctuation: no letters, digits or spaces)."""

    @model_validator(mode="after")
    def _check(self):
        low, high = self.syllables
        if low > high:
            raise ValueError(f"syllables: min {low} > max {high}")
        if high > 8:
            raise ValueError(f"syllables: at most 8 per word, got {high}")
        script = SCRIPTS[self.script]
        for key, have in (("consonants", len(script.consonants)), ("vowels", len(script.vowels))):
            if getattr(self, key) > have:
                raise ValueError(f"{key}: the {self.script} inventory has {have}, got {getattr(self, key)}")
        return self


class CorpusSpec(_Section):
    sentences: Count = 20000
    """Pretraining sentences over all languages (each language gets its share)."""
    dev_documents: Count = 64
    """Held-out documents (mixture of all languages by share) for the pretraining dev loss."""


class TasksSpec(_Section):
    """Sizes of the task data. Dev and test are parallel: the same meanings in every language."""

    train: Count = 1000
    dev: Count = 200
    test: Count = 400
    train_all_languages: Bool = False
    """Also write train files for the derived languages (e.g. for an in-language upper bound)."""


class TokenizerSpec(_Section):
    mode: Literal["natural", "balanced", "segmented"] = "natural"
    """natural: BPE trained on the pretraining mixture (fertility follows share); balanced: BPE trained on
    an equal number of sentences per language; segmented: every language's segmentation set directly
    (whole words, or `piece_syllables` per piece), so fertility is chosen, not learned."""
    vocab_size: Annotated[int, BeforeValidator(_integral), Field(ge=64)] = 2000
    """BPE vocabulary size (natural, balanced). A segmented vocabulary has exactly the pieces it needs."""
    balanced_sentences: Count = 5000
    """Sentences per language in the balanced sample."""


class ModelSpec(_Section):
    """The XGLM architecture (transformers' XGLMConfig); dropout is off for determinism."""

    d_model: Count = 128
    layers: Count = 4
    heads: Count = 4
    ffn_dim: Count = 512
    max_positions: Count = 256
    init_std: Positive | None = None
    """Weight init std; None = 1/sqrt(d_model) (XGLM's 0.02 leaves a small model's embeddings far
    below its sinusoidal positions)."""
    seed: Seed = 0
    """Initialisation seed; the no-pretraining control starts from exactly these weights."""

    @model_validator(mode="after")
    def _check(self):
        if self.d_model % self.heads:
            raise ValueError(f"d_model {self.d_model} is not divisible by heads {self.heads}")
        return self


class PretrainingSpec(_Section):
    """Causal-LM pretraining on the mixture. Give exactly one budget: tokens, steps or seconds."""

    tokens: Count | None = None
    """Token budget: steps = tokens / (batch_size x mean document length)."""
    steps: Count | None = None
    seconds: Positive | None = None
    """Time budget, converted once into a step count from a measured step time; the step count is
    recorded and reused, so a cached or resumed run trains exactly as long as the first one planned."""
    batch_size: Count = 32
    learning_rate: Positive = 2e-3
    warmup_ratio: Annotated[float, BeforeValidator(_real), Field(ge=0, lt=1)] = 0.05
    weight_decay: Annotated[float, BeforeValidator(_real), Field(ge=0)] = 0.01
    checkpoint_every: Count = 200
    """Steps between checkpoints (and dev-loss evaluations); an interrupted run resumes from the last one."""
    max_length: Count = 128
    """Tokens per document (longer documents are cut at a sentence boundary; counted)."""
    seed: Seed = 0

    @model_validator(mode="after")
    def _check(self):
        given = [key for key in ("tokens", "steps", "seconds") if getattr(self, key) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one budget of tokens, steps or seconds, got {given or 'none'}")
        return self


class RetrievalSpec(_Section):
    sentences: Count = 200
    """Parallel test sentences per language used for retrieval (chance level = 1 / sentences)."""
    center: Bool = True
    """Subtract each language's mean sentence vector before cosine similarity (removes the language's
    constant offset, the usual practice for measuring language-neutral content)."""
    exclude_shared: Bool = True
    """Leave words written identically in both languages (anchors) out of the sentence means: they match
    trivially, even in a random model, and would hide whether the model aligned anything it learned."""


STUDY_TASKS = ("lab_topic", "lab_nli")
"""Tasks the study can run: the classification tasks (their majority baseline is defined; see lab.study)."""
RESERVED_SETTINGS = ("model.name", "method.name", "data.task", "data.data_dir", "train.seed", "train.learning_rate",
                     "train.max_steps")
"""Keys the study sets itself (grid axes and budgets); a method's `settings` may not set them."""


class MethodBudget(_Section):
    """One method's fixed budget in the study, the same for the pretrained model and the control."""

    learning_rate: Positive
    """train.learning_rate. Tiny models need far larger rates than real-size ones: a soft prompt on a
    64-wide model learns at 0.1-1, not at the 3e-2 default."""
    steps: Count
    """train.max_steps: every run trains exactly this many steps; the checkpoint evaluated is the one with
    the best base-language dev score among the evaluations every `study.eval_every` steps."""
    settings: dict[str, str | int | float | bool] = {}
    """Further run-config settings of this method's runs, as dotted keys (e.g. method.prompt_length: 8)."""

    @model_validator(mode="after")
    def _check(self):
        from xlpt.sweeps.grid import check_key

        for key, value in self.settings.items():
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"settings: {key}: expected a finite number, got {value}")
            if key in RESERVED_SETTINGS:
                raise ValueError(f"settings: {key} is set by the study itself (learning_rate, steps, seeds, "
                                 "models); remove it here")
            try:
                check_key(key, "settings")
            except ConfigError as err:
                raise ValueError(str(err)) from None
        return self


def _default_methods() -> dict:
    # measured on the tiny preset (see configs/lab/tiny.yaml and docs/lab.md)
    return {"prompt_tuning": MethodBudget(learning_rate=0.3, steps=300),
            "full_finetune": MethodBudget(learning_rate=1e-3, steps=300)}


class StudySpec(_Section):
    """The study on top of the lab (lab.study): every method x model x seed trained on the base language's
    train split and evaluated zero-shot on every language's test split. Not part of the build key:
    changing the study reuses the built lab."""

    tasks: list[Literal[STUDY_TASKS]] = ["lab_topic"]
    seeds: list[Seed] = [1, 2, 3]
    """Fine-tuning seeds (data order, prompt and head initialisation). Claims need at least 2; the
    pretraining itself has one seed (`pretraining.seed`), so the intervals are over fine-tuning only."""
    models: list[Literal["pretrained", "control"]] = ["pretrained", "control"]
    methods: dict[str, MethodBudget] = Field(default_factory=_default_methods)
    """Method name -> budget. Any method that trains (prompt_tuning, full_finetune, lora, prefix_tuning,
    head_only)."""
    batch_size: Count = 16
    eval_every: Count = 50
    """Base-language dev evaluations (checkpoint selection) every N steps, and at the end."""
    max_dev_examples: Count = 200
    """Base-language dev examples used for checkpoint selection."""
    max_length: Count = 128
    """data.max_length: tokens of text per example (lab sentences are far shorter)."""

    @model_validator(mode="after")
    def _check(self):
        from xlpt.methods import METHODS

        for key, values in (("tasks", self.tasks), ("seeds", self.seeds), ("models", self.models)):
            if not values:
                raise ValueError(f"{key}: give at least one")
            if len(set(values)) != len(values):
                raise ValueError(f"{key}: duplicates in {values}")
        if not self.methods:
            raise ValueError("methods: give at least one method with its budget")
        for name in self.methods:
            if name not in METHODS:
                raise ValueError(f"methods: unknown method {name!r}; valid: {', '.join(METHODS)}")
            if not METHODS[name].trains:
                raise ValueError(f"methods: {name} trains nothing, so it has no budget; leave it out")
        return self


class LabSpec(_Section):
    name: Name = "lab"
    seed: Seed = 0
    """Seed of the grammar: lexicons, corpora and task data all derive from it."""
    grammar: GrammarSpec = GrammarSpec()
    base: LanguageSpec
    languages: list[LanguageSpec] = []
    corpus: CorpusSpec = CorpusSpec()
    tasks: TasksSpec = TasksSpec()
    tokenizer: TokenizerSpec = TokenizerSpec()
    model: ModelSpec = ModelSpec()
    pretraining: PretrainingSpec
    retrieval: RetrievalSpec = RetrievalSpec()
    study: StudySpec = StudySpec()

    @property
    def all_languages(self) -> list[LanguageSpec]:
        return [self.base, *self.languages]

    def language(self, name: str) -> LanguageSpec:
        for spec in self.all_languages:
            if spec.name == name:
                return spec
        raise ConfigError(f"no language {name!r} in the spec; languages: {', '.join(self.language_names)}")

    @property
    def language_names(self) -> list[str]:
        return [spec.name for spec in self.all_languages]

    @model_validator(mode="after")
    def _check(self):
        names = self.language_names
        if len(set(names)) != len(names):
            raise ValueError(f"languages: duplicate language names in {names}")
        if self.base.lexicon != "generate" or self.base.anchors or self.base.anchor_share:
            raise ValueError("base: the base language generates its own words (no lexicon, anchors or anchor_share)")
        total = sum(spec.share for spec in self.all_languages)
        if abs(total - 1.0) > 1e-6:
            shares = ", ".join(f"{spec.name}={spec.share}" for spec in self.all_languages)
            raise ValueError(f"share: pretraining shares must sum to 1, they sum to {total:.6g} ({shares})")
        for spec in self.languages:
            self._check_derived(spec)
        self._check_segmentation()
        if self.retrieval.sentences > self.tasks.test:
            raise ValueError(f"retrieval.sentences {self.retrieval.sentences} > tasks.test {self.tasks.test} "
                             "(retrieval uses the parallel test sentences)")
        return self

    def _check_derived(self, spec: LanguageSpec) -> None:
        base = self.base
        if spec.lexicon == "identity" and spec.script != base.script:
            raise ValueError(f"languages[{spec.name}]: lexicon identity keeps the base words, so script must be "
                             f"{base.script!r}, got {spec.script!r}")
        if spec.lexicon == "transliterate" and (spec.consonants < base.consonants or spec.vowels < base.vowels):
            raise ValueError(f"languages[{spec.name}]: transliterate needs at least the base's {base.consonants} "
                             f"consonants and {base.vowels} vowels, got {spec.consonants} and {spec.vowels}")

    def _check_segmentation(self) -> None:
        segmented = self.tokenizer.mode == "segmented"
        by_script: dict[str, set] = {}
        for spec in self.all_languages:
            if spec.piece_syllables is not None and not segmented:
                raise ValueError(f"languages[{spec.name}].piece_syllables={spec.piece_syllables} only applies "
                                 f"with tokenizer.mode=segmented (mode is {self.tokenizer.mode})")
            by_script.setdefault(spec.script, set()).add(spec.piece_syllables)
        for script, settings in by_script.items():
            if segmented and len(settings) > 1:
                # Pieces of one script are shared by every language written in it, so one setting per script.
                raise ValueError(f"piece_syllables: languages written in {script} must share one setting, "
                                 f"got {sorted(settings, key=str)}")


def build_key(spec: LabSpec) -> str:
    """SHA-256 of everything that determines the built lab (not its name, the retrieval settings or the study)."""
    content = spec.model_dump(mode="json", exclude={"name", "retrieval", "study"})
    text = json.dumps({"format": FORMAT_VERSION, "spec": content}, sort_keys=True, ensure_ascii=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------------------------------- loading


def load_spec(path: str | os.PathLike) -> LabSpec:
    """Read and validate a spec file (the project's one YAML reader: duplicate keys, size, aliases, UTF-8);
    any problem is one ConfigError line naming the file and the key (or line)."""
    return spec_from_dict(read_yaml_file(path, "lab spec"), str(path))


def spec_from_dict(tree, source: str = "lab spec") -> LabSpec:
    if not isinstance(tree, dict):
        raise ConfigError(f"{source}: a lab spec must be a YAML mapping, got {type(tree).__name__}")
    try:
        return LabSpec.model_validate(tree)
    except ValidationError as err:
        raise ConfigError(f"{source}: {describe_validation_error(err, model=LabSpec, tree=tree)}") from None
