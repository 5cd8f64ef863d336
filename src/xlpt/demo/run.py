"""The demo, top to bottom: sample data -> tiny model -> prompt tuning and fine-tuning -> per-language table.

Everything is generated locally (no download, no GPU) and goes through the same code paths as a real
study: the XTREME-layout loader, `xlpt train`'s run directories, `xlpt evaluate`'s results.json.
"""

from __future__ import annotations

import time
from pathlib import Path

from xlpt.config import load_config
from xlpt.demo.sample_data import corpus_lines, write_sample
from xlpt.evaluation.evaluate import evaluate_run
from xlpt.models.tiny import build_tiny_model, default_corpus
from xlpt.reporting_console import comparison_table
from xlpt.training.run import train_run

# Tiny-model settings: a random 64-wide model needs a much larger learning rate than a pretrained one.
METHODS = {
    "prompt_tuning": ["train.learning_rate=0.1"],
    "full_finetune": ["train.learning_rate=0.001"],
}
COMMON = ["data.task=pawsx", "train.batch_size=16", "train.eval_every=100", "train.log_every=50",
          "data.max_dev_examples=200", "method.prompt_length=20"]


def run_demo(out: str | Path, steps: int = 600, progress: bool = True) -> dict[str, dict]:
    out = Path(out)
    started = time.perf_counter()
    data_dir = write_sample(out / "data").parent
    print(f"sample data: {data_dir / 'pawsx'} (English train, 7 languages dev/test)")
    model_dir = build_tiny_model(out / "tiny-xglm", default_corpus() + corpus_lines())
    print(f"tiny model: {model_dir}")
    results = {}
    for method, overrides in METHODS.items():
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
    print(f"\ndone in {time.perf_counter() - started:.0f}s; runs in {out / 'runs'}")
    return results
