"""`xlpt lab`: build a lab of controlled synthetic languages, pretrain on it, measure retrieval."""

from __future__ import annotations

import argparse
import json
import math
import time
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

  5. study (unless --no-study): the spec's `study` section as an ordinary sweep (written to
     OUT/lab-.../study-<hash>/sweep.yaml): every method (prompt tuning, full fine-tuning, ...) x model
     (pretrained, control) x seed, trained on the base language with a fixed budget per method and
     evaluated zero-shot on every language's test split; plus the majority baseline per language.
  6. report: OUT/lab-.../study-<hash>/report.md and report.json (accuracy with 95% CIs over seeds,
     transfer above the control and the majority, the PT - FT gap against every controlled factor,
     contrasts between languages that differ in one factor, retrieval per layer) and the ordinary
     `xlpt report` over the same runs in study-<hash>/xlpt-report/.

Everything goes to OUT/lab-<hash of the spec>/; rerunning the same spec reuses finished stages and
finished runs, and resumes an interrupted pretraining or run. The study's runs can also be rerun or
extended with the ordinary commands (the report prints them), e.g.
  xlpt sweep --config OUT/lab-.../study-.../sweep.yaml --include-path OUT/lab-.../data/tasks
The console gets one line per stage and per finished study run, the synthetic-languages notice once and
the summary tables; OUT/lab-.../lab.log has every line (each run's training log too). Exit status 1 when
any study run failed (the summary counts them and names the spec key to change).
The summary tables are printed; lab.json and the study's report.json hold every number.
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
    parser.add_argument("--device", default="auto",
                        help="auto (cuda if available, else cpu) | cpu | cuda | cuda:N. An explicit device is also "
                             "written into the study's run configs (model.device), so it is part of their run ids")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads for torch (default: torch's choice). Results are deterministic for a "
                             "given machine and thread count")
    parser.add_argument("--stage", choices=("text", "tokenizer", "pretraining", "all"), default="all",
                        help="stop after this build stage, with no study (default: all: the build, retrieval, then "
                             "the study unless --no-study)")
    parser.add_argument("--no-study", action="store_true",
                        help="build the lab and measure retrieval only (no sweep, no study report)")
    parser.add_argument("--no-xlpt-report", action="store_true",
                        help="write the lab report but not the ordinary `xlpt report` over the study's runs")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON instead of tables")
    parser.add_argument("--quiet", action="store_true",
                        help="no progress bars and no per-stage lines: only the summary (lab.log has everything)")
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
    from xlpt.lab.console import LabLog

    logbook = LabLog(console=not (args.quiet or args.json))
    lab = Lab(spec, args.out, device=args.device, log=logbook.detail, progress=not (args.quiet or args.json),
              announce=logbook.say)
    logbook.open(lab.root / "lab.log")
    logbook.say(f"lab {spec.name!r} -> {lab.root} (log: {logbook.path})")
    if args.stage != "all":
        for stage in STAGES[: STAGES.index(args.stage) + 1]:
            getattr(lab, stage)()
        logbook.say(f"stopped after stage {args.stage}: {lab.root}")
        return 0
    started, cpu_started = time.perf_counter(), time.process_time()
    summary = lab.run()
    result = {"lab": summary}
    if not args.no_study:
        from xlpt.lab.study import Study

        study = Study(lab, device=args.device, progress=not (args.quiet or args.json),
                      say=logbook.sweep_line, detail=logbook)
        if not args.json:  # every run's log carries it; the console once, --quiet included
            _print_logged(logbook, lab.notice("pretrained"))
        result["study"] = study.report(study.run(), summary, ordinary=not args.no_xlpt_report)
    result["seconds"] = {"wall": time.perf_counter() - started, "cpu": time.process_time() - cpu_started}
    failed = result["study"]["runs"]["failed"] if "study" in result else []
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
        return 1 if failed else 0
    _print_logged(logbook, format_summary(summary))
    if "study" in result:
        _print_logged(logbook, format_study(result["study"]))
    _print_logged(logbook, f"total: {result['seconds']['wall']:.0f} s wall, {result['seconds']['cpu']:.0f} s CPU "
                           f"(this process); full log: {logbook.path}")
    if failed:
        _print_logged(logbook, f"exit status 1: {failures_line(result['study'])}")
    return 1 if failed else 0


def _print_logged(logbook, text: str) -> None:
    """The summary: always on the console (even --quiet), and in lab.log."""
    logbook.detail(text)
    print(text, file=logbook.stream)


def failures_line(report: dict) -> str:
    failed, planned = report["runs"]["failed"], report["runs"]["planned"]
    return (f"{len(failed)} of {planned} study runs failed (no results; left out of every number): "
            f"{', '.join(run['id'] for run in failed)}")


def _loss(loss: float) -> str:
    """'1.756 (perplexity 5.8)': a dev loss in nats per token, lower is better."""
    return f"{loss:.3f} (perplexity {math.exp(min(loss, 700)):.1f})"


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


# The two models in full ("pretrained", "control"): abbreviations such as "PT" mean prompt tuning elsewhere.
_HEADER = ("lang", "script", "lexicon", "order", "share", "tok-share", "fertility", "dev-loss",
           "retrieval:pretrained", "layer", "retrieval:control", "chance", "topic:pretrained", "topic-chance")


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
        f"({train['tokens_per_second']:,.0f} tok/s), dev loss {_loss(-train['dev_history'][-1]['dev_score'])} "
        f"(control {_loss(pretraining['control_dev_loss'])}), {pretraining['parameters']:,} parameters",
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


def format_study(report: dict) -> str:
    """Per task: accuracy (mean [95% CI]) per language, method and model, the majority, transfer above the
    control and the gap; then the claims and where the report is."""
    from xlpt.lab.report import FT, axes, cell, gap_cell

    lines = []
    for task, t in report["tasks"].items():
        accuracy = t["accuracy"]
        methods, models, over_methods, gap_methods = axes(t)
        header = ["lang", "majority", *(f"{m}/{model}" for m in methods for model in models),
                  *(f"{m}: pretrained-control" for m in over_methods), *(f"{m}-{FT}/pretrained" for m in gap_methods)]
        rows = [header]
        for lang in accuracy:
            rows.append([lang, f"{t['majority']['by_language'][lang]['accuracy']:.3f}",
                         *(cell(accuracy[lang][m][model], compact=True) + ("†" if t["one_label"][lang][m][model] else "")
                           for m in methods for model in models),
                         *(cell(value, "difference", True, True) for value in t["over_control"].get(lang, {}).values()),
                         *(gap_cell(value["pretrained"])
                           for value in t["gap"].get(lang, {}).values() if "pretrained" in value)])
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        lines += [f"study {task} ({t['metric']}, {t['test_examples']} test examples, seeds {report['seeds']}; "
                  "mean ± 95% CI half-width over seeds; method - FT gaps: [95% CI] of the seed-aware test (bootstrap "
                  "over seeds and examples with Welch's t), * Holm-adjusted p < 0.05; trained on " + report["base"] + ")"]
        lines += ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in rows]
        if any("†" in c for row in rows for c in row):
            lines.append("† one-label: every seed predicts one label for >= 95% of the examples (accuracy = its share)")
    failed = report["runs"]["failed"]
    if failed:
        from xlpt.reporting.tables import cell_text

        lines.append(f"WARNING: {failures_line(report)}")
        lines += [f"  - {run['id']}: {cell_text(run['error'], 200)}" for run in failed[:10]]
        lines += [f"  ... and {len(failed) - 10} more (study.json)"] if len(failed) > 10 else []
    shown = [c for c in report["claims"] if c["kind"] in ("over_control", "contrast")
             or (c["kind"] == "gap" and "pretrained model" in c["text"])]
    lines.append(f"claims ({len(shown)} of {len(report['claims'])} shown: transfer above the control, the gap on the "
                 "pretrained model, one-factor contrasts; each with its 95% CI and seeds):")
    lines += [f"  - {claim['text']}" for claim in shown]
    folder = Path(report["folder"])
    lines.append(f"report: {folder / 'report.md'} (all claims, retrieval per layer, factors) and {folder / 'report.json'}")
    return "\n".join(lines)
