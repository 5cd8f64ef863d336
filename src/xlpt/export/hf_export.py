"""A fully fine-tuned run as an ordinary Hugging Face model folder (`xlpt export --format hf`).

The run's best checkpoint (checkpoint/best.safetensors) holds whole tensors even when training was
sharded (rank 0 gathers them when it writes), under the task model's names: `backbone.lm.<the LM's own
name>` for the language model, `head.*` for a task head. Export loads the run's base LM on the CPU, builds
the task model as training did, copies the checkpoint in (every name and shape checked), and saves the LM
with `save_pretrained` plus its tokenizer. A head of the task's own (linear_head, tagging) is not part of a
causal LM; it is written beside it as xlpt_head.safetensors. The folder's config records where it came
from (models.origin); a model built from a pipeline-check model stays marked as one. xlpt_export.json
beside it names the run, its state and the checkpoint's step, and carries the model's notices. The folder
is written as a hidden sibling and renamed when complete: it appears whole or not at all.
"""

from __future__ import annotations

from pathlib import Path

from xlpt import checkpoints
from xlpt.errors import ConfigError

HEAD_FILE = "xlpt_head.safetensors"
MANIFEST = "xlpt_export.json"
FORMAT, VERSION = "xlpt-hf-export", 1


def export_run(run_dir, out, allow_unfinished: bool = False, model: str | None = None, echo=None) -> Path:
    """Write the run's best weights to `out` as a Hugging Face model folder; returns `out`. `model`: the base
    model to load instead of the run's model.name; `echo`: called with each console line about the run."""
    from xlpt.export.peft_export import check_out, move_into_place, partial_folder, write_failed
    from xlpt.export.source_run import open_run

    out = Path(out)
    opened = open_run(run_dir, model, allow_unfinished, refuse=_refuse_without_weights)
    check_out(out)
    for line in opened.lines() if echo else ():
        echo(line)
    partial = partial_folder(out)
    try:
        _write(opened, partial)
        move_into_place(partial, out)
    except Exception as err:  # a full disk: OSError, or safetensors'/torch's own error types
        raise write_failed(out, err) from None
    finally:
        import shutil

        shutil.rmtree(partial, ignore_errors=True)
    return out


def _refuse_without_weights(cfg, run) -> None:
    if not cfg.method_record.updates_all_weights:
        raise ConfigError(f"{run.path}: {cfg.method_record.name} does not train the model's own weights, so the base model "
                          f"({cfg.model.name}) is unchanged; export its trained parameters with --format peft")


def _write(opened, folder: Path) -> None:
    from xlpt.atomic_files import write_json_atomic
    from xlpt.models.identity import check_trained_base
    from xlpt.models.build import build_task_model
    from xlpt.models.loading import load_causal_lm
    from xlpt.models.origin import mark_model, read_origin
    from xlpt.run_dir import run_id
    from xlpt.tasks import get_task

    run, cfg = opened.run, opened.cfg
    state = checkpoints.load_weights(run.best_checkpoint)  # missing or damaged: one RunFileError
    lm, tokenizer = load_causal_lm(opened.model, cfg.model.dtype, "cpu")
    check_trained_base(run.best_checkpoint, lm, opened.model)  # before the checkpoint's weights are copied in
    model = build_task_model(cfg, get_task(cfg.data.task), lm, tokenizer)
    checkpoints.load_trainable_state(model, state, run.best_checkpoint)
    folder.mkdir(parents=True)
    lm.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    head = {name: tensor for name, tensor in state.items() if not name.startswith("backbone.")}
    if head:
        checkpoints.save_weights(head, folder / HEAD_FILE)
    base = read_origin(opened.model)
    step = opened.source.step
    mark_model(folder, "xlpt export", f"{cfg.model.name} fully fine-tuned on {cfg.data.task} ({cfg.data.train_lang}), "
               f"run {run_id(cfg)}, checkpoint of step {step} (training {opened.source.state})"
               + (f"; task head in {HEAD_FILE}" if head else ""),
               probe_text=base.get("probe_text"), pipeline_check=bool(base.get("pipeline_check")),
               notice=base.get("notice"))
    write_json_atomic(folder / MANIFEST, {
        "format": FORMAT, "version": VERSION, "base_model": opened.model,
        "pipeline_check": opened.source.pipeline_check, "notices": opened.notices(),
        "run": {"path": str(run.path.resolve()), "run_id": run_id(cfg), **opened.source.record()},
        "head": HEAD_FILE if head else None, "config": cfg.to_dict()})
