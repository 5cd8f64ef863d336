"""The issue-#19 bench table in one run: every row against the peer's strongest setting, with its FLOP bound.

Runs each bench below in turn (never two at once: they would share the cores), each in its own process with
`--json`, then prints one markdown table (row, command, ratio CPU / wall, FLOP bound, agreement, target, load
at the row's start and end) and writes it with the raw JSON files to `--out`. The ratios are of CPU-time
medians with the contenders alternating inside each bench's process; wall ratios are given beside them.

    python bench/strong_peer_table.py --out /tmp/table            # every row (~30-40 min on 2 cores)
    python bench/strong_peer_table.py --rows sweep,tiny_eval      # a subset

Start it on idle cores. The load column is the 1-minute load average at a row's start and end; it includes
the benches' own 2 threads (about 2 while they run), so only a load well above 2 means a neighbour.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
STRONG_TRAIN_PEER = "PEFT + Trainer (logits_to_keep, shift_labels)"  # bench_train.py's STRONG


@dataclass
class Row:
    """One row: the command (without --json), the target, and how to read its JSON into table cells."""

    key: str
    work: str
    command: list[str]
    target: str
    read: Callable[[object], dict]
    """JSON -> {"xlpt", "peer", "ratio", "bound", "agreement", "met"} (strings; met: bool or None)."""


def _pair(summary: dict, peer: str) -> tuple[str, str]:
    cpu, wall = summary["cpu_s"], summary["wall_s"]
    return (f"{cpu['xlpt']:.2f} s CPU / {wall['xlpt']:.2f} s wall", f"{cpu[peer]:.2f} s CPU / {wall[peer]:.2f} s wall")


def read_eval(data: dict) -> dict:
    peer = data["lm-eval same"]
    xlpt, theirs = _pair(peer, "lm-eval same")
    return {"xlpt": xlpt, "peer": f"lm-eval on xlpt's template, single-token choices: {theirs}",
            "ratio": f"{peer['ratio_cpu']:.2f}x / {peer['ratio_wall']:.2f}x", "bound": f"{peer['flops_bound']:.2f}x",
            "agreement": f"{data['same_predictions']}/{data['examples']} predictions, {data['same_tokens']} same tokens",
            "met": peer["ratio_cpu"] >= 1.8}


def read_zero_shot(data: dict) -> dict:
    best = min((k for k in data["median_cpu"] if k != "xlpt"), key=data["median_cpu"].get)
    return {"xlpt": f"{data['median_cpu']['xlpt']:.2f} s CPU / {data['median_wall']['xlpt']:.2f} s wall",
            "peer": f"lm-eval `HFLM.loglikelihood` at its best batch size ({best[len('lm_eval_bs'):]}): "
                    f"{data['median_cpu'][best]:.2f} s CPU / {data['median_wall'][best]:.2f} s wall",
            "ratio": f"{data['speedup_vs_best_cpu']:.2f}x / {data['speedup_vs_best_wall']:.2f}x",
            "bound": f"{data['flop_bound']['ratio']:.2f}x",
            "agreement": f"{data['agreement']}/{data['n']} predictions, max abs Δ log-lik {data['max_abs_delta_loglik']:.1e}",
            "met": data["speedup_vs_best_cpu"] >= 2.0}


def read_train(data: list) -> dict:
    run = data[0]
    peer = run["peers"][STRONG_TRAIN_PEER]
    xlpt, theirs = _pair(peer, STRONG_TRAIN_PEER)
    memory = run["xlpt_peak_step_gib"] / peer["peak_step_gib"]
    return {"xlpt": f"{xlpt}; peak step RSS {run['xlpt_peak_step_gib']:.2f} GiB",
            "peer": f"PEFT + Trainer with `logits_to_keep` + `shift_labels`: {theirs}; {peer['peak_step_gib']:.2f} GiB",
            "ratio": f"{peer['ratio_cpu']:.2f}x / {peer['ratio_wall']:.2f}x; memory {memory:.2f}x",
            "bound": f"{peer['flop_bound']:.2f}x", "agreement": "—",
            "met": peer["ratio_cpu"] >= 1.25 and memory <= 0.7}


def read_multiple_choice(data: dict) -> dict:
    peer = f"lm_eval_bs{data['lm_eval_batch_size']}"
    xlpt, theirs = _pair(data, peer)
    return {"xlpt": xlpt, "peer": f"lm-eval `multiple_choice` at its best batch size ({data['lm_eval_batch_size']}): {theirs}",
            "ratio": f"{data['ratio_cpu']:.2f}x / {data['ratio_wall']:.2f}x", "bound": f"{data['flop_bound']:.2f}x",
            "agreement": f"{data['agree']}/{data['n']} predictions, max abs Δ log-lik {data['max_abs_delta_loglik']:.1e}",
            "met": data["ratio_cpu"] >= 1.8}


def read_tiny_eval(data: dict) -> dict:
    wall = statistics.median(data["samples"]["xlpt (this checkout)"]["wall"])
    cpu = statistics.median(data["samples"]["xlpt (this checkout)"]["cpu"])
    return {"xlpt": f"{wall:.1f} s wall / {cpu:.1f} s CPU ({data['examples']:,} examples)", "peer": "—",
            "ratio": "—", "bound": "—", "agreement": "—", "met": wall <= 40}


ROWS = [
    Row("eval", "fine-tuned classification eval, first 32 XNLI en test (564M)",
        ["bench/bench_eval.py", "--shape", "564m", "--examples", "32", "--peers", "same"], "≥ 1.8x", read_eval),
    Row("zero_shot", "zero-shot scoring, 16 XNLI en dev (564M)",
        ["bench/bench_zero_shot.py", "--layers", "24", "--n", "16", "--rounds", "3", "--lm-eval-batch-sizes", "8,16"],
        "≥ 2.0x", read_zero_shot),
    Row("train", "prompt-tuning step, batch 8, 20 vectors, dropout 0.1 (564M)",
        ["bench/bench_train.py", "--method", "prompt_tuning", "--shape", "564m", "--peers", "strong", "--steps", "3",
         "--rounds", "3"], "≥ 1.25x, memory ≤ 0.7x", read_train),
    Row("xcopa", "multiple choice, XCOPA et, 2 choices, 32 examples (564M)",
        ["bench/bench_multiple_choice.py", "--shape", "564m", "--task", "xcopa:et", "--n", "32",
         "--lm-eval-batch-sizes", "4,8,16,32"], "≥ 1.8x", read_multiple_choice),
    Row("belebele", "multiple choice, 4 choices (Belebele-shaped, FLORES text), 8 examples (564M)",
        ["bench/bench_multiple_choice.py", "--shape", "564m", "--task", "belebele:eng_Latn", "--n", "8",
         "--lm-eval-batch-sizes", "1,2,4,8"], "≥ 1.8x", read_multiple_choice),
    Row("tiny_eval", "full XNLI evaluation of the tiny model, end to end",
        ["bench/bench_tiny_eval.py", "--rounds", "2"], "≤ 40 s wall", read_tiny_eval),
]
SWEEP = ["-m", "xlpt", "sweep", "--config", "configs/sweeps/sib200-xglm-564m.yaml", "--dry-run"]


def load() -> float:
    return os.getloadavg()[0]


def run_row(row: Row, out: Path) -> dict:
    target = out / f"{row.key}.json"
    log = out / f"{row.key}.log"
    start_load, start = load(), time.perf_counter()
    with open(log, "w") as handle:
        done = subprocess.run([sys.executable, *row.command, "--json", str(target)], cwd=ROOT, stdout=handle,
                              stderr=subprocess.STDOUT)
    cells = {"xlpt": f"failed (exit {done.returncode}): see {log}", "peer": "—", "ratio": "—", "bound": "—",
             "agreement": "—", "met": False}
    if done.returncode == 0:
        cells = row.read(json.loads(target.read_text()))
    return {**cells, "load": f"{start_load:.1f} → {load():.1f}",
            "minutes": (time.perf_counter() - start) / 60}


def run_sweep_preview(out: Path, times: int = 5) -> dict:
    start_load, walls = load(), []
    for _ in range(times):
        start = time.perf_counter()
        done = subprocess.run([sys.executable, *SWEEP], cwd=ROOT, capture_output=True, text=True)
        walls.append(time.perf_counter() - start)
        if done.returncode != 0:
            (out / "sweep.log").write_text(done.stdout + done.stderr)
            return {"xlpt": f"failed: see {out / 'sweep.log'}", "peer": "—", "ratio": "—", "bound": "—",
                    "agreement": "—", "met": False, "load": f"{start_load:.1f}"}
    (out / "sweep.json").write_text(json.dumps({"wall_s": walls}))
    wall = statistics.median(walls)
    return {"xlpt": f"{wall:.2f} s wall (median of {times}; {min(walls):.2f}-{max(walls):.2f})", "peer": "—",
            "ratio": "—", "bound": "—", "agreement": "—", "met": wall <= 3.0,
            "load": f"{start_load:.1f} → {load():.1f}"}


def table(results: list[tuple[str, str, str, dict]]) -> str:
    lines = ["| work | command | xlpt | strong peer | ratio CPU / wall | FLOP bound | agreement | target | load |",
             "|---|---|---|---|---|---|---|---|---|"]
    for work, command, target, r in results:
        verdict = "met" if r["met"] else "**missed**"
        lines.append(f"| {work} | `{command}` | {r['xlpt']} | {r['peer']} | **{r['ratio']}** | {r['bound']} | "
                     f"{r['agreement']} | {target}: {verdict} | {r['load']} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    keys = [row.key for row in ROWS] + ["sweep"]
    parser.add_argument("--rows", default=",".join(keys), help=f"comma-separated subset of {','.join(keys)}")
    parser.add_argument("--out", type=Path, default=Path("/tmp/xlpt-strong-peer-table"),
                        help="folder for table.md, each row's JSON and log (default /tmp/xlpt-strong-peer-table)")
    args = parser.parse_args()
    wanted = args.rows.split(",")
    unknown = sorted(set(wanted) - set(keys))
    if unknown:
        parser.error(f"--rows: unknown {', '.join(unknown)} (known: {', '.join(keys)})")
    args.out.mkdir(parents=True, exist_ok=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True,
                                text=True).stdout.strip())
    header = (f"commit {commit}{' + uncommitted changes' if dirty else ''}; {os.cpu_count()} cores; "
              f"started {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average {load():.1f}")
    print(header, flush=True)
    results = []
    for row in ROWS:
        if row.key in wanted:
            print(f"{row.key}: python {' '.join(row.command)} ...", flush=True)
            r = run_row(row, args.out)
            print(f"  {r['ratio']} (bound {r['bound']}); {r['xlpt']}; {r['minutes']:.1f} min", flush=True)
            results.append((row.work, "python " + " ".join(row.command), row.target, r))
    if "sweep" in wanted:
        r = run_sweep_preview(args.out)
        print(f"sweep: {r['xlpt']}", flush=True)
        results.append(("`xlpt sweep --dry-run`, SIB-200 sweep (9 runs)",
                        "xlpt sweep --config configs/sweeps/sib200-xglm-564m.yaml --dry-run", "≤ 3 s wall", r))
    text = header + "\n\n" + table(results) + "\n"
    (args.out / "table.md").write_text(text)
    print("\n" + text)


if __name__ == "__main__":
    main()
