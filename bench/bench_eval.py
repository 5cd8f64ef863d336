"""Fine-tuned classification evaluation: xlpt vs lm-evaluation-harness, same model, same examples.

    xlpt          evaluate_classification: the task template ends at the answer slot, one forward pass per
                  example, the K label-word rows of the LM head at the last real token; positions all inputs
                  share are computed once; SDPA attention (model.attention)
    lm-eval same  the strong peer: lm-eval (0.4.x, HFLM on the same model object, transformers' own eager
                  XGLM attention: transformers offers XGLM no other kernel) running a task built from
                  *xlpt's template* with the label words as single-token choices (`doc_to_text` = the
                  template up to the answer slot, `doc_to_choice` = the words, `target_delimiter` their
                  leading space). HFLM groups requests whose context + continuation[:-1] agree, so the K
                  choices of an example cost one forward pass; it still computes full-vocabulary logits and
                  log-softmax at every position. Same tokens as xlpt (checked), same predictions (checked).
    lm-eval stock lm-eval's own task YAML (`xnli_<lang>`, `paws_<lang>`) with only the data source changed to
                  the local file (below): one sequence per candidate label, the continuation's
                  log-likelihood from full-vocabulary log-softmax. A different prompt, so only the time
                  compares.

Every contender sees the same examples (the first `--examples` rows of the same file) and the same batch
size. Contenders alternate `--rounds` times; CPU-time medians and spread are printed with each ratio, and
beside each ratio its FLOP bound: the matmul multiply-adds (linear layers, attention scores and sums,
LM head) the peer's formulation needs over the real (unpadded) tokens it runs, divided by xlpt's, counted
from the sequences each one actually built (`flops_bound`). A ratio near its bound means the remaining
time is the model body both must run. Tokenization is inside every timing (xlpt encodes its template;
lm-eval builds and tokenizes its requests); loading the data is outside. Before timing, one untimed pass
of each lm-eval task records its sequences (for the bound) and its per-example predictions (the strong
peer's must equal xlpt's).

The local-data conversion of lm-eval's stock tasks: the installed package's YAML files are copied unchanged
into a temporary folder under names lm-eval does not index (`*_yaml`), and one new task file includes the
language's file and overrides only `task` (a new name), `dataset_path`, `dataset_name` and
`dataset_kwargs` (the local file as the split the task evaluates; the task's other splits set to
None: a zero-shot run draws no few-shot examples from them). The prompts, `process_docs`,
`target_delimiter` and metrics are lm-eval's own.

Run from the repository root:
    python bench/bench_eval.py                              # tiny shape, XNLI en, 64 examples
    python bench/bench_eval.py --shape 564m --examples 32   # xglm-564M shape (the README's row)
    python bench/bench_eval.py --task pawsx --lang de
    python bench/bench_eval.py --peers same                 # the strong peer only
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


def same_template_task(task, template, examples, folder: Path) -> tuple[str, list[str]]:
    """Write an lm-eval task asking xlpt's template with its label words as the choices; returns (task name,
    the choices). The docs are xlpt's examples (fields stripped as xlpt strips them), so both read the same
    text; the template's `{field}` slots become Jinja `{{field}}`."""
    import re

    import yaml

    from xlpt.tasks.classification_encoding import example_fields

    if "{{" in template.text or "{%" in template.text:
        raise SystemExit("the template contains Jinja syntax; cannot hand it to lm-eval unchanged")
    words = [template.label_words[label] for label in task.labels]
    spaced = all(word.startswith(" ") for word in words)
    choices = [word[1:] for word in words] if spaced else list(words)
    data = folder / "xlpt_same_docs.jsonl"
    with data.open("w") as out:
        for example in examples:
            out.write(json.dumps({**example_fields(example), "label": task.labels.index(example.label)},
                                 ensure_ascii=False) + "\n")
    name = f"xlpt_same_{task.name}"
    config = {"task": name, "dataset_path": "json", "dataset_name": None,
              "dataset_kwargs": {"data_files": {"test": str(data)}}, "test_split": "test",
              "output_type": "multiple_choice", "doc_to_text": re.sub(r"\{(\w+)\}", r"{{\1}}", template.text),
              "doc_to_choice": choices, "doc_to_target": "label", "target_delimiter": " " if spaced else "",
              "metric_list": [{"metric": "acc", "aggregation": "mean", "higher_is_better": True}]}
    (folder / f"{name}.yaml").write_text(yaml.safe_dump(config, allow_unicode=True))
    return name, choices


class LmEvalContender:
    """lm-eval's `evaluate` on one task; `run()` is the timed unit, `check()` one untimed pass recording the
    sequences HFLM runs (one per group of requests that share context + continuation[:-1]) and the
    per-document predictions."""

    def __init__(self, harness, folder: Path, name: str, examples: int):
        from lm_eval.tasks import TaskManager, get_task_dict

        self.harness, self.name, self.examples = harness, name, examples
        self.task_dict = get_task_dict([name], TaskManager(include_path=str(folder), verbosity="ERROR"))

    def _evaluate(self, log_samples: bool):
        from lm_eval.evaluator import evaluate

        return evaluate(self.harness, self.task_dict, limit=self.examples, bootstrap_iters=0,
                        log_samples=log_samples, verbosity="ERROR")

    def run(self):
        return self._evaluate(False)["results"][self.name]["acc,none"]

    def check(self) -> dict:
        harness, captured = self.harness, []
        original = harness._loglikelihood_tokens

        def capture(requests, *args, **kwargs):
            captured.extend((list(context), list(continuation)) for _, context, continuation in requests)
            return original(requests, *args, **kwargs)

        harness._loglikelihood_tokens = capture
        try:
            results = self._evaluate(True)
        finally:
            del harness._loglikelihood_tokens  # back to the class's method
        groups = {tuple(context + continuation[:-1]): context + continuation for context, continuation in captured}
        lengths = [min(len(whole) - 1, harness.max_length) for whole in groups.values()]
        samples = sorted(results["samples"][self.name], key=lambda sample: sample["doc_id"])
        predictions = [max(range(len(sample["filtered_resps"])), key=lambda i: sample["filtered_resps"][i][0])
                       for sample in samples]
        contexts = {}
        for context, _ in captured:
            contexts.setdefault(tuple(context), None)
        return {"lengths": lengths, "requests": len(captured), "predictions": predictions,
                "contexts": list(contexts), "accuracy": results["results"][self.name]["acc,none"]}


def xlpt_contender(lm, tok, task, examples, batch_size: int, attention: str):
    from xlpt.evaluation.classification import evaluate_classification
    from xlpt.models.build import build_task_model

    cfg = workload.run_config("full_finetune", f"data.task={task.name}", f"train.eval_batch_size={batch_size}",
                              f"model.attention={attention}")
    model = build_task_model(cfg, task, lm, tok)

    def run():
        metrics, records = evaluate_classification(task, model, tok, cfg, examples, progress=False)
        return metrics["accuracy"], records

    return run, model, cfg


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    workload.add_shape_arguments(parser)
    parser.add_argument("--task", choices=sorted(LM_EVAL), default="xnli")
    parser.add_argument("--lang", default="en")
    parser.add_argument("--examples", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=16, help="every contender (default 16)")
    parser.add_argument("--attention", choices=["sdpa", "eager"], default="sdpa", help="xlpt's kernel (default sdpa)")
    parser.add_argument("--peers", default="same,stock",
                        help="lm-eval settings to time, comma-separated: same (xlpt's template, single-token "
                             "choices: the strong peer), stock (its own task YAML); default both")
    parser.add_argument("--peer-attention", choices=["eager", "sdpa"], default="eager",
                        help="lm-eval's kernel: eager (default: transformers' XGLM has no other) or xlpt's SDPA "
                             "layer swapped into the shared model (a peer no lm-eval user can pick; an upper bound)")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    peers = [peer.strip() for peer in args.peers.split(",") if peer.strip()]
    if not peers or set(peers) - {"same", "stock"}:
        raise SystemExit("--peers: a comma-separated list of same, stock")
    torch.set_num_threads(args.threads)
    print(workload.describe_machine(args.threads))
    tok = workload.tokenizer()
    lm = workload.make_lm(args.shape, args.layers, tok)
    from lm_eval.models.huggingface import HFLM

    from xlpt.data.sources import TaskData
    from xlpt.models.attention import use_attention
    from xlpt.tasks import get_task
    from xlpt.tasks.classification_encoding import encode_examples

    task = get_task(args.task)
    split = LM_EVAL[args.task]["xlpt_split"]
    examples = TaskData(task, workload.DATA_DIR).load(args.lang, split).examples[: args.examples]
    timings = workload.Timings()
    accuracy, checks, bounds = {}, {}, {}
    names = {"same": "lm-eval same", "stock": "lm-eval stock"}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        ours, model, cfg = xlpt_contender(lm, tok, task, examples, args.batch_size, args.attention)
        template = task.resolve_template(cfg.data.template)
        items, _ = encode_examples(examples, template, tok, task.labels, cfg.data.max_length)
        harness = HFLM(pretrained=lm, tokenizer=tok, batch_size=args.batch_size, device="cpu")
        contenders = {}
        if "same" in peers:
            name, _ = same_template_task(task, template, examples, folder)
            contenders["same"] = LmEvalContender(harness, folder, name, args.examples)
        if "stock" in peers:
            contenders["stock"] = LmEvalContender(harness, folder, local_lm_eval_task(args.task, args.lang, folder),
                                                  args.examples)
        # untimed: xlpt's predictions, each peer's sequences and predictions (also warms every path up)
        use_attention(lm, args.attention)
        _, records = ours()
        xlpt_predictions = [task.labels.index(record["pred"]) for record in records]
        use_attention(lm, args.peer_attention)
        for key, contender in contenders.items():
            checks[key] = contender.check()
        dims = workload.dims(args.shape, args.layers)
        vocab, labels = lm.get_output_embeddings().weight.shape[0], len(task.labels)
        xlpt_macs = sum(workload.forward_macs(dims, len(item.input_ids), head_rows=labels, head_positions=1)
                        for item in items)
        for key, check in checks.items():
            peer_macs = sum(workload.forward_macs(dims, length, head_rows=vocab, head_positions=length)
                            for length in check["lengths"])
            bounds[key] = peer_macs / xlpt_macs
        for _ in range(args.rounds):
            use_attention(lm, args.attention)  # the shared model object: xlpt's kernel for xlpt ...
            accuracy["xlpt"] = timings.timed("xlpt", ours)[0]
            use_attention(lm, args.peer_attention)  # ... and transformers' own (eager) for lm-eval
            for key, contender in contenders.items():
                accuracy[names[key]] = timings.timed(names[key], contender.run)
    load = open("/proc/loadavg").read().split()[:3] if Path("/proc/loadavg").exists() else []
    shape = f"{args.shape}{f' ({args.layers} layers)' if args.layers else ''}"
    print(f"{args.task} {args.lang}, {args.examples} examples, batch {args.batch_size}, {shape}, xlpt attention "
          f"{args.attention}, lm-eval attention {args.peer_attention}; load average at end {' '.join(load)}")
    summary = {}
    for key in contenders:  # the strong peer first
        check = checks[key]
        line = f"  vs {names[key]:<13} {timings.line('xlpt', names[key])}; FLOP bound {bounds[key]:.2f}x"
        if key == "same":
            same = sum(a == b for a, b in zip(xlpt_predictions, check["predictions"]))
            tokens = sum(list(c) == item.input_ids for c, item in zip(check["contexts"], items))
            line += (f"; same predictions {same}/{len(items)}, same tokens {tokens}/{len(items)} "
                     f"({len(check['lengths'])} forwards for {check['requests']} requests)")
            summary["same_predictions"], summary["same_tokens"] = same, tokens
        else:
            line += f" ({len(check['lengths'])} forwards for {check['requests']} requests)"
        print(line)
        summary[names[key]] = {**timings.summary("xlpt", names[key]), "flops_bound": bounds[key]}
    print(f"accuracy (random weights; a sanity check): {accuracy}")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "task": args.task, "lang": args.lang, "examples": args.examples, "batch_size": args.batch_size,
            "shape": args.shape, "layers": args.layers, "load": load,
            "attention": {"xlpt": args.attention, "lm-eval": args.peer_attention}, **summary, "accuracy": accuracy}, indent=2))


if __name__ == "__main__":
    main()
