"""Write a trained run as a PEFT adapter folder (the format is described in export/__init__.py).

Steps: read the run and refuse what has no adapter (before torch is imported); load the run's best
weights into its task model; take the adapter's tensors (forms.form_of) and xlpt's log-probabilities on
the probe texts; free the task model; build a PeftModel on a fresh copy of the base model with those
tensors; check that it reproduces xlpt (check.py); then let PEFT's `save_pretrained` write the folder,
and add the head and the manifest. The folder appears complete or not at all (written beside it, then
renamed).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from xlpt.errors import ConfigError
from xlpt.atomic_files import write_json_atomic
from xlpt.models.identity import base_identity, check_trained_base
from xlpt.export.manifest import HEAD_FILE, MANIFEST, build_manifest, usage_notes
from xlpt.export.source_run import open_run
from xlpt.run_dir import RunDir


def export_run(run_dir: str | os.PathLike, out: str | os.PathLike, start_tokens_in_prompt: bool = False,
               device: str | None = None, dtype: str = "float32", allow_unfinished: bool = False,
               model: str | None = None, echo=None) -> dict:
    """Export the run's best checkpoint to `out` (a new or empty folder). Returns the manifest written.
    `model`: the base model to load instead of the run's model.name (a run trained elsewhere); `echo`: called
    with each console line about the run (its notices, state and checkpoint) before the work starts."""
    out = Path(out)
    opened = open_run(run_dir, model, allow_unfinished, refuse=refuse_without_adapter)
    run, cfg = opened.run, opened.cfg  # as trained: the manifest records this config (and its run id)
    check_out(out)
    for line in opened.lines() if echo else ():
        echo(line)
    loading = cfg.model_copy(deep=True)
    set_model(loading, name=opened.model, dtype=dtype, device=device)

    import gc

    from peft import get_peft_model

    from xlpt.evaluation.evaluate import load_trained_model
    from xlpt.export.check import PROBE_TEXTS, TOLERANCE, largest_difference, peft_logprobs, xlpt_logprobs
    from xlpt.export.forms import form_of, head_state
    from xlpt.models.loading import load_causal_lm
    from xlpt.tasks import get_task

    task = get_task(cfg.data.task)
    model, tokenizer = load_trained_model(run, loading, task)
    check_trained_base(run.best_checkpoint, model.backbone.lm, opened.model)
    form = form_of(model, cfg, tokenizer, start_tokens_in_prompt)
    head = head_state(model)
    ours = xlpt_logprobs(model, tokenizer)
    del model  # PEFT gets a fresh copy of the base model (xlpt's LoRA layers sit inside the old one)
    gc.collect()

    lm, _ = load_causal_lm(loading.model.name, loading.model.dtype, loading.model.device)
    identity = base_identity(lm, opened.model)  # `method.init_from` checks it (base_model.py)
    peft_model = get_peft_model(lm, form.config(lm))
    form.write(peft_model)
    difference = largest_difference(ours, peft_logprobs(peft_model, tokenizer, form.feeds_start_tokens))
    tolerance = TOLERANCE[dtype]
    if not difference <= tolerance:
        raise ConfigError(f"export check failed: the PEFT adapter's log-probabilities differ from the run's by "
                          f"{difference:.3g} (> {tolerance:g}) on the probe texts; nothing was written. This "
                          "combination of transformers/PEFT does not reproduce xlpt's forward for this model")
    check = {"max_abs_logprob_difference": difference, "tolerance": tolerance, "dtype": dtype,
             "probe_texts": len(PROBE_TEXTS)}
    manifest = build_manifest(cfg, task, opened, form, head, check, identity)
    manifest["adapter"] = form.describe()
    write_folder(out, peft_model, head, manifest)
    return manifest


def refuse_without_adapter(cfg, run: RunDir) -> None:
    """The refusals that need neither torch nor the model: a method PEFT cannot hold, no checkpoint."""
    from xlpt.export.forms import refuse_without_form

    refuse_without_form(cfg.method_record, where=f"{run.path}: ")
    if not run.best_checkpoint.exists():
        raise ConfigError(f"{run.path} has no trained checkpoint (checkpoint/best.safetensors); run `xlpt train` first")


def set_model(cfg, **values) -> None:
    """Override model.* settings of the run (None = keep), each checked as the config checks it."""
    from pydantic import ValidationError

    from xlpt.validation_errors import describe_validation_error

    for key, value in values.items():
        if value is not None:
            try:
                setattr(cfg.model, key, value)
            except ValidationError as err:
                raise ConfigError(f"--{key}: {describe_validation_error(err, 'model.')}") from None


def check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file; give a new folder")
    if out.is_dir() and any(out.iterdir()):
        raise ConfigError(f"--out {out} already exists and is not empty; give a new folder (nothing is overwritten)")


def write_folder(out: Path, peft_model, head: dict, manifest: dict) -> None:
    from xlpt.checkpoints import save_weights

    partial = partial_folder(out)
    try:
        peft_model.save_pretrained(str(partial))  # adapter_config.json, adapter_model.safetensors, README.md
        if head:
            labels = json.dumps(manifest["task"]["labels"])
            save_weights(head, partial / HEAD_FILE, {"format": "xlpt-head", "labels": labels})
        write_json_atomic(partial / MANIFEST, manifest)
        with open(partial / "README.md", "a", encoding="utf-8") as readme:
            readme.write(usage_notes(manifest))
        move_into_place(partial, out)
    except Exception as err:  # a full disk surfaces as OSError, or as safetensors'/torch's own error types
        raise write_failed(out, err) from None
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def partial_folder(out: Path) -> Path:
    """The hidden sibling an export is written into; renamed to `out` once complete (the folder appears
    whole or not at all, and a failed export leaves nothing that would refuse the retry)."""
    partial = out.with_name(f".{out.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    return partial


def move_into_place(partial: Path, out: Path) -> None:
    if out.is_dir():
        out.rmdir()  # empty: checked before (a file appearing meanwhile makes this fail, never overwritten)
    os.replace(partial, out)


def _os_reason(message: str) -> str | None:
    """The OS error inside a library's own error text (safetensors: `I/O error: ... (os error 28)`)."""
    import re

    found = re.search(r"\bcode:\s*(\d+)|\(os error (\d+)\)", message)
    return os.strerror(int(found.group(1) or found.group(2))) if found else None


def write_failed(out: Path, err: Exception) -> Exception:
    from xlpt.errors import XlptError

    if isinstance(err, XlptError):
        return err
    reason = getattr(err, "strerror", None) or _os_reason(str(err)) or " ".join(str(err).split())[:160] or \
        type(err).__name__
    return ConfigError(f"--out {out}: the export could not be written ({reason}); nothing was left behind, so the "
                       "same command can be run again once there is space (or a writable folder)")
