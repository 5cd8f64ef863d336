"""Full XNLI evaluation of the tiny model, end to end: `xlpt evaluate --run DIR` on all 15 languages
(70,110 examples of test, dev where test is unlabeled), as a user runs it.

Builds the tiny test model, trains a prompt-tuning run for one step (setup, not timed), then times
`python -m xlpt evaluate` in a fresh process: start-up, model load, data loading, encoding, prediction,
metrics and writing predictions. With `--baseline-src DIR` (e.g. ../main/src) it also trains and times a
second run with that checkout of xlpt, alternating the two `--rounds` times: the side-by-side number.

    python bench/bench_tiny_eval.py                               # this checkout only
    python bench/bench_tiny_eval.py --baseline-src ../main/src    # vs the main branch, alternating
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import workload  # noqa: E402  (bench/ is not a package)

SOURCE = Path(__file__).resolve().parents[1] / "src"
TRAIN = ["train.max_steps=1", "data.max_train_examples=16", "data.max_dev_examples=16", "train.eval_every=1"]


def xlpt(src: Path, threads: int, *args: str) -> tuple[float, float]:
    """Run `python -m xlpt ARGS` with `src` first on the path; returns (wall, CPU) seconds of the child
    process (fails loudly)."""
    env = {**os.environ, "PYTHONPATH": str(src), "OMP_NUM_THREADS": str(threads), "HF_HUB_OFFLINE": "1"}
    before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "xlpt", *args], env=env, capture_output=True, text=True)
    wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"xlpt {' '.join(args)} failed ({src}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return wall, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline-src", type=Path, help="another checkout's src/ to compare with")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--method", default="prompt_tuning")
    parser.add_argument("--languages", help="evaluate only these (comma-separated), e.g. for a quick ratio")
    parser.add_argument("--json", help="also write the timings to this file")
    args = parser.parse_args()
    print(workload.describe_machine(args.threads))
    contenders = {"xlpt (this checkout)": SOURCE}
    if args.baseline_src:
        contenders[f"baseline ({args.baseline_src})"] = args.baseline_src.resolve()
    timings = workload.Timings()
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "tiny"
        xlpt(SOURCE, args.threads, "model", "tiny", "--out", str(model))
        runs = {}
        for number, (name, src) in enumerate(contenders.items()):
            runs[name] = Path(tmp) / f"run-{number}"
            xlpt(src, args.threads, "train", "--task", "xnli", "--method", args.method, "--model", str(model),
                 "--data-dir", str(workload.DATA_DIR), "--out", str(runs[name]), "--quiet", *TRAIN)
        subset = ["--languages", args.languages] if args.languages else []
        for _ in range(args.rounds):
            for name, src in contenders.items():
                wall, cpu = xlpt(src, args.threads, "evaluate", "--run", str(runs[name]), "--quiet", *subset)
                timings.add(name, wall, cpu)
                print(f"{name}: wall {wall:.1f}s, CPU {cpu:.1f}s", flush=True)
        results = sorted(runs["xlpt (this checkout)"].glob("results*.json"))[0]  # results-...json for a subset
        languages = json.loads(results.read_text())["languages"]
    total = sum(lang["n"] for lang in languages.values())
    print(f"XNLI evaluation of the tiny model ({len(languages)} languages, {total} examples, {args.method}):")
    names = list(contenders)
    if len(names) == 2:
        print("  " + timings.line(*names))
    else:
        print(f"  CPU {timings.median(names[0]):.1f}s [{timings.spread(names[0])}], wall "
              f"{timings.median(names[0], 'wall'):.1f}s [{timings.spread(names[0], 'wall')}]")
    if args.json:
        Path(args.json).write_text(json.dumps({"samples": timings.samples, "examples": total}, indent=2))


if __name__ == "__main__":
    main()
