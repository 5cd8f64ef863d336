"""lm-evaluation-harness's own XNLI and PAWS-X tasks, reading the local data folder instead of the hub.

    configs = [local_task_config("xnli", "de", "dev", data_dir)]
    lm = hf_model(model_dir, batch_size=8)
    samples = lm_eval_samples(lm, configs, limit=8)    # {task: [Sample(doc, loglik per choice, pred, target)]}

`local_task_config` loads lm-eval's *installed* YAML for the language (`xnli/xnli_<lang>.yaml`,
`paws-x/paws_<lang>.yaml`) with lm-eval's own loader (includes merged, `!function process_docs` resolved
to lm-eval's code) and changes the data source only:

- `dataset_path` / `dataset_name` / `dataset_kwargs`: the Hugging Face `csv` (or `json`) builder on one
  local file, with the columns and label names of the hub dataset (XNLI's string labels become the hub's
  ClassLabel ids 0 entailment, 1 neutral, 2 contradiction) and no NA parsing (a sentence "NA" stays text);
- the split lm-eval evaluates (XNLI: `validation`; PAWS-X: `test`) reads the local file of the requested
  split; the other split keys are set to None, because only one file is given, and a zero-shot run draws
  no few-shot examples from them.

Prompts (`doc_to_choice`), `target_delimiter`, `process_docs` and metrics stay lm-eval's. Which local file
serves which split follows /work/shared/data/MANIFEST.md (its primary picks, which are also xlpt's).

This lives in bench/, never in src/: it is the harness xlpt is checked against, not part of xlpt.
Imported by file path from tests/evaluation/test_lm_eval_parity.py and test_multiple_choice_lm_eval.py, and as a
module (bench/ on sys.path) by bench/bench_zero_shot.py and bench/bench_multiple_choice.py.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

# (task, split) -> {lang or "*": (file under the data folder, format)}; formats as in MANIFEST.md.
LOCAL_FILES = {
    ("xnli", "dev"): {"*": ("xnli/{lang}/xtreme-mesh/dev-{lang}.tsv", "tsv3")},
    ("xnli", "test"): {"*": ("xnli/{lang}/hf-hkunlp/test.jsonl", "jsonl")},
    ("pawsx", "dev"): {"*": ("pawsx/{lang}/xtreme-mesh/dev-{lang}.tsv", "tsv3")},
    ("pawsx", "test"): {"de": ("pawsx/de/xglue-supergleber/test.tsv", "hdr4"),
                        "zh": ("pawsx/zh/hf-mesh/test-00000-of-00001.tsv", "hdr4q")},
}
YAML = {"xnli": "xnli/xnli_{lang}.yaml", "pawsx": "paws-x/paws_{lang}.yaml"}
TEXT_COLUMNS = {"xnli": ("premise", "hypothesis"), "pawsx": ("sentence1", "sentence2")}
XNLI_LABELS = ["entailment", "neutral", "contradiction"]


def lm_eval_tasks_dir() -> Path:
    import lm_eval.tasks

    return Path(lm_eval.tasks.__file__).parent


def local_file(task: str, lang: str, split: str, data_dir: str | Path) -> tuple[Path, str]:
    table = LOCAL_FILES.get((task, split), {})
    if lang not in table and "*" not in table:
        raise ValueError(f"no labeled local {task} {split} file for {lang!r} (see MANIFEST.md)")
    pattern, fmt = table.get(lang, table.get("*"))
    path = Path(data_dir) / pattern.format(lang=lang)
    if not path.exists():
        raise ValueError(f"{path} does not exist")
    return path, fmt


def local_task_config(task: str, lang: str, split: str, data_dir: str | Path, cache_dir: str | None = None) -> dict:
    """lm-eval's task config for `task`/`lang`, reading `split` from the local data folder (see module doc)."""
    from lm_eval.tasks._yaml_loader import load_yaml

    cfg = load_yaml(lm_eval_tasks_dir() / YAML[task].format(lang=lang))
    path, fmt = local_file(task, lang, split, data_dir)
    evaluated = "test" if cfg.get("test_split") else "validation"
    builder, kwargs = _builder(task, fmt)
    kwargs["data_files"] = {evaluated: str(path)}
    if cache_dir:
        kwargs["cache_dir"] = str(cache_dir)
    cfg.update(dataset_path=builder, dataset_name=None, dataset_kwargs=kwargs, training_split=None,
               validation_split="validation" if evaluated == "validation" else None,
               test_split="test" if evaluated == "test" else None)
    return cfg


def _builder(task: str, fmt: str) -> tuple[str, dict]:
    """HF builder name and its arguments for one local format, with the hub dataset's features."""
    import datasets

    first, second = TEXT_COLUMNS[task]
    text = datasets.Value("string")
    label = datasets.ClassLabel(names=XNLI_LABELS) if task == "xnli" else datasets.Value("int64")
    columns = {first: text, second: text, "label": label}
    if fmt == "jsonl":
        return "json", {"features": datasets.Features(columns)}
    kwargs = {"delimiter": "\t", "keep_default_na": False}
    if fmt == "tsv3":  # no header, csv-quoted
        kwargs.update(header=None, column_names=list(columns), quoting=csv.QUOTE_MINIMAL)
    elif fmt in ("hdr4", "hdr4q"):  # header id/sentence1/sentence2/label; hdr4 is raw (quotes are text)
        columns = {"id": datasets.Value("string"), **columns}
        kwargs.update(header=0, quoting=csv.QUOTE_NONE if fmt == "hdr4" else csv.QUOTE_MINIMAL)
    else:
        raise ValueError(f"format {fmt} is not supported here")
    return "csv", {**kwargs, "features": datasets.Features(columns)}


def hf_model(model_dir: str | Path, batch_size: int = 1, max_length: int | None = None, model=None, **kwargs):
    """lm-eval's HFLM on a local model folder, float32 on CPU (lm-eval's defaults otherwise).

    `model`: an already loaded copy of that folder's model to share (the benchmark does, so both sides
    run the very same weights and RAM holds one copy); the tokenizer is always lm-eval's own, from the folder."""
    from lm_eval.models.huggingface import HFLM

    extra = {"max_length": max_length} if max_length else {}
    return HFLM(pretrained=model if model is not None else str(model_dir), tokenizer=str(model_dir), device="cpu",
                dtype="float32", batch_size=batch_size, **extra, **kwargs)


def load_tasks(configs: list[dict]) -> dict:
    """{task name: lm-eval Task} built by lm-eval's TaskManager (without indexing its 10k built-in tasks)."""
    from lm_eval.tasks import TaskManager

    return TaskManager(include_defaults=False).load(configs)["tasks"]


@dataclass
class Sample:
    doc: dict
    loglik: list[float]
    target: int

    @property
    def pred(self) -> int:
        return max(range(len(self.loglik)), key=self.loglik.__getitem__)


def lm_eval_samples(lm, configs: list[dict], limit: int | None = None) -> dict[str, list[Sample]]:
    """Run lm-eval's `simple_evaluate` end to end (zero-shot) and return each doc's choice log-likelihoods."""
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    results = simple_evaluate(model=lm, tasks=configs, num_fewshot=0, limit=limit, log_samples=True,
                              bootstrap_iters=0, task_manager=TaskManager(include_defaults=False))
    out = {}
    for name, samples in results["samples"].items():
        rows = sorted(samples, key=lambda s: s["doc_id"])
        out[name] = [Sample(s["doc"], [float(r[0]) for r in s["filtered_resps"]], int(s["target"])) for s in rows]
        accuracy = results["results"][name]["acc,none"]
        assert abs(accuracy - sum(x.pred == x.target for x in out[name]) / len(rows)) < 1e-9  # we read it right
    return out


def build_requests(configs: list[dict], limit: int | None = None) -> list:
    """lm-eval's loglikelihood requests (Instances) for the tasks' first `limit` docs, built by lm-eval."""
    instances = []
    for task in load_tasks(configs).values():
        task.build_all_requests(limit=limit, rank=0, world_size=1)
        instances += task.instances
    return instances


def score_requests(lm, instances) -> dict[tuple[str, int], list[float]]:
    """HFLM.loglikelihood on the requests: {(task, doc_id): log-likelihood per choice}."""
    responses = lm.loglikelihood(instances, disable_tqdm=True)
    out: dict[tuple[str, int], list[float]] = {}
    for inst, (value, _) in sorted(zip(instances, responses), key=lambda x: (x[0].task_name, x[0].doc_id, x[0].idx)):
        out.setdefault((inst.task_name, inst.doc_id), []).append(float(value))
    return out


def main() -> None:
    """Check the conversion by hand: print lm-eval's local config for one task/language/split and, with
    --model, score its first --limit docs with lm-eval end to end (zero-shot)."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", choices=sorted(YAML), default="xnli")
    parser.add_argument("--lang", default="en")
    parser.add_argument("--split", default="dev", help="the local file to read (dev or test, see LOCAL_FILES)")
    parser.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    parser.add_argument("--model", help="a local model folder to score with lm-eval's HFLM (e.g. `xlpt model tiny`)")
    parser.add_argument("--limit", type=int, default=8, help="docs to score with --model (default 8)")
    args = parser.parse_args()
    cfg = local_task_config(args.task, args.lang, args.split, args.data_dir)
    print(f"{cfg['task']}: {cfg['dataset_path']} builder on {cfg['dataset_kwargs']['data_files']}")
    if args.model:
        samples = lm_eval_samples(hf_model(args.model, batch_size=8), [cfg], limit=args.limit)
        for name, rows in samples.items():
            accuracy = sum(row.pred == row.target for row in rows) / len(rows)
            print(f"{name}: {len(rows)} docs scored, acc {accuracy:.3f}")


if __name__ == "__main__":
    main()
