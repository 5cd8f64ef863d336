"""Label words as tokens: what the verbalizer reads at the answer slot.

A template (tasks.spec.Template, data of the task) ends where the answer goes; each label has a word.
English templates and label words are used for every language by default, as zero-shot transfer
requires (the model never sees target-language supervision). A label word may be several tokens:
the class score is then the word's summed log-probability at the answer slot (models.heads); when
every word is one token, the fast path reads only those rows of the LM head at the last position.
"""

from __future__ import annotations

from xlpt.errors import ConfigError
from xlpt.tasks.spec import Template


def label_word_tokens(template: Template, labels: tuple[str, ...], tokenizer) -> list[list[int]]:
    """The token ids of each label's word, in label order (tokenized as it follows the template: with
    its leading space, no special tokens). Fails for empty or identical token sequences."""
    tokens, problems = [], []
    for label in labels:
        word = template.label_words[label]
        pieces = list(tokenizer(word, add_special_tokens=False)["input_ids"])
        if not pieces:
            problems.append(f"{label}={word!r} tokenizes to nothing")
        tokens.append(pieces)
    if problems:
        raise ConfigError("label words: " + "; ".join(problems))
    if len({tuple(t) for t in tokens}) != len(tokens):
        shown = {label: tokenizer.convert_ids_to_tokens(t) for label, t in zip(labels, tokens)}
        raise ConfigError(f"label words map to identical token sequences for this tokenizer: {shown}")
    return tokens


def single_token_ids(tokens: list[list[int]]) -> list[int] | None:
    """One id per label when every word is a single token (the fast path), else None."""
    return [t[0] for t in tokens] if all(len(t) == 1 for t in tokens) else None
