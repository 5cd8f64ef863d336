"""The demo, top to bottom: sample data -> tiny model -> prompt tuning and fine-tuning -> per-language
table -> tokenization statistics -> the full report (Markdown, HTML, CSV, LaTeX, plots).

Everything is generated locally (no download, no GPU) and goes through the same code paths as a real
study: the XTREME-layout loader, `xlpt train`'s run directories, `xlpt evaluate`'s results.json.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from xlpt.analysis import tokenization_stats

from xlpt.config import load_config
from xlpt.demo.sample_data import corpus_lines, write_sample
from xlpt.evaluation.evaluate import evaluate_run
from xlpt.models.tiny import build_tiny_model, default_corpus
from xlpt.progress import on_terminal
from xlpt.tasks import get_task
from xlpt.reporting import build_report
from xlpt.reporting.console import comparison_table
from xlpt.training.run import train_run

# Tiny-model settings: a random 64-wide model needs a much larger learning rate than a pretrained one.
DEMO_METHODS = {
    "prompt_tuning": ["train.learning_rate=0.3", "method.prompt_length=20"],
    "full_finetune": ["train.learning_rate=0.001"],
}
COMMON = ["data.task=pawsx", "train.batch_size=16", "train.eval_every=100", "train.log_every=50",
          "data.max_dev_examples=200"]


def run_demo(out: str | Path, steps: int = 600, progress: bool = True) -> dict[str, dict]:
    out = Path(out)
    started = time.perf_counter()
    data_dir = write_sample(out / "data").parent
    print(f"sample data: {data_dir / 'pawsx'} (English train, 7 languages dev/test)")
    if not (progress and on_terminal()):  # Hugging Face's own bars (saving shards) obey xlpt.progress's rule too
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    model_dir = build_tiny_model(out / "tiny-xglm", default_corpus() + corpus_lines())
    print(f"tiny model: {model_dir}")
    results = {}
    for method, overrides in DEMO_METHODS.items():
        print(f"\n== {method} ==")
        cfg = load_config(None, COMMON + overrides + [f"method.name={method}", f"model.name={model_dir}",
                                                    f"data.data_dir={data_dir}", f"train.max_steps={steps}"])
        run_dir = out / "runs" / method
        train_run(cfg, run_dir, progress=progress)
        results[method] = evaluate_run(run_dir, "test", progress=progress, echo=False)
    print("\nTest accuracy (%) per language; * marks the best method per row. Trained on English only.\n")
    print(comparison_table(results))
    for method, res in results.items():
        print(f"{method}: {res['trainable_params']:,} trainable parameters "
              f"({100 * res['trainable_fraction']:.2f}% of {res['total_params']:,})")
    report = write_report(out, model_dir, data_dir)
    print(f"\nreport: {report.markdown_path} and {report.html_path} (tables, PT - FT gaps, plots)")
    print(f"done in {time.perf_counter() - started:.0f}s; runs in {out / 'runs'}")
    return results


def write_report(out: Path, model_dir: Path, data_dir: Path):
    """Tokenization statistics of the sample's test text, then the report over the demo's runs."""
    stats = tokenization_stats(str(model_dir), get_task("pawsx"), data_dir, split="test")
    stats_path = out / "tokenization-pawsx.json"
    stats_path.write_text(json.dumps(stats, indent=2, ensure_ascii=False), encoding="utf-8")
    return build_report(out / "runs", out / "report", tokenization=[stats_path])
