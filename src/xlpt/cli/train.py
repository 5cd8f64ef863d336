"""`xlpt train` and `xlpt evaluate`: a run's life.

Every command here also runs under torchrun (`torchrun --nproc-per-node N -m xlpt train ...`): each process
runs the same command, and only rank 0 prints. torchrun reads abbreviations of its own options first, so no
option here may be a prefix of one of torchrun's (`--run` would be read as its `--run-path`: hence
`--run-dir`; tests/training/test_distributed.py checks every option of every command).
"""

from __future__ import annotations

import argparse
from contextlib import contextmanager

from xlpt.cli.options import add_include_path, apply_include_path
from xlpt.errors import ConfigError, XlptError

SINGLE_PROCESS_ALIASES = ("--run",)
"""Option names kept for one process that torchrun would take for its own (`--run` -> its `--run-path`)."""


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
    from xlpt.methods import METHODS
    from xlpt.tasks.registry import builtin_tasks

    # both lists come from the registries, so a new task YAML or method module shows up here by itself
    train.add_argument("--task", help=f"task name: {' | '.join(sorted(builtin_tasks()))} | yours (data.task)")
    train.add_argument("--method", help=f"{' | '.join(METHODS)} (method.name)")
    train.add_argument("--model", help="Hugging Face model name or local folder (model.name)")
    train.add_argument("--data-dir", help="data folder (shared layout, XTREME download/, a task's data.path), or 'hf' "
                       "(data.data_dir)")
    train.add_argument("--out", help="run directory to create (or resume); required unless --dry-run")
    train.add_argument("--config", action="append", help="YAML config file (see configs/); repeat to compose, "
                       "e.g. --config configs/models/xglm-7.5b.yaml --config configs/xnli/prompt_tuning.yaml")
    add_include_path(train)
    train.add_argument("--evaluate", action="store_true", help="evaluate on every language right after training")
    train.add_argument("--dry-run", action="store_true", help="print the plan (memory per GPU for weights, gradients, "
                       "AdamW, activations; GPUs needed; tokens; GPU-hours) and train nothing")
    train.add_argument("--json", action="store_true", help="with --dry-run: print the plan as JSON")
    train.add_argument("--gpu-memory", type=_positive_float, default=None, metavar="GB",
                       help="with --dry-run: memory of one GPU (default 80)")
    train.add_argument("--mfu", type=_positive_float, default=None, help="with --dry-run: model FLOPs utilisation "
                       "to assume for GPU-hours (default 0.40)")
    train.add_argument("--gpu", default=None, help="with --dry-run: GPU whose bf16 peak sets GPU-hours (H100, H200, "
                       "A100, L40S, A10G, V100; default H100)")
    train.add_argument("--gpus", type=_positive, default=None, metavar="N", help="with --dry-run: the memory on N GPUs "
                       "(torchrun --nproc-per-node N) as configured, instead of on the fewest the run fits")
    train.add_argument("--seq-len", type=_positive, default=None, metavar="TOKENS", help="with --dry-run: text tokens "
                       "per sequence for activations (default data.max_length: every batch padded to the longest)")
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
    evaluate.add_argument("--run-dir", "--run", dest="run", required=True,
                          help="run directory written by `xlpt train` (under torchrun write --run-dir: torchrun "
                          "reads --run as its own --run-path)")
    evaluate.add_argument("--split", choices=["test", "dev"], help="split to evaluate (default: the run's "
                          "data.eval_split, normally test)")
    evaluate.add_argument("--languages", default=None, help="all, or comma-separated languages (default: the run's "
                          "data.eval_languages, normally all)")
    evaluate.add_argument("--limit", type=_positive, default=None, metavar="N",
                          help="score at most N examples of each language (lm-evaluation-harness's name): a seeded "
                          "sample stratified by label (data.sample_seed), the same rows for every run; the results "
                          "say they are capped and record the sample")
    evaluate.add_argument("--allow-unfinished", action="store_true",
                          help="score the best checkpoint of a run whose training did not finish (diverged, failed, "
                          "interrupted, killed); the results record the checkpoint's step and the run's state "
                          "(`unfinished`), and the run keeps its status")
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


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def config_from_args(args, notes: list[str] | None = None):
    import json

    from xlpt.config import load_config

    apply_include_path(args)
    flags = {"data.task": args.task, "method.name": args.method, "model.name": args.model,
             "data.data_dir": args.data_dir}
    # A flag's value is a literal string (a folder named `~` or `1e3` is a name, not YAML null or a number):
    # quoted as JSON, which the override parser reads as a YAML string.
    overrides = [f"{key}={json.dumps(value)}" for key, value in flags.items() if value is not None] + list(args.overrides)
    return load_config(args.config, overrides, notes)


def _train(args) -> int:
    from xlpt.distributed import launched_rank
    from xlpt.preflight import preflight

    main = launched_rank() == 0
    planning = args.json or args.gpu_memory or args.mfu or args.gpu or args.gpus or args.seq_len
    if planning and not args.dry_run:
        raise ConfigError("--json, --gpu-memory, --mfu, --gpu, --gpus and --seq-len only apply to --dry-run")
    if not args.dry_run and not args.out:
        raise ConfigError("--out is required: the run directory to create (or resume)")
    notes: list[str] = []
    cfg = config_from_args(args, notes)
    for note in notes if main else []:
        print(f"note: {note}")
    if args.dry_run:
        return _dry_run(cfg, args)
    preflight(cfg, args.out)  # paths, data files and splits: before torch is imported
    from contextlib import nullcontext

    from xlpt.run_dir import RunDir

    run = RunDir(args.out)
    # Held from here to the end (train_run and evaluate_run share it): a second process on this folder is
    # refused with one line before it imports torch, and nobody evaluates between our training and evaluation.
    with run.hold("xlpt train") if main else nullcontext():
        return _train_and_evaluate(cfg, args, run, main)


def _train_and_evaluate(cfg, args, run, main: bool) -> int:
    from xlpt.evaluation.evaluate import evaluate_run
    from xlpt.reporting.console import print_results
    from xlpt.training.run import train_run

    trained_before = (run.read_summary() or {}).get("status") == "done"
    train_run(cfg, args.out, progress=not args.quiet, echo=main)  # refuses another config; returns at once if done
    if trained_before:
        # Re-running a finished command is most often "make sure it is done" (as a sweep re-run is): do no work
        # and never overwrite results.json without being asked; `xlpt evaluate` is the explicit way to redo it.
        done = _own_results(run, cfg)
        if args.evaluate and done is not None:
            if main:
                print(f"already trained and evaluated: {done}; use `xlpt evaluate --run-dir {run.path}` to "
                      "re-evaluate")
            return 0
        if main:
            print(f"already trained: {run.summary_path} (nothing to train)" +
                  ("; evaluating" if args.evaluate else f"; `xlpt evaluate --run-dir {run.path}` evaluates it"))
    if args.evaluate:
        with _sigterm_stops("evaluation"):
            results = evaluate_run(args.out, progress=not args.quiet, echo=main)
        if main:
            print_results(results)
    return 0


def _own_results(run, cfg):
    """The path of the run's own results file when it holds a finished run's evaluation, else None (absent,
    damaged, or the look at an unfinished run's checkpoint that `evaluate --allow-unfinished` leaves)."""
    from xlpt.errors import RunFileError

    try:
        results = run.read_results(cfg.data.eval_split)
    except RunFileError as err:
        print(f"note: {err}; evaluating again")
        return None
    if results is None or results.get("unfinished"):
        return None
    return run.results_path(cfg.data.eval_split)


def _dry_run(cfg, args) -> int:
    """The run's plan: tokens (sweeps.estimate), memory per GPU, GPUs and GPU-hours (sweeps.planner)."""
    import json

    from xlpt.distributed import launched_rank
    from xlpt.sweeps.estimate import EstimateCache, estimate
    from xlpt.sweeps.planner import GPU, GPU_MEMORY_GB, MFU, describe_assumptions

    assumptions = {"gpu_memory_gb": args.gpu_memory or GPU_MEMORY_GB, "mfu": args.mfu or MFU, "gpu": args.gpu or GPU,
                   "devices": args.gpus, "seq_len": args.seq_len}
    if assumptions["mfu"] > 1:
        raise ConfigError(f"--mfu is a fraction in (0, 1], got {assumptions['mfu']}")
    from xlpt.training.flops import PEAK_FLOPS

    if assumptions["gpu"] not in PEAK_FLOPS:
        raise ConfigError(f"--gpu {assumptions['gpu']!r}: known GPUs are {', '.join(PEAK_FLOPS)}")
    from xlpt.tasks import get_task

    task = get_task(cfg.data.task)  # resolved once: the estimate and the preview below take the object
    cache = EstimateCache()  # the estimate and the preview share the folder's discovery
    cost = estimate(cfg, task, cache, **assumptions)
    data = cache.discovered(task, cfg.data.data_dir)
    if launched_rank() != 0:
        return 0
    from xlpt.data.preview import data_files, file_lines, protocol_lines

    if args.json:
        try:
            files = {f"{lang} {split}": where for (lang, split), where in data_files(cfg, task, data).items()}
        except XlptError as err:
            files = {"error": str(err)}
        print(json.dumps({"config": cfg.to_dict(), "files": files, "assumptions": assumptions,
                          "estimate": vars(cost)}, indent=2))
        return 0
    _print_config_and_files(cfg, task, lambda cfg, task: file_lines(cfg, task, data))
    memory = cost.memory_gb
    print(f"{cfg.method.name} on {cfg.data.task} with {cfg.model.name} ({cfg.model.dtype} weights, "
          f"train.sharding={cfg.train.sharding}, gradient checkpointing {'on' if cfg.train.gradient_checkpointing else 'off'})")
    if memory:
        where = f"on each of {memory['devices']} GPUs" + (" (sharded)" if memory["sharded"] else "")
        where += "" if cost.fits else " (DOES NOT FIT)"
        print(f"  memory {where}, micro-batch of {memory['batch_per_device']} x {memory['seq_len']} tokens: "
              f"weights {memory['weights']:.2f} GB, gradients {memory['gradients']:.2f} GB, AdamW "
              f"{memory['optimizer']:.2f} GB, activations {memory['activations']:.2f} GB, temporaries "
              f"{memory['transient']:.2f} GB -> peak {memory['peak']:.2f} GB")
        print(f"  GPUs needed: {cost.devices or 'more than the planner tries'}")
    if cost.error:
        print(f"  no token estimate: {cost.error}")
    else:
        print(f"  {cost.steps} optimizer steps; {cost.train_tokens:,} training tokens, {cost.dev_tokens:,} "
              f"dev-selection and {cost.eval_tokens:,} evaluation tokens (lengths from {cost.lengths_from or '-'})")
        print(f"  compute: {cost.gpu_hours:.3g} GPU-hours")
    print(f"  assuming {describe_assumptions(assumptions['gpu'], assumptions['gpu_memory_gb'], assumptions['mfu'])}"
          + (f" (here {args.seq_len} tokens)" if args.seq_len else ""))
    for note in cost.plan_notes:
        print(f"  note: {note}")
    for line in protocol_lines(cfg, task, data=data):
        print(f"  {line}")
    return 0


def _print_config_and_files(cfg, task, file_lines) -> None:
    """The README's promise: the resolved config (every key, as config.yaml will hold it) and the file each
    language and split will be read from, before the plan."""
    import yaml

    print("resolved config:")
    for line in yaml.safe_dump(cfg.to_dict(), sort_keys=False, allow_unicode=True).splitlines():
        if line.strip() == "learning_rate: null":  # resolved: say which value the method's default is
            line += f"  # {cfg.method.name}'s default: {cfg.learning_rate:g}"
        print(f"  {line}")
    print(f"\ndata files ({task.name} in {cfg.data.data_dir}):")
    for line in file_lines(cfg, task):
        print(f"  {line}")
    print()




def _evaluate(args) -> int:
    from contextlib import nullcontext

    from xlpt.distributed import launched_rank
    from xlpt.run_dir import RunDir

    apply_include_path(args)
    run = RunDir(args.run)
    run.read_config()  # a missing or damaged run directory fails here, before torch is imported
    main = launched_rank() == 0
    with run.hold("xlpt evaluate") if main else nullcontext():  # a busy run: one line, before torch is imported
        return _evaluate_held(args, main)


def _evaluate_held(args, main: bool) -> int:
    from xlpt.evaluation.evaluate import evaluate_run
    from xlpt.reporting.console import print_results

    with _sigterm_stops("evaluation"):
        results = evaluate_run(args.run, args.split, args.languages, args.limit, progress=not args.quiet, echo=main,
                               skip_missing=True if args.skip_missing else None,
                               allow_unfinished=args.allow_unfinished)
    if main:
        print_results(results)
    return 0


@contextmanager
def _sigterm_stops(phase: str):
    """SIGTERM (`kill`, a scheduler's stop) ends an evaluation as Ctrl-C does: one line, exit 130, status.json
    says interrupted (not a stale "evaluating"). Nothing is lost: every results and predictions file is written
    atomically, so none is half-written. (Training has its own handler: it snapshots first, training/loop.py.)"""
    import signal
    import threading

    from xlpt.errors import TrainingInterrupted

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise TrainingInterrupted(f"stopped by signal {signum} during the {phase}; no results file was written by it: "
                                  "run the same command again")

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
