"""`xlpt tokenization`: per-language tokenizer statistics of a task's text, with XGLM pretraining shares."""

from __future__ import annotations

import argparse
import json
import os
import sys

from xlpt.cli.options import add_include_path, apply_include_path
from xlpt.errors import ConfigError

DATA_DIR_ENV = "XLPT_DATA_DIR"

_DESCRIPTION = """\
Tokenize a task's text per language and report: fertility (subwords per word), the share of words
split into 2+ subwords, the share of unknown tokens, characters per token, the number of distinct
vocabulary pieces used (and their share of the vocabulary), joined with XGLM's pretraining share of
the language (natural and upsampled, from the XGLM model card) and whether XGLM saw it at all.

The default corpus is SIB-200 (--task sib200): the same 1,004 FLORES-200 sentences in every language,
so languages are compared on equal content. Languages are then FLORES-200 codes (eng_Latn, zho_Hans).

Words: tagging tasks (udpos, panx) use the dataset's own word tokens; text and pair tasks (sib200, xnli,
pawsx) split sentences on whitespace. For scripts without spaces between words (zh, ja, th, my, ...;
for FLORES-200 codes the script decides: Hans, Hant, Jpan, Thai, Laoo, Khmr, Mymr, Tibt) a whitespace
"word" is meaningless, so those report fertility as null with whitespace_segmented=false.
Each word is tokenized as it appears after a space; a bare "▁" before a word's pieces is not counted.
"""


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return number


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "tokenization", help="tokenizer statistics per language (fertility, unknowns, pretraining share)",
        description=_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", required=True,
                        help="model or tokenizer: a Hugging Face name or a local folder with tokenizer files")
    parser.add_argument("--task", default="sib200", help="task whose text is tokenized (default: sib200, parallel "
                        "sentences in 199 languages); xnli, pawsx, udpos, panx or yours")
    add_include_path(parser)
    parser.add_argument("--data-dir", default=os.environ.get(DATA_DIR_ENV),
                        help=f"data folder (the shared data, or a task's data.path root); default: ${DATA_DIR_ENV}")
    parser.add_argument("--split", default="dev", choices=("dev", "test", "train"),
                        help="split to read (default: dev); a language without it falls back to test (dev for "
                             "test) and the split used is reported per language")
    parser.add_argument("--languages", default="all",
                        help="'all' (default: every language present in the data) or a comma list, e.g. de,fr")
    parser.add_argument("--max-examples", type=_positive_int, default=None,
                        help="read at most N examples (pairs or sentences) per language: a seeded sample of rows "
                        "(seed 0; the same rows in every language of a parallel task), never the first N "
                        "(default: all)")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object {model, task, split, languages: {LANG: {...}}, pipeline_check, "
                        "notices} instead of a table")
    parser.set_defaults(func=run)


def run(args) -> int:
    from xlpt.analysis.tokenization import tokenization_stats
    from xlpt.tasks import get_task

    apply_include_path(args)
    task = get_task(args.task)  # unknown task -> ConfigError listing the valid ones, before loading anything
    if not args.data_dir:
        raise ConfigError(f"no data folder given: pass --data-dir or set ${DATA_DIR_ENV}")
    from xlpt.models.hub_access import model_access

    model_access(args.model)  # a missing folder or an unreachable hub id: one line before any text is read
    result = tokenization_stats(args.model, task, args.data_dir, split=args.split, languages=args.languages,
                                max_examples=args.max_examples, progress=True)
    if not result["languages"]:
        raise ConfigError(f"no {task.name} text could be read from {args.data_dir} for the requested languages")
    result.update(model_notices(args.model))
    if args.json:
        for notice in result["notices"]:  # the console says it too; standard output stays one JSON object
            print(notice, file=sys.stderr)
    print(json.dumps(result, ensure_ascii=False, indent=1) if args.json else format_table(result))
    return 0


def model_notices(model: str) -> dict:
    """{pipeline_check, notices}: what train, evaluate and report say of the model (a pipeline check built by
    `xlpt model tiny`, or an `xlpt lab` model's own notice), so statistics of it say so wherever they go."""
    from xlpt.models.origin import pipeline_notice, read_origin

    notice = pipeline_notice(model, read_origin(model))
    return {"pipeline_check": bool(notice and notice.startswith("PIPELINE CHECK")),
            "notices": [notice] if notice else []}


def _fmt(value, pattern: str = "{:.2f}", scale: float = 1.0) -> str:
    return "-" if value is None else pattern.format(value if scale == 1 else value * scale)


_COLUMNS = ("lang", "split", "words", "fert", "split%", "unk%", "chr/tok", "pieces", "vocab%", "ws",
            "natural%", "sampled%", "seen")
"""natural% = XGLM's share of pretraining tokens per language; sampled% = its share of the upsampled mixture the
model actually trained on (the report's "natural share" / "sampled share")."""


def _row(lang: str, stats: dict) -> tuple[str, ...]:
    return (
        lang, stats["split"], _fmt(stats["n_words"], "{:d}"), _fmt(stats["fertility"]),
        _fmt(stats["split_share"], "{:.1f}", 100), _fmt(stats["unk_share"], "{:.3f}", 100),
        _fmt(stats["chars_per_token"]), str(stats["distinct_pieces"]), _fmt(stats["vocab_share"], "{:.2f}", 100),
        "yes" if stats["whitespace_segmented"] else "no",
        _fmt(stats["pretraining_share"], "{:.3f}", 100), _fmt(stats["pretraining_share_upsampled"], "{:.2f}", 100),
        "yes" if stats["in_pretraining"] else "NO",
    )


def format_table(result: dict) -> str:
    """A fixed-width table, one row per language, followed by the per-language notes."""
    rows = [_COLUMNS] + [_row(lang, stats) for lang, stats in result["languages"].items()]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
    lines = [*result.get("notices", ())]
    lines += [f"model: {result['model']}  task: {result['task']}  split: {result['split']}  "
             f"vocabulary: {result['vocab_size']}  words: {result['word_unit']}"]
    lines += ["  ".join(cell.rjust(width) for cell, width in zip(row, widths)) for row in rows]
    notes = [f"  {lang}: {stats['note']}" for lang, stats in result["languages"].items() if stats["note"]]
    if notes:
        lines += ["", "notes:", *notes]
    for lang, why in result.get("skipped", {}).items():
        lines.append(f"skipped {lang}: {why}")
    lines.append(f"pretraining shares: {result['pretraining_source']}")
    return "\n".join(lines)
