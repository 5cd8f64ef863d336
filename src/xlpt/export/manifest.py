"""xlpt's two files beside an exported PEFT adapter: the manifest and the head.

xlpt_export.json (format "xlpt-peft-export", version 1), a JSON object:

    format, version        "xlpt-peft-export", 1
    peft_type              PROMPT_TUNING | PREFIX_TUNING | LORA (as in adapter_config.json)
    method                 {"name", "trains" (one line: what the method trains), and the method's own result
                           fields (prompt tuning: prompt_length, prompt_position)}
    base_model             the run's model.name, resolved to where it was found (what PeftModel.from_pretrained
                           must be given as base)
    base_model_identity    {name_or_path, model_type, hidden_size, vocab_size, embedding_fingerprint}: which
                           base the adapter was trained on; `method.init_from` refuses another base
                           (export/base_model.py); absent in exports of older versions
    pipeline_check         true when the base model is a pipeline check (`xlpt model tiny`): not a finding
    notices                sentences every use of the export must carry (the pipeline-check banner, an
                           unfinished run's checkpoint used with --allow-unfinished)
    input                  how text must reach the adapter:
        start_tokens         "keep": tokenize as the tokenizer does by default (add_special_tokens=True;
                             lm-eval's default) | "omit": without the start tokens (add_special_tokens=False;
                             lm-eval add_bos_token=False), for an after_bos prompt converted with
                             --start-tokens-in-prompt
        virtual_start_tokens how many leading virtual tokens are the start tokens' embeddings (0 or k)
        prompt_position      the run's method.prompt_position (prompt tuning), else null
    head                   null, or {"file": "xlpt_head.safetensors", "shapes": {name: [..]}, "reads"}:
                           a linear layer on the final hidden state (after the last layer norm) at the
                           position(s) `reads` names: the answer slot (last real token) for classification,
                           each word's last/first/mean subword (head.word_repr) for tagging
    task                   the task definition as used (name, family, labels in head-row order, templates, ...)
    template               the resolved template {"template", "label_words"} of a run that reads label words
                           (the family's formulation "verbalizer"), else null
    run                    {"path", "run_id", "best_step", "best_dev_score", "state", "reason", "checkpoint_step"}:
                           state is done | diverged | failed | interrupted | running | unfinished
    config                 the run's resolved config
    check                  {"max_abs_logprob_difference", "tolerance", "dtype", "probe_texts"}: export's own check
    versions               xlpt, torch, transformers, peft, ... used for the export

xlpt_head.safetensors: the head's trainable tensors under their xlpt names (`head.weight` (labels, d),
`head.bias` (labels,)), float32.
"""

from __future__ import annotations

import json
from pathlib import Path

from xlpt.errors import ConfigError

MANIFEST = "xlpt_export.json"
HEAD_FILE = "xlpt_head.safetensors"
FORMAT, VERSION = "xlpt-peft-export", 1


def build_manifest(cfg, task, opened, form, head: dict, check: dict, identity: dict | None = None) -> dict:
    from xlpt import provenance
    record = cfg.method_record
    fields = record.result_fields(cfg.method)
    family = task.family_record
    template = family.template(task, cfg) if family.formulation(task, cfg) == "verbalizer" else None
    template = template.model_dump(mode="json", by_alias=True) if template is not None else None
    return {
        "format": FORMAT, "version": VERSION,
        "peft_type": form.peft_type,
        "method": {"name": record.name, "trains": record.trained_parts, **fields},
        "base_model": opened.model,
        "base_model_identity": identity,
        "pipeline_check": opened.source.pipeline_check,
        "notices": opened.notices(),
        "input": {"start_tokens": "keep" if form.feeds_start_tokens else "omit",
                  "virtual_start_tokens": form.virtual_start_tokens,
                  "prompt_position": fields.get("prompt_position")},
        "head": None if not head else {
            "file": HEAD_FILE, "shapes": {name: list(t.shape) for name, t in head.items()},
            "reads": family.head_reads(task, cfg)},
        "task": task.model_dump(mode="json", by_alias=True),
        "template": template,
        "run": run_record(opened),
        "config": cfg.to_dict(),
        "check": check,
        "versions": provenance.package_versions(),
    }


def run_record(opened) -> dict:
    """The run an export comes from: where, which, its state and the checkpoint's step (see source_run.py)."""
    from xlpt.run_dir import run_id

    summary = opened.run.read_summary() or {}
    return {"path": str(opened.run.path.resolve()), "run_id": run_id(opened.cfg), "best_step": summary.get("best_step"),
            "best_dev_score": summary.get("best_dev_score"), **opened.source.record()}


def read_manifest(folder: Path, key: str = "method.init_from") -> dict | None:
    """The manifest of an xlpt export; None for an adapter PEFT wrote by itself (no manifest)."""
    path = Path(folder) / MANIFEST
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise ConfigError(f"{key}: {path} cannot be read ({type(err).__name__}: {str(err)[:100]})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ConfigError(f"{key}: {path} is not an xlpt export manifest (no \"format\": \"{FORMAT}\")")
    if data.get("version") != VERSION:
        raise ConfigError(f"{key}: {path} has version {data.get('version')!r}; this xlpt reads version {VERSION}")
    start = data.get("input", {}).get("virtual_start_tokens") if isinstance(data.get("input"), dict) else None
    if not isinstance(start, int) or isinstance(start, bool) or start < 0:
        raise ConfigError(f"{key}: {path}: input.virtual_start_tokens must be a whole number >= 0, got {start!r}")
    return data


def usage_notes(manifest: dict) -> str:
    """The README section: how to load the adapter and feed it text so it computes what xlpt computed."""
    base, keep = manifest["base_model"], manifest["input"]["start_tokens"] == "keep"
    lines = ["", "", "## Using this adapter (written by `xlpt export`)", "",
             *[f"**{notice}**\n" for notice in manifest.get("notices", ())],
             "```python",
             "from peft import PeftModel",
             "from transformers import AutoModelForCausalLM, AutoTokenizer",
             f"base = AutoModelForCausalLM.from_pretrained({base!r})",
             "model = PeftModel.from_pretrained(base, 'THIS_FOLDER')",
             f"tokenizer = AutoTokenizer.from_pretrained({base!r})",
             f"ids = tokenizer(text, add_special_tokens={keep}, return_tensors='pt')",
             "```", ""]
    if keep:
        lines.append("Tokenize text as the tokenizer does by default (with its start tokens). lm-evaluation-harness: "
                     f"`--model hf --model_args pretrained={base},peft=THIS_FOLDER`.")
    else:
        k = manifest["input"]["virtual_start_tokens"]
        lines.append(f"The first {k} virtual token(s) are the tokenizer's start token(s) (the run placed its prompt "
                     "after them), so feed text WITHOUT the start tokens (`add_special_tokens=False`); with them the "
                     "model would read the start tokens twice. lm-evaluation-harness: `--model_args "
                     f"pretrained={base},peft=THIS_FOLDER,add_bos_token=False`.")
    if manifest["head"]:
        lines.append(f"\nThe run's task head is not part of the PEFT adapter: it is in `{HEAD_FILE}` (see "
                     f"`{MANIFEST}` for what it reads and its label order).")
    if manifest["template"]:
        lines.append(f"\nLabels are read from label words after the template (`{MANIFEST}` `template`).")
    return "\n".join(lines) + "\n"
