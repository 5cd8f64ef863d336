"""Where a model folder came from, recorded in its own `config.json` under the key `xlpt_origin`.

Models that `xlpt model tiny` builds are random or toy models: numbers from them check the pipeline,
they are not findings. Their config says so, and every result computed with them carries a banner (see
`pipeline_check`). Models of `xlpt lab` are small models pretrained on synthetic languages: their
numbers are findings about those languages, with limits their `notice` states (it replaces the banner
and is carried into every result, like the banner). The marker lives in the Hugging Face config, so
it survives `save_pretrained` / `from_pretrained` and travels with the folder.

    "xlpt_origin": {"made_by": "xlpt model tiny", "pipeline_check": true,
                    "description": "random 2-layer XGLM, d=64", "probe_text": "the cat and the house"}
    "xlpt_origin": {"made_by": "xlpt lab", "pipeline_check": false, "description": "...",
                    "notice": "SYNTHETIC LANGUAGES: ...", "probe_text": "..."}

`probe_text` is a sentence the model's own tokenizer must segment into known pieces (used by
`models.tokenizer.check_tokenizer` for tokenizers of synthetic languages, which know no English).
Reading this needs no torch: it is plain JSON.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from xlpt.atomic_files import write_json_atomic

KEY = "xlpt_origin"


def read_origin(name_or_path: str | os.PathLike) -> dict:
    """The folder's `xlpt_origin` record, or {} (hub names, folders without the key, unreadable configs)."""
    config = Path(name_or_path).expanduser() / "config.json"
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    origin = data.get(KEY) if isinstance(data, dict) else None
    return origin if isinstance(origin, dict) else {}


def mark_model(folder: str | os.PathLike, made_by: str, description: str, probe_text: str | None = None,
               pipeline_check: bool = True, notice: str | None = None) -> dict:
    """Add the `xlpt_origin` record to `folder/config.json` (written by `save_pretrained` before).

    `notice`: for a model that is not a pipeline check, the sentence every result of it must carry
    (what its numbers do and do not show)."""
    path = Path(folder) / "config.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    origin = {"made_by": made_by, "pipeline_check": pipeline_check, "description": description}
    if probe_text:
        origin["probe_text"] = probe_text
    if notice:
        origin["notice"] = notice
    data[KEY] = origin
    write_json_atomic(path, data, sort_keys=True)
    return origin


def pipeline_notice(model_name: str, origin: dict) -> str | None:
    """The banner every result of a pipeline-check model carries, the model's own `notice` for other
    models xlpt built (`xlpt lab`), or None for ordinary models. Only the banner starts with
    "PIPELINE CHECK" (evaluation sets results.json's `pipeline_check` from that)."""
    if not origin.get("pipeline_check"):
        notice = origin.get("notice")
        return f"{notice} (model: {model_name})" if isinstance(notice, str) and notice.strip() else None
    what = origin.get("description") or "a model built by xlpt"
    return (f"PIPELINE CHECK, NOT A FINDING: {model_name} is {what} (made by `{origin.get('made_by', 'xlpt')}`); "
            "its numbers test that the pipeline works and say nothing about the research question.")
