"""`xlpt lab`: build a lab of controlled synthetic languages, pretrain on it, measure retrieval."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from xlpt.errors import ConfigError

PRESET_DIR = Path(__file__).resolve().parents[3] / "configs" / "lab"
"""configs/lab/ of the source checkout: one YAML spec per preset (tiny, cpu, gpu)."""

_DESCRIPTION = """\
Build a lab from a spec (a YAML file, see configs/lab/ and xlpt/lab/spec.py for every key):

  1. text: a meaning grammar realised in the base language and in derived languages (bijective
     lexicon maps into other scripts, word orders, word lengths), giving the pretraining mixture by
     share and four tasks: lab_topic (topic classification), lab_nli (entailment pairs), lab_pos (POS
     tags), lab_ner (entity spans). Train data is in the base language; dev and test are parallel.
  2. tokenizer: BPE trained on the mixture (natural) or on a balanced sample, or the segmentation of
     every language set directly (segmented), so fertility and share vary independently.
  3. pretraining: a small XGLM on the mixture through xlpt's training loop, and the no-pretraining
     control (same architecture, tokenizer and initial weights).
  4. retrieval: parallel-sentence retrieval per layer between the base and every derived language,
     for both models (chance = 1 / sentences).

Everything goes to OUT/lab-<hash of the spec>/; rerunning the same spec reuses finished stages and
resumes an interrupted pretraining. Train on the tasks with the ordinary commands, e.g.
  xlpt train --model OUT/lab-.../pretrained --data-dir OUT/lab-.../data --include-path OUT/lab-.../data/tasks ...
The summary (fertility, shares, retrieval) is printed and written to OUT/lab-.../lab.json.
"""


def presets() -> list[str]:
    return sorted(path.stem for path in PRESET_DIR.glob("*.yaml")) if PRESET_DIR.is_dir() else []


def register(sub) -> None:
    parser = sub.add_parser("lab", help="controlled synthetic languages: data, tokenizer, pretraining, retrieval",
                            description=_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter,
                            epilog="example: xlpt lab --preset tiny --out runs/lab")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--spec", help="lab spec YAML file")
    source.add_argument("--preset", help=f"a spec from configs/lab/: {', '.join(presets()) or '(none found)'}")
    parser.add_argument("--out", required=True, help="output folder; the lab goes to OUT/lab-<spec hash>/")
    parser.add_argument("--device", default="auto", help="auto (cuda if available, else cpu) | cpu | cuda | cuda:N")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads for torch (default: torch's choice). Results are deterministic for a "
                             "given machine and thread count")
    parser.add_argument("--stage", choices=("text", "tokenizer", "pretraining", "all"), default="all",
                        help="stop after this stage (default: all, including retrieval)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON instead of tables")
    parser.add_argument("--quiet", action="store_true", help="no progress bars or training log")
    parser.set_defaults(func=run)


def spec_path(args) -> Path:
    if args.spec:
        return Path(args.spec)
    path = PRESET_DIR / f"{args.preset}.yaml"
    if not path.exists():
        raise ConfigError(f"no lab preset {args.preset!r}; presets: {', '.join(presets()) or 'none found in ' + str(PRESET_DIR)}")
    return path


def run(args) -> int:
    from xlpt.lab.pipeline import STAGES, Lab
    from xlpt.lab.spec import load_spec

    spec = load_spec(spec_path(args))
    if args.threads is not None:
        if args.threads < 1:
            raise ConfigError(f"--threads must be >= 1, got {args.threads}")
        import torch

        torch.set_num_threads(args.threads)
    log = (lambda *_: None) if args.quiet or args.json else print
    lab = Lab(spec, args.out, device=args.device, log=log, progress=not (args.quiet or args.json))
    log(f"lab {spec.name!r} -> {lab.root}")
    if args.stage != "all":
        for stage in STAGES[: STAGES.index(args.stage) + 1]:
            getattr(lab, stage)()
        log(f"stopped after stage {args.stage}: {lab.root}")
        return 0
    summary = lab.run()
    print(json.dumps(summary, ensure_ascii=False, indent=1) if args.json else format_summary(summary))
    return 0


def _fmt(value, pattern="{:.2f}") -> str:
    return "-" if value is None else pattern.format(value)


def _retrieval_note(retrieval: dict) -> str:
    if not retrieval["pretrained"]:
        return "retrieval: no derived language"
    n = next(iter(retrieval["pretrained"].values()))["sentences"]
    notes = [note for flag, note in ((retrieval["center"], "centered"),
                                     (retrieval.get("exclude_shared"), "words shared with the base excluded")) if flag]
    return (f"retrieval: top-1 over {n} parallel test sentences, best layer, mean of both directions"
            + "".join(f", {note}" for note in notes)
            + "; topic: share of retrieved sentences with the query's topic (below its chance: topics aligned to "
            "the wrong ones, a permutation)")


_HEADER = ("lang", "script", "lexicon", "order", "share", "tok-share", "fertility", "dev-loss",
           "retr(PT)", "layer", "retr(ctrl)", "chance", "topic(PT)", "topic-chance")


def _language_row(name: str, lang: dict, summary: dict, is_base: bool) -> tuple[str, ...]:
    pretraining, retrieval = summary["pretraining"], summary["retrieval"]
    pt, ctrl = retrieval["pretrained"].get(name), retrieval["control"].get(name)
    described = (name, lang["script"], "base" if is_base else lang["lexicon"], lang["order"], _fmt(lang["share"]),
                 _fmt(pretraining["token_share"].get(name)), _fmt(summary["fertility"][name]["fertility"]),
                 _fmt(pretraining["dev_loss_by_language"].get(name)))
    if pt is None:  # the base itself
        return described + ("-",) * 6
    return described + (_fmt(pt["best"], "{:.3f}"), str(pt["best_layer"]), _fmt(ctrl["best"], "{:.3f}"),
                        _fmt(pt["chance"], "{:.3f}"), _fmt(pt.get("topic_at_best")), _fmt(pt.get("topic_chance")))


def format_summary(summary: dict) -> str:
    """Languages (share, token share, fertility, retrieval of both models), then pretraining and timings."""
    retrieval, pretraining = summary["retrieval"], summary["pretraining"]
    base = next(iter(summary["languages"]))
    rows = [_HEADER] + [_language_row(name, lang, summary, name == base) for name, lang in summary["languages"].items()]
    header = _HEADER
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    train = pretraining["train"]
    lines = [f"lab {summary['lab']} (key {summary['key'][:12]}): {summary['folder']}"]
    lines += ["  ".join(cell.rjust(width) for cell, width in zip(row, widths)) for row in rows]
    lines += [
        _retrieval_note(retrieval),
        f"pretraining: {train['steps']} steps, {train['tokens_seen']:,} tokens, {train['seconds']:.0f} s "
        f"({train['tokens_per_second']:,.0f} tok/s), dev loss {-train['dev_history'][-1]['dev_score']:.3f} "
        f"(control {pretraining['control_dev_loss']:.3f}), {pretraining['parameters']:,} parameters",
        "label words split into several pieces: " + (", ".join(
            f"{task}.{label}" for task, words in summary["label_word_pieces"].items()
            for label, pieces in words.items() if pieces != 1) or "none"),
        "time (s): " + ", ".join(f"{stage} {seconds:.1f}{' (cached)' if summary['reused'].get(stage) else ''}"
                                 for stage, seconds in summary["timings_s"].items()),
        f"tasks: --data-dir {summary['data_dir']} --include-path {summary['tasks_dir']}",
    ]
    for name, report in retrieval["pretrained"].items():
        if report.get("topics_permuted"):
            lines.append(f"WARNING: {name}: retrieved sentences share the query's topic less often than chance "
                         f"({report['topic_at_best']:.2f} vs {report['topic_chance']:.2f}): pretraining aligned {name}'s "
                         "topics to other base topics; expect below-chance transfer (see lab/grammar.py, ChoiceWeights)")
    return "\n".join(lines)
