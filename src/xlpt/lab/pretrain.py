"""Pretraining a small XGLM on the lab's mixture, through xlpt's training loop, and its control.

The objective is plain causal language modelling over every position of a document (all weights
train). Each pretraining document is one training sequence: `</s>` then its sentences, cut at a
sentence boundary when longer than `pretraining.max_length` tokens (counted). The training loop
(`xlpt.training.loop.train`) supplies AdamW, warm-up and linear decay, length-bucketed batches,
checkpoints every `checkpoint_every` steps with exact resumption, and the dev evaluation (here the
negative dev loss, so "higher is better" as the loop expects).

Budgets: `steps` is used as given; `tokens` becomes steps = tokens / (batch_size x mean document
length); `seconds` becomes steps from a measured step time (a few timed steps on a copy of the model).
The planned step count is written to `plan.json` in the run folder before training starts, so a
resumed run trains exactly as long as the interrupted one planned, and the model records it.

The no-pretraining control is the same architecture with the same tokenizer and exactly the initial
weights the pretrained model started from (same seed): pretrained = control + pretraining.
"""

from __future__ import annotations

import copy
import json
import math
import re
import time
from pathlib import Path

import torch
from torch.nn import functional as F

from xlpt.lab.spec import LabSpec, ModelSpec
from xlpt.tasks.collate import pad_right, sorted_batches

IGNORE = -100


def init_model(spec: ModelSpec, tokenizer):
    """A freshly initialised XGLM for this tokenizer (deterministic in `spec.seed`; dropout off)."""
    from transformers import XGLMConfig, XGLMForCausalLM

    config = XGLMConfig(
        vocab_size=len(tokenizer), d_model=spec.d_model, num_layers=spec.layers, attention_heads=spec.heads,
        ffn_dim=spec.ffn_dim, max_position_embeddings=spec.max_positions,
        init_std=spec.init_std if spec.init_std is not None else spec.d_model ** -0.5,
        dropout=0.0, attention_dropout=0.0, activation_dropout=0.0, layerdrop=0.0,
        pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, decoder_start_token_id=tokenizer.eos_token_id,
    )
    torch.manual_seed(spec.seed)
    return XGLMForCausalLM(config)


def encode_documents(tokenizer, documents: list[str], periods: str | list[str], max_length: int) -> tuple[list, dict]:
    """Token ids of each document (`</s>` first), cut after the last whole sentence that fits.

    `periods`: the sentence separator word, one for all documents or one per document. Returns (ids,
    counts) with counts of documents cut at a sentence boundary and of documents whose first sentence
    alone is longer than `max_length` (cut mid-sentence)."""
    words = [document.split(" ") for document in documents]
    encoded = tokenizer(words, is_split_into_words=True, add_special_tokens=True)
    counts = {"documents": len(documents), "cut_at_sentence": 0, "cut_mid_sentence": 0}
    result = []
    for index, ids in enumerate(encoded["input_ids"]):
        if len(ids) > max_length:
            stop = periods if isinstance(periods, str) else periods[index]
            word_ids = encoded.word_ids(index)
            # positions just after a period word's last piece: whole sentences end there
            ends = [k + 1 for k in range(max_length) if word_ids[k] is not None and words[index][word_ids[k]] == stop
                    and (k + 1 == len(ids) or word_ids[k + 1] != word_ids[k])]
            if ends:
                ids = ids[: ends[-1]]
                counts["cut_at_sentence"] += 1
            else:
                ids = ids[:max_length]
                counts["cut_mid_sentence"] += 1
        result.append(list(ids))
    return result, counts


class CausalLMObjective:
    """Next-token cross-entropy over every real position (the `Objective` protocol of the training loop)."""

    def __init__(self, train_ids: list[list[int]], dev_ids: list[list[int]], pad_id: int, eval_batch_size: int = 64):
        self.train_ids, self.dev_ids, self.pad_id, self.eval_batch_size = train_ids, dev_ids, pad_id, eval_batch_size

    def train_lengths(self) -> list[int]:
        return [len(ids) for ids in self.train_ids]

    def _collate(self, sequences, device) -> dict[str, torch.Tensor]:
        ids, mask = pad_right(sequences, self.pad_id)
        return {"input_ids": ids.to(device), "attention_mask": mask.to(device),
                "labels": ids.masked_fill(mask == 0, IGNORE).to(device)}

    def batch(self, indices: list[int], device: torch.device) -> dict[str, torch.Tensor]:
        return self._collate([self.train_ids[i] for i in indices], device)

    @staticmethod
    def _summed_loss(model, batch) -> tuple[torch.Tensor, int]:
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        targets = batch["labels"][:, 1:]
        loss = F.cross_entropy(logits[:, :-1].float().reshape(-1, logits.shape[-1]), targets.reshape(-1),
                               ignore_index=IGNORE, reduction="sum")
        return loss, int((targets != IGNORE).sum())

    def loss(self, model, batch) -> tuple[torch.Tensor, int]:
        summed, predicted = self._summed_loss(model, batch)
        return summed / max(1, predicted), int(batch["attention_mask"].sum())

    @torch.no_grad()
    def mean_loss(self, model, sequences: list[list[int]]) -> float:
        """Mean next-token loss (nats per predicted token) over `sequences`."""
        model.eval()
        device = next(model.parameters()).device
        total, count = 0.0, 0
        for indices in sorted_batches([len(s) for s in sequences], self.eval_batch_size):
            summed, predicted = self._summed_loss(model, self._collate([sequences[i] for i in indices], device))
            total, count = total + float(summed), count + predicted
        return total / max(1, count)

    def dev_score(self, model) -> float:
        return -self.mean_loss(model, self.dev_ids)


def measure_step_seconds(model, objective: CausalLMObjective, batch_size: int, lr: float, device, steps: int = 6) -> float:
    """Seconds per optimizer step (forward, backward, AdamW) on a copy of the model, after one warm-up step."""
    trial = copy.deepcopy(model).to(device).train()
    optimizer = torch.optim.AdamW(trial.parameters(), lr=lr)
    lengths = objective.train_lengths()
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    middle = order[max(0, len(order) // 2 - batch_size // 2):][:batch_size]  # typical lengths, not the extremes
    batch = objective.batch(middle, device)
    timings = []
    for step in range(steps + 1):
        started = time.perf_counter()
        loss, _ = objective.loss(trial, batch)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if device.type == "cuda":
            torch.cuda.synchronize(device)  # kernels run asynchronously: wait before reading the clock
        if step:
            timings.append(time.perf_counter() - started)
    return sorted(timings)[len(timings) // 2]


def plan_steps(spec: LabSpec, model, objective: CausalLMObjective, device) -> dict:
    """Turn the budget into a number of optimizer steps (see the module docstring)."""
    budget = spec.pretraining
    lengths = objective.train_lengths()
    mean_length = sum(lengths) / len(lengths)
    plan = {"mean_document_tokens": mean_length, "batch_size": budget.batch_size}
    if budget.steps is not None:
        plan.update(budget="steps", steps=budget.steps)
    elif budget.tokens is not None:
        plan.update(budget="tokens", tokens=budget.tokens,
                    steps=max(1, math.ceil(budget.tokens / (budget.batch_size * mean_length))))
    else:
        seconds_per_step = measure_step_seconds(model, objective, budget.batch_size, budget.learning_rate, device)
        plan.update(budget="seconds", seconds=budget.seconds, measured_seconds_per_step=seconds_per_step,
                    steps=max(1, int(budget.seconds / seconds_per_step)))
    plan["epochs"] = plan["steps"] * budget.batch_size / len(lengths)
    return plan


def train_config(spec: LabSpec, steps: int):
    from xlpt.config import TrainConfig

    budget = spec.pretraining
    return TrainConfig(learning_rate=budget.learning_rate, batch_size=budget.batch_size, eval_batch_size=64,
                       max_steps=steps, warmup_ratio=budget.warmup_ratio, weight_decay=budget.weight_decay,
                       max_grad_norm=1.0, eval_every=min(budget.checkpoint_every, steps),
                       checkpoint_every=min(budget.checkpoint_every, steps), patience=None,
                       seed=budget.seed, log_every=max(1, min(50, steps // 20)), autocast="auto")


_DEV_SCORE = re.compile(r"dev score (-?[0-9.]+(?:e[-+]?[0-9]+)?|-?inf|nan) \(best (-?[0-9.]+(?:e[-+]?[0-9]+)?|-?inf|nan)")


_BEST_DEV = re.compile(r"best dev (-?[0-9.]+(?:e[-+]?[0-9]+)?|-?inf|nan) at step")


def as_loss_log(log):
    """The training loop reports a dev *score* (higher is better); the pretraining objective's score is the
    negative dev loss, which printed as "dev score -1.7558" reads as a score. Say what it is: the dev loss
    (nats per token) and its perplexity."""
    def loss_text(score: str) -> str:
        loss = -float(score)
        return f"{loss:.4f} (perplexity {math.exp(min(loss, 700)):.1f})" if math.isfinite(loss) else str(loss)

    def rewritten(*parts, **kwargs):
        text = " ".join(str(part) for part in parts)
        text = _DEV_SCORE.sub(lambda m: f"dev loss {loss_text(m.group(1))} (best {loss_text(m.group(2))}", text)
        text = _BEST_DEV.sub(lambda m: f"best dev loss {loss_text(m.group(1))} at step", text)
        return log(text, **kwargs)

    return rewritten


def pretrain(spec: LabSpec, model, objective: CausalLMObjective, run_dir: Path, device, log=print,
             progress: bool = True) -> dict:
    """Pretrain `model` in place (resuming from `run_dir` if a checkpoint is there); returns the summary."""
    from dataclasses import asdict

    from xlpt.training.loop import train

    plan_path = run_dir / "plan.json"
    if plan_path.exists():  # a resumed run keeps the step count the first run planned
        plan = json.loads(plan_path.read_text(encoding="utf-8"))
    else:
        plan = plan_steps(spec, model, objective, device)
        run_dir.mkdir(parents=True, exist_ok=True)
        plan_path.write_text(json.dumps(plan, indent=1) + "\n", encoding="utf-8")
    n_params = sum(p.numel() for p in model.parameters())
    summary = train(model, objective, train_config(spec, plan["steps"]), spec.pretraining.learning_rate, run_dir,
                    device, log=as_loss_log(log), progress=progress, flops_per_token=6.0 * n_params,
                    settings=f"pretraining.learning_rate={spec.pretraining.learning_rate:g}")
    return {"plan": plan, "train": asdict(summary), "parameters": n_params}


def save_model(model, tokenizer, folder: Path, description: str, probe_text: str, notice: str) -> Path:
    """Save model + tokenizer in Hugging Face format, marked as built by `xlpt lab` with its `notice` (a
    finding about synthetic languages, with its limits; not a pipeline check: see models.origin)."""
    from transformers.utils import logging as hf_logging

    from xlpt.models.origin import mark_model

    hf_logging.disable_progress_bar()  # a bar per saved shard would drown the lab's own progress output
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    mark_model(folder, "xlpt lab", description, probe_text=probe_text, pipeline_check=False, notice=notice)
    return folder
