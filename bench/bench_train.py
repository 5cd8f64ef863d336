"""Training step: xlpt vs the real peers on the same model, the same examples, the same batches.

    prompt_tuning   xlpt (soft prompt after </s>, verbalizer loss at the answer slot)
                    vs PEFT PromptTuningConfig + transformers.Trainer
    lora            xlpt (PEFT's LoRA layers injected in place) vs PEFT LoraConfig + Trainer
    full_finetune   xlpt vs Trainer on XGLMForCausalLM

The peers are set up the way their users set them up for this task: the filled template followed by
the label word as a causal-LM example, labels -100 except the label word (so the loss is read at the
same answer slot), full-vocabulary logits, Trainer's default fused AdamW, gradient clipping at 1.0,
sequential sampling so both sides see the same batches. A step is forward + backward + clipping +
optimizer step; xlpt's step is the body of training/loop.py (objective.loss, fused AdamW from
training/schedule.py). Each round runs `--steps` + 1 steps per contender (the first is warm-up and not
timed); contenders alternate; the medians of all timed steps are compared.

Run from the repository root:
    python bench/bench_train.py --method prompt_tuning                      # tiny shape, ~1 min
    python bench/bench_train.py --method prompt_tuning --shape 564m          # xglm-564M shape
    python bench/bench_train.py --method full_finetune --shape 564m --layers 12
    python bench/bench_train.py --method prompt_tuning --sweep prompt_length=1,20,100
    python bench/bench_train.py --method prompt_tuning --sweep length=32,64,128,256   # fixed-length rows
    python bench/bench_train.py --method prompt_tuning --sweep batch_size=1,8,32
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import workload  # noqa: E402  (bench/ is not a package; sets OpenMP up before torch)

import torch  # noqa: E402

LORA_TARGETS = "q_proj,k_proj,v_proj,out_proj,fc1,fc2"


def examples_for(args, tok):
    """Real XNLI English train pairs, or (sweeping length) pairs of synthetic words cut to `length` tokens."""
    examples = workload.xnli_examples("en", "train", args.batch_size * (args.steps + 1))
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


def method_overrides(args) -> list[str]:
    if args.method in ("prompt_tuning", "prefix_tuning"):
        return [f"method.prompt_length={args.prompt_length}"]
    return []


def xlpt_contender(args, tok, examples):
    """step(batch_indices) for xlpt's model of the method, on its own copy of the random model."""
    from xlpt.models.build import build_task_model
    from xlpt.training.objectives import ClassificationObjective
    from xlpt.training.schedule import make_optimizer

    cfg = workload.run_config(args.method, *method_overrides(args), f"model.attention={args.attention}")
    task, items = encoded(args, tok, examples)
    model = build_task_model(cfg, task, workload.make_lm(args.shape, args.layers, tok), tok)
    objective = ClassificationObjective(task, items, items[:1], tok.pad_token_id, 32)
    optimizer = make_optimizer(model, args.learning_rate, 0.01, None)
    params = [p for group in optimizer.param_groups for p in group["params"]]
    model.train()
    device = torch.device("cpu")

    def step(indices):
        loss, _ = objective.loss(model, objective.batch(indices, device))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return step, items


def peer_model(args, tok):
    lm = workload.make_lm(args.shape, args.layers, tok)
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
    """A TrainerCallback that times each optimizer step (forward, backward, clipping, optimizer step)."""

    def __init__(self, timings, name):
        from transformers import TrainerCallback

        clock = self

        class Callback(TrainerCallback):
            def on_step_begin(self, *a, **k):
                clock.start = (time.perf_counter(), time.process_time())

            def on_step_end(self, *a, **k):
                clock.steps.append((time.perf_counter() - clock.start[0], time.process_time() - clock.start[1]))

        self.callback, self.steps, self.start, self.timings, self.name = Callback(), [], (0.0, 0.0), timings, name

    def flush(self) -> None:
        for wall, cpu in self.steps[1:]:  # the first step of each train() call is warm-up
            self.timings.add(self.name, wall, cpu)
        self.steps = []


def trainer_contender(args, tok, items, timings, name, out_dir):
    """run_round() training the peer for steps + 1 steps over the same batches, timing each step."""
    from transformers import Trainer, TrainingArguments

    label_ids = [ids[0] for ids in (tok(w, add_special_tokens=False).input_ids
                                   for w in (" Yes", " Maybe", " No"))]
    rows = [{"input_ids": it.input_ids + [label_ids[it.label]],
             "labels": [-100] * len(it.input_ids) + [label_ids[it.label]]} for it in items]

    def collate(batch):
        width = max(len(r["input_ids"]) for r in batch)
        ids = torch.full((len(batch), width), tok.pad_token_id)
        labels = torch.full((len(batch), width), -100)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for i, r in enumerate(batch):
            n = len(r["input_ids"])
            ids[i, :n], labels[i, :n], mask[i, :n] = torch.tensor(r["input_ids"]), torch.tensor(r["labels"]), 1
        return {"input_ids": ids, "attention_mask": mask, "labels": labels}

    clock = StepClock(timings, name)
    training_args = TrainingArguments(
        output_dir=str(out_dir), per_device_train_batch_size=args.batch_size, max_steps=args.steps + 1,
        learning_rate=args.learning_rate, weight_decay=0.01, max_grad_norm=1.0, optim="adamw_torch_fused",
        logging_strategy="no", save_strategy="no", report_to="none", use_cpu=True, disable_tqdm=True,
        dataloader_num_workers=0, train_sampling_strategy="sequential", remove_unused_columns=False, seed=0)
    trainer = Trainer(model=peer_model(args, tok), args=training_args, train_dataset=rows, data_collator=collate,
                      callbacks=[clock.callback])

    def run_round():
        trainer.train()
        clock.flush()

    return run_round


def measure(args) -> dict:
    torch.set_num_threads(args.threads)
    tok = workload.tokenizer()
    examples = examples_for(args, tok)
    step, items = xlpt_contender(args, tok, examples)
    batches = [list(range(i, i + args.batch_size)) for i in range(0, len(items), args.batch_size)][: args.steps + 1]
    timings = workload.Timings()
    peer_name = {"prompt_tuning": "PEFT prompt tuning + Trainer", "lora": "PEFT LoRA + Trainer",
                 "full_finetune": "Trainer full fine-tuning"}[args.method]
    with tempfile.TemporaryDirectory() as out_dir:
        peer_round = trainer_contender(args, tok, items, timings, peer_name, out_dir)
        for _ in range(args.rounds):
            step(batches[0])  # warm-up, not timed
            for indices in batches[1:]:
                timings.timed("xlpt", step, indices)
            peer_round()
    tokens = sum(len(items[i].input_ids) for b in batches[1:] for i in b) / len(batches[1:])  # per batch
    return {"method": args.method, "shape": args.shape, "layers": args.layers, "batch_size": args.batch_size,
            "prompt_length": args.prompt_length if method_overrides(args) else None, "length": args.length,
            "text_tokens_per_batch": tokens, "attention": args.attention,
            "peer": peer_name, **timings.summary("xlpt", peer_name), "line": timings.line("xlpt", peer_name)}


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
    parser.add_argument("--sweep", help="KEY=V1,V2,..: repeat for each value of batch_size, prompt_length or length")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    print(workload.describe_machine(args.threads))
    runs = []
    key, values = (args.sweep.split("=") if args.sweep else (None, None))
    for value in (values.split(",") if values else [None]):
        run_args = copy.copy(args)
        if key:
            setattr(run_args, key, int(value))
        result = measure(run_args)
        runs.append(result)
        what = f"{key}={value} " if key else ""
        print(f"{args.method} {args.shape}{f' {args.layers} layers' if args.layers else ''} batch {run_args.batch_size} "
              f"{what}(~{result['text_tokens_per_batch']:.0f} text tokens per batch): {result['line']}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(runs, indent=2))


if __name__ == "__main__":
    main()
