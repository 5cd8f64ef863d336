"""`xlpt demo`: the README's main command.

By default the demo is the lab's `tiny` preset (issue #13's rule: the demo shows the lab when the lab shows
something real): synthetic languages, a small XGLM pretrained on them beside a no-pretraining control, and
prompt tuning vs full fine-tuning over 3 seeds, reported with intervals. Its finding (a same-order
transliteration transfers far above the control; a language left out of pretraining does not) holds in
every pretraining run measured (docs/lab.md). `--what pipeline` is the pipeline check on a generated
PAWS-X-style sample, whose numbers come from a random model.
"""

from __future__ import annotations

from pathlib import Path


def register(sub) -> None:
    demo = sub.add_parser(
        "demo", help="a study on a laptop CPU in about a minute (the lab's tiny preset); --what pipeline: the "
        "pipeline check on a generated sample",
        description="lab (default): build the lab's `tiny` preset (configs/lab/tiny.yaml) - a base language and "
        "derived languages, a tokenizer, a small XGLM pretrained on them and a no-pretraining control - then train "
        "prompt tuning and full fine-tuning on the base language with 3 seeds, evaluate on every language and "
        "report each claim with its 95% interval over seeds (about a minute on 2 CPU cores, one thread, so the "
        "pretraining run is the documented one). pipeline: generate a small PAWS-X-style sample in the seven "
        "PAWS-X languages, build a tiny random XGLM, train both methods on English, evaluate every language and "
        "write the full report; a pipeline check, its numbers say nothing about the research question. "
        "No download, no GPU.")
    demo.add_argument("--what", choices=("lab", "pipeline"), default="lab",
                      help="lab (default): the lab's tiny study | pipeline: the pipeline check on a generated sample")
    demo.add_argument("--out", default="xlpt-demo", help="output folder (default ./xlpt-demo); reruns resume/skip")
    demo.add_argument("--steps", type=int, default=600, help="pipeline only: optimizer steps per method (default 600)")
    demo.add_argument("--quiet", action="store_true", help="no progress bars")
    demo.set_defaults(func=_demo)


def _demo(args) -> int:
    if args.what == "pipeline":
        from xlpt.demo.run import run_demo

        run_demo(args.out, args.steps, progress=not args.quiet)
        return 0
    from xlpt.cli import build_parser

    print("xlpt demo: the lab's tiny study (configs/lab/tiny.yaml; docs/lab.md): synthetic languages, a small XGLM "
          "pretrained on them and a no-pretraining control, prompt tuning vs full fine-tuning x 3 seeds. "
          "`xlpt demo --what pipeline` runs the pipeline check on a generated PAWS-X-style sample instead.")
    # `xlpt lab` itself, parsed by its own parser (its defaults stay in one place)
    lab = ["lab", "--preset=tiny", f"--out={Path(args.out) / 'lab'}", "--device=cpu", "--threads=1"]
    lab_args = build_parser().parse_args(lab + (["--quiet"] if args.quiet else []))
    return lab_args.func(lab_args)
