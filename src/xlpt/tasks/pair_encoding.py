"""Turn sentence-pair examples into token ids through the task template.

The whole filled template is tokenized at once (so SentencePiece segments it exactly as running text)
and the answer slot is the last real token. Inputs longer than `max_length` are shortened by trimming
words from the end of the longer sentence, never the template's question/answer part; every
truncation is counted and reported.
"""

from __future__ import annotations

from dataclasses import dataclass

from xlpt.data.examples import PairExample
from xlpt.tasks.templates import Template


@dataclass
class EncodedPair:
    input_ids: list[int]
    label: int  # -1 when the example is unlabeled
    index: int  # position in the input list, to restore order after length sorting


@dataclass
class EncodingReport:
    truncated: int = 0


def _fill(template: Template, a: str, b: str) -> str:
    return template.text.format(text_a=a.strip(), text_b=b.strip())


def _shorten(a: list[str], b: list[str]) -> tuple[list[str], list[str]]:
    """Drop one word from the longer of the two sentences (keep at least one word each)."""
    if len(a) >= len(b) and len(a) > 1:
        return a[:-1], b
    if len(b) > 1:
        return a, b[:-1]
    return a, b


def encode_pairs(examples: list[PairExample], template: Template, tokenizer, labels: tuple[str, ...],
                 max_length: int) -> tuple[list[EncodedPair], EncodingReport]:
    texts = [_fill(template, ex.text_a, ex.text_b) for ex in examples]
    all_ids = tokenizer(texts, add_special_tokens=True)["input_ids"]
    label_index = {name: i for i, name in enumerate(labels)}
    report, encoded = EncodingReport(), []
    for i, (example, ids) in enumerate(zip(examples, all_ids)):
        if len(ids) > max_length:
            ids = _truncate(example, template, tokenizer, max_length)
            report.truncated += 1
        label = label_index[example.label] if example.label is not None else -1
        encoded.append(EncodedPair(ids, label, i))
    return encoded, report


def _truncate(example: PairExample, template: Template, tokenizer, max_length: int) -> list[int]:
    a, b = example.text_a.split(), example.text_b.split()
    while True:
        ids = tokenizer(_fill(template, " ".join(a), " ".join(b)), add_special_tokens=True)["input_ids"]
        shorter = _shorten(a, b)
        if len(ids) <= max_length or shorter == (a, b):
            return ids[:max_length] if len(ids) > max_length else ids
        # Jump most of the way at once: long inputs would otherwise need one tokenizer call per word.
        excess = len(ids) - max_length
        for _ in range(max(1, excess // 3)):
            a, b = _shorten(a, b)
