"""Start a run from a PEFT adapter: `method.init_from=FOLDER` (written by `xlpt export`, or by PEFT itself).

Training builds the run's task model as usual (the method's own initialisation included), then this
module overwrites the method's parameters with the adapter's, after checking that the adapter is of the
method's kind and fits the run's settings exactly (prompt length, LoRA rank and scale, layers adapted);
a mismatch is one ConfigError naming the setting to change, never a silent reshape or a partial load.

What is generic lives here: reading the folder (config, weights, manifest), the base-model identity, the
adapter's kind against the method's, and the task head (xlpt_head.safetensors, xlpt exports only: loaded
when the run has a head and the labels agree). What a PROMPT_TUNING, PREFIX_TUNING or LORA table means
for the run's parameters is the method's own PEFT form (`methods/<m>/peft.py`, see export/forms.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from xlpt.errors import ConfigError
from xlpt.export.forms import KEY
from xlpt.export.manifest import HEAD_FILE, read_manifest

WEIGHT_FILES = ("adapter_model.safetensors", "adapter_model.bin")


@dataclass
class ImportedAdapter:
    """What was loaded, for run.log and train_summary.json."""

    folder: Path
    peft_type: str
    files: dict[str, str] = field(default_factory=dict)
    """file name -> SHA-256 of every file whose tensors were used."""
    head: str = "none"
    """loaded | fresh (the run has a head, the adapter none) | none (the run has no trainable head)."""
    warning: str | None = None
    """Set when the adapter's base model could not be checked (no recorded identity)."""
    note: str | None = None
    """Set when the adapter was trained on another task (legitimate, e.g. prompt transfer, but said)."""

    def describe(self) -> str:
        hashes = ", ".join(f"{name} sha256 {digest[:12]}" for name, digest in self.files.items())
        heads = {"loaded": f"its head from {HEAD_FILE}", "fresh": "a freshly initialised head (the adapter has none)",
                 "none": "no trainable head"}
        said = f"starting from the PEFT {self.peft_type} adapter in {self.folder} ({hashes}), with {heads[self.head]}" \
            + (f"; {self.note}" if self.note else "")
        return f"WARNING: {self.warning}; {said}" if self.warning else said

    def summary(self) -> dict:
        summary = {"folder": str(self.folder), "peft_type": self.peft_type, "sha256": self.files, "head": self.head}
        extra = {key: value for key, value in (("warning", self.warning), ("note", self.note)) if value}
        return {**summary, **extra}


def start_from_adapter(model, cfg, task, tokenizer) -> ImportedAdapter:
    """Overwrite the task model's method parameters (and head) with the adapter the method starts from
    (`record.start_from(method_cfg)`: method.init_from)."""
    from xlpt import provenance

    record = cfg.method_record
    form = record.peft_module()
    if form is None:  # pragma: no cover - only methods with a PEFT form have init_from
        raise ConfigError(f"{KEY}: method {record.name} has no PEFT adapter to start from")
    folder = Path(record.start_from(cfg.method)).expanduser().resolve()
    config, weights_file = read_adapter_config(folder)
    weights = read_adapter_weights(folder, weights_file)
    manifest = read_manifest(folder)
    warning = check_base_model(folder, manifest, config, model.backbone.lm, cfg.model.name)
    expect_type(config, form.PEFT_TYPE, record)
    form.load(model, cfg.method, tokenizer, config, weights, manifest)
    imported = ImportedAdapter(folder, config.peft_type.value,
                               {weights_file.name: provenance.sha256_file(weights_file)})
    imported.warning = warning
    trained_on = manifest.get("task", {}).get("name") if manifest and isinstance(manifest.get("task"), dict) else None
    if trained_on and trained_on != task.name:
        imported.note = f"the adapter was trained on task {trained_on} (this run: {task.name})"
    imported.head = load_head(model, cfg, task, folder, manifest)
    if imported.head == "loaded":
        imported.files[HEAD_FILE] = provenance.sha256_file(folder / HEAD_FILE)
    return imported


def check_base_model(folder: Path, manifest: dict | None, config, lm, model_name: str) -> str | None:
    """Refuse an adapter trained on another base model (a ConfigError naming both); the warning to log when
    the adapter records no identity to check (a plain PEFT adapter, an export of an older xlpt)."""
    from xlpt.models.identity import base_identity, identity_difference

    recorded = manifest.get("base_model_identity") if manifest else None
    if not isinstance(recorded, dict):
        peft_says = getattr(config, "base_model_name_or_path", None)
        return (f"{KEY}={folder} records no base-model identity (" + ("an export of an older xlpt" if manifest else
                "not an xlpt export") + (f"; PEFT names base {peft_says!r}" if peft_says else "") +
                f"): it is used on {model_name} without checking that it was trained on that model")
    current = base_identity(lm, model_name)
    difference = identity_difference(recorded, current)
    if difference:
        raise ConfigError(f"{KEY}: the adapter was trained on another base model ({recorded.get('name_or_path')}: "
                          f"{difference}); this run's model is {model_name}. An adapter only fits the weights it was "
                          f"trained with: set model.name to its base, or train from scratch without {KEY}")
    return None


def read_adapter_config(folder: Path):
    """(PEFT config, weights file) of an adapter folder, or one ConfigError saying what is missing."""
    from peft import PeftConfig

    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"{KEY}={folder}: is a file; give the adapter's folder (written by `xlpt export` or PEFT's "
                          "save_pretrained)")
    if not folder.is_dir():
        raise ConfigError(f"{KEY}={folder}: no such folder")
    if not (folder / "adapter_config.json").is_file():
        raise ConfigError(f"{KEY}={folder}: {what_it_is(folder)}")
    weights = [folder / name for name in WEIGHT_FILES if (folder / name).is_file()]
    if not weights:
        raise ConfigError(f"{KEY}={folder}: no adapter weights ({' or '.join(WEIGHT_FILES)})")
    try:
        config = PeftConfig.from_pretrained(str(folder))
    except (ValueError, TypeError, KeyError, OSError) as err:  # bad JSON, unknown peft_type, unknown keys
        raise ConfigError(f"{KEY}={folder}: adapter_config.json cannot be read ({type(err).__name__}: "
                          f"{str(err)[:150]})") from None
    return config, weights[0]


def what_it_is(folder: Path) -> str:
    """Why a folder without adapter_config.json is not an adapter, and what to do with it."""
    if (folder / "config.yaml").is_file() and (folder / "checkpoint").is_dir():
        return (f"is an xlpt run directory, not an adapter: export it first (xlpt export --run {folder} --out "
                "FOLDER), then start from FOLDER")
    if (folder / "config.json").is_file():
        return ("is a model folder, not a PEFT adapter (use it as model.name to train on it; method.init_from takes "
                "an adapter folder)")
    return "not a PEFT adapter folder (no adapter_config.json)"


def read_adapter_weights(folder: Path, weights_file: Path) -> dict:
    from peft.utils import load_peft_weights

    try:
        return load_peft_weights(str(folder), device="cpu")
    except Exception as err:  # truncated or garbled: safetensors and torch raise their own error types
        raise ConfigError(f"{KEY}={folder}: {weights_file.name} is damaged and cannot be read ({type(err).__name__}: "
                          f"{str(err)[:120]})") from None


def expect_type(config, wanted: str, record) -> None:
    if config.peft_type.value != wanted:
        raise ConfigError(f"{KEY}: the adapter is {config.peft_type.value}; method {record.name} starts from a "
                          f"{wanted} adapter")
    if getattr(config, "num_transformer_submodules", 1) not in (None, 1):
        raise ConfigError(f"{KEY}: the adapter was made for an encoder-decoder model "
                          f"(num_transformer_submodules={config.num_transformer_submodules})")


def load_head(model, cfg, task, folder: Path, manifest: dict | None) -> str:
    """Load xlpt_head.safetensors into the head; 'loaded' | 'fresh' | 'none'."""
    from xlpt.checkpoints import load_weights

    params = {f"head.{name}": p for name, p in model.head.named_parameters() if p.requires_grad}
    path = folder / HEAD_FILE
    if not path.exists():
        return "fresh" if params else "none"
    if not params:
        raise ConfigError(f"{KEY}: {path} holds a task head, but this run has no trainable head to start (it reads "
                          "label words: head.formulation=verbalizer); use head.formulation=linear_head")
    labels = tuple(manifest["task"].get("labels", ())) if manifest and isinstance(manifest.get("task"), dict) else None
    if labels != tuple(task.labels):
        raise ConfigError(f"{KEY}: the head's rows are the labels {list(labels or [])}; this run's task {task.name} "
                          f"has {list(task.labels)} (a head only fits the label set it was trained on)")
    reads = manifest["head"].get("reads") if isinstance(manifest.get("head"), dict) else None
    wanted = task.family_record.head_reads(task, cfg)
    if reads != wanted:
        raise ConfigError(f"{KEY}: the head was trained on {reads}; this run's head reads {wanted}")
    state = load_weights(path)
    wrong = sorted(set(state) ^ set(params)) + [name for name in params if name in state
                                                and tuple(state[name].shape) != tuple(params[name].shape)]
    if wrong:
        raise ConfigError(f"{KEY}: {path} does not fit this run's head ({', '.join(wrong[:3])})")
    with torch.no_grad():
        for name, param in params.items():
            param.copy_(state[name].to(param.device, param.dtype))
    return "loaded"
