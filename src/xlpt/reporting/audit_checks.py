"""The audit's checks: one function per kind of protocol risk, each adding (kind, message, run) findings.

Messages carry no per-run numbers unless every run of a configuration shares them, so runs that differ
only by seed fall under one message.
"""

from __future__ import annotations

from collections import defaultdict

from xlpt.reporting.audit_runs import RunFiles, as_dict
from xlpt.reporting.collect import System, unfinished_text
from xlpt.reporting.gaps import FT_METHOD, PT_METHOD

DEFAULT_DEV_CAP = 1000
"""data.max_dev_examples' default: a seeded selection sample of this size is the documented protocol."""
STARVED_SHARE = 0.01
"""A training label below this share of the examples is reported (the data layer refuses it too)."""

FAILED = ("failed", "diverged", "interrupted")


def _check_status(runs: list[RunFiles], found) -> None:
    for run in runs:
        state = str(run.status.get("status") or "")
        if run.record is None:
            others = sorted(p.name for p in run.path.glob("results*.json"))
            if state in FAILED:
                found.add("status", f"{state}: no results", run.name)
            elif others:
                found.add("status", f"not evaluated on the audited split (has {', '.join(others)})", run.name)
            else:
                found.add("status", f"unfinished: no results yet (status.json: {state or 'not recorded'})", run.name)
        elif run.record.unfinished is not None:  # `xlpt evaluate --allow-unfinished`: the user was told, not us
            found.add("status", f"{unfinished_text(run.record)}: the report lists it apart, out of every table",
                      run.name)
        elif state in FAILED:
            found.add("status", f"results exist but status.json says {state}: they may come from an earlier attempt",
                      run.name)
        elif run.summary.get("status") == "diverged":
            found.add("status", "training diverged (train_summary.json): results are from the checkpoint before",
                      run.name)


def _check_models(runs: list[RunFiles], found) -> None:
    for run in _complete(runs):
        if run.record.pipeline_check:
            found.add("model", "pipeline-check model (tiny or random weights): its numbers say nothing about a "
                      f"method (from {run.record.pipeline_check_source})", run.name)


def _check_caps(runs: list[RunFiles], found) -> None:
    for run in _complete(runs):
        data = run.data
        if run.trains:
            _train_cap(run, data.get("max_train_examples"), found)
            _dev_cap(run, data.get("max_dev_examples"), found)
        _eval_cap(run, data, found)


def _train_cap(run: RunFiles, cap, found) -> None:
    if not isinstance(cap, int):
        return
    samples = run.summary.get("samples")
    key = f"data.max_train_examples={cap}"
    if isinstance(samples, dict):
        if samples.get("train") is not None:  # null: the split had no more rows than the cap
            found.add("caps", f"{key}: training on a seeded sample ({_sample_text(samples['train'])})", run.name)
    elif _cap_reached(run.summary.get("n_train"), cap):
        found.add("caps", f"{key}: training on the first {cap} rows, not a sample (no sample recorded: the run "
                  "predates sampling; a label-sorted file gives one label)", run.name)


def _dev_cap(run: RunFiles, cap, found) -> None:
    if not isinstance(cap, int):
        return
    samples = run.summary.get("samples")
    key = f"data.max_dev_examples={cap}"
    if isinstance(samples, dict):
        sample = samples.get("dev")
        # A seeded selection sample of the default size is the documented protocol; a smaller one is noisy.
        if isinstance(sample, dict) and _int(sample.get("n"), DEFAULT_DEV_CAP) < DEFAULT_DEV_CAP:
            found.add("caps", f"{key}: checkpoints selected on a small seeded sample ({_sample_text(sample)})",
                      run.name)
    elif _cap_reached(run.summary.get("n_dev"), cap):
        found.add("caps", f"{key}: checkpoints selected on the first {cap} dev rows, not a sample (no sample "
                  "recorded: the run predates sampling)", run.name)


def _eval_cap(run: RunFiles, data: dict, found) -> None:
    record = run.record
    limit = (record.evaluation.limit if record.evaluation else None) or data.get("max_eval_examples")
    languages = as_dict(run.results.get("languages"))
    sampled = [lang for lang, capped in record.lang_capped.items()
               if capped and isinstance(as_dict(languages.get(lang)).get("sample"), dict)]
    first = [lang for lang, capped in record.lang_capped.items() if capped and lang not in sampled]
    maybe = [lang for lang, capped in record.lang_capped.items() if capped is None]
    where = f"{record.task} evaluation capped at {limit} examples per language"
    if sampled:
        seeds = sorted({str(as_dict(languages[lang]).get("sample", {}).get("seed", "?")) for lang in sampled})
        found.add("caps", f"{where}: a seeded sample (seed {', '.join(seeds)}) in {_langs(sampled)}; not "
                  "comparable with full-test-set numbers", run.name)
    if first:
        found.add("caps", f"{where}: the first rows of {_langs(first)}, not a sample (no sample recorded: the "
                  "run predates sampling)", run.name)
    if maybe:
        found.add("caps", f"{record.task} evaluation limit {limit} reached in {_langs(maybe)}; the split sizes are "
                  "not recorded: possibly capped", run.name)


def _check_compared_rows(runs: list[RunFiles], found) -> None:
    """Runs of one task that scored different rows of a language (another sample, another cap, or capped
    against full): a paired comparison of them pairs different examples."""
    rows: dict[str, dict[str, set]] = defaultdict(lambda: defaultdict(set))
    for run in _complete(runs):
        for lang, entry in as_dict(run.results.get("languages")).items():
            rows[run.record.task][lang].add(_rows_scored(as_dict(entry), run.record.lang_capped.get(lang)))
    for task, languages in rows.items():
        differ = sorted(lang for lang, kinds in languages.items() if len(kinds) > 1)
        for run in _complete(runs):
            if run.record.task == task and set(differ) & set(run.record.scores):
                found.add("caps", f"{task}: compared runs scored different rows of {_langs(differ)} (another "
                          "sample or cap)", run.name)


def _rows_scored(entry: dict, capped) -> tuple:
    sample = as_dict(entry.get("sample"))
    if sample:
        return ("sample", sample.get("hash"), sample.get("n"))
    return ("first", entry.get("n")) if capped is not False else ("all",)  # other splits: the splits check


def _check_labels(runs: list[RunFiles], found) -> None:
    for run in _complete(runs):
        if not run.trains:
            continue
        override = run.summary.get("label_imbalance")
        if isinstance(override, dict) and override.get("allowed"):
            problems = "; ".join(map(str, override.get("problems") or [])) or "no problem listed"
            found.add("labels", f"data.allow_label_imbalance=true let this training set through ({problems})",
                      run.name)
        counts = run.summary.get("train_label_counts")
        if not isinstance(counts, dict):
            found.add("labels", "training label counts not recorded (the run predates them): one-label training "
                      "cannot be ruled out", run.name)
            continue
        for message in _label_problems(counts, run.task_spec):
            found.add("labels", message, run.name)


def _label_problems(counts: dict, spec) -> list[str]:
    used = {str(label): n for label, n in counts.items() if isinstance(n, int) and n > 0}
    total = sum(used.values())
    unit = spec.family_record.label_unit if spec is not None else "example"
    starved_share = spec.family_record.starved_share if spec is not None else STARVED_SHARE
    if len(used) <= 1:
        what = f"every training {unit} is {next(iter(used))!r}" if used else f"no training {unit} counted"
        return [f"one-label training: {what}"]
    problems = []
    # None: the family's label frequencies are Zipfian (tags), so a rare label is normal
    starved = [label for label, n in used.items() if starved_share is not None and n / total < starved_share]
    if starved:
        shown = ", ".join(f"{label} {used[label]:,}" for label in sorted(starved))
        problems.append(f"starved labels: below 1% of the {total:,} training {unit}s ({shown})")
    absent = [label for label in (spec.labels if spec is not None else ()) if label not in used]
    if absent:
        problems.append(f"labels of {spec.name} absent from training: {_langs(absent)}")
    return problems


def _check_parallel(runs: list[RunFiles], found) -> None:
    for run in _complete(runs):
        if not run.trains:
            continue  # nothing trained: no training row can leak
        parallel = run.results.get("parallel")
        if not isinstance(parallel, dict):
            found.add("parallel", "leakage through translated rows not recorded (the results predate the check)",
                      run.name)
        elif not parallel.get("checked"):
            found.add("parallel", f"{run.record.task}: leakage through translated rows NOT checked (the task "
                      "declares no row alignment, task YAML `parallel:`)", run.name)
        languages = as_dict(run.results.get("languages"))
        excluded = _language_counts(languages, "excluded_parallel")
        if excluded:
            found.add("parallel", f"{run.record.task}: rows translating training rows excluded before scoring "
                      f"({excluded}): those languages are scored on fewer rows than the benchmark's", run.name)
        selection = _language_counts(languages, "parallel_to_selection")
        if selection:
            found.add("parallel", f"{run.record.task}: scored rows that translate checkpoint-selection rows "
                      f"({selection})", run.name)


def _language_counts(languages: dict, key: str) -> str:
    counts = {lang: as_dict(entry).get(key) for lang, entry in languages.items()}
    return ", ".join(f"{lang} {n:,}" for lang, n in counts.items() if isinstance(n, int) and n > 0)


def _check_splits(runs: list[RunFiles], found) -> None:
    by_task: dict[str, list[RunFiles]] = defaultdict(list)
    for run in _complete(runs):
        record = run.record
        by_task[record.task].append(run)
        splits: dict[str, list[str]] = defaultdict(list)
        for lang, split in record.lang_split.items():
            splits[split].append(lang)
        if len(splits) > 1:
            shown = "; ".join(f"{split}: {_langs(langs)}" for split, langs in sorted(splits.items()))
            found.add("splits", f"{record.task}: a run's languages scored on different splits, so its average "
                      f"mixes them ({shown})", run.name)
        for lang, entry in as_dict(run.results.get("languages")).items():
            partial = as_dict(entry).get("partial")
            if partial:
                found.add("splits", f"{record.task} {lang}: partial {record.lang_split.get(lang, '')} set "
                          f"({partial})", run.name)
    for task, task_runs in by_task.items():
        _compared_splits(task, task_runs, found)


def _compared_splits(task: str, runs: list[RunFiles], found) -> None:
    """A language that different runs of one task scored on different splits: their numbers do not compare."""
    seen: dict[str, set[str]] = defaultdict(set)
    for run in runs:
        for lang, split in run.record.lang_split.items():
            seen[lang].add(split)
    differ = sorted(lang for lang, splits in seen.items() if len(splits) > 1)
    if differ:
        for run in runs:
            if set(differ) & set(run.record.lang_split):
                found.add("splits", f"{task}: runs compared on different splits for {_langs(differ)}", run.name)


def _check_languages(runs: list[RunFiles], found) -> None:
    for run in _complete(runs):
        reference, source = _reference_languages(run)
        if not reference:
            continue
        evaluated = set(run.record.scores)
        missing, extra = sorted(set(reference) - evaluated), sorted(evaluated - set(reference))
        parts = ([f"missing {_langs(missing)}"] if missing else []) + ([f"outside it {_langs(extra)}"] if extra else [])
        if parts:
            found.add("languages", f"{run.record.task}: evaluated languages differ from {source} "
                      f"({len(reference)} languages): {'; '.join(parts)}", run.name)


def _reference_languages(run: RunFiles) -> tuple[tuple[str, ...], str]:
    """XTREME's language set for the task when xlpt knows it, else the task definition's own list."""
    spec = run.task_spec
    xtreme = _xtreme_languages(run.record.task)
    if xtreme:
        return xtreme, f"XTREME's {run.record.task} set"
    return (tuple(spec.languages), f"the {spec.name} task's set") if spec is not None else ((), "")


def _xtreme_languages(task: str) -> tuple[str, ...]:
    from xlpt.reporting.xtreme import XTREME_TASKS  # here: xtreme imports much of the report's machinery

    known = XTREME_TASKS.get(task)
    return known.languages if known else ()


def _check_seeds(runs: list[RunFiles], found) -> None:
    for (task, _), system_runs in _systems(runs).items():
        if len(_seeds(system_runs)) < 2:
            for run in system_runs:
                found.add("seeds", f"{task}: 1 seed per system (task, method, model, configuration): seed "
                          "variance unmeasured", run.name)


def _check_variance(runs: list[RunFiles], found) -> None:
    systems = _systems(runs)
    for (task, pt), pt_runs in systems.items():
        if pt.method != PT_METHOD:
            continue
        for (other_task, ft), ft_runs in systems.items():
            if other_task != task or ft.method != FT_METHOD or ft.model != pt.model:
                continue
            if min(len(_seeds(pt_runs)), len(_seeds(ft_runs))) < 2:
                model = pt.model.rstrip("/").rsplit("/", 1)[-1]
                for run in pt_runs + ft_runs:
                    found.add("variance", f"{task}: a PT − FT gap of {model} rests on 1 seed of a side: its seed "
                              "variance is unmeasured, so no gap can be called significant", run.name)


def _systems(runs: list[RunFiles]) -> dict[tuple[str, System], list[RunFiles]]:
    """Trained runs by (task, system); zero-shot baselines have no seed to vary."""
    systems: dict[tuple[str, System], list[RunFiles]] = defaultdict(list)
    for run in _complete(runs):
        if run.trains and run.record.unfinished is None:  # an unfinished run's result is no seed of its system
            systems[(run.record.task, run.record.system)].append(run)
    return systems


def _seeds(runs: list[RunFiles]) -> set:
    return {run.record.seed for run in runs}


CHECKS = (_check_status, _check_models, _check_caps, _check_compared_rows, _check_labels, _check_parallel,
          _check_splits, _check_languages, _check_seeds, _check_variance)


def _complete(runs: list[RunFiles]) -> list[RunFiles]:
    return [run for run in runs if run.record is not None]


def _sample_text(sample) -> str:
    sample = as_dict(sample)
    n, of = sample.get("n"), sample.get("of")
    count = f"{n:,} of {of:,}" if isinstance(n, int) and isinstance(of, int) else "? of ? (not recorded)"
    return (f"{count} {sample.get('split', '?')} rows, seed {sample.get('seed', '?')}, stratified by "
            f"{sample.get('stratified_by', '?')}")


def _cap_reached(n, cap: int) -> bool:
    """Whether a cap may have bitten: n is the count used (unknown: assume it did)."""
    return not isinstance(n, int) or n >= cap


def _int(value, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _langs(items, shown: int = 10) -> str:
    items = list(items)
    text = ", ".join(items[:shown])
    return text + (f", … ({len(items)} in all)" if len(items) > shown else "")
