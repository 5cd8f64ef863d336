"""`xlpt audit`: list a study's protocol risks, one line each with the runs concerned."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from xlpt.errors import RunFileError


# What each kind of risk covers (xlpt.reporting.audit.KINDS names them; a test checks both agree). Written out
# here because importing xlpt.reporting loads matplotlib and scipy, and `xlpt --help` must stay instant.
KIND_HELP = (
    "unreadable (a run file that cannot be read); status (failed, diverged or unfinished runs); model "
    "(pipeline-check, i.e. tiny or random, models); caps (train, dev or evaluation caps, and whether each was a "
    "seeded sample or the first rows); labels (one-label or starved-label training, labels of the task absent "
    "from training, data.allow_label_imbalance overrides); parallel (scored rows that translate training or "
    "selection rows, leakage never checked); splits (languages scored on different splits: test, dev, held-out "
    "dev; partial test sets); languages (evaluated languages that differ from XTREME's or the task's set); "
    "seeds (systems with fewer than 2 seeds); variance (PT − FT comparisons where a side has 1 seed: a "
    "significance claim there ignores seed variance); duplicates (runs ignored as duplicates)"
)


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "audit",
        help="list a study's protocol risks (caps, one-label training, parallel overlap, mixed splits, seeds, ...)",
        description="Search RUNS (run folders, or folders holding them, found as `xlpt report --runs` finds them) "
        "and list what could make the study's numbers unfit for a paper, one line per risk with the runs "
        f"concerned. Kinds of risk: {KIND_HELP}. Runs written before a field existed are reported as 'not "
        "recorded', never guessed. The same list is the report's 'Protocol risks' section.",
        epilog="Exit status: 0 = audited (risks or not, without --strict); 1 = --strict and at least one risk; "
        "2 = bad input (no such folder, no run found, a run file that cannot be read).",
    )
    parser.add_argument("runs", type=Path, nargs="+", metavar="RUNS",
                        help="run folder(s) or folder(s) searched recursively for run folders")
    parser.add_argument("--split", default="test", help="evaluation to audit: test reads results.json, another "
                        "split results-<split>.json (default test)")
    parser.add_argument("--strict", action="store_true", help="exit with status 1 when any risk is found "
                        "(for CI: a study that must be paper-ready)")
    parser.add_argument("--json", action="store_true", help="print {runs, folders, risks: [{kind, message, runs}]} "
                        "as JSON, with every run name (the text output shows the first few per risk)")
    parser.set_defaults(func=handler)


def handler(args: argparse.Namespace) -> int:
    from xlpt.reporting.audit import audit_folders

    audit = audit_folders(args.runs, args.split)
    if audit.unreadable:  # bad input: say which file, as every xlpt command does
        file, problem = audit.unreadable[0]
        more = len(audit.unreadable) - 1
        raise RunFileError(file, problem + (f" (and {more} more unreadable run file{'s' * (more > 1)})" if more
                                            else ""))
    if args.json:
        print(json.dumps({"runs": audit.runs, "folders": [str(f) for f in args.runs],
                          "risks": [risk.to_dict() for risk in audit.risks]}, indent=2, ensure_ascii=False))
    else:
        _print_text(audit, args.runs)
    return 1 if args.strict and audit.risks else 0


def _print_text(audit, folders) -> None:
    where = f"{audit.runs} run{'s' * (audit.runs != 1)} under {', '.join(map(str, folders))}"
    if not audit.risks:
        print(f"audit: {where}: no protocol risk found")
        return
    print(f"audit: {where}: {len(audit.risks)} protocol risk{'s' * (len(audit.risks) > 1)}")
    for risk in audit.risks:
        print(f"  {risk.line()}")
