"""`xlpt train` and `xlpt evaluate`."""

from __future__ import annotations

import argparse

from xlpt.cli.options import add_include_path, apply_include_path


def register(sub) -> None:
    from xlpt.config.reference import config_reference

    train = sub.add_parser(
        "train", help="train one run (prompt tuning, fine-tuning, ...) on the source language",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Train one run on the source language (English by default) and keep the checkpoint that is "
        "best on its dev set. Settings come from defaults <- --config YAML(s) <- the flags below <- "
        "section.key=value overrides, which may stand anywhere on the line (e.g. train.learning_rate=1e-5 "
        "method.prompt_length=50 data.max_train_examples=2000). Every value is checked before any data or model "
        "is loaded. Re-running with the same --out resumes an interrupted run.",
        epilog=config_reference())
    train.add_argument("--task", help="task name: xnli | pawsx | udpos | panx | sib200 | yours (data.task)")
    train.add_argument("--method", help="prompt_tuning | prefix_tuning | lora | full_finetune | head_only | zero_shot "
                       "(method.name)")
    train.add_argument("--model", help="Hugging Face model name or local folder (model.name)")
    train.add_argument("--data-dir", help="data folder (shared layout, XTREME download/, a task's data.path), or 'hf' "
                       "(data.data_dir)")
    train.add_argument("--out", required=True, help="run directory to create (or resume)")
    train.add_argument("--config", action="append", help="YAML config file (see configs/); repeat to compose, "
                       "e.g. --config configs/models/xglm-7.5b.yaml --config configs/xnli/prompt_tuning.yaml")
    add_include_path(train)
    train.add_argument("--evaluate", action="store_true", help="evaluate on every language right after training")
    train.add_argument("--quiet", action="store_true", help="no progress bars")
    train.add_argument("overrides", nargs="*", metavar="section.key=value",
                       help="config overrides, e.g. train.max_steps=200 (all keys below)")
    train.set_defaults(func=_train)

    evaluate = sub.add_parser(
        "evaluate", help="evaluate a trained run on every language; writes results.json",
        description="Evaluate a run's best checkpoint on every language the data folder has. Languages without a "
        "labeled split of the requested kind are evaluated on their dev split, and the results say so. The run's "
        "full evaluation of its data.eval_split goes to results.json; an evaluation of another split, of some "
        "languages or with --limit gets its own file (results-<split>-langs-..-limitN.json) and never overwrites "
        "a fuller one.")
    evaluate.add_argument("--run", required=True, help="run directory written by `xlpt train`")
    evaluate.add_argument("--split", choices=["test", "dev"], help="split to evaluate (default: the run's "
                          "data.eval_split, normally test)")
    evaluate.add_argument("--languages", default=None, help="all, or comma-separated languages (default: the run's "
                          "data.eval_languages, normally all)")
    evaluate.add_argument("--limit", type=_positive, default=None, metavar="N",
                          help="score only the first N examples of each language (lm-evaluation-harness's name); "
                          "the results say they are capped")
    evaluate.add_argument("--skip-missing", action="store_true",
                          help="list languages that cannot be evaluated (no labeled split) as skipped instead of "
                          "failing (data.missing_languages=skip)")
    add_include_path(evaluate)
    evaluate.add_argument("--quiet", action="store_true", help="no progress bars")
    evaluate.set_defaults(func=_evaluate)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def config_from_args(args, notes: list[str] | None = None):
    from xlpt.config import load_config

    apply_include_path(args)
    flags = {"data.task": args.task, "method.name": args.method, "model.name": args.model,
             "data.data_dir": args.data_dir}
    overrides = [f"{key}={value}" for key, value in flags.items() if value is not None] + list(args.overrides)
    return load_config(args.config, overrides, notes)


def _train(args) -> int:
    from xlpt.preflight import preflight

    notes: list[str] = []
    cfg = config_from_args(args, notes)
    for note in notes:
        print(f"note: {note}")
    preflight(cfg, args.out)  # paths, data files and splits: before torch is imported

    from xlpt.evaluation.evaluate import evaluate_run
    from xlpt.reporting.console import print_results
    from xlpt.training.run import train_run

    train_run(cfg, args.out, progress=not args.quiet)
    if args.evaluate:
        print_results(evaluate_run(args.out, progress=not args.quiet))
    return 0


def _evaluate(args) -> int:
    from xlpt.run_dir import RunDir

    apply_include_path(args)
    RunDir(args.run).read_config()  # a missing or damaged run directory fails here, before torch is imported

    from xlpt.evaluation.evaluate import evaluate_run
    from xlpt.reporting.console import print_results

    results = evaluate_run(args.run, args.split, args.languages, args.limit, progress=not args.quiet,
                           skip_missing=True if args.skip_missing else None)
    print_results(results)
    return 0
