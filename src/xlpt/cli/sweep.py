"""`xlpt sweep` (run a grid of runs) and `xlpt runs` (query the results store)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from xlpt.cli.options import add_include_path, apply_include_path
from xlpt.errors import ConfigError
from xlpt.sweeps.rundir import STATUSES  # light: no torch, no SQLite

DEFAULT_RUNS = "runs"


def register(sub) -> None:
    sweep = sub.add_parser(
        "sweep", help="run a grid of runs (train + evaluate each), resumably, here or as cluster jobs",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Expand a sweep file (a run config plus a `sweep:` section with grid axes, see "
        "configs/sweeps/ and xlpt/sweeps/grid.py) and bring every run to done in <out>/<run_id>/: train, "
        "evaluate on every language. Re-running the same command skips finished runs and resumes interrupted "
        "ones; failed runs are retried, diverged ones reported and not retried; either makes the exit status 1. "
        "Runs execute in this process (--executor local, the default), or as one submitit job per run "
        "(--executor submitit-local on this machine, --executor slurm as Slurm job arrays). Jobs write only "
        "their run directory; <out>/runs.sqlite is an index of those files, rebuilt by whoever reads it.",
        epilog="examples:\n  xlpt sweep --config configs/sweeps/tiny-smoke.yaml --dry-run\n"
        "  xlpt sweep --config configs/sweeps/xglm-564m-study.yaml --executor slurm --partition gpu --time 12:00:00\n"
        "  xlpt sweep --config configs/sweeps/xglm-564m-study.yaml --status")
    sweep.add_argument("--config", required=True, help="sweep YAML file")
    add_include_path(sweep)
    sweep.add_argument("--out", help="output folder (default: the file's sweep.out, else runs/<sweep name>)")
    what = sweep.add_mutually_exclusive_group()
    what.add_argument("--dry-run", action="store_true", help="list the runs with their status and token cost; with --executor slurm also the "
                      "job arrays and sbatch scripts it would submit; run and submit nothing")
    what.add_argument("--status", action="store_true", help="one line per run (status, job, error) read from disk; "
                      "run nothing. Exit status 1 when a run failed or diverged")
    sweep.add_argument("--only", help="comma-separated run ids (or unique prefixes) to run; the others are left alone")
    sweep.add_argument("--json", action="store_true", help="with --dry-run or --status: print JSON")
    sweep.add_argument("--quiet", action="store_true", help="no progress bars or run logs, one line per run")
    sweep.add_argument("--yes", action="store_true", help=f"expand a grid of more than {10_000:,} runs (refused "
                       "without it: a product of long axes is easily millions of runs)")
    cluster = sweep.add_argument_group("executors (see xlpt/sweeps/executors.py)")
    cluster.add_argument("--executor", choices=["local", "submitit-local", "slurm"], default="local",
                         help="local: in this process, one run after the other (default); submitit-local: one "
                         "submitit job (process) per run on this machine; slurm: one Slurm job-array task per run")
    cluster.add_argument("--max-parallel", type=int, metavar="N",
                         help="jobs running at once (submitit-local: default 1; slurm: the array's limit, default none)")
    cluster.add_argument("--no-wait", dest="wait", action="store_false",
                         help="submit and return; follow the jobs with --status (default: wait and report each run)")
    cluster.add_argument("--partition", help="Slurm partition")
    cluster.add_argument("--account", help="Slurm account")
    cluster.add_argument("--time", help="wall time per job: minutes or [D-]H:MM:SS (default 24:00:00); a job reaching "
                         "it is checkpointed and requeued")
    cluster.add_argument("--gpus", type=int, help="GPUs per job (default 1; 0 when model.device=cpu)")
    cluster.add_argument("--cpus", type=int, help="CPU cores per job (default 8)")
    cluster.add_argument("--mem", help="memory per job in GB, or with a unit: 64G, 500M (default 64)")
    sweep.add_argument("overrides", nargs="*", metavar="key=value",
                       help="applied to every run, after the grid (e.g. train.max_steps=30 model.name=DIR)")
    sweep.set_defaults(func=_sweep)

    runs = sub.add_parser("runs", help="list, show or reindex the runs under a folder",
                          description="Query the runs under a folder (default runs/, where `xlpt sweep` writes), "
                          "searched recursively: sweep runs and `xlpt train --out` runs alike. The answer comes from "
                          "the run directories' own files, indexed in <folder>/runs.sqlite (updated before every "
                          "answer); `reindex` rebuilds that index and migrates run folders of xlpt <= 0.1.")
    actions = runs.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    listing = actions.add_parser("list", help="one line per run, filtered")
    _store_args(listing)
    listing.add_argument("--task", help="only this task")
    listing.add_argument("--method", help="only this method")
    listing.add_argument("--sweep", help="only runs of this sweep")
    listing.add_argument("--status", choices=list(STATUSES),
                         help="only runs in this state (interrupted: work saved, nothing running it)")
    listing.add_argument("--json", action="store_true", help="print JSON (a list of objects)")
    listing.set_defaults(func=_list)
    show = actions.add_parser("show", help="everything the store knows about one run")
    show.add_argument("id", help="run id or a unique prefix")
    _store_args(show)
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(func=_show)
    reindex = actions.add_parser("reindex", help="rebuild <out>/runs.sqlite from the run directories; migrate old "
                                 "run folders")
    reindex.add_argument("--out", required=True, help="the folder of the runs (a sweep's output folder, or above)")
    reindex.set_defaults(func=_reindex)


def _store_args(parser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--out", default=DEFAULT_RUNS, help=f"folder of the runs, searched recursively "
                       f"(default: {DEFAULT_RUNS}/)")
    where.add_argument("--store", help="a runs.sqlite file (its folder's runs are listed)")


def _open_store(args):
    """The index of the folder asked for, synced with its run directories (notes go to stderr)."""
    from xlpt.sweeps.store import RunStore, open_index

    if args.store:
        store, notes = RunStore(Path(args.store), create=False), []
    else:
        root = Path(args.out)
        if not root.is_dir():
            hint = " (`xlpt sweep` writes to runs/<sweep name> unless its file or --out says otherwise)" \
                if args.out == DEFAULT_RUNS else ""
            raise ConfigError(f"no folder {root}: pass --out with the folder of your runs{hint}")
        store, notes = open_index(root)
    report = store.sync()
    for line in notes + report.skipped:
        print(f"note: {line}", file=sys.stderr)
    return store


# ---------------------------------------------------------------------------------------------- sweep


def _sweep(args) -> int:
    from xlpt.sweeps.grid import default_out, expand, load_sweep, select

    apply_include_path(args)
    from xlpt.distributed.launcher_env import launched_world_size

    if launched_world_size() > 1 and not args.dry_run:
        raise ConfigError("xlpt sweep runs its runs one after another in one process and cannot be started by "
                          "torchrun; give each run its GPUs with `torchrun ... -m xlpt train` (README: Scaling up)")
    if args.json and not (args.dry_run or args.status):
        raise ConfigError("--json only applies to --dry-run and --status (query runs with `xlpt runs list --json`)")
    cluster_options = _cluster_options(args)
    spec = load_sweep(args.config, args.overrides)
    plan = expand(spec, yes=args.yes)
    for note in spec.notes:
        print(f"note: {note}", file=sys.stderr)
    if not plan:
        raise ConfigError(f"{args.config}: the sweep has no runs (every grid point was excluded)")
    out = Path(args.out) if args.out else default_out(spec)
    selected = select(plan, [x.strip() for x in args.only.split(",") if x.strip()]) if args.only else plan
    if args.dry_run:
        return _dry_run(spec.name, selected, out, args.json, cluster_options)
    if args.status:
        return _status(spec.name, selected, out, args.json)
    print(f"sweep {spec.name}: {len(selected)} runs -> {out}"
          + (f" (executor {args.executor})" if cluster_options else ""), flush=True)
    if cluster_options is None:
        from xlpt.sweeps.runner import run_sweep

        outcome = run_sweep(plan, out, spec.name, selected, progress=not args.quiet, echo=not args.quiet,
                            source=str(args.config))
    else:
        from xlpt.sweeps.executors import submit_sweep

        outcome = submit_sweep(plan, out, spec.name, selected, cluster_options, source=str(args.config))
    return 0 if outcome.ok else 1


CLUSTER_FLAGS = {"max_parallel": "--max-parallel", "partition": "--partition", "account": "--account",
                 "time": "--time", "gpus": "--gpus", "cpus": "--cpus", "mem": "--mem"}


def _cluster_options(args):
    """ClusterOptions for a submitit executor; None for the local one (which takes none of its flags)."""
    given = [flag for name, flag in CLUSTER_FLAGS.items() if getattr(args, name) is not None]
    given += [] if args.wait else ["--no-wait"]
    if args.executor == "local":
        if given:
            raise ConfigError(f"{given[0]} applies to --executor submitit-local or slurm, not to the local executor")
        return None
    if args.executor == "submitit-local" and (args.partition or args.account):
        raise ConfigError(f"{'--partition' if args.partition else '--account'} applies to --executor slurm only")
    from xlpt.sweeps.executors import ClusterOptions
    from xlpt.sweeps.resources import requested_resources

    options = ClusterOptions(executor=args.executor,
                             requested=requested_resources(args.gpus, args.cpus, args.mem, args.time),
                             partition=args.partition, account=args.account, max_parallel=args.max_parallel,
                             wait=args.wait)
    options.check_values()
    return options


def _status(name: str, runs, out: Path, as_json: bool) -> int:
    from xlpt.sweeps.grid import short_settings
    from xlpt.sweeps.status import sweep_status

    rows = sweep_status(runs, out, say=lambda line, **_: print(line, file=sys.stderr))
    bad = [r for r in rows if r["status"] in ("failed", "diverged", "unreadable", "other")]
    if as_json:
        print(json.dumps({"sweep": name, "out": str(out), "runs": rows}, indent=2))
        return 1 if bad else 0
    print(f"sweep {name}: {len(rows)} runs in {out}")
    table = [[str(r["position"]), r["id"], r["task"], r["method"], short_settings(r["settings"]), r["status"],
              r["job"] or "-", r["finished"] or "-", (r["error"] or "")[:80]] for r in rows]
    print(format_table(["#", "id", "task", "method", "settings", "status", "job", "finished", "error"], table))
    states: dict[str, int] = {}
    for r in rows:
        states[r["status"]] = states.get(r["status"], 0) + 1
    print("status: " + ", ".join(f"{n} {state}" for state, n in sorted(states.items())))
    return 1 if bad else 0


def _dry_run(name: str, runs, out: Path, as_json: bool, cluster=None) -> int:
    from xlpt.sweeps.estimate import EstimateCache, estimate
    from xlpt.sweeps.grid import short_settings
    from xlpt.sweeps.rundir import disk_status

    rows, cache = [], EstimateCache()  # the runs share their data: each folder read, each sample measured once
    for run in runs:
        cost = estimate(run.cfg, run.task_spec, cache)
        rows.append({"position": run.position, "id": run.id, "task": run.task, "method": run.method,
                     "model": run.model, "settings": run.settings,
                     "status": disk_status(out / run.id, run.cfg.data.eval_split, run.id), "estimate": vars(cost)})
    totals = {key: sum(row["estimate"][key] for row in rows) for key in ("train_tokens", "dev_tokens", "eval_tokens")}
    jobs = _planned_jobs(name, runs, rows, out, cluster)
    if as_json:
        print(json.dumps({"sweep": name, "out": str(out), "runs": rows, "totals": totals,
                          **({"jobs": jobs} if jobs is not None else {})}, indent=2))
        return 0
    print(f"sweep {name}: {len(rows)} runs -> {out}")
    table = [[str(r["position"]), r["id"], r["task"], r["method"], Path(r["model"]).name or r["model"],
              short_settings(r["settings"]), r["status"], str(r["estimate"]["steps"] or "-"),
              tokens(r["estimate"]["train_tokens"]), tokens(r["estimate"]["dev_tokens"]),
              tokens(r["estimate"]["eval_tokens"]), *plan_cells(r["estimate"])] for r in rows]
    print(format_table(["#", "id", "task", "method", "model", "settings", "status", "steps", "train tok",
                        "dev tok", "eval tok", "GB/GPU", "GPUs", "GPU-h"], table))
    sources = {r["estimate"]["lengths_from"] for r in rows if r["estimate"]["lengths_from"]}
    print(f"total: {tokens(totals['train_tokens'])} training tokens (forward + backward), "
          f"{tokens(totals['dev_tokens'])} dev-selection and {tokens(totals['eval_tokens'])} evaluation tokens "
          f"(forward); lengths from {' and '.join(sorted(sources)) or 'nothing'} "
          "(heuristic: see xlpt/sweeps/estimate.py)")
    from xlpt.sweeps.planner import describe_assumptions

    print(f"memory and GPU-hours: {describe_assumptions()} (xlpt/sweeps/planner.py)")
    for r in rows:
        if r["estimate"]["error"]:
            print(f"  no estimate for {r['id']}: {r['estimate']['error']}")
        for note in r["estimate"]["plan_notes"]:
            print(f"  {r['id']}: {note}")
    states = {}
    for r in rows:
        states[r["status"]] = states.get(r["status"], 0) + 1
    print("status: " + ", ".join(f"{n} {state}" for state, n in sorted(states.items())))
    if jobs is not None:
        print_jobs(jobs, len(rows))
    return 0


# Runs a submission leaves alone (executors._needs_work); --dry-run does not ask squeue whether a job lives.
NOT_SUBMITTED = ("done", "diverged", "running", "submitted")


def _planned_jobs(name: str, runs, rows: list[dict], out: Path, cluster) -> list[dict] | None:
    """--executor slurm: the job arrays a submission would make (None for the other executors)."""
    if cluster is None or cluster.executor != "slurm":
        return None
    from xlpt.sweeps.executors import slurm_plan

    todo = [run for run, row in zip(runs, rows) if row["status"] not in NOT_SUBMITTED]
    return slurm_plan(todo, out, name, cluster)


def print_jobs(jobs: list[dict], n_runs: int) -> None:
    """The Slurm submission of --dry-run: per array its size, resources and the sbatch script."""
    total = sum(job["size"] for job in jobs)
    arrays = sum(job["array"] for job in jobs)
    left = f"; {n_runs - total} runs done, diverged or in a job are not submitted" if total < n_runs else ""
    print(f"slurm: {total} job{'s' * (total != 1)} in {len(jobs)} submission{'s' * (len(jobs) != 1)} "
          f"({arrays} job array{'s' * (arrays != 1)}){left}; --dry-run submits nothing")
    for k, job in enumerate(jobs, 1):
        res = job["resources"]
        hours, minutes = divmod(res["timeout_min"], 60)
        shape = (f"array of {job['size']} tasks, at most {job['parallelism']} at once" if job["array"]
                 else "1 job")
        print(f"submission {k}: {shape}; per job {res['gpus']} GPU, {res['cpus']} CPU, {res['mem_gb']:g} GB, "
              f"time limit {hours}h{minutes:02d}; partition {job['partition'] or '(cluster default)'}, "
              f"account {job['account'] or '(default)'}")
        print(f"  runs: {', '.join(job['runs'])}")
        print("  sbatch script:")
        print("\n".join(f"    {line}" for line in job["script"].strip().splitlines() if line.strip()))


def plan_cells(cost: dict) -> list[str]:
    """Peak GB per GPU, GPUs needed, GPU-hours (sweeps.planner), or '-' where there is no plan."""
    if not cost.get("memory_gb"):
        return ["-", "-", "-"]
    return [f"{cost['memory_gb']['peak']:.1f}", str(cost["devices"] or ">max"), f"{cost['gpu_hours']:.2g}"]


def tokens(n: int) -> str:
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return str(n)


def format_table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(x)) for x in column) for column in zip(headers, *rows)]
    lines = ["  ".join(str(cell).ljust(w) for cell, w in zip(row, widths)).rstrip() for row in [headers] + rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------- runs


def _list(args) -> int:
    with _open_store(args) as store:
        runs = store.list_runs(args.task, args.method, args.status, args.sweep)
        root, total = store.root, len(store.ids())
    if args.json:
        print(json.dumps(runs, indent=2))
        return 0
    if not runs:
        print(f"no runs under {root}" + (" match the filters" if total else
                                         " (no run directory: a folder with a config.yaml written by `xlpt train` "
                                         "or `xlpt sweep`)"))
        return 0
    table = [[r["id"], r["sweep"] or "-", r["task"], r["method"], Path(r["model"]).name or r["model"], str(r["seed"]),
              r["status"], "-" if r["average"] is None else f"{100 * r['average']:.2f}",
              r["finished"] or "-", (r["error"] or "")[:60]] for r in runs]
    print(format_table(["id", "sweep", "task", "method", "model", "seed", "status", "average", "finished", "error"],
                       table))
    print(f"{len(runs)} runs under {root}")
    return 0


def _show(args) -> int:
    with _open_store(args) as store:
        run = store.get(args.id)
        run_dir = store.root / run["run_dir"]
    if args.json:
        print(json.dumps(run, indent=2))
        return 0
    print(f"run {run['id']} ({run['status']}) of sweep {run['sweep'] or '-'}: {run['task']} / {run['method']} / "
          f"{run['model']}, seed {run['seed']}")
    print(f"  directory  {run_dir}")
    # attempts are counted by sweeps only: a run made by `xlpt train` has none recorded (not 0)
    print(f"  started    {run['started'] or '-'}   finished {run['finished'] or '-'}"
          + (f"   attempts {run['attempts']}" if run["attempts"] is not None else "")
          + (f"   {run['elapsed_s']:.0f}s" if run["elapsed_s"] is not None else "")
          + (f"   job {run['job_id']}" if run["job_id"] else ""))
    if run["legacy_id"]:
        print(f"  legacy id  {run['legacy_id']} (made by xlpt <= 0.1; its config migrated to this run)")
    if run["error"]:
        print(f"  error      {run['error']}")
    if run["average"] is not None:
        print(f"  average    {100 * run['average']:.2f} {run['metric']} ({run['eval_split']})"
              + (f", without the source language ({run['source_language'] or '?'}) "
                 f"{100 * run['average_without_source']:.2f}" if run["average_without_source"] is not None else ""))
    if run["metrics"]:
        table = [[m["lang"], m["metric"], f"{100 * m['value']:.2f}",
                  str(m["n"] or "-"), m["source_split"] or "-"] for m in run["metrics"]]
        print(format_table(["lang", "metric", "value", "n", "from split"], table))
    provenance = run["provenance"] or {}
    if provenance:
        packages = provenance.get("packages", {})
        print(f"  commit     {provenance.get('git_commit')}; torch {packages.get('torch')}, "
              f"transformers {packages.get('transformers')}; {provenance.get('hardware', {}).get('gpu', 'no GPU')}")
    print("  config     " + json.dumps(run["config"], sort_keys=True))
    return 0


def _reindex(args) -> int:
    from xlpt.sweeps.reindex import reindex

    report = reindex(args.out)
    if report.moved_aside:
        print(f"the old store could not be opened; moved it to {report.moved_aside}")
    for line in report.migrated:
        print(f"  migrated {line}")
    counts = ", ".join(f"{n} {status}" for status, n in sorted(report.indexed.items())) or "no runs"
    print(f"indexed {counts}; dropped {report.dropped} rows without a run directory -> {Path(args.out) / 'runs.sqlite'}")
    for line in report.skipped:
        print(f"  skipped {line}")
    return 0
