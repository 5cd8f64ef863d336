"""Multiple-choice examples as token ids, split exactly as lm-evaluation-harness splits them.

For each choice, lm-eval 0.4 (`TemplateLM._encode_pair`) moves trailing spaces of the context to the
continuation, encodes `context + continuation` and `context` with the tokenizer's own special tokens
(`tokenizer.encode(text)`: XGLM's `</s>` first, GPT-2/BLOOM nothing), and takes the continuation as the
whole encoding after the context's length. Scored tokens are the continuation's; the input is
`context_ids + continuation_ids`. Doing the same here is what makes zero-shot scores equal lm-eval's
(tests/evaluation/test_multiple_choice_lm_eval.py), and it is also the input the trained methods see.

The choices of one example share their context tokens (or, with one context per choice, their longest
common token prefix): `shared` is that length, read once per example (models: ChoiceModel; zero-shot:
evaluation.loglikelihood). No torch here.
"""

from __future__ import annotations

from dataclasses import dataclass

from xlpt.errors import ConfigError


@dataclass(frozen=True)
class EncodedChoice:
    tokens: tuple[int, ...]
    """context ids + continuation ids (the continuation is scored)."""
    start: int
    """Index of the first continuation token (= context length)."""
    chars: int
    bytes: int
    """Length of the choice text lm-eval normalises by (acc_norm: characters, acc_bytes: UTF-8 bytes)."""

    @property
    def scored_tokens(self) -> int:
        return len(self.tokens) - self.start


@dataclass(frozen=True)
class EncodedExample:
    choices: tuple[EncodedChoice, ...]
    label: int
    """Index of the gold choice; -1 when the example has no label."""
    index: int
    shared: int
    """Tokens every choice starts with (at least 1, at most every choice's context length)."""

    @property
    def length(self) -> int:
        return sum(len(c.tokens) for c in self.choices) - (len(self.choices) - 1) * self.shared


@dataclass
class EncodingReport:
    truncated: int = 0
    """Choices whose context was cut on the left to fit max_length (lm-eval's direction)."""


def encode_pair(tokenizer, context: str, continuation: str, prefix_id: int | None) -> tuple[list[int], list[int]]:
    """lm-eval's (context ids, continuation ids); an empty context becomes `prefix_id` (lm-eval's BOS rule)."""
    if not context:
        bare = tokenizer(continuation, add_special_tokens=False)["input_ids"]
        if prefix_id is None:
            raise ConfigError(f"{type(tokenizer).__name__} has no BOS or EOS token to condition an empty context on")
        return ([prefix_id], bare) if bare[:1] != [prefix_id] else (bare[:1], bare[1:])
    spaces = len(context) - len(context.rstrip())
    if spaces:
        context, continuation = context[:-spaces], context[-spaces:] + continuation
    whole = tokenizer(context + continuation)["input_ids"]
    context_ids = tokenizer(context)["input_ids"]
    return list(context_ids), list(whole[len(context_ids):])


def encode_examples(examples, prompt, tokenizer, labels: tuple[str, ...], max_length: int):
    """(EncodedExample per example, EncodingReport). Rendering problems and empty continuations are one-line
    ConfigErrors naming the example."""
    prefix_id = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
    label_index = {name: i for i, name in enumerate(labels)}
    report, encoded = EncodingReport(), []
    for i, example in enumerate(examples):
        try:
            rendered = prompt.render(dict(example.fields), example.lang, example.id)
        except ValueError as err:
            raise ConfigError(str(err)) from None
        choices = []
        for context, continuation, norm in zip(*rendered):
            ctx, cont = encode_pair(tokenizer, context, continuation, prefix_id)
            if not cont:
                raise ConfigError(f"{example.id}: choice {norm!r} tokenizes to nothing after its context")
            if len(ctx) + len(cont) > max_length:
                report.truncated += 1
                keep = max(1, max_length - len(cont))
                ctx, cont = ctx[-keep:], cont[-(max_length - 1):] if len(cont) >= max_length else cont
            choices.append(EncodedChoice(tuple(ctx + cont), len(ctx), len(norm), len(norm.encode("utf-8"))))
        label = label_index[example.label] if example.label is not None else -1
        encoded.append(EncodedExample(tuple(choices), label, i, shared_length(choices)))
    return encoded, report


def shared_length(choices: list[EncodedChoice]) -> int:
    """Longest common token prefix of the choices, no longer than any context (so every scored token is
    predicted from a position at or after it) and at least 1."""
    first, limit = choices[0].tokens, min(c.start for c in choices)
    length = 0
    while length < limit and all(c.tokens[length] == first[length] for c in choices):
        length += 1
    return max(1, length) if all(c.tokens[0] == first[0] for c in choices) else 0
