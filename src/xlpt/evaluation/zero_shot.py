"""Zero-shot in-context baseline: pick the label whose filled-in sentence the LM finds most likely.

Each example becomes one text per label (the task YAML's `zero_shot:` section, e.g. `premise, right? Yes,
hypothesis` with words per language), and the label whose whole text is most likely wins, as
lm-evaluation-harness scores its XNLI/PAWS-X tasks (an empty context, the filled-in sentence as the
continuation). The log-likelihoods are exact (evaluation/loglikelihood.py: the shared premise is read once,
no full-vocabulary logit tensor).

The method's options (methods/zero_shot.py, `method.<key>=...`), and why the defaults are what they are.
`LM_EVAL_OPTIONS` reproduces lm-eval 0.4's choices; tests/evaluation/test_lm_eval_parity.py checks
predictions and log-likelihoods against lm-eval itself:

- `prefix_token` -- what the first scored token is conditioned on.
  "model" (default): the tokenizer's own start tokens (`add_special_tokens=True`), i.e. `</s>` for XGLM,
  which is how XGLM saw every document in pretraining. A tokenizer that adds no start token (GPT-2,
  BLOOM) gets lm-eval's prefix instead (BOS, else EOS), because otherwise the first token would be
  context only and go unscored; `metrics["scoring"]["prefix_ids"]` records what was used.
  "bos": the tokenizer's BOS token (EOS if it has none), lm-eval's `prefix_token_id`; for XGLM this is
  `<s>` (id 0), a token XGLM never saw at the start of a text. "eos": the EOS token.
  In the two explicit modes the text is encoded without special tokens, and a text that already starts
  with the prefix token is not given a second one (lm-eval's rule).
- `pawsx_preprocess` -- "strip" (default): both texts stripped of surrounding white space, nothing else
  (the text as the data has it). "lm_eval": for the languages the task YAML lists under
  `zero_shot.lm_eval.paraphrase_preprocess` (PAWS-X en/de/es/fr; lm-eval's YAMLs for ja/ko/zh use the raw
  text), lm-eval's `process_docs_paraphrases`: detokenize (` n't`, ` )`, `( `, quotes, ` .`/` ,`/` '`),
  strip, drop a final `.`, `,` or `;` of text 1, lower-case the first letter of text 2; pairs with an
  empty text are dropped (counted in `metrics["scoring"]["skipped_empty"]`).
- `truncation` -- when a text exceeds `data.max_length` tokens: "right" (default): keep the first
  `max_length` tokens. "left": keep the last `max_length` (lm-eval's direction; lm-eval itself never
  truncates these tasks, it stops with an assertion when a text exceeds its window). Either way the count
  is reported as `truncated`, because it changes the scores.
- `target_delimiter` -- "none" (default): the text as above. "lm_eval": prepend the task's
  `zero_shot.lm_eval.target_delimiter` (" " for XNLI, "" for PAWS-X). Invisible to XGLM's SentencePiece
  tokenizer (it drops leading white space); it changes the first token for byte-level BPE (GPT-2, BLOOM).
"""

from __future__ import annotations

import re

from xlpt.errors import ConfigError
from xlpt.evaluation.classification import classification_metrics
from xlpt.evaluation.loglikelihood import Scored, loglikelihoods

LM_EVAL_OPTIONS = {"prefix_token": "bos", "pawsx_preprocess": "lm_eval", "truncation": "left",
                   "target_delimiter": "lm_eval"}
"""lm-evaluation-harness 0.4's choices for its xnli_<lang> and paws_<lang> tasks (`method.<key>=<value>`)."""


def evaluate_zero_shot(model, tokenizer, cfg, task, examples, progress: bool = True, desc: str = "eval", **options):
    """(metrics, records) of the in-context baseline on one language's examples, as the task's family
    scores it (the zero_shot method's evaluator; a family without a baseline says so in one line).
    `options`: see score_label_prompts."""
    return task.family_record.load().zero_shot(task, model, tokenizer, cfg, examples, progress, desc, **options)


def score_label_prompts(model, tokenizer, cfg, task, examples, progress: bool = True, desc: str = "eval", *,
                        words: dict | None = None, token_budget: int | None = None):
    """(metrics, records) of the classification families' baseline: one filled-in text per label.

    `model` is a task model or a bare Backbone (benchmarks); the options come from `cfg.method` (see the
    module docstring); `words` replaces the task's words table {lang: [question, word per label]};
    `token_budget` is padded tokens per forward, default `eval_batch_size x max_length`."""
    prompts = task.zero_shot
    if prompts is None:
        raise ConfigError(f"task {task.name} defines no zero-shot prompts (a `zero_shot:` section in its YAML)")
    options = cfg.method
    if words is not None:  # the task's own table was checked when the task was loaded (TaskSpec)
        prompts.check_words(words, task.num_labels)
    delimiter = prompts.lm_eval.target_delimiter if options.target_delimiter == "lm_eval" else ""
    preprocessed = set(prompts.lm_eval.paraphrase_preprocess) if options.pawsx_preprocess == "lm_eval" else set()
    kept, texts, own_words = [], [], True
    for ex in examples:
        fields = prompt_fields(ex, preprocessed)
        if fields is None:
            continue
        filled, own = prompts.candidates(ex.lang, fields, words)
        kept.append(ex)
        texts.append([delimiter + text for text in filled])
        own_words &= own
    if not kept:
        raise ConfigError(f"{desc}: no {task.name} examples to score ({len(examples)} given, "
                          f"{len(examples)} dropped for an empty sentence by pawsx_preprocess='lm_eval')"
                          if examples else f"{desc}: no {task.name} examples to score")
    prefix_ids, groups, truncated = encode_groups(tokenizer, texts, options.prefix_token, cfg.data.max_length,
                                                  options.truncation)
    budget = token_budget or cfg.train.eval_batch_size * cfg.data.max_length
    scores = loglikelihoods(getattr(model, "backbone", model), groups, token_budget=budget,
                            pad_id=tokenizer.pad_token_id or 0, progress=progress, desc=desc)
    records = []
    for ex, row in zip(kept, scores):
        best = max(range(len(row)), key=row.__getitem__)  # first maximum on ties
        records.append({"id": ex.id, "gold": ex.label, "pred": task.labels[best],
                        "loglik": dict(zip(task.labels, row))})
    report = {"prefix_token": options.prefix_token, "pawsx_preprocess": options.pawsx_preprocess,
              "truncation": options.truncation, "target_delimiter": options.target_delimiter,
              "prefix_ids": prefix_ids, "skipped_empty": len(examples) - len(kept)}
    metrics = {**classification_metrics(task, records), "own_language_prompt": own_words, "truncated": truncated,
               "scoring": report}
    return metrics, records


def prompt_fields(example, preprocessed_languages: set[str]) -> dict[str, str] | None:
    """The example's texts as they enter the prompt; None for a pair lm-eval's preprocessing would drop."""
    fields = example.fields
    if example.lang not in preprocessed_languages:
        return {key: value.strip() for key, value in fields.items()}
    if "" in (fields["text_a"], fields["text_b"]):
        return None
    text_a, text_b = lm_eval_paraphrase_pair(fields["text_a"], fields["text_b"])
    return {**fields, "text_a": text_a, "text_b": text_b}


def lm_eval_paraphrase_pair(sentence1: str, sentence2: str) -> tuple[str, str]:
    """lm-eval's `process_docs_paraphrases` (lm_eval/tasks/paws-x/utils.py, 0.4.x) on one pair."""
    sentence1, sentence2 = _general_detokenize(sentence1).strip(), _general_detokenize(sentence2).strip()
    if sentence1.endswith((".", ",", ";")):
        sentence1 = sentence1[:-1]
    # lm-eval indexes [0] unguarded (an all-space sentence crashes it); here it stays empty.
    return sentence1, sentence2[:1].lower() + sentence2[1:]


def _general_detokenize(text: str) -> str:
    """lm-eval's `general_detokenize`, same replacements in the same order."""
    text = text.replace(" n't", "n't").replace(" )", ")").replace("( ", "(").replace('" ', '"').replace(' "', '"')
    return re.sub(r" (['.,])", r"\1", text)


def encode_groups(tokenizer, texts: list[list[str]], prefix_token: str, max_length: int, truncation: str):
    """(prefix ids, one group of `Scored` per example, number of truncated texts)."""
    if max_length < 2:
        raise ConfigError(f"data.max_length must be >= 2 for zero-shot scoring, got {max_length}")
    flat = [text for group in texts for text in group]
    plain = tokenizer(flat, add_special_tokens=False)["input_ids"]
    if prefix_token == "model":
        encoded = tokenizer(flat, add_special_tokens=True)["input_ids"]
        sequences = [_own_start(tokenizer, full, bare) for full, bare in zip(encoded, plain)]
    else:
        prefix = _prefix_id(tokenizer, prefix_token)
        sequences = [(bare, 1) if bare and bare[0] == prefix else ([prefix] + bare, 1) for bare in plain]
    prefix_ids = sorted({tuple(tokens[:start]) for tokens, start in sequences})
    truncated = sum(len(tokens) > max_length for tokens, _ in sequences)
    scored = [_truncate(tokens, start, max_length, truncation) for tokens, start in sequences]
    groups, at = [], 0
    for group in texts:
        groups.append(scored[at : at + len(group)])
        at += len(group)
    return [list(p) for p in prefix_ids], groups, truncated


def _own_start(tokenizer, full: list[int], bare: list[int]) -> tuple[list[int], int]:
    """The tokenizer's own encoding and where the text starts in it; lm-eval's prefix if it adds none."""
    start = next((k for k in range(len(full) - len(bare) + 1) if full[k : k + len(bare)] == bare), None)
    if start is None:
        raise ConfigError(f"{type(tokenizer).__name__}: the encoding with special tokens does not contain the "
                          "plain encoding; cannot tell where the text starts")
    if start == 0:  # no start token of its own (GPT-2, BLOOM): condition on BOS/EOS as lm-eval does
        return [_prefix_id(tokenizer, "bos")] + full, 1
    return full, start


def _prefix_id(tokenizer, mode: str) -> int:
    token_id = tokenizer.bos_token_id if mode == "bos" else None
    token_id = tokenizer.eos_token_id if token_id is None else token_id
    if token_id is None:
        raise ConfigError(f"{type(tokenizer).__name__} has no {'BOS or EOS' if mode == 'bos' else 'EOS'} token to "
                          f"use as prefix_token={mode!r}")
    return token_id


def _truncate(tokens: list[int], start: int, max_length: int, truncation: str) -> Scored:
    if len(tokens) <= max_length:
        return Scored(tokens, start)
    if truncation == "right":
        return Scored(tokens[:max_length], min(start, max_length))
    cut = len(tokens) - max_length
    return Scored(tokens[cut:], max(1, start - cut))
