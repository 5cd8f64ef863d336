"""Truncation keeps what earlier versions kept (scores of long inputs do not move), in linear time.

The reference below is the rule as xlpt has always applied it: drop the last word of the longest field
(the first such field on ties), re-tokenizing after a jump of a third of the excess tokens."""

from __future__ import annotations

import random
import time

import pytest

from xlpt.data.examples import PairExample
from xlpt.tasks.classification_encoding import _halve_longest_word, _shorten, _truncate, encode_examples, fill
from xlpt.tasks.spec import Template

TEMPLATE = Template(text="{text_a} Question: {text_b} Paraphrase?", label_words={"a": " yes", "b": " no"})


def reference(fields, template, tokenizer, max_length):
    words = {name: value.split() for name, value in fields.items()}
    while True:
        ids = tokenizer(fill(template, {k: " ".join(v) for k, v in words.items()}), add_special_tokens=True)["input_ids"]
        if len(ids) <= max_length:
            return ids
        for _ in range(max(1, (len(ids) - max_length) // 3)):
            name = max(words, key=lambda key: len(words[key]))
            if len(words[name]) <= 1:
                if _ == 0:
                    return ids[:max_length]
                break
            words = {**words, name: words[name][:-1]}


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir):
    from xlpt.models.tokenizer import load_tokenizer

    return load_tokenizer(tiny_model_dir)


def test_truncation_keeps_the_words_it_always_kept(tokenizer):
    rng = random.Random(0)
    vocabulary = "the cat and house of the world is a big red dog running fast".split()
    for _ in range(60):
        fields = {"text_a": " ".join(rng.choice(vocabulary) for _ in range(rng.randint(1, 400))),
                  "text_b": " ".join(rng.choice(vocabulary) for _ in range(rng.randint(1, 300)))}
        for max_length in (32, 64, 128, 256):
            assert _truncate(fields, TEMPLATE, tokenizer, max_length) == reference(fields, TEMPLATE, tokenizer, max_length)


def test_truncating_a_two_megabyte_input_is_linear(tokenizer):
    fields = {"text_a": "der Hund schläft im Garten " * 80_000, "text_b": "ein Hund " * 20_000}
    started = time.perf_counter()
    ids = _truncate(fields, TEMPLATE, tokenizer, 256)
    assert len(ids) <= 256 and time.perf_counter() - started < 30



def one_at_a_time(fields, template, tokenizer, max_length):
    """Truncation as xlpt did it before inputs were truncated together: one input, one call per round."""
    words = {name: value.split() for name, value in fields.items()}
    while True:
        ids = tokenizer(fill(template, {k: " ".join(v) for k, v in words.items()}), add_special_tokens=True)["input_ids"]
        if len(ids) <= max_length:
            return ids
        shorter = _shorten(words, max(1, (len(ids) - max_length) // 3)) or _halve_longest_word(words)
        if shorter is None:
            return ids[:max_length]
        words = shorter


def test_encoding_many_inputs_at_once_gives_each_input_its_own_encoding(tokenizer):
    """encode_examples tokenizes all inputs in one call and truncates the long ones together, round by
    round: every input gets the encoding it gets alone (fitting, long and one-word inputs mixed)."""
    rng = random.Random(1)
    vocabulary = "the cat and house of the world is a big red dog running fast".split()
    examples = [PairExample(" ".join(rng.choice(vocabulary) for _ in range(rng.randint(1, 120))),
                            " ".join(rng.choice(vocabulary) for _ in range(rng.randint(1, 80))), "a", "en", f"x{i}")
                for i in range(150)]
    examples.append(PairExample("Donaudampfschifffahrtsgesellschaft" * 30, "x", "b", "de", "one-word"))
    truncated = set()
    for max_length in (24, 256, 4096):
        items, report = encode_examples(examples, TEMPLATE, tokenizer, ("a", "b"), max_length)
        alone, long = [], 0
        for example in examples:
            fields = {name: value.strip() for name, value in example.fields.items()}
            ids = tokenizer(fill(TEMPLATE, fields), add_special_tokens=True)["input_ids"]
            long += len(ids) > max_length
            alone.append(ids if len(ids) <= max_length else one_at_a_time(fields, TEMPLATE, tokenizer, max_length))
        assert [item.input_ids for item in items] == alone
        assert [item.index for item in items] == list(range(len(examples)))
        assert [item.label for item in items] == [0] * 150 + [1]
        assert report.truncated == long
        truncated.add(long)
    assert min(truncated) == 0 and len(truncated) == 3  # each length truncates a different number: none, some, most
