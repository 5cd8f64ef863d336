"""`xlpt report`: tables, significance tests, correlation plots and a Markdown/HTML page over finished runs."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from xlpt.errors import ConfigError


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "report",
        help="summarize runs: per-language tables, PT − FT gaps, correlations with tokenization",
        description="Search --runs recursively for run directories (results.json, predictions/) and write "
        "report.md, report.html, PNG figures and tables/*.csv|.tex to --out.",
    )
    parser.add_argument("--runs", type=Path, required=True, help="folder searched recursively for run directories")
    parser.add_argument("--out", type=Path, required=True, help="output folder (created if missing)")
    parser.add_argument("--tokenization", type=Path, nargs="+", action="extend", default=[], metavar="FILE",
                        help="JSON file(s) from `xlpt tokenization --json` (several allowed, repeatable; matched to runs by task, then model)")
    parser.add_argument("--split", default="test", help="evaluation split to report (results.json is test; "
                        "other splits are read from results-<split>.json)")
    parser.add_argument("--decimals", type=int, default=1, help="decimals for percentages in tables (default 1)")
    parser.add_argument("--resamples", type=int, default=None,
                        help="bootstrap resamples of the seed-aware PT − FT test (seeds and examples; default 1000). "
                        "Its smallest p is 2/(N+1): a Holm family of m languages needs N above 40*m to mark any")
    parser.add_argument("--seed", type=int, default=0, help="seed of every bootstrap (default 0)")
    parser.add_argument("--correction", choices=["holm", "bh"], default="holm",
                        help="multiple-comparison correction of the per-language PT − FT tests within each comparison, "
                        "and of the gap correlations (one family: every correlation shown): "
                        "holm (family-wise error, default) or bh (Benjamini–Hochberg false discovery rate)")
    parser.add_argument("--alpha", type=float, default=0.05, help="adjusted p below which a gap is marked (default 0.05)")
    parser.add_argument("--min-correlation-languages", type=int, default=8, metavar="N",
                        help="fewest languages for a gap-vs-tokenization correlation to be reported as a result "
                        "(default 8; fewer are listed as not interpretable)")
    parser.add_argument("--protocol", choices=PROTOCOLS, default="default",
                        help="default: the full report; xtreme: only XTREME-shaped tables (xtreme.md, "
                        "tables/xtreme_<task>.csv): XTREME's languages, order and metric, test sets, every difference "
                        "(dev in place of test, partial or capped test sets, absent or extra languages) marked")
    parser.set_defaults(func=handler)


PROTOCOLS = ("default", "xtreme")


def handler(args: argparse.Namespace) -> int:
    from xlpt.reporting import ReportOptions, build_report  # imported lazily: matplotlib/scipy are slow to load

    if not 0 <= args.decimals <= 4:
        raise ConfigError(f"--decimals must be between 0 and 4, got {args.decimals}")
    if args.resamples is not None and args.resamples < 100:
        raise ConfigError(f"--resamples must be at least 100, got {args.resamples}")
    if args.protocol == "xtreme":
        return _xtreme(args)
    options = ReportOptions(split=args.split, decimals=args.decimals, seed=args.seed, correction=args.correction,
                            alpha=args.alpha, min_correlation_languages=args.min_correlation_languages)
    options.validate()
    if args.resamples is not None:
        options = replace(options, paired_resamples=args.resamples)
    report = build_report(args.runs, args.out, args.tokenization, options)
    c = report.collection
    from xlpt.reporting.banner import banner_lines
    from xlpt.reporting.collect import unfinished_text

    for line in banner_lines(c.runs):
        print(line)
    counts = f"{len(c.runs)} runs, {len(c.skipped)} skipped, {len(c.incomplete)} incomplete"
    counts += f", {len(c.unfinished)} evaluated unfinished (not in the tables)" if c.unfinished else ""
    print(f"report: {counts} -> {report.markdown_path}")
    for problem in c.skipped:
        print(f"  skipped {problem.path}: {problem.reason}", file=sys.stderr)
    for record in c.unfinished:
        print(f"  unfinished {record.path}: {unfinished_text(record)}", file=sys.stderr)
    return 0 if c.runs else 1


def _xtreme(args: argparse.Namespace) -> int:
    """XTREME's protocol is test sets only: a --split other than test would contradict it."""
    from xlpt.reporting.xtreme import build_xtreme_view, summary_line

    if args.split != "test":
        raise ConfigError(f"--protocol xtreme reports test sets only; drop --split {args.split}")
    if args.tokenization:
        raise ConfigError("--tokenization has no effect with --protocol xtreme (no correlations in that view); drop it")
    view = build_xtreme_view(args.runs, args.out, args.decimals)
    from xlpt.reporting.banner import banner_lines

    for line in banner_lines(view.records):
        print(line)
    print(f"report (XTREME protocol): {view.runs} runs -> {view.markdown_path}")
    for table in view.tables:
        print(f"  {summary_line(table)}")
    if view.other_tasks:
        print(f"  not XTREME tasks, left out: {', '.join(view.other_tasks)}")
    return 0 if view.runs else 1
