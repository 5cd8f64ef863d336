"""Training step: xlpt vs the real peers on the same model, the same examples, the same batches.

    prompt_tuning   xlpt (soft prompt after </s>, verbalizer loss at the answer slot)
                    vs PEFT PromptTuningConfig + transformers.Trainer
    lora            xlpt (PEFT's LoRA layers injected in place) vs PEFT LoraConfig + Trainer
    full_finetune   xlpt vs Trainer on XGLMForCausalLM

Two peers, both set up the way their users set them up for this task: the filled template as a causal-LM
example, the loss read at the same answer slot, Trainer's default fused AdamW, gradient clipping at 1.0,
sequential sampling so every contender sees the same batches.
    plain    the label word appended, labels -100 except the label word, full-vocabulary logits at every position
    strong   no label word appended; `logits_to_keep` = each row's answer position (a (B, 1) index tensor) and
             `shift_labels` = the label word there, which XGLMForCausalLM.forward accepts in transformers 5.x:
             the LM head runs at B positions instead of B x S (the strongest reasonable Trainer setting)
Ratios are stated against the strong peer first.

Dropout as the real model has it: `--dropout model` (default) gives the random model XGLM-564M's published
rates (dropout 0.1, attention_dropout 0.1, activation_dropout 0) and every contender trains in train mode
(xlpt's default train.dropout=model keeps them); `--dropout off` sets them to 0.

A step is forward + backward + clipping + optimizer step; xlpt's step is the body of training/loop.py
(objective.loss, fused AdamW from training/schedule.py). Each round runs `--steps` + 1 steps per contender
(the first is warm-up and not timed); contenders alternate; the medians of all timed steps are compared.
Beside each ratio: the FLOP bound (matmul and attention-score FLOPs of the peer's step / xlpt's step for the
same batches, see `step_flops`) and the peak RSS of a step over the RSS before it (sampled every 0.5 ms after
returning freed memory to the OS; the model and optimizer state are not in it).

For prompt tuning all contenders share one model object (one copy of the weights in memory): the attention
kernel is switched per contender (xlpt: SDPA; the peers: transformers' eager XGLM attention, its only one).

Run from the repository root:
    python bench/bench_train.py --method prompt_tuning                      # tiny shape, ~1 min
    python bench/bench_train.py --method prompt_tuning --shape 564m --peers strong --steps 2 --rounds 2  # ~4 min
    python bench/bench_train.py --method full_finetune --shape 564m --layers 12
    python bench/bench_train.py --method prompt_tuning --sweep prompt_length=1,20,100
    python bench/bench_train.py --method prompt_tuning --sweep length=32,64,128,256   # fixed-length rows
    python bench/bench_train.py --method prompt_tuning --sweep batch_size=1,8,32
    python bench/bench_train.py --method prompt_tuning --batches bucketed    # the loop's length buckets
"""

from __future__ import annotations

import argparse
import copy
import ctypes
import gc
import json
import os
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import workload  # noqa: E402  (bench/ is not a package; sets OpenMP up before torch)

import torch  # noqa: E402

LORA_TARGETS = "q_proj,k_proj,v_proj,out_proj,fc1,fc2"
XGLM_DROPOUT = dict(dropout=0.1, attention_dropout=0.1, activation_dropout=0.0)  # facebook/xglm-564M config.json
PLAIN, STRONG = "PEFT + Trainer", "PEFT + Trainer (logits_to_keep, shift_labels)"


# ------------------------------------------------------------------------------------ memory
class PeakRSS:
    """Peak resident memory of the process while a step runs, over the RSS just before it (a polling thread)."""

    def __init__(self):
        self._page = os.sysconf("SC_PAGE_SIZE")
        self._peak = 0
        self._stop = threading.Event()
        self._libc = ctypes.CDLL("libc.so.6") if sys.platform.startswith("linux") else None
        threading.Thread(target=self._poll, daemon=True).start()
        self.steps: dict[str, list[float]] = {}
        self.base = 0

    def rss(self) -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * self._page

    def _poll(self):
        while not self._stop.is_set():
            self._peak = max(self._peak, self.rss())
            time.sleep(0.0005)

    def begin(self) -> None:
        gc.collect()
        if self._libc is not None:
            self._libc.malloc_trim(0)  # freed memory back to the OS: the baseline holds no cached free blocks
        self.base = self.rss()
        self._peak = self.base

    def end(self, name: str) -> None:
        self._peak = max(self._peak, self.rss())
        self.steps.setdefault(name, []).append((self._peak - self.base) / 2**30)

    def peak(self, name: str) -> float:
        return max(self.steps[name])


# ------------------------------------------------------------------------------------ model and data
def set_dropout(lm, rates: dict) -> None:
    """Give an XGLM model these dropout rates (config and every module that read them at construction)."""
    from transformers.models.xglm.modeling_xglm import XGLMAttention, XGLMDecoderLayer, XGLMModel

    for key, value in rates.items():
        setattr(lm.config, key, value)
    for module in lm.modules():
        if isinstance(module, XGLMModel):
            module.dropout = rates["dropout"]
        elif isinstance(module, XGLMDecoderLayer):
            module.dropout, module.activation_dropout = rates["dropout"], rates["activation_dropout"]
        elif isinstance(module, XGLMAttention):
            module.dropout = rates["attention_dropout"]


def make_lm(args, tok):
    lm = workload.make_lm(args.shape, args.layers, tok)
    set_dropout(lm, XGLM_DROPOUT if args.dropout == "model" else dict.fromkeys(XGLM_DROPOUT, 0.0))
    return lm


def examples_for(args, tok):
    """Real XNLI English train pairs, or (sweeping length) pairs of synthetic words cut to `length` tokens."""
    examples = workload.xnli_examples("en", "train", args.batch_size * (args.steps + 1) * args.pool)
    if not args.length:
        return examples
    from xlpt.data.examples import PairExample

    generator = torch.Generator().manual_seed(0)
    words = tok.convert_ids_to_tokens(torch.randint(1000, 200_000, (args.length * 4,), generator=generator).tolist())
    text = " ".join(w.lstrip("▁") for w in words if w.lstrip("▁").isalpha())
    return [PairExample(text, text, ex.label, "en", ex.id) for ex in examples]


def encoded(args, tok, examples):
    from xlpt.tasks import get_task
    from xlpt.tasks.classification_encoding import encode_examples

    task = get_task("xnli")
    items, _ = encode_examples(examples, task.resolve_template(None), tok, task.labels, args.length or 256)
    return task, items


def step_batches(args, items) -> list[list[int]]:
    """The steps' batches, the same for every contender: consecutive examples (what Trainer's default random
    sampler gives: lengths mixed) or, with `--batches bucketed`, the training loop's length buckets."""
    if args.batches == "bucketed":
        from xlpt.training.batching import bucketed_batches

        batches = bucketed_batches([len(it.input_ids) for it in items], args.batch_size, random.Random(0))
    else:
        batches = [list(range(i, i + args.batch_size)) for i in range(0, len(items), args.batch_size)]
    return [b for b in batches if len(b) == args.batch_size][: args.steps + 1]


def method_overrides(args) -> list[str]:
    if args.method in ("prompt_tuning", "prefix_tuning"):
        return [f"method.prompt_length={args.prompt_length}"]
    return []


def xlpt_contender(args, tok, items, lm):
    """(model, step(batch_indices)) for xlpt's model of the method, on `lm`."""
    from xlpt.models.build import build_task_model
    from xlpt.tasks import get_task
    from xlpt.training.objectives import ClassificationObjective
    from xlpt.training.schedule import make_optimizer

    cfg = workload.run_config(args.method, *method_overrides(args), f"model.attention={args.attention}")
    task = get_task("xnli")
    model = build_task_model(cfg, task, lm, tok)
    objective = ClassificationObjective(task, items, items[:1], tok.pad_token_id, 32)
    optimizer = make_optimizer(model, args.learning_rate, 0.01, None)
    params = [p for group in optimizer.param_groups for p in group["params"]]
    device = torch.device("cpu")

    def step(indices):
        loss, _ = objective.loss(model, objective.batch(indices, device))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return model, step


def peer_model(args, lm):
    if args.method == "full_finetune":
        return lm
    from peft import LoraConfig, PromptTuningConfig, TaskType, get_peft_model

    if args.method == "prompt_tuning":
        config = PromptTuningConfig(task_type=TaskType.CAUSAL_LM, num_virtual_tokens=args.prompt_length,
                                    num_attention_heads=lm.config.attention_heads)  # PEFT cannot read XGLM's name
    else:
        config = LoraConfig(task_type=TaskType.CAUSAL_LM, r=8, lora_alpha=16, lora_dropout=0.0,
                            target_modules=LORA_TARGETS.split(","))
    return get_peft_model(lm, config)


class StepClock:
    """A TrainerCallback that times each optimizer step (forward, backward, clipping, optimizer step) and its
    peak memory."""

    def __init__(self, timings, name, memory: PeakRSS):
        from transformers import TrainerCallback

        clock = self

        class Callback(TrainerCallback):
            def on_step_begin(self, *a, **k):
                memory.begin()
                clock.start = (time.perf_counter(), time.process_time())

            def on_step_end(self, *a, **k):
                clock.steps.append((time.perf_counter() - clock.start[0], time.process_time() - clock.start[1]))
                memory.end(clock.name + " (all)")

        self.callback, self.steps, self.start, self.timings, self.name = Callback(), [], (0.0, 0.0), timings, name
        self.memory = memory

    def flush(self) -> None:
        for wall, cpu in self.steps[1:]:  # the first step of each train() call is warm-up
            self.timings.add(self.name, wall, cpu)
        measured = self.memory.steps.pop(self.name + " (all)")
        self.memory.steps.setdefault(self.name, []).extend(measured[1:])
        self.steps = []


def peer_rows(args, tok, items, strong: bool) -> list[dict]:
    label_ids = [ids[0] for ids in (tok(w, add_special_tokens=False).input_ids
                                   for w in (" Yes", " Maybe", " No"))]
    if strong:  # the answer slot is the last text token; PEFT puts its prompt first, so it is P positions later
        offset = args.prompt_length if args.method == "prompt_tuning" else 0
        return [{"input_ids": it.input_ids, "answer": offset + len(it.input_ids) - 1, "label": label_ids[it.label]}
                for it in items]
    return [{"input_ids": it.input_ids + [label_ids[it.label]],
             "labels": [-100] * len(it.input_ids) + [label_ids[it.label]]} for it in items]


def trainer_contender(args, tok, items, batches, model, timings, memory, strong: bool, out_dir):
    """run_round() training the peer for steps + 1 steps over the same batches, timing each step."""
    from transformers import Trainer, TrainingArguments

    rows = peer_rows(args, tok, items, strong)
    dataset = [rows[i] for b in batches for i in b]  # sequential sampling walks the steps' batches in order

    def collate(batch):
        width = max(len(r["input_ids"]) for r in batch)
        ids = torch.full((len(batch), width), tok.pad_token_id)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for i, r in enumerate(batch):
            ids[i, : len(r["input_ids"])], mask[i, : len(r["input_ids"])] = torch.tensor(r["input_ids"]), 1
        if strong:
            answer = torch.tensor([[r["answer"]] for r in batch])
            label = torch.tensor([[r["label"]] for r in batch])
            return {"input_ids": ids, "attention_mask": mask, "logits_to_keep": answer, "shift_labels": label,
                    "labels": label}  # labels: Trainer and the model compute a loss only when they are given
        labels = torch.full((len(batch), width), -100)
        for i, r in enumerate(batch):
            labels[i, : len(r["labels"])] = torch.tensor(r["labels"])
        return {"input_ids": ids, "attention_mask": mask, "labels": labels}

    name = STRONG if strong else PLAIN
    clock = StepClock(timings, name, memory)
    training_args = TrainingArguments(
        output_dir=str(out_dir / ("strong" if strong else "plain")), per_device_train_batch_size=args.batch_size,
        max_steps=args.steps + 1, learning_rate=args.learning_rate, weight_decay=0.01, max_grad_norm=1.0,
        optim="adamw_torch_fused", logging_strategy="no", save_strategy="no", report_to="none", use_cpu=True,
        disable_tqdm=True, dataloader_num_workers=0, train_sampling_strategy="sequential",
        remove_unused_columns=False, seed=0)
    trainer = Trainer(model=model, args=training_args, train_dataset=dataset, data_collator=collate,
                      callbacks=[clock.callback])

    def run_round():
        trainer.train()
        clock.flush()

    return run_round


# ------------------------------------------------------------------------------------ FLOP bound
def step_flops(lm, lengths: list[int], method: str, prompt: int, positions: list[list[int]], head_rows: int) -> float:
    """Matmul + attention-score FLOPs of one step's forward and backward.

    `positions`: for each forward call, the (query, key) lengths of its rows as [(queries, keys), ...] padded
    (a call runs every row at its padded width). Linear layers: 2N per token forward, 2N backward (activation
    gradients; weight gradients too when fully fine-tuned: +2N); attention scores and weighted sums: 4 q k d
    per layer forward, twice that backward; the LM head: `head_rows` vocabulary rows at each scored position."""
    from xlpt.training.flops import matmul_params

    n = matmul_params(lm)
    d, layers = lm.config.d_model, lm.config.num_layers
    backward_linear = 4 if method == "full_finetune" else 2
    total = 0.0
    for queries, keys in positions:
        total += (2 + backward_linear) * n * queries + 3 * 4 * queries * keys * d * layers
    total += head_rows * d * 2 * 2  # forward and the activation gradient (the head is frozen or tied)
    return total


def flop_bounds(args, lm, model, items, batches) -> dict[str, float]:
    """peer FLOPs / xlpt FLOPs per step, averaged over the timed batches, for each peer."""
    prompt = args.prompt_length if args.method == "prompt_tuning" else 0
    vocab = lm.config.vocab_size
    out: dict[str, list[float]] = {PLAIN: [], STRONG: []}
    for batch in batches[1:]:
        lengths = [len(items[i].input_ids) for i in batch]
        rows, width = len(lengths), max(lengths)
        plain_pos = [(rows * (prompt + width + 1), prompt + width + 1)]
        plain = step_flops(lm, lengths, args.method, prompt, plain_pos, rows * (prompt + width + 1) * vocab)
        strong = step_flops(lm, lengths, args.method, prompt, [(rows * (prompt + width), prompt + width)], rows * vocab)
        ours = step_flops(lm, lengths, args.method, prompt, xlpt_calls(model, lengths, prompt), rows * 3)
        out[PLAIN].append(plain / ours)
        out[STRONG].append(strong / ours)
    return {name: sum(v) / len(v) for name, v in out.items()}


def xlpt_calls(model, lengths: list[int], prompt: int) -> list[tuple[int, int]]:
    """(query positions, key length) of each forward call xlpt's training step makes for rows of `lengths`
    (in train mode): its row groups (models/task_model.py), the `</s> + prompt` positions once when shared."""
    from xlpt.models.task_model import call_cost, row_groups

    split = model.split_rows and len(lengths) > 1
    groups = row_groups(lengths, prompt, call_cost(model.backbone.hidden_size)) if split else [list(range(len(lengths)))]
    shared = bool(prompt) and len(lengths) > 1 and model.share_prompt_in_training and model.backbone.deterministic()
    calls = [(1 + prompt, 1 + prompt)] if shared else []
    for group in groups:
        width = max(lengths[i] for i in group)
        calls.append((len(group) * (width - 1 if shared else width + prompt), width + prompt))
    return calls


# ------------------------------------------------------------------------------------ the run
def measure(args) -> dict:
    torch.set_num_threads(args.threads)
    tok = workload.tokenizer()
    examples = examples_for(args, tok)
    task, items = encoded(args, tok, examples)
    batches = step_batches(args, items)
    timings, memory = workload.Timings(), PeakRSS()
    shared = args.method == "prompt_tuning"  # PEFT prompt tuning leaves the model as it is: one copy for all
    lm = make_lm(args, tok)
    model, step = xlpt_contender(args, tok, items, lm)
    peer_lm = lm if shared else make_lm(args, tok)
    peer = peer_model(args, peer_lm)
    xlpt_attention = model.backbone.use_attention(args.attention)
    with tempfile.TemporaryDirectory() as out_dir:
        rounds = {strong: trainer_contender(args, tok, items, batches, peer, timings, memory, strong, Path(out_dir))
                  for strong in (True, False) if (STRONG if strong else PLAIN) in peers_of(args)}
        for _ in range(args.rounds):
            model.backbone.use_attention(xlpt_attention)
            model.train()
            step(batches[0])  # warm-up, not timed
            for indices in batches[1:]:
                memory.begin()
                timings.timed("xlpt", step, indices)
                memory.end("xlpt")
            from xlpt.models.attention import use_attention

            use_attention(peer_lm, "eager")  # transformers' XGLM attention: the peers' only kernel
            for run_round in rounds.values():
                run_round()
    model.backbone.use_attention(xlpt_attention)
    model.train()
    bounds = flop_bounds(args, lm, model, items, batches)
    tokens = sum(len(items[i].input_ids) for b in batches[1:] for i in b) / len(batches[1:])  # per batch
    padded = sum(len(b) * max(len(items[i].input_ids) for i in b) for b in batches[1:]) / len(batches[1:])
    result = {"method": args.method, "shape": args.shape, "layers": args.layers, "batch_size": args.batch_size,
              "prompt_length": args.prompt_length if method_overrides(args) else None, "length": args.length,
              "dropout": args.dropout, "batches": args.batches, "text_tokens_per_batch": tokens,
              "padded_tokens_per_batch": padded, "attention": args.attention, "load": os.getloadavg(),
              "peers": {}}
    for name in peers_of(args):
        result["peers"][name] = {**timings.summary("xlpt", name), "line": timings.line("xlpt", name),
                                 "flop_bound": bounds[name], "peak_step_gib": memory.peak(name)}
    result["xlpt_peak_step_gib"] = memory.peak("xlpt")
    return result


def peers_of(args) -> list[str]:
    return [{"strong": STRONG, "plain": PLAIN}[p] for p in args.peers.split(",")]


def report(args, run_args, result, what: str) -> None:
    head = (f"{args.method} {args.shape}{f' {args.layers} layers' if args.layers else ''} batch {run_args.batch_size} "
            f"{what}dropout {args.dropout}, {args.batches} batches (~{result['text_tokens_per_batch']:.0f} text tokens "
            f"per batch, {result['padded_tokens_per_batch']:.0f} padded), load {result['load'][0]:.1f}:")
    print(head)
    xlpt_mem = result["xlpt_peak_step_gib"]
    for name, peer in result["peers"].items():
        print(f"  vs {name}: {peer['line']}")
        print(f"    ratio {peer['ratio_cpu']:.2f}x CPU (FLOP bound {peer['flop_bound']:.2f}x); peak step RSS xlpt "
              f"{xlpt_mem:.2f} GiB, peer {peer['peak_step_gib']:.2f} GiB ({xlpt_mem / max(peer['peak_step_gib'], 1e-9):.2f}x)",
              flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    workload.add_shape_arguments(parser)
    parser.add_argument("--method", choices=["prompt_tuning", "lora", "full_finetune"], default="prompt_tuning")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--prompt-length", type=int, default=20)
    parser.add_argument("--length", type=int, help="rows of exactly this many tokens (synthetic words) instead of XNLI")
    parser.add_argument("--steps", type=int, default=3, help="timed steps per round (default 3; +1 warm-up)")
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--attention", choices=["sdpa", "eager"], default="sdpa", help="xlpt's kernel (default sdpa)")
    parser.add_argument("--dropout", choices=["model", "off"], default="model",
                        help="model: XGLM-564M's rates (0.1, attention 0.1), as real training has them; off: 0")
    parser.add_argument("--batches", choices=["consecutive", "bucketed"], default="consecutive",
                        help="consecutive examples (lengths mixed, Trainer's default) or the loop's length buckets")
    parser.add_argument("--peers", default="strong,plain",
                        help="strong (logits_to_keep, shift_labels) and/or plain PEFT + Trainer (default both)")
    parser.add_argument("--pool", type=int, default=1, help="examples read: pool x batch x (steps+1) (bucketed: >1)")
    parser.add_argument("--sweep", help="KEY=V1,V2,..: repeat for each value of batch_size, prompt_length or length")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    print(workload.describe_machine(args.threads), flush=True)
    runs = []
    key, values = (args.sweep.split("=") if args.sweep else (None, None))
    for value in (values.split(",") if values else [None]):
        run_args = copy.copy(args)
        if key:
            setattr(run_args, key, int(value))
        result = measure(run_args)
        runs.append(result)
        report(args, run_args, result, f"{key}={value} " if key else "")
    if args.json:
        Path(args.json).write_text(json.dumps(runs, indent=2))


if __name__ == "__main__":
    main()
