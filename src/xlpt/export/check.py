"""The export's own check: the PEFT model must compute what the trained xlpt model computes.

Before an export is written, both read the same probe texts and their next-token log-probabilities are
compared at every position (virtual-token positions included). xlpt's side is the run's own forward
(`TaskModel.hidden`: prompt, prefix or LoRA as trained) followed by the LM head as the model's own forward
applies it (`Backbone.logits`: Gemma-2's final soft-capping, Granite's and Cohere's logit scales); PEFT's side is the
PeftModel's forward on the text tokenized as the adapter expects (with or without the tokenizer's start
tokens, see forms.PromptForm). Any disagreement beyond rounding stops the export: it would mean the
adapter changes the numbers it claims to reproduce.
"""

from __future__ import annotations

import torch

PROBE_TEXTS = (
    "The cat sleeps on the warm mat. Answer:",
    "Der Hund läuft durch den Park, und die Sonne scheint über der Stadt.",
)
TOLERANCE = {"float32": 1e-4, "float16": 5e-2, "bfloat16": 1e-1}
"""Largest |difference| of log-probabilities accepted, by the dtype the check ran in."""


@torch.no_grad()
def xlpt_logprobs(model, tokenizer) -> list[torch.Tensor]:
    """(sequence, vocab) log-probabilities of each probe text under the xlpt task model."""
    model.eval()
    device = model.backbone.lm.get_input_embeddings().weight.device
    results = []
    for text in PROBE_TEXTS:
        ids = torch.tensor([tokenizer(text, add_special_tokens=True)["input_ids"]], device=device)
        hidden = model.hidden(ids, torch.ones_like(ids))
        results.append(torch.log_softmax(model.backbone.logits(hidden).float(), dim=-1)[0].cpu())
    return results


@torch.no_grad()
def peft_logprobs(peft_model, tokenizer, feeds_start_tokens: bool) -> list[torch.Tensor]:
    """The same for a PeftModel, the text tokenized with or without the tokenizer's start tokens."""
    peft_model.eval()
    device = peft_model.get_base_model().get_input_embeddings().weight.device
    results = []
    for text in PROBE_TEXTS:
        ids = torch.tensor([tokenizer(text, add_special_tokens=feeds_start_tokens)["input_ids"]], device=device)
        logits = peft_model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits
        results.append(torch.log_softmax(logits.float(), dim=-1)[0].cpu())
    return results


def largest_difference(ours: list[torch.Tensor], theirs: list[torch.Tensor]) -> float:
    """max |ours - theirs| over every text, position and token; inf when the shapes differ (positions
    that do not line up are a layout error, not a rounding one)."""
    worst = 0.0
    for a, b in zip(ours, theirs, strict=True):
        if a.shape != b.shape:
            return float("inf")
        worst = max(worst, float((a - b).abs().max()))
    return worst
