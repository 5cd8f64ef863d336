"""Zero-shot multiple choice equals lm-evaluation-harness on its own xcopa_<lang> and copa tasks.

lm-eval's installed YAMLs (loaded by its own loader, `!function` prompts included) read the shared XCOPA
files through the HF `json` builder instead of the hub; its HFLM scores the tiny model folder. xlpt renders
the same rows with tasks/builtin/xcopa.yaml and scores them with the family's zero-shot path. Per-choice
log-likelihoods must agree to float32 summation noise, and so must acc and acc_norm per example.
(lm-eval conditions an *empty* context on BOS; XCOPA contexts are never empty, so both read the
tokenizer's own `</s>` first here.)
"""

import importlib.util
import json
import sys
from importlib import resources
from pathlib import Path

import pytest

lm_eval = pytest.importorskip("lm_eval")

from xlpt.data.examples import Example  # noqa: E402
from xlpt.evaluation.multiple_choice import metrics_and_records, predictions, zero_shot_logliks  # noqa: E402
from xlpt.schema import load_yaml  # noqa: E402
from xlpt.tasks.families.multiple_choice.encoding import encode_examples  # noqa: E402
from xlpt.tasks.families.multiple_choice.prompt import parse_prompt  # noqa: E402

LIMIT = 8
CASES = [("xcopa/default_et.yaml", "et", "xcopa-github"), ("xcopa/default_zh.yaml", "zh", "xcopa-github"),
         ("super_glue/copa/default.yaml", "en", "copa-superglue")]
FIELDS = ("premise", "choice1", "choice2", "question")


def bench():
    path = Path(__file__).resolve().parents[2] / "bench" / "lm_eval_local.py"
    spec = importlib.util.spec_from_file_location("lm_eval_local", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def local_config(yaml_path: str, file: Path, cache: Path) -> dict:
    """lm-eval's task config with its validation split read from the local file."""
    import datasets
    import lm_eval.tasks
    from lm_eval.tasks._yaml_loader import load_yaml as lm_load

    cfg = lm_load(Path(lm_eval.tasks.__file__).parent / yaml_path)
    features = datasets.Features({"premise": datasets.Value("string"), "choice1": datasets.Value("string"),
                                  "choice2": datasets.Value("string"), "question": datasets.Value("string"),
                                  "label": datasets.Value("int64"), "idx": datasets.Value("int64")})
    kwargs = {"data_files": {"validation": str(file)}, "features": features, "cache_dir": str(cache)}
    cfg.update(dataset_path="json", dataset_name=None, dataset_kwargs=kwargs, training_split=None,
               validation_split="validation", test_split=None)
    return cfg


def trimmed(file: Path, out: Path, ids: set[str] | None = None) -> Path:
    """The first LIMIT rows (or the rows whose idx is in `ids`, in file order) with only the hub's keys (the
    json builder refuses keys its features lack)."""
    rows = [json.loads(line) for line in file.read_text(encoding="utf-8").splitlines()]
    rows = rows[:LIMIT] if ids is None else [r for r in rows if str(r["idx"]) in ids]
    out.write_text("".join(json.dumps({k: r[k] for k in (*FIELDS, "label", "idx")}) + "\n" for r in rows))
    return out


@pytest.fixture(scope="module")
def harness(tiny_model_dir, data_dir, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("xcopa-parity")
    files = {lang: trimmed(data_dir / "xcopa" / lang / source / "val.jsonl", tmp / f"{lang}.jsonl")
             for _, lang, source in CASES}
    configs = [local_config(path, files[lang], tmp / "cache") for path, lang, _ in CASES]
    samples = lm_eval_samples(bench().hf_model(tiny_model_dir, batch_size=4), configs)
    return files, {lang: samples[cfg["task"]] for (_, lang, _), cfg in zip(CASES, configs)}


def lm_eval_samples(lm, configs, limit: int | None = LIMIT) -> dict:
    """{task: [(doc, loglik per choice, acc, acc_norm)]} from lm-eval's `simple_evaluate` (zero-shot; copa's
    target is a string, so the per-doc metrics are read rather than recomputed from a target index)."""
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    for cfg in configs:
        cfg["metric_list"] = [{"metric": "acc"}, {"metric": "acc_norm"}]
    results = simple_evaluate(model=lm, tasks=configs, num_fewshot=0, limit=limit, log_samples=True,
                              bootstrap_iters=0, task_manager=TaskManager(include_defaults=False))
    return {name: [Sample(s["doc"], [float(r[0]) for r in s["filtered_resps"]], s["acc"], s["acc_norm"])
                   for s in sorted(rows, key=lambda s: s["doc_id"])]
            for name, rows in results["samples"].items()}


class Sample:
    def __init__(self, doc, loglik, acc, acc_norm):
        self.doc, self.loglik, self.acc, self.acc_norm = doc, loglik, acc, acc_norm


class Task:
    """The parts of the xcopa task the scorer reads (labels, metric), from the built-in YAML."""

    def __init__(self):
        text = resources.files("xlpt.tasks").joinpath("builtin", "xcopa.yaml").read_text(encoding="utf-8")
        tree = load_yaml(text, "xcopa.yaml")
        self.labels, self.metric = tuple(tree["labels"]), tree["metric"]
        self.prompt = parse_prompt(tree["prompt"], tuple(tree["fields"]), self.labels)


@pytest.mark.parametrize("lang", ["et", "zh", "en"])
def test_loglikelihoods_acc_and_acc_norm_equal_lm_evals(tiny_lm, harness, lang):
    _, tokenizer, backbone = tiny_lm
    files, samples = harness
    task = Task()
    rows = [json.loads(line) for line in files[lang].read_text().splitlines()]
    examples = [Example({k: r[k] for k in FIELDS}, task.labels[r["label"]], lang, str(r["idx"])) for r in rows]
    items, _ = encode_examples(examples, task.prompt, tokenizer, task.labels, 256)
    scores = zero_shot_logliks(backbone, items, 4096, tokenizer.pad_token_id, False, "parity")
    theirs = samples[lang]
    assert len(theirs) == len(items) == LIMIT
    for item, row, sample in zip(items, scores, theirs, strict=True):
        assert row == pytest.approx(sample.loglik, rel=1e-5, abs=1e-3)
        chosen = predictions(item, row)
        assert float(chosen["accuracy"] == item.label) == sample.acc
        assert float(chosen["acc_norm"] == item.label) == sample.acc_norm
    metrics, _ = metrics_and_records(task, examples, items, scores)
    assert metrics["accuracy"] == pytest.approx(sum(s.acc for s in theirs) / LIMIT)
    assert metrics["acc_norm"] == pytest.approx(sum(s.acc_norm for s in theirs) / LIMIT)


def test_cli_zero_shot_equals_lm_evals_xcopa(tiny_model_dir, data_dir, tmp_path):
    """`xlpt train --method zero_shot --evaluate` on two real XCOPA languages (20 sampled dev items each) gives
    lm-eval's per-choice log-likelihoods, acc and acc_norm on the same items (et, zh: no `question` repaired
    there, so lm-eval reads the same text from the upstream files)."""
    from xlpt.cli import main

    run = tmp_path / "run"
    assert main(["train", "--task", "xcopa", "--method", "zero_shot", "--model", str(tiny_model_dir), "--data-dir",
                 str(data_dir), "--out", str(run), "--evaluate", "--quiet", "model.device=cpu",
                 "data.eval_split=dev", "data.eval_languages=et,zh", "data.max_eval_examples=20"]) == 0
    results = json.loads((run / "results-dev.json").read_text())
    ours = {lang: [json.loads(line) for line in (run / "predictions/dev" / f"{lang}.jsonl").read_text().splitlines()]
            for lang in ("et", "zh")}
    configs = []
    for path, lang, source in CASES[:2]:
        ids = {record["id"] for record in ours[lang]}
        file = trimmed(data_dir / "xcopa" / lang / source / "val.jsonl", tmp_path / f"{lang}.jsonl", ids)
        configs.append(local_config(path, file, tmp_path / "cache"))
    samples = lm_eval_samples(bench().hf_model(tiny_model_dir, batch_size=4), configs, limit=None)
    for (_, lang, _), cfg in zip(CASES[:2], configs):
        theirs = {str(s.doc["idx"]): s for s in samples[cfg["task"]]}
        assert len(theirs) == len(ours[lang]) == 20
        for record in ours[lang]:
            sample = theirs[record["id"]]
            assert list(record["loglik"].values()) == pytest.approx(sample.loglik, rel=1e-5, abs=1e-3)
            assert float(record["pred_acc"] == record["gold"]) == sample.acc
            assert float(record["pred_norm"] == record["gold"]) == sample.acc_norm
        scores = results["languages"][lang]
        assert scores["accuracy"] == pytest.approx(sum(s.acc for s in theirs.values()) / 20)
        assert scores["acc_norm"] == pytest.approx(sum(s.acc_norm for s in theirs.values()) / 20)
