"""`xlpt predict`: labels (or tags) for new text with a trained run.

Input: JSON lines, one object per example, holding the task's text fields: `text_a` and `text_b` (pair
tasks: XNLI, PAWS-X), `text` (SIB-200 and other text tasks), or `words`, a list of strings (tagging:
UDPOS, PAN-X). Optional keys: `id`, and `lang` (used by methods with per-language prompts, i.e. zero_shot;
default --lang, else the run's source language). Every other key is passed through untouched, except the
keys predict adds (and `prediction`, an older version's), which are refused rather than overwritten. Blank
lines are skipped (and counted); anything else that is not such an object (a duplicate key, NaN, text
that is not valid Unicode) stops with one line naming file:line.

Output: the same objects in the same order, each with `pred` added (the key of evaluation's
predictions/<key>/<lang>.jsonl, which `xlpt score` reads): a label name of the task, or one tag per word.
Predictions are made exactly as `xlpt evaluate` makes them (the run's best checkpoint, template,
data.max_length and batch size); inputs longer than data.max_length are truncated (or split into windows,
for tagging) the same way, and counted. Each object also gets `run`: {path, state, checkpoint_step} (state:
done, or diverged/failed/interrupted/running/unfinished with --allow-unfinished) and, when the model is a
pipeline check or the run unfinished, `pipeline_check` and `notices` (the sentences every use of these
predictions must carry), so the file says so out of context.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from xlpt.cli.export import add_unfinished_and_model
from xlpt.cli.options import add_include_path, apply_include_path
from xlpt.data.formats.predictions import OLD_PRED, PRED
from xlpt.errors import ConfigError, DataFormatError


def register(sub) -> None:
    parser = sub.add_parser("predict", help="labels (or tags) for new text (JSON lines) with a trained run",
                            description=__doc__.split("\n\n", 1)[1],
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", required=True, help="run directory written by `xlpt train`")
    parser.add_argument("--input", required=True, type=Path, help="JSON lines file of examples (see above)")
    parser.add_argument("--out", type=Path, default=None, help="output JSON lines file (default: standard output)")
    parser.add_argument("--lang", default=None, help="language of lines without a `lang` key (default: the run's "
                        "data.train_lang)")
    parser.add_argument("--device", default=None,
                        help="auto | cpu | cuda | cuda:N | mps (default: the run's model.device)")
    add_include_path(parser)
    add_unfinished_and_model(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=_predict)


def _predict(args) -> int:
    from xlpt.export.peft_export import set_model
    from xlpt.export.source_run import open_run
    from xlpt.tasks import get_task

    apply_include_path(args)
    opened = open_run(args.run, args.model, args.allow_unfinished)  # before torch is imported
    cfg = opened.cfg
    set_model(cfg, name=opened.model, device=args.device)
    task = get_task(cfg.data.task)
    if args.out is not None and args.out.is_dir():
        raise ConfigError(f"--out {args.out} is a folder; give a file name")
    examples, objects, blank = read_inputs(args.input, task, args.lang or cfg.data.train_lang)
    for line in opened.lines():
        print(line, file=sys.stderr)

    from xlpt.evaluation.evaluate import load_trained_model

    model, tokenizer = load_trained_model(opened.run, cfg, task)
    if cfg.method_record.trains and not cfg.method_record.updates_all_weights:  # the base's own weights are used
        from xlpt.models.identity import check_trained_base

        check_trained_base(opened.run.best_checkpoint, model.backbone.lm, opened.model)
    predictions, counts = predict(task, model, tokenizer, cfg, examples, progress=not args.quiet)
    added = provenance_fields(opened)
    lines = [json.dumps({**obj, PRED: pred, **added}, ensure_ascii=False) + "\n"
             for obj, pred in zip(objects, predictions)]
    if args.out is None:
        sys.stdout.writelines(lines)
    else:
        from xlpt.atomic_files import write_text_atomic

        write_text_atomic(args.out, "".join(lines))
    notes = [f"{value} {name.replace('_', ' ')}" for name, value in counts.items() if value]
    if blank:
        notes.append(f"{blank} blank line(s) skipped")
    where = f" to {args.out}" if args.out else ""
    print(f"predicted {len(predictions)} example(s){where}" + (f" ({'; '.join(notes)})" if notes else ""),
          file=sys.stderr)
    return 0


ADDED_KEYS = ("run", "pipeline_check", "notices")
"""Keys predict adds beside `pred` (an input object holding one is refused, never overwritten)."""


def provenance_fields(opened) -> dict:
    """What each output line says about where it came from (see the module docstring)."""
    fields = {"run": {"path": str(opened.run.path.resolve()), "state": opened.source.state,
                      "checkpoint_step": opened.source.step}}
    notices = opened.notices()
    if notices:
        fields.update(pipeline_check=opened.source.pipeline_check, notices=notices)
    return fields


# ------------------------------------------------------------------------------------------ input


def read_inputs(path: Path, task, default_lang: str) -> tuple[list, list[dict], int]:
    """(examples, the input objects, blank lines skipped). One DataFormatError at the first bad line."""
    from xlpt.data.formats.context import ReadContext
    from xlpt.data.formats.text import data_lines, read_text

    if not path.is_file():
        raise DataFormatError(path, None, "no such file" if not path.exists() else "not a file")
    text = read_text(ReadContext(path, task, default_lang))  # strict UTF-8, BOM/CRLF tolerated, empty refused
    examples, objects, blank = [], [], 0
    for line, raw in enumerate(data_lines(text), start=1):
        if not raw.strip():
            blank += 1
            continue
        obj = parse_line(path, line, raw, task.example_fields)
        examples.append(make_example(task, obj, default_lang, f"{path.name}:{line}", path, line))
        objects.append(obj)
    return examples, objects, blank  # read_text refused a file of blank lines


def parse_line(path: Path, line: int, raw: str, fields: tuple[str, ...]) -> dict:
    try:
        obj = json.loads(raw, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except json.JSONDecodeError as err:
        raise DataFormatError(path, line, f"invalid JSON: {err.msg} at column {err.colno}") from None
    except ValueError as err:  # from the hooks: a duplicate key, NaN/Infinity
        raise DataFormatError(path, line, str(err)) from None
    except RecursionError:
        raise DataFormatError(path, line, "invalid JSON: nested too deeply") from None
    if not isinstance(obj, dict):
        raise DataFormatError(path, line, f"expected a JSON object with {', '.join(fields)}")
    for key in (PRED, *OLD_PRED, *ADDED_KEYS):
        if key in obj:
            raise DataFormatError(path, line, f'has a "{key}" key already (xlpt predict adds '
                                  f'{", ".join(map(repr, (PRED, *ADDED_KEYS)))}; older versions "prediction"); '
                                  "rename or remove it")
    for name in fields:
        if name not in obj:
            raise DataFormatError(path, line, f"missing field {name!r} (this task reads {', '.join(fields)})")
    if "lang" in obj and not (isinstance(obj["lang"], str) and obj["lang"].strip()):
        raise DataFormatError(path, line, "'lang' must be a non-empty string")
    if "id" in obj and not is_identifier(obj["id"]):
        raise DataFormatError(path, line, "'id' must be a non-empty string or a whole number")
    return obj


def _no_duplicates(pairs: list) -> dict:
    """JSON objects with a key twice are refused: which value was meant cannot be known (json keeps the last)."""
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise ValueError(f"duplicate key {key!r} in one object")
        obj[key] = value
    return obj


def _no_constants(name: str):
    """NaN and Infinity are not JSON (Python reads them; the output would not be valid JSON lines)."""
    raise ValueError(f"{name} is not JSON (write null or a string)")


def is_identifier(value) -> bool:
    return isinstance(value, (str, int)) and not isinstance(value, bool) and bool(str(value).strip())


def make_example(task, obj: dict, default_lang: str, default_id: str, path: Path, line: int):
    """The task family's example from one input object; a bad field value is one line naming file:line."""
    lang = str(obj.get("lang", default_lang))
    row = {name: obj[name] for name in task.example_fields} | {"id": obj.get("id", default_id)}
    try:
        return task.family_record.row_to_example(task, row, lang, default_id)
    except ValueError as err:
        raise DataFormatError(path, line, str(err)) from None


# ------------------------------------------------------------------------------------------ predictions


def predict(task, model, tokenizer, cfg, examples: list, progress: bool = True) -> tuple[list, dict]:
    """(one label name or tag list per example, counts of truncations/windows), as evaluation predicts."""
    record = cfg.method_record
    if record.evaluate is not None:
        # The method scores in its own way (zero-shot in-context). Its evaluator also computes metrics,
        # which need a gold label; the prediction is the argmax of the label scores and never reads it.
        placeholder = [dataclasses.replace(ex, label=task.labels[0]) for ex in examples]
        metrics, records = record.evaluate(model, tokenizer, cfg, task, placeholder, progress, "predict")
        return [r["pred"] for r in records], {"truncated": metrics.get("truncated", 0)}
    return task.family_record.load().predict(task, model, tokenizer, cfg, examples, progress)
