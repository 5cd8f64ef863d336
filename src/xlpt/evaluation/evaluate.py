"""Evaluate a trained run on every language the data source has; write results.json and predictions.

results.json (split=test; other splits write results-<split>.json):
    {"task", "method", "model", "run_id", "trainable_params", "total_params", "trainable_fraction", "seed",
     "split", "metric", "prompt_length", "prompt_init", "learning_rate",
     "languages": {LANG: {<metric>: float, "n": int, "split": str, ...}},
     "average": float, "average_without_en": float, "config": {...}, "provenance": {...}}
Metric values are fractions in [0, 1]. A language without a labeled `split` is evaluated on its labeled
dev split instead and its entry says so ("split": "dev"); the training language's own dev set is never
used for evaluation when it served as training data.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tqdm.auto import tqdm

from xlpt import provenance
from xlpt.config import RunConfig, learning_rate
from xlpt.errors import ConfigError
from xlpt.methods import PROMPT_METHODS
from xlpt.models.build import build_task_model
from xlpt.models.loading import load_causal_lm
from xlpt.tasks import get_task
from xlpt.training import checkpoints
from xlpt.training.run import RunLog, heldout_split, parameter_report, read_config


def run_id(cfg: RunConfig) -> str:
    """Stable id: hash of the resolved config (same config -> same id, on any machine)."""
    blob = json.dumps(cfg.to_dict(), sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


def results_path(run_dir: Path, split: str) -> Path:
    return run_dir / ("results.json" if split == "test" else f"results-{split}.json")


def local_sources(cfg: RunConfig) -> dict | None:
    """`discover()` of the run's data folder, read once per evaluation; None for the hub (no listing)."""
    from xlpt.data.loading import discover

    return None if cfg.data.data_dir == "hf" else discover(cfg.data.task, cfg.data.data_dir)


def plan_languages(cfg: RunConfig, split: str, languages: str, sources: dict | None) -> dict[str, str]:
    """language -> split to evaluate on: `split` where labeled, else labeled dev (never the training data)."""
    if sources is None:
        available = {lang: {split: True} for lang in get_task(cfg.data.task).languages}
    else:
        # A split counts as labeled when its files carry labels or they can be reconstructed (XNLI bg/el/ru/th test).
        available = {lang: {s: src.labeled or src.label_source is not None for s, src in splits.items()}
                     for lang, splits in sources.items()}
    wanted = sorted(available) if languages == "all" else [x.strip() for x in languages.split(",") if x.strip()]
    unknown = [lang for lang in wanted if lang not in available]
    if unknown:
        raise ConfigError(f"no {cfg.data.task} data for {', '.join(unknown)} in {cfg.data.data_dir}; "
                          f"available: {', '.join(sorted(available))}")
    plan = {}
    for lang in wanted:
        if available[lang].get(split):
            plan[lang] = split
        elif available[lang].get("dev"):
            plan[lang] = "dev"
    return plan


def _eval_examples(cfg: RunConfig, lang: str, split: str, sources: dict | None):
    from xlpt.data.loading import load_split

    # Pass the discovered source itself, so the data folder is not scanned again for every language.
    loaded = load_split(cfg.data.task, lang, split, cfg.data.data_dir if sources is None else sources[lang][split])
    examples, label = loaded.examples, split
    train_split_missing = sources is not None and cfg.data.train_split not in sources.get(cfg.data.train_lang, {})
    if lang == cfg.data.train_lang and split == "dev" and train_split_missing:
        # The training language's dev set was the training data: keep only the held-back part.
        _, examples = heldout_split(examples, cfg.data.heldout_fraction, cfg.train.seed)
        label = "dev-heldout"
    if cfg.data.max_eval_examples:
        examples = examples[: cfg.data.max_eval_examples]
    return examples, label, loaded


def load_trained_model(run_dir: Path, cfg: RunConfig):
    lm, tokenizer = load_causal_lm(cfg.model.name, cfg.model.dtype, cfg.model.device)
    model = build_task_model(cfg, lm, tokenizer)
    best = run_dir / "checkpoint" / "best.pt"
    if cfg.method.name != "zero_shot":
        if not best.exists():
            raise ConfigError(f"{run_dir} has no trained checkpoint (checkpoint/best.pt); run `xlpt train` first")
        checkpoints.load_trainable_state(model, checkpoints.load(best))
    return model, tokenizer


def evaluate_language(model, tokenizer, cfg: RunConfig, examples, progress: bool, desc: str, write_tsv=None):
    spec = get_task(cfg.data.task)
    if cfg.method.name == "zero_shot":
        from xlpt.evaluation.zero_shot import evaluate_zero_shot

        return evaluate_zero_shot(model.backbone, tokenizer, cfg, examples, progress, desc)
    if spec.kind == "pair":
        from xlpt.evaluation.pairs import evaluate_pairs

        return evaluate_pairs(model, tokenizer, cfg, examples, progress, desc)
    from xlpt.evaluation.tagging import evaluate_tagging

    return evaluate_tagging(model, tokenizer, cfg, examples, progress, desc, write_tsv=write_tsv)


def evaluate_run(run_dir: str | Path, split: str = "test", languages: str | None = None,
                 progress: bool = True, echo: bool = True) -> dict:
    run_dir = Path(run_dir)
    cfg = read_config(run_dir)
    log = RunLog(run_dir, echo)
    spec = get_task(cfg.data.task)
    sources = local_sources(cfg)
    plan = plan_languages(cfg, split, languages or cfg.data.eval_languages, sources)
    if not plan:
        raise ConfigError(f"no language has a labeled {split!r} or dev split for {cfg.data.task} in {cfg.data.data_dir}")
    model, tokenizer = load_trained_model(run_dir, cfg)
    per_language, files = {}, []
    for lang, lang_split in tqdm(plan.items(), desc=f"evaluate {split}", unit="lang", disable=not progress):
        examples, label, loaded = _eval_examples(cfg, lang, lang_split, sources)
        files += loaded.all_files
        # Tagging predictions are also written in the input format (token<TAB>tag), readable by other tools.
        tsv = run_dir / "predictions" / split / f"{lang}.tsv" if spec.kind == "tagging" else None
        metrics, records = evaluate_language(model, tokenizer, cfg, examples, progress=False, desc=lang, write_tsv=tsv)
        metrics["split"] = label
        if getattr(loaded, "counts", {}).get("reconstructed"):
            metrics["labels_reconstructed"] = loaded.counts["reconstructed"]
        per_language[lang] = metrics
        write_predictions(run_dir / "predictions" / split / f"{lang}.jsonl", records)
        if lang_split != split:
            log(f"{lang}: no labeled {split} split; evaluated on {label} ({len(examples)} examples)")
    results = assemble_results(cfg, run_dir, split, spec, per_language, model, files)
    path = results_path(run_dir, split)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(results, indent=2), encoding="utf-8")
    tmp.replace(path)
    log(f"wrote {path}: average {spec.metric} {100 * results['average']:.2f} over {len(per_language)} languages")
    return results


def assemble_results(cfg, run_dir, split, spec, per_language, model, files) -> dict:
    metric = spec.metric
    scores = {lang: m[metric] for lang, m in per_language.items()}
    non_en = [v for lang, v in scores.items() if lang != "en"]
    summary_path = run_dir / "train_summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    uses_prompt = cfg.method.name in PROMPT_METHODS
    return {
        "task": cfg.data.task, "method": cfg.method.name, "model": cfg.model.name, "run_id": run_id(cfg),
        **parameter_report(model), "seed": cfg.train.seed, "split": split, "metric": metric,
        "prompt_length": cfg.method.prompt_length if uses_prompt else None,
        "prompt_init": cfg.method.prompt_init if uses_prompt else None,
        "formulation": cfg.method.formulation if spec.kind == "pair" else "tagging_head",
        "learning_rate": learning_rate(cfg),
        "languages": per_language,
        "average": sum(scores.values()) / len(scores),
        "average_without_en": sum(non_en) / len(non_en) if non_en else None,
        "training": {k: summary.get(k) for k in ("steps", "best_step", "best_dev_score", "tokens_per_second",
                                                 "peak_memory_mb", "seconds", "n_train")},
        "config": cfg.to_dict(),
        "provenance": provenance.collect(files + [Path(p) for p in summary.get("data_files", {})]),
    }


def write_predictions(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
