"""Synthetic run directories for the report tests: results.json plus prediction files, written in tmp_path.

Predictions are generated first and the metric written into results.json is computed from them
(accuracy directly, NER F1 with seqeval's strict IOB2 mode), so results and predictions agree the way
a real trainer's would.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np
import pytest

CLASS_LABELS = ("entailment", "neutral", "contradiction")
NER_TAGS = ("O", "B-PER", "I-PER", "B-LOC", "I-LOC")


def _rng(*parts) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32("/".join(map(str, parts)).encode()))


def classification_predictions(task: str, lang: str, accuracy: float, run_key: str, n: int):
    """Same gold for every run of (task, lang); exactly round(accuracy * n) correct, chosen per run."""
    gold = _rng("gold", task, lang).choice(CLASS_LABELS, size=n)
    correct = np.zeros(n, dtype=bool)
    correct[_rng("pick", run_key, lang).permutation(n)[: round(accuracy * n)]] = True
    records = []
    for i, (g, ok) in enumerate(zip(gold, correct)):
        pred = g if ok else CLASS_LABELS[(CLASS_LABELS.index(g) + 1) % 3]
        records.append({"id": f"{lang}-{i}", "gold": str(g), "pred": str(pred)})
    return records, float(correct.mean())


def ner_predictions(task: str, lang: str, quality: float, run_key: str, n: int):
    """Gold sentences with entities; a sentence is predicted right with probability `quality`,
    otherwise its tags are perturbed (wrong type or dropped entity)."""
    from seqeval.metrics import f1_score
    from seqeval.scheme import IOB2

    gold_rng, pred_rng = _rng("gold", task, lang), _rng("pred", run_key, lang)
    golds, preds = [], []
    for _ in range(n):
        length = int(gold_rng.integers(3, 9))
        tags = ["O"] * length
        start = int(gold_rng.integers(0, length - 1))
        kind = str(gold_rng.choice(["PER", "LOC"]))
        tags[start], tags[start + 1] = f"B-{kind}", f"I-{kind}"
        pred = list(tags)
        if pred_rng.random() > quality:
            pred[start] = "O" if pred_rng.random() < 0.5 else ("B-LOC" if kind == "PER" else "B-PER")
        golds.append(tags)
        preds.append(pred)
    records = [{"id": f"{lang}-{i}", "gold": g, "pred": p} for i, (g, p) in enumerate(zip(golds, preds))]
    return records, float(f1_score(golds, preds, mode="strict", scheme=IOB2))


class RunWriter:
    """Writes run directories under one root; `write` returns the results.json it wrote.

    By default the results.json is the pre-#8 format (no pipeline_check, notices, evaluation,
    n_available, capped); `n_available` adds the per-language fields (n_available, capped) and `top`
    adds or overrides top-level fields (e.g. pipeline_check, notices, evaluation). `source` writes the
    newer fields `source_language` and `average_without_source` (without it: `average_without_en`, no
    source recorded, as older results)."""

    def __init__(self, root: Path):
        self.root = root

    def write(self, name: str, *, task: str = "xnli", method: str = "prompt_tuning", seed: int = 1,
              scores: dict[str, float], model: str = "facebook/xglm-564M", prompt_length: int | None = None,
              dev_langs=(), n: int = 200, predictions: bool = True, trainable: int = 20480,
              total: int = 564463616, n_available: int | dict | None = None, top: dict | None = None,
              source: str | None = None) -> dict:
        run_dir = self.root / name
        metric = "f1" if task == "panx" else "accuracy"
        if method in ("prompt_tuning", "prefix_tuning") and prompt_length is None:
            prompt_length = 20
        languages = {}
        for lang, target in scores.items():
            split = "dev" if lang in dev_langs else "test"
            make = ner_predictions if task == "panx" else classification_predictions
            records, value = make(task, lang, target, name, n)
            languages[lang] = {metric: value, "n": n, "split": split}
            available = n_available.get(lang) if isinstance(n_available, dict) else n_available
            if available is not None:
                languages[lang].update(n_available=available, capped=n < available)
            if predictions:
                path = run_dir / "predictions" / split / f"{lang}.jsonl"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
        values = [v[metric] for v in languages.values()]
        others = [v[metric] for lang, v in languages.items() if lang != (source or "en")]
        results = {
            "task": task, "method": method, "model": model, "run_id": name, "seed": seed, "split": "test",
            "metric": metric, "trainable_params": trainable, "total_params": total,
            "trainable_fraction": trainable / total, "prompt_length": prompt_length,
            "prompt_init": "vocab" if prompt_length else None, "learning_rate": 0.3 if prompt_length else 1e-5,
            "languages": languages, "average": float(np.mean(values)),
            "average_without_en": float(np.mean(others)) if others else None,
            "config": {}, "provenance": {},
        }
        if source is not None:
            results["average_without_source"] = results.pop("average_without_en")
            results["source_language"] = source
        results.update(top or {})
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "results.json").write_text(json.dumps(results), encoding="utf-8")
        return results


@pytest.fixture
def runs(tmp_path) -> RunWriter:
    return RunWriter(tmp_path / "runs")


def write_tokenization(path: Path, task: str, languages: dict[str, tuple]) -> Path:
    """languages: lang -> (fertility, pretraining_share)."""
    data = {"model": "facebook/xglm-564M", "task": task, "split": "test", "languages": {
        lang: {"fertility": f, "pretraining_share": s, "split_share": 0.3, "unk_share": 0.0,
               "chars_per_token": 3.0, "whitespace_segmented": f is not None, "in_pretraining": bool(s)}
        for lang, (f, s) in languages.items()}}
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def writer_class():
    """The RunWriter class, for module-scoped scenarios (tmp_path itself is per test)."""
    return RunWriter


@pytest.fixture(scope="session")
def tokenization_writer():
    return write_tokenization


def _md_table(markdown: str, title: str) -> tuple[list[str], list[list[tuple[str, bool]]]]:
    """The Markdown table under the italic title line `*title*`: header, then rows of (text, bold) cells."""
    lines = markdown.splitlines()
    start = lines.index(f"*{title}*") + 2
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append(line[2:-2].split(" | "))
    header, body = rows[0], rows[2:]
    return header, [[(c[2:-2], True) if c.startswith("**") else (c, False) for c in row] for row in body]


@pytest.fixture(scope="session")
def md_table():
    """Parser for the report's Markdown tables (see `_md_table`)."""
    return _md_table


@pytest.fixture(scope="session")
def lora_rank_runs(tmp_path_factory):
    """Two real tiny LoRA runs (trained and evaluated through train_run/evaluate_run) that differ only in
    method.lora_r: the runs folder. Few steps and a small evaluation: seconds, not minutes."""
    from xlpt.config import load_config
    from xlpt.demo.sample_data import corpus_lines, write_sample
    from xlpt.evaluation.evaluate import evaluate_run
    from xlpt.models.tiny import build_tiny_model, default_corpus
    from xlpt.training.run import train_run

    root = tmp_path_factory.mktemp("lora-rank")
    data_dir = write_sample(root / "data").parent
    model_dir = build_tiny_model(root / "tiny", default_corpus() + corpus_lines())
    for rank in (2, 4):
        cfg = load_config(None, ["data.task=pawsx", f"data.data_dir={data_dir}", f"model.name={model_dir}",
                                 "model.device=cpu", "method.name=lora", f"method.lora_r={rank}",
                                 "train.learning_rate=0.001", "train.max_steps=4", "train.batch_size=8",
                                 "train.eval_every=4", "train.log_every=4", "data.max_dev_examples=16",
                                 "data.max_eval_examples=12", "train.seed=1"])
        run_dir = root / "runs" / f"lora-r{rank}"
        train_run(cfg, run_dir, progress=False, echo=False)
        evaluate_run(run_dir, "test", progress=False, echo=False)
    return root / "runs"
