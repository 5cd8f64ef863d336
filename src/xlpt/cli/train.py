"""`xlpt train` and `xlpt evaluate`."""

from __future__ import annotations

import argparse


def register(sub) -> None:
    train = sub.add_parser(
        "train", help="train one run (prompt tuning, fine-tuning, ...) on the source language",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Train one run on the source language (English by default) and keep the checkpoint that is "
        "best on its dev set. Settings come from defaults <- --config YAML <- the flags below <- key=value "
        "overrides (e.g. train.learning_rate=0.1 method.prompt_length=50 data.max_train_examples=2000). "
        "Re-running with the same --out resumes an interrupted run.",
        epilog="Every config key is documented in xlpt/config.py (ModelConfig, DataConfig, MethodConfig, TrainConfig).")
    train.add_argument("--task", help="xnli | pawsx | udpos | panx (config key data.task)")
    train.add_argument("--method", help="prompt_tuning | full_finetune | lora | prefix_tuning | head_only | zero_shot "
                       "(config key method.name)")
    train.add_argument("--model", help="Hugging Face model name or local folder (model.name)")
    train.add_argument("--data-dir", help="data folder (shared layout or XTREME download/), or 'hf' (data.data_dir)")
    train.add_argument("--out", required=True, help="run directory to create (or resume)")
    train.add_argument("--config", action="append", help="YAML config file (see configs/); repeat to compose, "
                       "e.g. --config configs/models/xglm-7.5b.yaml --config configs/xnli/prompt_tuning.yaml")
    train.add_argument("--evaluate", action="store_true", help="evaluate on every language right after training")
    train.add_argument("--quiet", action="store_true", help="no progress bars")
    train.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides, e.g. train.max_steps=200")
    train.set_defaults(func=_train)

    evaluate = sub.add_parser(
        "evaluate", help="evaluate a trained run on every language; writes results.json",
        description="Evaluate a run's best checkpoint on every language the data folder has. Languages without a "
        "labeled split of the requested kind are evaluated on their dev split, and results.json says so.")
    evaluate.add_argument("--run", required=True, help="run directory written by `xlpt train`")
    evaluate.add_argument("--split", default="test", choices=["test", "dev"], help="split to evaluate (default test)")
    evaluate.add_argument("--languages", default=None, help="all, or comma-separated languages (default: the run's "
                          "data.eval_languages, normally all)")
    evaluate.add_argument("--quiet", action="store_true", help="no progress bars")
    evaluate.set_defaults(func=_evaluate)


def config_from_args(args):
    from xlpt.config import load_config

    flags = {"data.task": args.task, "method.name": args.method, "model.name": args.model,
             "data.data_dir": args.data_dir}
    overrides = [f"{key}={value}" for key, value in flags.items() if value is not None] + list(args.overrides)
    return load_config(args.config, overrides)


def _train(args) -> int:
    from xlpt.evaluation.evaluate import evaluate_run
    from xlpt.reporting.console import print_results
    from xlpt.training.run import train_run

    cfg = config_from_args(args)
    train_run(cfg, args.out, progress=not args.quiet)
    if args.evaluate:
        print_results(evaluate_run(args.out, progress=not args.quiet))
    return 0


def _evaluate(args) -> int:
    from xlpt.evaluation.evaluate import evaluate_run
    from xlpt.reporting.console import print_results

    print_results(evaluate_run(args.run, args.split, args.languages, progress=not args.quiet))
    return 0
