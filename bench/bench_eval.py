"""Fine-tuned classification evaluation: xlpt vs lm-evaluation-harness, same model, same examples.

    xlpt     evaluate_classification: the task template ends at the answer slot, one forward pass per
             example, the K label-word rows of the LM head at the last real token; positions all inputs
             share are computed once; SDPA attention (model.attention)
    lm-eval  the harness itself (lm_eval 0.4.x, HFLM on the same model object, transformers' own
             eager XGLM attention), running its own task YAML (`xnli_<lang>`, `paws_<lang>`) with only the
             data source changed to the local file (below): one sequence per candidate label, the
             continuation's log-likelihood from full-vocabulary log-softmax

Both see the first `--examples` rows of the same file and the same batch size. Contenders alternate
`--rounds` times; medians and spread are printed with the ratio. Tokenization is inside both timings
(xlpt encodes its template; lm-eval builds and tokenizes its requests); loading the data is outside both.

The local-data conversion of lm-eval's tasks: the installed package's YAML files are copied unchanged
into a temporary folder under names lm-eval does not index (`*_yaml`), and one new task file includes the
language's file and overrides only `task` (a new name), `dataset_path`, `dataset_name` and
`dataset_kwargs` (the local file as the split the task evaluates; the task's other splits set to
None: a zero-shot run draws no few-shot examples from them). The prompts, `process_docs`,
`target_delimiter` and metrics are lm-eval's own.

Run from the repository root:
    python bench/bench_eval.py                              # tiny shape, XNLI en, 64 examples
    python bench/bench_eval.py --shape 564m --examples 64   # xglm-564M shape
    python bench/bench_eval.py --task pawsx --lang de
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import workload  # noqa: E402  (bench/ is not a package; sets OpenMP up before torch)

import torch  # noqa: E402

# What lm-eval evaluates for each task, and the local file that serves it (layout of shared/data/MANIFEST.md).
LM_EVAL = {
    "xnli": {"folder": "xnli", "yaml": "xnli_{lang}.yaml", "includes": ["xnli_common_yaml"], "split": "validation",
             "unused_splits": ["training_split"], "xlpt_split": "test", "file": "xnli/{lang}/hf-hkunlp/test.jsonl", "builder": "json", "kwargs": {}},
    "pawsx": {"folder": "paws-x", "yaml": "paws_{lang}.yaml", "includes": ["pawsx_template_yaml", "utils.py"],
              "split": "test",
              "unused_splits": ["training_split", "validation_split"], "xlpt_split": "dev", "file": "pawsx/{lang}/xtreme-mesh/dev-{lang}.tsv",
              "builder": "csv", "kwargs": {"delimiter": "\t", "column_names": ["sentence1", "sentence2", "label"],
                                           "quoting": 0, "keep_default_na": False}},
}


def local_lm_eval_task(task: str, lang: str, folder: Path) -> str:
    """Write lm-eval's task for `task`/`lang` reading the local file into `folder`; returns its task name."""
    import lm_eval
    import yaml

    spec = LM_EVAL[task]
    source = Path(lm_eval.__file__).parent / "tasks" / spec["folder"]
    for name in spec["includes"]:
        shutil.copy(source / name, folder / name)
    language_yaml = spec["yaml"].format(lang=lang)
    copied = language_yaml.replace(".yaml", "_yaml")  # not indexed by lm-eval: only included
    shutil.copy(source / language_yaml, folder / copied)
    data_file = workload.DATA_DIR / spec["file"].format(lang=lang)
    if not data_file.exists():
        raise SystemExit(f"no local file for lm-eval's {task} {lang}: {data_file}")
    name = f"{language_yaml[:-5]}_local"
    override = {"include": copied, "task": name, "dataset_path": spec["builder"], "dataset_name": None,
                "dataset_kwargs": {"data_files": {spec["split"]: str(data_file)}, **spec["kwargs"]},
                **{key: None for key in spec["unused_splits"]}}  # one local file: the evaluated split only
    (folder / f"{name}.yaml").write_text(yaml.safe_dump(override, allow_unicode=True))
    return name


def lm_eval_contender(lm, tok, task: str, lang: str, examples: int, batch_size: int, folder: Path):
    """run() evaluating lm-eval's task on the first `examples` docs; returns its accuracy."""
    from lm_eval.evaluator import evaluate
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager, get_task_dict

    name = local_lm_eval_task(task, lang, folder)
    task_dict = get_task_dict([name], TaskManager(include_path=str(folder), verbosity="ERROR"))
    harness = HFLM(pretrained=lm, tokenizer=tok, batch_size=batch_size, device="cpu")

    def run():
        results = evaluate(harness, task_dict, limit=examples, bootstrap_iters=0, log_samples=False,
                           verbosity="ERROR")
        return results["results"][name]["acc,none"]

    return run


def xlpt_contender(lm, tok, task_name: str, examples, batch_size: int, attention: str):
    from xlpt.evaluation.classification import evaluate_classification
    from xlpt.models.build import build_task_model
    from xlpt.tasks import get_task

    cfg = workload.run_config("full_finetune", f"data.task={task_name}", f"train.eval_batch_size={batch_size}",
                              f"model.attention={attention}")
    task = get_task(task_name)
    model = build_task_model(cfg, task, lm, tok)

    def run():
        metrics, _ = evaluate_classification(task, model, tok, cfg, examples, progress=False)
        return metrics["accuracy"]

    return run, model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    workload.add_shape_arguments(parser)
    parser.add_argument("--task", choices=sorted(LM_EVAL), default="xnli")
    parser.add_argument("--lang", default="en")
    parser.add_argument("--examples", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=16, help="both contenders (default 16)")
    parser.add_argument("--attention", choices=["sdpa", "eager"], default="sdpa", help="xlpt's kernel (default sdpa)")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(workload.describe_machine(args.threads))
    tok = workload.tokenizer()
    lm = workload.make_lm(args.shape, args.layers, tok)
    from xlpt.data.sources import TaskData
    from xlpt.models.attention import use_attention
    from xlpt.tasks import get_task

    split = LM_EVAL[args.task]["xlpt_split"]
    examples = TaskData(get_task(args.task), workload.DATA_DIR).load(args.lang, split).examples[: args.examples]
    timings = workload.Timings()
    accuracy = {}
    with tempfile.TemporaryDirectory() as folder:
        ours, model = xlpt_contender(lm, tok, args.task, examples, args.batch_size, args.attention)
        peer = lm_eval_contender(lm, tok, args.task, args.lang, args.examples, args.batch_size, Path(folder))
        for _ in range(args.rounds):
            use_attention(lm, args.attention)  # the shared model object: xlpt's kernel for xlpt ...
            accuracy["xlpt"] = timings.timed("xlpt", ours)
            use_attention(lm, "eager")  # ... and transformers' own for lm-eval
            accuracy["lm-eval"] = timings.timed("lm-eval", peer)
    shape = f"{args.shape}{f' ({args.layers} layers)' if args.layers else ''}"
    print(f"{args.task} {args.lang}, {args.examples} examples, batch {args.batch_size}, {shape}: "
          f"{timings.line('xlpt', 'lm-eval')}")
    print(f"accuracy (random weights; the formulations differ, so only a sanity check): {accuracy}")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "task": args.task, "lang": args.lang, "examples": args.examples, "batch_size": args.batch_size,
            "shape": args.shape, "layers": args.layers, **timings.summary("xlpt", "lm-eval"), "accuracy": accuracy},
            indent=2))


if __name__ == "__main__":
    main()
