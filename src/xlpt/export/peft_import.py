"""Start a run from a PEFT adapter: `method.init_from=FOLDER` (written by `xlpt export`, or by PEFT itself).

Training builds the run's task model as usual (the method's own initialisation included), then this
module overwrites the method's parameters with the adapter's, after checking that the adapter is of the
method's kind and fits the run's settings exactly (prompt length, LoRA rank and scale, layers adapted);
a mismatch is one ConfigError naming the setting to change, never a silent reshape or a partial load.

- PROMPT_TUNING -> prompt.weight. PEFT places virtual tokens before every token; a run placing its prompt
  after the tokenizer's start tokens (`method.prompt_position=after_bos` on XGLM) would compute something
  else, so it is refused unless the adapter is an xlpt export of such a run (its manifest says how many
  leading virtual tokens are the start tokens; they are checked against this tokenizer and dropped).
- PREFIX_TUNING -> prefix.prefix_keys/prefix_values (PEFT's table holds the per-layer keys/values whether
  or not the adapter was trained with `prefix_projection`: PEFT saves the projected table).
- LORA -> the run's LoRA layers (PEFT's own `set_peft_model_state_dict`, every tensor accounted for).
- xlpt_head.safetensors (xlpt exports only) -> the task head, if the run has one and the labels agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from xlpt.errors import ConfigError
from xlpt.export.forms import lora_layers_present, prefix_from_peft, start_token_ids
from xlpt.export.manifest import HEAD_FILE, head_reads, read_manifest

KEY = "method.init_from"
WEIGHT_FILES = ("adapter_model.safetensors", "adapter_model.bin")
UNSUPPORTED_LORA = ("use_dora", "use_rslora", "bias", "fan_in_fan_out", "rank_pattern", "alpha_pattern",
                    "layers_to_transform", "modules_to_save", "lora_bias", "trainable_token_indices")
"""LoRA options that change what the adapter computes and that xlpt's LoRA does not have: each must be off."""
OFF = (None, False, "none", {}, [])


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
    """Overwrite the task model's method parameters (and head) with the adapter in `cfg.method.init_from`."""
    from xlpt import provenance

    folder = Path(cfg.method.init_from).expanduser().resolve()
    config, weights_file = read_adapter_config(folder)
    weights = read_adapter_weights(folder, weights_file)
    manifest = read_manifest(folder)
    warning = check_base_model(folder, manifest, config, model.backbone.lm, cfg.model.name)
    if model.prompt is not None:
        load_prompt(model, cfg, tokenizer, config, weights, manifest)
    elif model.prefix is not None:
        load_prefix(model, cfg, config, weights)
    elif lora_layers_present(model):
        load_lora(model, cfg, config, weights)
    else:  # pragma: no cover - only methods with a prompt, a prefix or LoRA layers have init_from
        raise ConfigError(f"{KEY}: method {cfg.method.name} has no adapter to start from")
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


def expect_type(config, wanted: str, cfg) -> None:
    if config.peft_type.value != wanted:
        raise ConfigError(f"{KEY}: the adapter is {config.peft_type.value}; method {cfg.method.name} starts from a "
                          f"{wanted} adapter")
    if getattr(config, "num_transformer_submodules", 1) not in (None, 1):
        raise ConfigError(f"{KEY}: the adapter was made for an encoder-decoder model "
                          f"(num_transformer_submodules={config.num_transformer_submodules})")


def table_of(weights: dict, name: str = "prompt_embeddings") -> torch.Tensor:
    if name not in weights:
        raise ConfigError(f"{KEY}: the adapter's weights have no {name!r} (found {sorted(weights)[:3]})")
    return weights[name].float()


def load_prompt(model, cfg, tokenizer, config, weights: dict, manifest: dict | None) -> None:
    expect_type(config, "PROMPT_TUNING", cfg)
    table = table_of(weights)
    start = manifest["input"]["virtual_start_tokens"] if manifest else 0
    width = model.prompt.weight.shape[1]
    if table.ndim != 2 or table.shape[1] != width:
        raise ConfigError(f"{KEY}: the adapter's vectors have shape {tuple(table.shape)}; this model's width is "
                          f"{width}")
    length = table.shape[0] - start
    if length != cfg.method.prompt_length:
        raise ConfigError(f"{KEY}: the adapter holds {length} prompt vectors; set method.prompt_length={length}")
    if model.start_tokens:  # placements differ only where the tokenizer adds start tokens
        adapter_place = "after_bos" if start else "start"
        run_place = "after_bos" if model.insert_at else "start"
        if adapter_place != run_place:
            raise ConfigError(f"{KEY}: the adapter's virtual tokens come {_PLACES[adapter_place]}, this run's prompt "
                              f"{_PLACES[run_place]}; set method.prompt_position={adapter_place} to start from it "
                              "exactly")
    if start:
        if start != model.start_tokens:
            raise ConfigError(f"{KEY}: the adapter starts with {start} start-token vectors; this tokenizer adds "
                              f"{model.start_tokens} start tokens")
        with torch.no_grad():
            expected = model.backbone.embed(torch.tensor(start_token_ids(tokenizer), device=model.prompt.weight.device))
        if not torch.allclose(table[:start], expected.float().cpu(), atol=1e-6):
            raise ConfigError(f"{KEY}: the adapter's first {start} virtual token(s) are not this model's start-token "
                              "embeddings (trained further in PEFT, or made for another model)")
    with torch.no_grad():
        model.prompt.weight.copy_(table[start:].to(model.prompt.weight.device))


_PLACES = {"start": "before every token (PEFT's placement, method.prompt_position=start)",
           "after_bos": "after the tokenizer's start tokens (method.prompt_position=after_bos)"}


def load_prefix(model, cfg, config, weights: dict) -> None:
    expect_type(config, "PREFIX_TUNING", cfg)
    table = table_of(weights)
    layers, heads, length, head_dim = model.prefix.prefix_keys.shape
    if table.ndim != 2 or table.shape[0] != cfg.method.prompt_length:
        raise ConfigError(f"{KEY}: the adapter holds {table.shape[0]} virtual tokens; set "
                          f"method.prompt_length={table.shape[0]}")
    if table.shape[1] != layers * 2 * heads * head_dim:
        raise ConfigError(f"{KEY}: the adapter's prefix has {table.shape[1]} values per virtual token; this model "
                          f"needs {layers} layers x 2 x {heads * head_dim} = {layers * 2 * heads * head_dim}")
    keys, values = prefix_from_peft(table, layers, heads)
    with torch.no_grad():
        model.prefix.prefix_keys.copy_(keys.to(model.prefix.prefix_keys.device))
        model.prefix.prefix_values.copy_(values.to(model.prefix.prefix_values.device))


def load_lora(model, cfg, config, weights: dict) -> None:
    from peft.utils import set_peft_model_state_dict

    expect_type(config, "LORA", cfg)
    for option in UNSUPPORTED_LORA:
        value = getattr(config, option, None)
        if value not in OFF:
            raise ConfigError(f"{KEY}: the adapter uses LoRA option {option}={value!r}, which xlpt's LoRA does not "
                              "have")
    for option, key in (("r", "lora_r"), ("lora_alpha", "lora_alpha")):
        if getattr(config, option) != getattr(cfg.method, key):
            raise ConfigError(f"{KEY}: the adapter has {option}={getattr(config, option)}; set "
                              f"method.{key}={getattr(config, option)}")
    adapted = sorted({name.split(".lora_")[0].rsplit(".", 1)[-1] for name in weights if ".lora_" in name})
    lm = model.backbone.lm
    result = set_peft_model_state_dict(lm, weights, adapter_name="default")
    missing = [name for name in result.missing_keys if "lora_" in name]
    unexpected = list(result.unexpected_keys)
    if missing or unexpected:
        raise ConfigError(f"{KEY}: the adapter adapts {', '.join(adapted)} (missing here: {missing[:2]}, not in this "
                          f"run: {unexpected[:2]}); set method.lora_targets={','.join(adapted)}")


def load_head(model, cfg, task, folder: Path, manifest: dict | None) -> str:
    """Load xlpt_head.safetensors into the head; 'loaded' | 'fresh' | 'none'."""
    from xlpt.checkpoints import load_weights

    params = {f"head.{name}": p for name, p in model.head.named_parameters() if p.requires_grad}
    path = folder / HEAD_FILE
    if not path.exists():
        return "fresh" if params else "none"
    if not params:
        raise ConfigError(f"{KEY}: {path} holds a task head, but this run has no trainable head to start (it reads "
                          "label words: method.formulation=verbalizer); use method.formulation=linear_head")
    labels = tuple(manifest["task"].get("labels", ())) if manifest and isinstance(manifest.get("task"), dict) else None
    if labels != tuple(task.labels):
        raise ConfigError(f"{KEY}: the head's rows are the labels {list(labels or [])}; this run's task {task.name} "
                          f"has {list(task.labels)} (a head only fits the label set it was trained on)")
    reads = manifest["head"].get("reads") if isinstance(manifest.get("head"), dict) else None
    if reads != head_reads(cfg, task):
        raise ConfigError(f"{KEY}: the head was trained on {reads}; this run's head reads {head_reads(cfg, task)}")
    state = load_weights(path)
    wrong = sorted(set(state) ^ set(params)) + [name for name in params if name in state
                                                and tuple(state[name].shape) != tuple(params[name].shape)]
    if wrong:
        raise ConfigError(f"{KEY}: {path} does not fit this run's head ({', '.join(wrong[:3])})")
    with torch.no_grad():
        for name, param in params.items():
            param.copy_(state[name].to(param.device, param.dtype))
    return "loaded"
