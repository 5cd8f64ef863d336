"""Templates and label words for the decoder formulation of classification, as data.

The template ends with the answer slot: the model reads the label word's logit at the last real
position. English templates and label words are used for every language by default, as zero-shot
transfer requires (the model never sees target-language supervision). Add a row to TEMPLATES to
define a new task or variant; `template_id` selects it in the run config.
"""

from __future__ import annotations

from dataclasses import dataclass

from xlpt.errors import ConfigError


@dataclass(frozen=True)
class Template:
    text: str
    """Python format string over {text_a} and {text_b}; must end where the answer word goes."""
    label_words: dict[str, str]
    """Label name -> answer word, with its leading space (it follows 'Answer:' in running text)."""


TEMPLATES: dict[str, Template] = {
    "xnli": Template(
        "{text_a} Question: {text_b} Yes, Maybe or No? Answer:",
        {"entailment": " Yes", "neutral": " Maybe", "contradiction": " No"},
    ),
    "pawsx": Template(
        "Sentence 1: {text_a} Sentence 2: {text_b} Question: Do both sentences mean the same thing? Answer:",
        {"not_paraphrase": " No", "paraphrase": " Yes"},
    ),
}


def get_template(task: str) -> Template:
    if task not in TEMPLATES:
        raise ConfigError(f"no classification template for task {task!r}; templates exist for {', '.join(TEMPLATES)}")
    return TEMPLATES[task]


def label_word_ids(template: Template, labels: tuple[str, ...], tokenizer) -> list[int]:
    """One token id per label, in label order. Fails at start-up if a word is not a single token,
    because scoring only the first piece of a multi-piece word would silently change the task."""
    ids, problems = [], []
    for label in labels:
        word = template.label_words[label]
        pieces = tokenizer(word, add_special_tokens=False)["input_ids"]
        if len(pieces) != 1:
            shown = tokenizer.convert_ids_to_tokens(pieces)
            problems.append(f"{label}={word!r} -> {len(pieces)} tokens {shown}")
        else:
            ids.append(pieces[0])
    if problems:
        raise ConfigError("label words must be single tokens for this tokenizer: " + "; ".join(problems)
                          + ". Choose other words in xlpt/tasks/templates.py or use method.formulation=linear_head.")
    if len(set(ids)) != len(ids):
        raise ConfigError(f"label words map to duplicate token ids {ids}")
    return ids
