"""Evaluation under torchrun: languages shared out over processes, results as one process writes them.

(Runs trained by two processes are evaluated by two and by one in tests/training/test_distributed.py, for
classification, tagging and a sharded run; here the `xlpt evaluate` command itself runs under torchrun.)
"""

from __future__ import annotations

import json
import shutil


from xlpt.config import load_config
from xlpt.evaluation.evaluate import assign, evaluate_run
from xlpt.training.run import train_run


def test_assign_gives_every_job_to_exactly_one_process_largest_first():
    sizes = [5010, 5010, 2000, 5010, 100, 3000, 5010]
    shares = assign(sizes, 3)
    assert sorted(i for share in shares for i in share) == list(range(len(sizes)))
    assert all(share == sorted(share) for share in shares)  # file order within a process
    loads = [sum(sizes[i] for i in share) for share in shares]
    assert max(loads) - min(loads) <= max(sizes)  # greedy largest-first: within one job of balanced
    assert assign(sizes, 1) == [list(range(len(sizes)))]
    assert assign([3, 3], 4) == [[0], [1], [], []]  # more processes than languages: some score nothing


def test_evaluate_command_under_torchrun_writes_the_one_process_results(tiny_model_dir, data_dir, tmp_path,
                                                                      torchrun):
    """`torchrun ... -m xlpt evaluate --run-dir DIR --languages ... --limit N` (a language subset, in the order
    asked, and a cap) writes the same results file and predictions as `xlpt evaluate` in one process."""
    cfg = load_config(None, [f"model.name={tiny_model_dir}", "model.device=cpu", f"data.data_dir={data_dir}",
                             "data.task=pawsx", "method.name=prompt_tuning", "method.prompt_length=4",
                             "data.max_train_examples=24", "data.max_dev_examples=16", "train.max_steps=3",
                             "train.batch_size=8", "train.learning_rate=0.1"])
    run, copy = tmp_path / "run", tmp_path / "copy"
    train_run(cfg, run, progress=False, echo=False)
    shutil.copytree(run, copy)
    torchrun.run("-m", "xlpt", "evaluate", "--run-dir", str(run), "--languages", "zh,de,fr,ko,es", "--limit", "9",
                 "--quiet")
    evaluate_run(copy, languages="zh,de,fr,ko,es", limit=9, progress=False, echo=False)
    name = "results-test-langs-de+es+fr+ko+zh-limit9.json"
    two, one = json.loads((run / name).read_text()), json.loads((copy / name).read_text())
    assert (two["world_size"], two["backend"], one["world_size"]) == (2, "gloo", 1)
    assert list(two["languages"]) == ["zh", "de", "fr", "ko", "es"]
    assert all(m["n"] == 9 for m in two["languages"].values())
    for key in ("world_size", "backend", "devices"):
        two.pop(key), one.pop(key)
    for record in (two, one):
        record["provenance"].pop("created"), record["provenance"].pop("command")
    assert two == one
    predictions = sorted(p.name for p in (run / "predictions" / "test-langs-de+es+fr+ko+zh-limit9").iterdir())
    assert predictions == ["de.jsonl", "es.jsonl", "fr.jsonl", "ko.jsonl", "zh.jsonl"]
    for lang in predictions:
        key = "test-langs-de+es+fr+ko+zh-limit9"
        assert (run / "predictions" / key / lang).read_bytes() == (copy / "predictions" / key / lang).read_bytes()
