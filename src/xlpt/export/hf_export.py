"""A fully fine-tuned run as an ordinary Hugging Face model folder (`xlpt export --format hf`).

The run's best checkpoint (checkpoint/best.safetensors) holds whole tensors even when training was
sharded (rank 0 gathers them when it writes), under the task model's names: `backbone.lm.<the LM's own
name>` for the language model, `head.*` for a task head. Export loads the run's base LM on the CPU, builds
the task model as training did, copies the checkpoint in (every name and shape checked), and saves the LM
with `save_pretrained` plus its tokenizer. A head of the task's own (linear_head, tagging) is not part of a
causal LM; it is written beside it as xlpt_head.safetensors. The folder's config records where it came
from (models.origin); a model built from a pipeline-check model stays marked as one.
"""

from __future__ import annotations

from pathlib import Path

from xlpt import checkpoints
from xlpt.errors import ConfigError
from xlpt.run_dir import RunDir, run_id

HEAD_FILE = "xlpt_head.safetensors"


def export_run(run_dir, out) -> Path:
    """Write the run's best weights to `out` as a Hugging Face model folder; returns `out`."""
    from xlpt.models.build import build_task_model
    from xlpt.models.loading import load_causal_lm
    from xlpt.models.origin import mark_model, read_origin
    from xlpt.tasks import get_task

    run = RunDir(run_dir)
    cfg = run.read_config()
    if not cfg.method_record.updates_all_weights:
        raise ConfigError(f"{run.path}: {cfg.method.name} does not train the model's own weights, so the base model "
                          f"({cfg.model.name}) is unchanged; export its trained parameters with --format peft")
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(f"--out {out} exists and is not an empty folder")
    state = checkpoints.load_weights(run.best_checkpoint)  # missing or damaged: one RunFileError
    lm, tokenizer = load_causal_lm(cfg.model.name, cfg.model.dtype, "cpu")
    model = build_task_model(cfg, get_task(cfg.data.task), lm, tokenizer)
    checkpoints.load_trainable_state(model, state, run.best_checkpoint)
    out.mkdir(parents=True, exist_ok=True)
    lm.save_pretrained(out)
    tokenizer.save_pretrained(out)
    head = {name: tensor for name, tensor in state.items() if not name.startswith("backbone.")}
    if head:
        checkpoints.save_weights(head, out / HEAD_FILE)
    base = read_origin(cfg.model.name)
    mark_model(out, "xlpt export", f"{cfg.model.name} fully fine-tuned on {cfg.data.task} ({cfg.data.train_lang}), "
               f"run {run_id(cfg)}, best dev step" + (f"; task head in {HEAD_FILE}" if head else ""),
               probe_text=base.get("probe_text"), pipeline_check=bool(base.get("pipeline_check")))
    return out
