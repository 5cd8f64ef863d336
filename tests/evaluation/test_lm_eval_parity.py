"""xlpt's zero-shot with LM_EVAL_OPTIONS reproduces lm-evaluation-harness on its own task YAMLs.

lm-eval (its installed xnli_<lang> / paws_<lang> YAMLs, data source switched to the local files by
bench/lm_eval_local.py, its HFLM on the tiny model folder) and xlpt score the same first examples of
XNLI en/de dev (lm-eval's validation split), PAWS-X de test and fr dev (read as lm-eval's test split; fr has no labeled test here); predictions must be identical and
log-likelihoods equal within float32 summation noise. Skipped when lm_eval is not installed.
"""

import importlib.util
import sys
from pathlib import Path

import pytest

lm_eval = pytest.importorskip("lm_eval", reason="lm-evaluation-harness (pip install lm_eval) is not installed")

from xlpt.config import load_config  # noqa: E402
from xlpt.data.loading import discover, load_split  # noqa: E402
from xlpt.evaluation.zero_shot import LM_EVAL_OPTIONS, evaluate_zero_shot, lm_eval_paraphrase_pair  # noqa: E402
from xlpt.tasks import get_task  # noqa: E402

LIMIT = 5
CASES = [("xnli", "en", "dev"), ("xnli", "de", "dev"), ("pawsx", "de", "test"), ("pawsx", "fr", "dev")]
LABELS = {"xnli": ("entailment", "neutral", "contradiction"), "pawsx": ("not_paraphrase", "paraphrase")}


def load_bench_module():
    path = Path(__file__).resolve().parents[2] / "bench" / "lm_eval_local.py"
    spec = importlib.util.spec_from_file_location("lm_eval_local", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file executes
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def local():
    return load_bench_module()


@pytest.fixture(scope="module")
def harness(local, tiny_model_dir, data_dir, tmp_path_factory):
    """lm-eval's samples for every case, computed once: {(task, lang): [Sample]}."""
    cache = tmp_path_factory.mktemp("hf-datasets")
    configs = [local.local_task_config(task, lang, split, data_dir, cache_dir=cache) for task, lang, split in CASES]
    lm = local.hf_model(tiny_model_dir, batch_size=4)
    samples = local.lm_eval_samples(lm, configs, limit=LIMIT)
    return {(task, lang): samples[cfg["task"]] for (task, lang, _), cfg in zip(CASES, configs)}


def xlpt_records(tiny_lm, data_dir, task, lang, split, **options):
    _, tokenizer, backbone = tiny_lm
    cfg = load_config(None, ["method.name=zero_shot", f"data.task={task}"]
                      + [f"method.{key}={value}" for key, value in options.items()])
    examples = load_split(get_task(task), lang, split, data_dir, limit=LIMIT).examples
    _, records = evaluate_zero_shot(backbone, tokenizer, cfg, get_task(task), examples, progress=False)
    return examples, records


@pytest.mark.parametrize("task, lang, split", CASES)
def test_same_files_same_docs(local, harness, data_dir, task, lang, split):
    path, _ = local.local_file(task, lang, split, data_dir)
    assert discover(get_task(task), data_dir)[lang][split].files == (path,)  # xlpt reads the very file lm-eval was given
    examples = load_split(get_task(task), lang, split, data_dir, limit=LIMIT).examples
    first, second = local.TEXT_COLUMNS[task]
    for ex, sample in zip(examples, harness[(task, lang)], strict=True):
        a, b = (ex.text_a, ex.text_b) if task == "xnli" else lm_eval_paraphrase_pair(ex.text_a, ex.text_b)
        assert (sample.doc[first], sample.doc[second]) == (a, b)
        assert LABELS[task][sample.target] == ex.label


@pytest.mark.parametrize("task, lang, split", CASES)
def test_identical_predictions_and_log_likelihoods(tiny_lm, harness, data_dir, task, lang, split):
    _, records = xlpt_records(tiny_lm, data_dir, task, lang, split, **LM_EVAL_OPTIONS)
    for record, sample in zip(records, harness[(task, lang)], strict=True):
        ours = list(record["loglik"].values())
        assert ours == pytest.approx(sample.loglik, rel=1e-5, abs=1e-3)
        assert record["pred"] == LABELS[task][sample.pred]


def test_default_start_token_really_differs_from_lm_evals(tiny_lm, harness, data_dir):
    _, records = xlpt_records(tiny_lm, data_dir, "xnli", "en", "dev")  # prefix_token="model": XGLM's </s>
    gaps = [abs(a - b) for record, sample in zip(records, harness[("xnli", "en")])
            for a, b in zip(record["loglik"].values(), sample.loglik)]
    assert min(gaps) > 1e-2


def test_paraphrase_preprocessing_equals_lm_evals_own_function(local, data_dir):
    """xlpt's copy of process_docs_paraphrases against lm-eval's, on 400 real rows per language."""
    import datasets

    process = local.local_task_config("pawsx", "de", "test", data_dir)["process_docs"]  # lm-eval's function
    for lang in ("de", "en", "es", "fr"):
        examples = load_split(get_task("pawsx"), lang, "dev", data_dir, limit=400).examples
        rows = datasets.Dataset.from_list([{"sentence1": e.text_a, "sentence2": e.text_b} for e in examples])
        theirs = [(row["sentence1"], row["sentence2"]) for row in process(rows)]
        assert theirs == [lm_eval_paraphrase_pair(e.text_a, e.text_b) for e in examples]
