"""Zero-shot speed and parity: xlpt's scorer vs lm-evaluation-harness, same model, same examples, same process.

lm-eval side: its own xnli_<lang> / paws_<lang> task YAMLs reading the local data (bench/lm_eval_local.py),
requests built by lm-eval, timed call `HFLM.loglikelihood(requests)` (tokenization + scoring), at each
batch size of `--lm-eval-batch-sizes` (HFLM's default is 1).
xlpt side: `evaluate_zero_shot(..., **LM_EVAL_OPTIONS)` on the same first N examples (tokenization +
scoring), so the two compute the same numbers; timed the same way.

The two alternate for `--rounds` rounds and each one's median is reported, with the time ratio
(lm-eval / xlpt, > 1 means xlpt is faster), the prediction agreement and the largest |delta log-lik|.

Models: default the tiny random XGLM with its own small tokenizer (seconds); `--layers 24` a random
XGLM-564M-shaped model (d_model 1024, 16 heads, ffn 4096) with the real 250k tokenizer
(../shared/tokenizers/xlmr-250k), saved once under /tmp. Run from the repository root:

    python bench/bench_zero_shot.py                       # tiny, XNLI en dev, 32 examples
    python bench/bench_zero_shot.py --layers 24 --n 16    # xglm-564M shape (~10 GB RAM, minutes)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

# OpenMP reads its wait policy once, when torch loads: set before the import, for both contenders (one
# process). PASSIVE: idle threads sleep instead of spinning, which on 2 shared cores would burn the CPU
# time measured here (and the neighbours'). An outside OMP_WAIT_POLICY is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lm_eval_local  # noqa: E402  (bench/ is not a package)

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
LABELS = {"xnli": ("entailment", "neutral", "contradiction"), "pawsx": ("not_paraphrase", "paraphrase")}


def model_folder(layers: int | None, tokenizer_dir: Path) -> Path:
    """The tiny model (layers None) or a random XGLM-564M-shaped model with `layers` layers, built once."""
    if layers is None:
        from xlpt.models.tiny import build_tiny_model

        out = Path("/tmp/xlpt-bench-tiny")
        return out if (out / "config.json").exists() else build_tiny_model(out)
    out = Path(f"/tmp/xlpt-bench-xglm-d1024-L{layers}")
    if (out / "model.safetensors").exists() or (out / "model.safetensors.index.json").exists():
        return out
    from transformers import XGLMConfig, XGLMForCausalLM

    from xlpt.models.tokenizer import load_tokenizer

    tokenizer = load_tokenizer(tokenizer_dir)
    config = XGLMConfig(vocab_size=len(tokenizer), d_model=1024, num_layers=layers, attention_heads=16, ffn_dim=4096,
                        dropout=0.0, attention_dropout=0.0, activation_dropout=0.0, pad_token_id=tokenizer.pad_token_id,
                        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
    torch.manual_seed(0)
    XGLMForCausalLM(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def flop_bound(lm, groups) -> dict:
    """Matrix-product FLOPs of the two contenders on these groups, without padding (attention scores left
    out: small at these lengths). lm-eval runs each candidate's tokens but the last through the body and the
    full-vocabulary head; xlpt runs each group's shared prefix once plus each candidate's rest through the
    body (one packed row per group), and the head only at scored positions, a shared one once
    (evaluation/loglikelihood.py: the plan's own counts)."""
    from xlpt.evaluation.loglikelihood import plan_group

    body = 2 * sum(m.weight.numel() for m in lm.base_model.modules() if isinstance(m, torch.nn.Linear))
    head = 2 * lm.get_output_embeddings().weight.numel()
    ours_body = ours_head = theirs = 0
    for g, group in enumerate(groups):
        plan = plan_group(g, group)
        ours_body += plan.tokens_read
        ours_head += plan.head_positions
        theirs += sum(len(c.tokens) - 1 for c in group)
    ours, lm_eval = ours_body * body + ours_head * head, theirs * (body + head)
    return {"ratio": lm_eval / ours, "xlpt_tflop": ours / 1e12, "lm_eval_tflop": lm_eval / 1e12,
            "xlpt_body_tokens": ours_body, "xlpt_head_positions": ours_head, "lm_eval_tokens": theirs}


def timed(fn) -> tuple[tuple[float, float], object]:
    """((wall seconds, CPU seconds of this process), result). CPU time is reported too because the
    2 cores are shared: wall time then also measures the neighbours."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return (time.perf_counter() - wall, time.process_time() - cpu), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--layers", type=int, help="XGLM-564M-shaped random model with this many layers (24 = 564M)")
    parser.add_argument("--task", default="xnli:en:dev", help="task:lang:split (xnli:de:dev, pawsx:de:test, ...)")
    parser.add_argument("--n", type=int, default=32, help="examples (the first N of the split)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--lm-eval-batch-sizes", default="1,4,8", help="HFLM batch sizes to time (its default is 1)")
    parser.add_argument("--token-budget", type=int, default=8192,
                        help="xlpt: padded tokens per forward (8192 = its default, eval_batch_size 32 x max_length 256)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data-dir", default=str(SHARED / "data"))
    parser.add_argument("--tokenizer", default=str(SHARED / "tokenizers" / "xlmr-250k"))
    parser.add_argument("--json", help="also write the numbers to this file")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    task, lang, split = args.task.split(":")

    from xlpt.config import load_config
    from xlpt.data.loading import load_split
    from xlpt.evaluation.zero_shot import LM_EVAL_OPTIONS, evaluate_zero_shot
    from xlpt.models.backbone import Backbone
    from xlpt.models.loading import load_causal_lm
    from xlpt.tasks import get_task

    folder = model_folder(args.layers, Path(args.tokenizer))
    lm, tokenizer = load_causal_lm(folder, device="cpu")
    lm.eval()
    backbone = Backbone(lm)
    harness = lm_eval_local.hf_model(folder, model=lm)  # same weights object on both sides
    configs = [lm_eval_local.local_task_config(task, lang, split, args.data_dir,
                                               cache_dir="/tmp/xlpt-bench-hf-datasets")]
    requests = lm_eval_local.build_requests(configs, limit=args.n)
    spec = get_task(task)
    examples = load_split(spec, lang, split, args.data_dir, limit=args.n).examples
    cfg = load_config(None, ["method.name=zero_shot", f"data.task={task}"]
                      + [f"method.{key}={value}" for key, value in LM_EVAL_OPTIONS.items()])

    import xlpt.evaluation.zero_shot as zero_shot_module

    seen_groups = []
    scorer = zero_shot_module.loglikelihoods

    def recording(backbone_, groups, **kwargs):  # keeps a reference to the groups (for the FLOP bound)
        seen_groups[:] = [groups]
        return scorer(backbone_, groups, **kwargs)

    zero_shot_module.loglikelihoods = recording

    def run_xlpt():
        return evaluate_zero_shot(backbone, tokenizer, cfg, spec, examples, progress=False,
                                  token_budget=args.token_budget)[1]

    sizes = [int(b) for b in args.lm_eval_batch_sizes.split(",")]
    times = {"xlpt": [], **{f"lm_eval_bs{b}": [] for b in sizes}}
    theirs = ours = None
    for _ in range(args.rounds):
        for b in sizes:
            harness.batch_size_per_gpu = b
            seconds, theirs = timed(lambda: lm_eval_local.score_requests(harness, requests))
            times[f"lm_eval_bs{b}"].append(seconds)
        seconds, ours = timed(run_xlpt)
        times["xlpt"].append(seconds)

    name = configs[0]["task"]
    agree, gap = 0, 0.0
    for i, record in enumerate(ours):
        row = theirs[(name, i)]
        agree += record["pred"] == LABELS[task][max(range(len(row)), key=row.__getitem__)]
        gap = max(gap, max(abs(a - b) for a, b in zip(record["loglik"].values(), row)))
    medians = {k: statistics.median(w for w, _ in v) for k, v in times.items()}
    cpu = {k: statistics.median(c for _, c in v) for k, v in times.items()}
    best_lm_eval = min(v for k, v in medians.items() if k != "xlpt")
    best_cpu = min(v for k, v in cpu.items() if k != "xlpt")
    shape = (f"random XGLM, {args.layers} layers, d 1024, vocab {len(tokenizer):,}" if args.layers
             else f"tiny XGLM ({sum(p.numel() for p in lm.parameters()):,} params, vocab {len(tokenizer)})")
    print(f"{shape}; {task} {lang} {split}, {len(ours)} examples; {args.threads} threads, "
          f"OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}; medians of {args.rounds} rounds; "
          f"load average {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    print(f"  {'':<14} {'wall':>8}   {'CPU':>8}   lm-eval/xlpt (wall, CPU)")
    for key, value in medians.items():
        ratio = "" if key == "xlpt" else f"   {value / medians['xlpt']:.2f}x, {cpu[key] / cpu['xlpt']:.2f}x"
        print(f"  {key:<14} {value:7.2f}s   {cpu[key]:7.2f}s{ratio}")
    print(f"  speed-up vs best lm-eval batch size: {best_lm_eval / medians['xlpt']:.2f}x wall, "
          f"{best_cpu / cpu['xlpt']:.2f}x CPU")
    print(f"  prediction agreement {agree}/{len(ours)}; max |delta log-lik| {gap:.2e}")
    bound = flop_bound(lm, seen_groups[0])
    print(f"  FLOP bound (matrix products, unpadded; lm-eval / xlpt): {bound['ratio']:.2f}x "
          f"(xlpt {bound['xlpt_tflop']:.2f} TFLOP: {bound['xlpt_body_tokens']} body tokens, "
          f"{bound['xlpt_head_positions']} head positions; lm-eval {bound['lm_eval_tflop']:.2f} TFLOP: "
          f"{bound['lm_eval_tokens']} tokens, each through body and head)")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "shape": shape, "task": args.task, "n": len(ours), "threads": args.threads, "rounds": args.rounds,
            "times_wall_cpu": times, "median_wall": medians, "median_cpu": cpu,
            "speedup_vs_best_wall": best_lm_eval / medians["xlpt"], "speedup_vs_best_cpu": best_cpu / cpu["xlpt"],
            "agreement": agree, "max_abs_delta_loglik": gap, "flop_bound": bound, "torch": torch.__version__,
            "omp_wait_policy": os.environ["OMP_WAIT_POLICY"],
            "machine": platform.processor() or platform.machine()}, indent=2))


if __name__ == "__main__":
    main()
