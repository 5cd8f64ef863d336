"""`xlpt score`: score a prediction file against a gold file.

Tagging tasks (udpos, panx): both files are `token<TAB>tag` lines with a blank line between
sentences. The prediction must repeat the gold tokens sentence by sentence, so a misaligned file is
reported at the first differing line instead of being scored silently.
Pair tasks (xnli, pawsx): predictions are one label per line (what `write_predictions` writes); the
gold is one label per line too, or, with `--gold-format`, a data file in any pair format the data
layer reads (tsv3, txt3, hdr4, hdr4q, jsonl; e.g. `xnli/en/hf-hkunlp/test.jsonl`).
Labels must belong to the task's label set; integers are read as indices into it (PAWS-X 0/1,
XNLI 0/1/2 in the Hugging Face order entailment/neutral/contradiction).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

from xlpt.cli.options import add_include_path, apply_include_path
from xlpt.data.formats import PAIR_FORMATS, read_file
from xlpt.data.formats.predictions import read_predictions
from xlpt.data.labels import normalise_label
from xlpt.errors import ConfigError, DataFormatError
from xlpt.evaluation.metrics import score_predictions
from xlpt.tasks import TaskSpec, get_task

LABELS_FORMAT = "labels"
"""One label per line: the prediction format, and the default gold format of pair tasks."""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "score",
        help="score a prediction file against a gold file",
        description=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--task", required=True, help="udpos, panx, xnli, pawsx, sib200 or yours")
    add_include_path(parser)
    parser.add_argument("--gold", type=Path, help="gold file (not needed for xlpt's own predictions .jsonl, "
                        "which carry gold and predicted labels)")
    parser.add_argument("--pred", required=True, type=Path,
                        help="predictions: token<TAB>tag (tagging), one label per line (classification), or the "
                        "predictions/<split>/<lang>.jsonl an xlpt run writes")
    parser.add_argument(
        "--gold-format", choices=[LABELS_FORMAT, *sorted(PAIR_FORMATS - {"tsv2"})], default=LABELS_FORMAT,
        help="pair tasks: format of the gold file (default: one label per line)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a summary")
    parser.set_defaults(func=run_score)


def run_score(args: argparse.Namespace) -> int:
    apply_include_path(args)
    task = get_task(args.task)
    if args.pred.suffix == ".jsonl":
        return _score_records(args, task)
    if args.gold is None:
        raise ConfigError("--gold is required unless --pred is an xlpt predictions .jsonl")
    for path in (args.gold, args.pred):
        if not path.is_file():
            raise DataFormatError(path, None, "no such file" if not path.exists() else "not a file")
    # What one prediction is attached to decides the files' shape: a label per line, or a tag per word.
    gold, pred = _FILE_READERS[task.family_record.label_unit](args, task)
    scores = score_predictions(task, gold, pred)
    if args.json:
        print(json.dumps({"task": task.name, "gold": str(args.gold), "pred": str(args.pred), **scores}))
    else:
        print(_summary(task, args.gold, args.pred, scores))
    return 0


def _score_records(args, task) -> int:
    from xlpt.data.formats.predictions import read_prediction_records

    if args.gold is not None:
        raise ConfigError("--pred is an xlpt predictions .jsonl, which carries the gold labels: drop --gold")
    if not args.pred.is_file():
        raise DataFormatError(args.pred, None, "no such file" if not args.pred.exists() else "not a file")
    gold, pred = read_prediction_records(args.pred, task)
    if not gold:
        raise DataFormatError(args.pred, None, "no predictions to score")
    scores = score_predictions(task, gold, pred)
    if args.json:
        print(json.dumps({"task": task.name, "pred": str(args.pred), **scores}))
    else:
        print(_summary(task, args.pred, args.pred, scores))
    return 0


# ---------------------------------------------------------------------------------------------
# Reading


def _label_files(args, task: TaskSpec) -> tuple[list, list]:
    """One label per line (gold may also be a labeled data file, --gold-format)."""
    gold = _read_gold_labels(args.gold, args.gold_format, task)
    pred = read_predictions(args.pred, task)
    _check_same_count(len(gold), len(pred), args.gold, args.pred, "labels")
    return gold, pred


def _tag_files(args, task: TaskSpec) -> tuple[list, list]:
    """token<TAB>tag files whose tokens must agree sentence by sentence."""
    if args.gold_format != LABELS_FORMAT:
        raise ConfigError(f"--gold-format applies to tasks with one label per example; {task.name} files are "
                          "token<TAB>tag")
    gold_sentences = _read_tagged(args.gold, task)
    pred_sentences = _read_tagged(args.pred, task)
    _check_tokens_match(gold_sentences, pred_sentences, args.gold, args.pred)
    return [s.tags for s in gold_sentences], [s.tags for s in pred_sentences]


_FILE_READERS = {"example": _label_files, "word": _tag_files}


@dataclass(frozen=True)
class _Sentence:
    words: tuple[str, ...]
    tags: tuple[str, ...]
    line: int
    """1-based line of the first token; token k is on line `line + k`."""


def _lines(path: Path) -> list[str]:
    """The file's lines (UTF-8, BOM and CRLF tolerated), without the final newline's empty remainder."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise DataFormatError(path, None, f"cannot read file ({err.strerror or err})") from None
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise DataFormatError(path, line, f"invalid UTF-8 (byte 0x{data[err.start]:02x})") from None
    lines = text.replace("\r\n", "\n").split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


def _tag_normaliser(task: TaskSpec, path: Path):
    """`normalise_label` (names, or integer indices into the tag set), cached: tags repeat a lot."""
    cache: dict[str, str] = {}

    def tag(raw: str, line: int) -> str:
        if raw not in cache:
            try:
                cache[raw] = normalise_label(task, raw)
            except ValueError as err:
                raise DataFormatError(path, line, f"{err} for {task.name}") from None
        return cache[raw]

    return tag


def _read_tagged(path: Path, task: TaskSpec) -> list[_Sentence]:
    """`token<TAB>tag` blocks; any run of blank lines separates sentences."""
    sentences, words, tags, first = [], [], [], 0
    tag = _tag_normaliser(task, path)
    for number, line in enumerate(_lines(path), start=1):
        if not line.strip():
            if words:
                sentences.append(_Sentence(tuple(words), tuple(tags), first))
                words, tags = [], []
            continue
        fields = line.split("\t")
        if len(fields) != 2:
            raise DataFormatError(path, number, f"expected 'token<TAB>tag', found {len(fields)} tab-separated field(s)")
        if not words:
            first = number
        words.append(fields[0])
        tags.append(tag(fields[1], number))
    if words:
        sentences.append(_Sentence(tuple(words), tuple(tags), first))
    return sentences


def _read_gold_labels(path: Path, fmt: str, task: TaskSpec) -> list[str]:
    """Gold labels: one per line, or the labels of a pair-format data file (all must be labeled)."""
    if fmt == LABELS_FORMAT:
        try:
            return read_predictions(path, task)
        except DataFormatError as err:
            hint = f"{err.problem}; if the gold is a data file, name its format with --gold-format"
            raise DataFormatError(err.path, err.line, hint) from None
    labels = []
    for example in read_file(path, fmt, task=task, lang=""):
        if example.label is None:
            raise DataFormatError(path, None, f"example {example.id} has no label; the gold file must be labeled")
        labels.append(example.label)
    return labels


# ---------------------------------------------------------------------------------------------
# Alignment


def _check_tokens_match(gold: list[_Sentence], pred: list[_Sentence], gold_path: Path, pred_path: Path) -> None:
    """Raise at the first prediction line whose token differs from gold (sentence breaks included)."""
    for index, (g, p) in enumerate(zip(gold, pred), start=1):
        if g.words == p.words:
            continue
        k = next((k for k, (a, b) in enumerate(zip(g.words, p.words)) if a != b), min(len(g.words), len(p.words)))
        where = f"sentence {index}, token {k + 1}"
        if k < len(g.words) and k < len(p.words):
            problem = f"token {p.words[k]!r} does not match gold token {g.words[k]!r} ({gold_path}:{g.line + k}; {where})"
        elif k < len(g.words):
            problem = (f"sentence {index} ends after {len(p.words)} tokens but the gold sentence has "
                       f"{len(g.words)} (next gold token {g.words[k]!r} at {gold_path}:{g.line + k})")
        else:
            problem = (f"sentence {index} has more tokens than the gold sentence ({len(g.words)}, "
                       f"ending at {gold_path}:{g.line + k - 1}); extra token {p.words[k]!r}")
        raise DataFormatError(pred_path, p.line + k, problem)
    if len(pred) > len(gold):
        raise DataFormatError(pred_path, pred[len(gold)].line,
                              f"sentence {len(gold) + 1} has no counterpart: gold {gold_path} has {len(gold)} sentences")
    _check_same_count(len(gold), len(pred), gold_path, pred_path, "sentences")


def _check_same_count(n_gold: int, n_pred: int, gold_path: Path, pred_path: Path, unit: str) -> None:
    """Extra labels are reported at the first extra line, missing ones at the file's last line."""
    if n_pred != n_gold:
        line = n_gold + 1 if n_pred > n_gold else max(1, len(_lines(pred_path)))
        raise DataFormatError(pred_path, line, f"has {n_pred} {unit} but gold {gold_path} has {n_gold}")


# ---------------------------------------------------------------------------------------------
# Summary


def _pct(value: float) -> str:
    return f"{100 * value:7.2f}"


def _row(name: str, width: int, scores: dict, support: bool = True) -> str:
    """One table row: name, P, R, F1 as percentages, and optionally the support."""
    cells = "".join(_pct(scores[k]) for k in ("precision", "recall", "f1"))
    return f"{name:<{width}}{cells}" + (f"{scores['support']:9d}" if support else "")


def _header(title: str, width: int, support: bool = True) -> str:
    return f"{title:<{width}}{'P':>7}{'R':>7}{'F1':>7}" + (f"{'support':>9}" if support else "")


def _summary(task: TaskSpec, gold_path: Path, pred_path: Path, scores: dict) -> str:
    head = [f"task {task.name}", f"gold {gold_path}", f"pred {pred_path}"]
    if "confusion" in scores:  # the summary follows what the family's scores hold
        return "\n".join(head + _classification_lines(scores))
    if "per_type" in scores:
        return "\n".join(head + _ner_lines(scores))
    return "\n".join(head + [
        f"{scores['n_sentences']} sentences, {scores['n_words']} words",
        f"accuracy            {_pct(scores['accuracy'])}",
        f"f1 (XTREME seqeval) {_pct(scores['f1_xtreme'])}   (chunk F1 over UPOS tags, for comparison with XTREME only)",
    ])


def _classification_lines(scores: dict) -> list[str]:
    labels = list(scores["per_class"])
    width = max(len(label) for label in labels) + 2
    lines = [
        f"{scores['n_examples']} examples",
        f"accuracy {_pct(scores['accuracy'])}   macro-F1 {_pct(scores['macro_f1'])}",
        "",
        _header("", width),
        *(_row(label, width, s) for label, s in scores["per_class"].items()),
        "",
        "confusion (rows gold, columns predicted)",
        f"{'':{width}}" + "".join(f"{label:>{width}}" for label in labels),
    ]
    for gold_label, row in scores["confusion"].items():
        lines.append(f"{gold_label:<{width}}" + "".join(f"{row[p]:>{width}d}" for p in labels))
    return lines


def _ner_lines(scores: dict) -> list[str]:
    width = 22
    xtreme = {k: scores[f"{k}_xtreme"] for k in ("precision", "recall", "f1")}
    lines = [
        f"{scores['n_sentences']} sentences, {scores['n_words']} words, "
        f"{scores['n_gold_entities']} gold / {scores['n_pred_entities']} predicted entities (strict IOB2)",
        "",
        _header("entity F1", width, support=False),
        _row("strict IOB2", width, scores, support=False),
        _row("XTREME (conlleval)", width, xtreme, support=False),
    ]
    for title, key in (("per type, strict IOB2", "per_type"), ("per type, XTREME", "per_type_xtreme")):
        lines += ["", _header(title, width)]
        lines += [_row(f"  {entity_type}", width, s) for entity_type, s in scores[key].items()]
    return lines
