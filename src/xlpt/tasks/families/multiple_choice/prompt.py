"""How a multiple-choice task YAML turns an example's fields into a context and N choice continuations.

A task's `prompt:` section says it declaratively, so that a new benchmark is one YAML and no code:

    prompt:
      derive:                     # new fields computed from the example (before transforms)
        connector: {lookup: question, values: {en: {cause: because, effect: therefore},
                                               et: {cause: sest, effect: seetõttu}}, fallback: en}
        before: {from: sentence, before: "_"}      # text before the first "_" (XWinograd)
        after: {from: sentence, after: "_"}        # text after it
      transforms:                 # declared text transforms, applied in order to a field's text
        premise: [strip, drop_last_char]           # lm-eval: doc["premise"].strip()[:-1]
        choice1: [lower_first]
      context: "{premise} {connector}"             # one context, or one per label (XWinograd)
      choices: ["{choice1}", "{choice2}"]          # one per label (in `labels` order), or one shared text
      target_delimiter: " "                        # put before every continuation (lm-eval's default)
      languages:                                   # per-language replacements of context/choices/delimiter
        en: {choices: [" {choice1}", " {choice2}"]}

Label i of the task (its `labels`, e.g. [choice1, choice2]) is choice i. The scored text of choice i is
`target_delimiter + choices[i]` after `context` (or, with one context per label, `target_delimiter +
choices` after `context[i]`: lm-eval's "multiple input" mode). What acc_norm/acc_bytes divide by is the
length of the text that differs between the choices, without the delimiter, as lm-eval's `doc_to_choice`
returns it (the choices, or the per-label contexts in multiple-input mode).

Everything is checked when the task YAML is read; an error is one line naming the key. No torch here.
"""

from __future__ import annotations

import string
from typing import Literal

from pydantic import Field, ValidationError, model_validator

from xlpt.schema import Section

TRANSFORMS = {
    "strip": str.strip,
    "drop_last_char": lambda text: text[:-1],
    "lower_first": lambda text: text[:1].lower() + text[1:],
    "upper_first": lambda text: text[:1].upper() + text[1:],
    "drop_final_period": lambda text: text[:-1] if text.endswith(".") else text,
}
"""The text transforms a YAML may name (a closed set: a YAML never carries code)."""


class Derived(Section):
    """One derived field: a per-language lookup keyed by another field, or a split of a field at a marker."""

    lookup: str | None = None
    """The field whose value selects the entry (xcopa: question -> cause/effect)."""
    values: dict[str, dict[str, str]] = Field(default_factory=dict)
    """language -> {field value -> text}; languages without an entry use `fallback`."""
    fallback: str | None = None
    from_: str | None = Field(None, alias="from")
    """The field to split (with `before` or `after`)."""
    before: str | None = None
    """The text before the first occurrence of this marker."""
    after: str | None = None
    """The text after the first occurrence of this marker."""

    model_config = Section.model_config | {"populate_by_name": True}

    @model_validator(mode="after")
    def _one_kind(self) -> "Derived":
        if self.lookup is not None:
            if self.from_ or self.before is not None or self.after is not None:
                raise ValueError("give either lookup (+ values) or from (+ before/after), not both")
            if not self.values:
                raise ValueError("lookup needs `values`: {language: {value: text}}")
            if self.fallback is not None and self.fallback not in self.values:
                raise ValueError(f"fallback {self.fallback!r} has no entry in values")
            keys = {tuple(sorted(table)) for table in self.values.values()}
            if len(keys) > 1:
                raise ValueError(f"every language's lookup table must have the same keys, got {sorted(keys)}")
        elif self.from_ is not None:
            if (self.before is None) == (self.after is None):
                raise ValueError(f"from: {self.from_} needs exactly one of before or after (the marker)")
            if not (self.before or self.after):
                raise ValueError("the split marker must not be empty")
        else:
            raise ValueError("a derived field needs `lookup` (+ values) or `from` (+ before/after)")
        return self

    def sources(self) -> set[str]:
        return {self.lookup or self.from_}

    def value(self, fields: dict[str, str], lang: str, where: str) -> str:
        if self.lookup is not None:
            table = self.values.get(lang) or self.values.get(self.fallback or "")
            if table is None:
                raise ValueError(f"{where}: no lookup values for language {lang!r} and no fallback")
            key = fields[self.lookup].strip()
            if key not in table:
                raise ValueError(f"{where}: {self.lookup}={key!r} is not one of {', '.join(table)}")
            return table[key]
        text, marker = fields[self.from_], self.before if self.before is not None else self.after
        at = text.find(marker)
        if at < 0:
            raise ValueError(f"{where}: {self.from_} has no {marker!r}")
        return text[:at] if self.before is not None else text[at + len(marker):]


class LanguagePrompt(Section):
    """Per-language replacements (only the keys given change)."""

    context: str | list[str] | None = None
    choices: str | list[str] | None = None
    target_delimiter: str | None = None


class ChoicePrompt(Section):
    """The `prompt:` section of a multiple_choice task (see the module docstring)."""

    derive: dict[str, Derived] = Field(default_factory=dict)
    transforms: dict[str, list[Literal[tuple(TRANSFORMS)]]] = Field(default_factory=dict)  # type: ignore[valid-type]
    context: str | list[str]
    choices: str | list[str]
    target_delimiter: str = " "
    languages: dict[str, LanguagePrompt] = Field(default_factory=dict)

    def check(self, fields: tuple[str, ...], labels: tuple[str, ...]) -> None:
        """ValueError (one line) unless every name is a field and the texts give one choice per label."""
        clash = sorted(set(self.derive) & set(fields))
        if clash:
            raise ValueError(f"prompt.derive: {clash} are already fields of the task; name derived fields apart")
        known = set(fields) | set(self.derive)
        for name, derived in self.derive.items():
            missing = derived.sources() - set(fields)
            if missing:
                raise ValueError(f"prompt.derive.{name}: {sorted(missing)[0]!r} is not a field ({', '.join(fields)})")
        for name in self.transforms:
            if name not in known:
                raise ValueError(f"prompt.transforms: {name!r} is not a field ({', '.join(sorted(known))})")
        self._check_texts(self.context, self.choices, known, labels, "prompt")
        for lang, override in self.languages.items():
            context = self.context if override.context is None else override.context
            choices = self.choices if override.choices is None else override.choices
            self._check_texts(context, choices, known, labels, f"prompt.languages.{lang}")

    @staticmethod
    def _check_texts(context, choices, known: set[str], labels: tuple[str, ...], where: str) -> None:
        n = len(labels)
        per_context, per_choice = isinstance(context, list), isinstance(choices, list)
        if per_context == per_choice:
            raise ValueError(f"{where}: give one context and a list of {n} choices, or a list of {n} contexts and "
                             "one choice text (lm-eval's multiple-input mode)")
        texts = context if per_context else choices
        if len(texts) != n:
            raise ValueError(f"{where}: {len(texts)} {'contexts' if per_context else 'choices'} for {n} labels "
                             f"({', '.join(labels)}); give one per label, in label order")
        for i, text in enumerate([*(context if per_context else [context]), *(choices if per_choice else [choices])]):
            for name in placeholders(text, f"{where} text {text!r}"):
                if name not in known:
                    raise ValueError(f"{where}: {{{name}}} in {text!r} is not a field ({', '.join(sorted(known))})")

    def used_fields(self) -> set[str]:
        texts = [*_as_list(self.context), *_as_list(self.choices)]
        for override in self.languages.values():
            texts += _as_list(override.context) + _as_list(override.choices)
        used = {name for text in texts for name in placeholders(text, "prompt")}
        for name in list(used):
            if name in self.derive:
                used |= self.derive[name].sources()
        return used

    def render(self, fields: dict[str, str], lang: str, where: str = "example") -> "Rendered":
        """The example as (contexts, continuations, norm texts), one of each per label."""
        values = dict(fields)
        for name, derived in self.derive.items():
            values[name] = derived.value(fields, lang, where)
        for name, steps in self.transforms.items():
            for step in steps:
                values[name] = TRANSFORMS[step](values[name])
        override = self.languages.get(lang, LanguagePrompt())
        context = self.context if override.context is None else override.context
        choices = self.choices if override.choices is None else override.choices
        delimiter = self.target_delimiter if override.target_delimiter is None else override.target_delimiter
        if isinstance(context, list):
            varying = [text.format(**values) for text in context]
            shared = choices.format(**values)
            return Rendered(varying, [delimiter + shared] * len(varying), varying)
        filled = [text.format(**values) for text in choices]
        return Rendered([context.format(**values)] * len(filled), [delimiter + text for text in filled], filled)


class Rendered(tuple):
    """(contexts, continuations, norm_texts): one of each per choice."""

    def __new__(cls, contexts: list[str], continuations: list[str], norm_texts: list[str]):
        return super().__new__(cls, (contexts, continuations, norm_texts))

    contexts = property(lambda self: self[0])
    continuations = property(lambda self: self[1])
    norm_texts = property(lambda self: self[2])


def placeholders(text: str, where: str) -> list[str]:
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as err:
        raise ValueError(f"{where}: not a valid template ({err}); write a literal brace as {{{{ or }}}}") from None
    names = []
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        if not name or name.isdigit() or spec or conversion:
            raise ValueError(f"{where}: write placeholders as {{field}} (no positions, conversions or specs)")
        names.append(name)
    return names


def _as_list(value) -> list[str]:
    return [] if value is None else list(value) if isinstance(value, list) else [value]


def parse_prompt(tree, fields: tuple[str, ...], labels: tuple[str, ...]) -> ChoicePrompt:
    """The checked `prompt:` section; ValueError with one line (the key and what is wrong) otherwise."""
    if not isinstance(tree, dict):
        raise ValueError("a multiple_choice task needs a `prompt:` mapping (context, choices, ...)")
    try:
        prompt = ChoicePrompt.model_validate(tree)
    except ValidationError as err:
        first = err.errors(include_url=False)[0]
        key = ".".join(str(part) for part in first["loc"] if not str(part).startswith("function-"))
        raise ValueError(f"prompt.{key}: {first['msg']}" if key else f"prompt: {first['msg']}") from None
    prompt.check(fields, labels)
    return prompt
