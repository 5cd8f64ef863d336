"""GPU readiness benchmark (run by bench/gpu.sh): training throughput and MFU, full evaluations, planner check.

On one GPU, with randomly initialised XGLM-shaped models and the real 250k-entry tokenizer:

  train  prompt tuning (20 vectors) and full fine-tuning at the xglm-564M and xglm-1.7B shapes on real XNLI
         English training examples: steady-state tokens/s and MFU of xlpt's own training step (the loop's
         micro-step: distributed.engine, bf16 autocast, TF32, fused AdamW, clipping; length-bucketed batches),
         peak memory (torch.cuda.max_memory_allocated) next to the planner's estimate of the same step, and,
         with --compile, the same with model.compile=true.
  eval   wall time of a full XNLI test evaluation (15 languages, 75,150 examples) and of a full SIB-200 test
         evaluation (every language) with the 564M shape, through xlpt's evaluation (evaluate.plan_jobs and
         score_language, as `xlpt evaluate` runs them: encoding, batching, scoring, metrics, prediction files),
         in float32 weights (TF32) and in bfloat16 weights, with the model FLOPs it represents. `seconds` is
         the scoring (encode, batch, forward, metrics, prediction files); `reading_seconds` reading the files.

Every result is written to --out as soon as it is measured, so a run cut short by its time limit still leaves
what it measured; a measurement that fails (e.g. out of memory) is recorded with its error and the next one runs.
MFU counts 6 x matmul weights per real (unpadded) text token for full fine-tuning and 4x for prompt tuning
(training.flops; soft-prompt positions and padding are extra work not counted), against the bf16 dense peak.

  python bench/gpu_bench.py --out bench-gpu.json --data-dir ../shared/data --tokenizer ../shared/tokenizers/xlmr-250k
  python bench/gpu_bench.py --dry-run ...   # CPU, tiny shapes, a few examples: checks that everything runs
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import random
import sys
import tempfile
import time
import traceback
from pathlib import Path

import torch

SHAPES = {  # XGLM's published shapes (sweeps.planner.KNOWN_XGLM)
    "564M": dict(num_layers=24, d_model=1024, attention_heads=16, ffn_dim=4096),
    "1.7B": dict(num_layers=24, d_model=2048, attention_heads=16, ffn_dim=8192),
    "tiny": dict(num_layers=2, d_model=64, attention_heads=4, ffn_dim=256),
}
# --dry-run reads every XNLI language but only these of SIB-200's 199 (on 2 busy CPU cores its full language list
# took ~7 minutes at 20 examples each and starved the training checks of the budget).
DRY_RUN_LANGUAGES = {"sib200": ["eng_Latn", "deu_Latn", "zho_Hans", "arb_Arab"]}
TRAIN_BATCH = {("564M", "full_finetune"): 64, ("564M", "prompt_tuning"): 64, ("1.7B", "full_finetune"): 64,
               ("1.7B", "prompt_tuning"): 64, ("tiny", "full_finetune"): 8, ("tiny", "prompt_tuning"): 8}


class Bench:
    def __init__(self, args):
        self.args, self.started = args, time.monotonic()
        self.device = torch.device("cpu" if args.dry_run else "cuda")
        self.results = {"device": _device_name(self.device), "torch": torch.__version__, "python": sys.version.split()[0],
                        "dry_run": args.dry_run, "train": [], "eval": [], "errors": []}
        from xlpt import provenance

        self.results["git_commit"] = provenance.git_commit()
        self.out = Path(args.out)
        self.tokenizer_dir = Path(args.tokenizer)
        self.work = Path(tempfile.mkdtemp(prefix="xlpt-gpu-bench-"))

    def left(self) -> float:
        return self.args.budget - (time.monotonic() - self.started)

    def save(self) -> None:
        self.results["seconds"] = round(time.monotonic() - self.started, 1)
        tmp = self.out.with_name(self.out.name + ".tmp")
        tmp.write_text(json.dumps(self.results, indent=2) + "\n", encoding="utf-8")
        tmp.replace(self.out)

    def attempt(self, what: str, needs_seconds: float, fn, *args) -> None:
        """Run one measurement; record its error instead of stopping; skip it when the budget is short."""
        if self.left() < needs_seconds:
            self.results["errors"].append({"what": what, "error": f"skipped: {self.left():.0f}s of the budget left"})
            self.save()
            return
        try:
            fn(*args)
        except Exception as err:  # out of memory, a kernel missing on this GPU, ...: record and go on
            self.results["errors"].append({"what": what, "error": f"{type(err).__name__}: {str(err)[:500]}",
                                           "traceback": traceback.format_exc()[-2000:]})
        finally:
            if self.device.type == "cuda":
                torch.cuda.empty_cache()
            self.save()

    # ------------------------------------------------------------------------------------ models
    def model_dir(self, shape: str) -> Path:
        """A folder holding the real tokenizer and the shape's config, so configs can name it (model.name)."""
        import shutil

        from transformers import XGLMConfig

        from xlpt.models.tokenizer import load_tokenizer

        folder = self.work / f"xglm-{shape}"
        if not folder.exists():
            folder.mkdir()
            for name in ("tokenizer.json", "tokenizer_config.json"):
                shutil.copy(self.tokenizer_dir / name, folder / name)
            tokenizer = load_tokenizer(folder)
            XGLMConfig(vocab_size=len(tokenizer), max_position_embeddings=2048, pad_token_id=tokenizer.pad_token_id,
                       bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                       **SHAPES[shape]).save_pretrained(folder)
        return folder

    def task_model(self, cfg, task, dtype: torch.dtype):
        """Random weights at the shape, built in memory (no 7 GB weight file to write), then the method applied."""
        from transformers import AutoConfig, XGLMForCausalLM

        from xlpt.models.build import build_task_model
        from xlpt.models.tokenizer import load_tokenizer

        torch.manual_seed(0)
        tokenizer = load_tokenizer(cfg.model.name)
        with torch.device(self.device):
            lm = XGLMForCausalLM(AutoConfig.from_pretrained(cfg.model.name)).to(dtype)
        return build_task_model(cfg, task, lm, tokenizer), tokenizer

    def config(self, shape: str, task: str, method: str, *extra: str):
        from xlpt.config import load_config

        return load_config(None, [f"model.name={self.model_dir(shape)}", f"data.data_dir={self.args.data_dir}",
                                  f"data.task={task}", f"method.name={method}", *extra])

    # ------------------------------------------------------------------------------------ training
    def train(self, shape: str, method: str, compile_layers: bool) -> None:
        from xlpt.data.sources import TaskData
        from xlpt.distributed import devices
        from xlpt.distributed.context import Context
        from xlpt.distributed.engine import Engine
        from xlpt.sweeps.planner import memory, shape_of
        from xlpt.tasks import get_task
        from xlpt.training.batching import bucketed_batches
        from xlpt.training.flops import peak_flops, train_flops_per_token
        from xlpt.training.loop import autocast_context, train_mode
        from xlpt.training.schedule import make_optimizer

        batch = TRAIN_BATCH[(shape, method)]
        cfg = self.config(shape, "xnli", method, f"train.batch_size={batch}", "method.prompt_length=20"
                          if method == "prompt_tuning" else "train.grad_accum=1", f"model.compile={str(compile_layers).lower()}")
        task = get_task("xnli")
        devices.configure(self.device, cfg.train.tf32)
        examples = TaskData(task, cfg.data.data_dir).load("en", "train").examples[: self.args.train_examples]
        model, tokenizer = self.task_model(cfg, task, torch.float32)
        objective = task.family_record.load().objective(task, cfg, tokenizer, examples, examples[:8], lambda *_: None)
        engine = Engine(model, cfg.train, Context(device=self.device))
        optimizer = make_optimizer(model, 1e-5, 0.01)
        params = [p for group in optimizer.param_groups for p in group["params"]]
        lengths = objective.train_lengths()
        order = bucketed_batches(lengths, batch, random.Random(0))
        steps = self.args.train_steps
        order = (order * math.ceil((steps + 3) / len(order)))[: steps + 3]
        train_mode(model, cfg.train.dropout)
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
        timed_tokens, timed_seconds, longest = 0, 0.0, 0
        for number, indices in enumerate(order):
            self.sync()
            start = time.perf_counter()
            loss, tokens, to_backprop = engine.forward(objective, indices, self.device,
                                                       autocast_context(cfg.train.autocast, self.device))
            engine.backward(to_backprop, 1)
            engine.clip_gradients(params, cfg.train.max_grad_norm)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            self.sync()
            if number >= 3:  # the first steps allocate, autotune and (with compile) compile
                timed_tokens += tokens
                timed_seconds += time.perf_counter() - start
            longest = max(longest, max(lengths[i] for i in indices))
        flops = train_flops_per_token(model.backbone.lm, full_finetune=cfg.method_record.updates_all_weights)
        tokens_per_s = timed_tokens / timed_seconds
        peak = peak_flops(self.device)
        planned = memory(cfg, task, shape_of(model.backbone.lm.config, shape), 1, longest, self.device.type)
        self.results["train"].append({
            "shape": shape, "method": method, "compile": compile_layers, "batch_size": batch, "steps_timed": steps,
            "tokens_per_s": round(tokens_per_s, 1), "tflops": round(tokens_per_s * flops / 1e12, 2),
            "mfu": round(tokens_per_s * flops / peak, 4) if peak else None, "final_loss": float(loss),
            "peak_memory_gb": round(torch.cuda.max_memory_allocated(self.device) / 1e9, 3)
            if self.device.type == "cuda" else None,
            "planned_peak_gb": round(planned.peak / 1e9, 3), "planned": planned.as_gb(), "longest_tokens": longest})
        del model, optimizer, engine

    # ------------------------------------------------------------------------------------ evaluation
    def evaluate(self, task_name: str, dtype: str) -> None:
        from xlpt.distributed import devices
        from xlpt.evaluation.evaluate import plan_jobs, score_language
        from xlpt.tasks import get_task
        from xlpt.training.flops import matmul_params

        limit = 20 if self.args.dry_run else None
        cfg = self.config("tiny" if self.args.dry_run else "564M", task_name, "prompt_tuning", f"model.dtype={dtype}",
                          "train.eval_batch_size=256", *([f"data.max_eval_examples={limit}"] if limit else []))
        task = get_task(task_name)
        devices.configure(self.device, cfg.train.tf32)
        start = time.perf_counter()
        wanted = DRY_RUN_LANGUAGES.get(task_name) if self.args.dry_run else None
        jobs, skipped, _ = plan_jobs(cfg, task, "test", wanted, limit, lambda *_: None)
        reading = time.perf_counter() - start
        model, tokenizer = self.task_model(cfg, task, getattr(torch, dtype))
        predictions = self.work / f"predictions-{task_name}-{dtype}"
        self.sync()
        start = time.perf_counter()
        tokens = 0
        for job in jobs:
            score_language(job, task, model, tokenizer, cfg, predictions, progress=False)
        self.sync()
        seconds = time.perf_counter() - start
        for job in jobs:  # model FLOPs of what was scored: 2 x matmul weights per position (prompt included)
            texts = [task.family_record.model_texts(task, cfg, ex, False)[0] for ex in job.examples]
            tokens += sum(min(len(ids), cfg.data.max_length) + 20 for ids in tokenizer(texts)["input_ids"])
        flops = 2 * matmul_params(model.backbone.lm) * tokens
        self.results["eval"].append({
            "task": task_name, "weights": dtype, "languages": len(jobs), "skipped_languages": len(skipped),
            "examples": sum(len(job.examples) for job in jobs), "seconds": round(seconds, 2),
            "reading_seconds": round(reading, 2),
            "positions": tokens, "model_pflop": round(flops / 1e15, 3), "tflops": round(flops / seconds / 1e12, 1)})
        del model

    def sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)


def _device_name(device: torch.device) -> str:
    return torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu ({platform.processor() or 'cpu'})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="bench-gpu.json")
    parser.add_argument("--data-dir", required=True, help="the shared data folder (xnli/, sib200/)")
    parser.add_argument("--tokenizer", required=True, help="folder with the 250k tokenizer.json")
    parser.add_argument("--budget", type=float, default=540, help="seconds; measurements that would not fit are skipped")
    parser.add_argument("--train-steps", type=int, default=30, help="timed optimizer steps per training measurement")
    parser.add_argument("--train-examples", type=int, default=20000)
    parser.add_argument("--compile", action="store_true", help="also measure training with model.compile=true")
    parser.add_argument("--dry-run", action="store_true",
                        help="CPU, tiny shapes, 20 examples per language (SIB-200: 4 languages)")
    args = parser.parse_args()
    if args.dry_run:
        args.train_steps, args.train_examples = min(args.train_steps, 3), min(args.train_examples, 64)
    elif not torch.cuda.is_available():
        print("bench/gpu_bench.py: no CUDA device (use --dry-run to check it on CPU)", file=sys.stderr)
        return 2
    bench = Bench(args)
    shapes = ["tiny"] if args.dry_run else ["564M", "1.7B"]
    for task_name in ("xnli", "sib200"):  # the evaluation targets first: they are the cheapest to lose
        for dtype in ("bfloat16", "float32"):
            bench.attempt(f"eval {task_name} {dtype}", 30, bench.evaluate, task_name, dtype)
    for shape in shapes:
        for method in ("full_finetune", "prompt_tuning"):
            bench.attempt(f"train {shape} {method}", 40, bench.train, shape, method, False)
    if args.compile:
        for shape in shapes:
            bench.attempt(f"train {shape} full_finetune compiled", 90, bench.train, shape, "full_finetune", True)
    bench.save()
    print(json.dumps({k: v for k, v in bench.results.items() if k != "errors"}, indent=2))
    for error in bench.results["errors"]:
        print(f"{error['what']}: {error['error']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
