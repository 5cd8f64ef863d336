"""`xlpt demo`: the README's main command."""

from __future__ import annotations


def register(sub) -> None:
    demo = sub.add_parser(
        "demo", help="run the whole pipeline on a tiny model and a generated sample (CPU, ~1 minute)",
        description="Generate a small PAWS-X-style sample in the seven PAWS-X languages, build a tiny random XGLM, train soft "
        "prompt tuning and full fine-tuning on English, evaluate both on every language and print a "
        "per-language comparison. No download, no GPU.")
    demo.add_argument("--out", default="xlpt-demo", help="output folder (default ./xlpt-demo); reruns resume/skip")
    demo.add_argument("--steps", type=int, default=600, help="optimizer steps per method (default 600)")
    demo.add_argument("--quiet", action="store_true", help="no progress bars")
    demo.set_defaults(func=_demo)


def _demo(args) -> int:
    from xlpt.demo.run import run_demo

    run_demo(args.out, args.steps, progress=not args.quiet)
    return 0
