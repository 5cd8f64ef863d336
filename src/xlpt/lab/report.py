"""The lab report: per derived language, its controlled factors, accuracy per method and model, transfer
above the no-pretraining control and above the majority baseline, the PT - FT gap, contrasts between
languages that differ in one factor, and retrieval per layer. Markdown and JSON (every number).

Inputs are the lab's summary (`lab.json`: factors, fertility, retrieval) and the study's record
(`study.json`: every run's per-language scores, the majority baselines). Intervals are 95% Student t
over fine-tuning seeds (lab.intervals): `mean_interval` for one set of runs and for per-seed
differences inside the same runs (paired), `welch_interval` between independent sets of runs. The
method − FT gap per language is the exception: it is tested by the ordinary report's own function
(lab.gaps: hierarchical bootstrap over seeds and examples with Welch's t, Holm over the target languages), so `xlpt lab`
and `xlpt report` give the same verdict on the same runs.

Claim rules: every sentence under "Claims" comes from an interval over at least 2 seeds per set and says
how many; with fewer, the comparison is listed as "no claim". An interval that contains 0 is reported
as "not distinguishable from 0 at this number of seeds", never as "no effect". Retrieval is measured once
(one pretraining run, deterministic), so it is shown per layer with its chance level, never as a claim.
"""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

from xlpt.atomic_files import write_text_atomic
from xlpt.lab.gaps import gap_verdict, study_gaps, why_no_claim
from xlpt.lab.intervals import binomial_halfwidth, mean_interval, shifted, verdict, welch_interval
from xlpt.lab.pipeline import _write_json
from xlpt.reporting.tables import ERROR_LIMIT, cell_text, markdown_table

ONE_LABEL = 0.95
"""A run predicting one label for at least this share of a language's examples is *one-label* there: its
accuracy is that label's share, whatever it learned; cells and claims built only from such runs say so."""

FT = "full_finetune"
"""The reference method of the gap (PT - FT: every other method minus full fine-tuning)."""

INTERVALS = ("95% Student t intervals over fine-tuning seeds (not clipped to [0, 1]): a mean over one set of runs; "
             "pretrained vs control "
             "and method vs method: Welch (independent sets of runs); differences between two languages: paired by "
             "run (the same runs evaluated on both). They leave out test-set sampling error and the variance between "
             "pretraining runs (one pretraining run serves every seed), which at this scale can be large: see the "
             "lab section of the README. The method − FT gap per language is the exception: 95% percentile interval and "
             "p of a hierarchical bootstrap over seeds and test examples with Welch's t over the runs (the ordinary "
             "`xlpt report`'s test, the same "
             "verdicts), Holm-adjusted over the target languages of each method and model; * marks a gap with "
             "adjusted p < 0.05.")


# ------------------------------------------------------------------------------------------- factors


def factor_values(language: dict, base: dict) -> dict[str, str]:
    """The controlled factors of one language, each as a display value (groups compared by `contrasts`)."""
    anchors = ", ".join(language.get("anchors") or []) or "none"
    if language.get("anchor_share"):
        anchors += f" + {100 * language['anchor_share']:.0f}% of lexemes"
    shapes = language["lexicon"] if language["lexicon"] != "generate" else f"generate {language['syllables'][0]}-" \
        f"{language['syllables'][1]} syllables"
    order = language["order"] + "".join(f", {note}" for key, note in (
        ("adjective", "adjective after"), ("adposition", "postpositions"), ("case_marking", "case marking"))
        if language.get(key) not in (None, "before", "pre", False))
    return {
        "script": language["script"] + (" (the base's)" if language["script"] == base["script"] else ""),
        "word order": order,
        "share": f"{language['share']:.2f}",
        "word shapes": shapes,
        "anchors": anchors,
        "segmentation": "learned" if language.get("piece_syllables") is None else f"{language['piece_syllables']} "
                                                                                  "syllables per piece",
    }


def _factor_keys(language: dict, base: dict) -> dict[str, str]:
    """Factors as compared between derived languages: scripts only matter as same-as-base or not (each
    derived language has its own script, with no letters shared with the base or each other)."""
    values = factor_values(language, base)
    values["script"] = "the base's" if language["script"] == base["script"] else "own"
    return values


def contrasts(languages: dict[str, dict], base: str) -> list[dict]:
    """Pairs of derived languages that differ in exactly one controlled factor."""
    derived = [name for name in languages if name != base]
    keys = {name: _factor_keys(languages[name], languages[base]) for name in derived}
    found = []
    for a, b in combinations(derived, 2):
        differing = [factor for factor in keys[a] if keys[a][factor] != keys[b][factor]]
        if len(differing) == 1:
            factor = differing[0]
            found.append({"languages": [a, b], "factor": factor,
                          "values": [factor_values(languages[a], languages[base])[factor],
                                     factor_values(languages[b], languages[base])[factor]]})
    return found


# --------------------------------------------------------------------------------------- computing


def _scores(runs: list[dict], task: str, method: str, model: str, lang: str) -> list[float]:
    return [run["scores"][lang] for run in _runs(runs, task, method, model) if lang in run["scores"]]


def _runs(runs, task, method, model) -> list[dict]:
    return sorted((run for run in runs if run["task"] == task and run["method"] == method and run["model"] == model
                   and run["scores"] is not None), key=lambda run: run["seed"])


def _one_label(runs, task, method, model, lang) -> bool:
    """Whether every run of the cell predicts one label for >= ONE_LABEL of the language's examples."""
    shares = [(run.get("top_label_share") or {}).get(lang) for run in _runs(runs, task, method, model)]
    return bool(shares) and all(share is not None and share >= ONE_LABEL for share in shares)


def _by_seed(runs, task, method, model, a, b) -> list[float]:
    """Per-run differences a - b (the same runs evaluated on two languages)."""
    return [run["scores"][a] - run["scores"][b] for run in _runs(runs, task, method, model)
            if a in run["scores"] and b in run["scores"]]


def _gap(tested: dict, runs, task: str, lang: str, method: str, model: str) -> dict:
    """The tested gap (lab.gaps), or, without run folders to test it on, the difference of seed means."""
    found = tested.get((task, lang, method, model))
    if found is not None:
        return found
    a, b = _scores(runs, task, method, model, lang), _scores(runs, task, FT, model, lang)
    difference = sum(a) / len(a) - sum(b) / len(b) if a and b else None
    return {"difference": difference, "low": None, "high": None, "n": [len(a), len(b)], "p": None, "p_adjusted": None,
            "significant": False, "seed_aware": False, "source": False, "note": "no run folders"}


def task_report(task: str, study: dict, lab: dict, tested: dict | None = None) -> dict:
    """`tested`: lab.gaps.study_gaps(study) (computed here when not given)."""
    tested = study_gaps(study) if tested is None else tested
    runs, spec = study["runs"], study["spec"]
    methods, models, languages = list(spec["methods"]), list(spec["models"]), study["languages"]
    base = study["base"]
    majority = study["majority"][task]
    accuracy = {lang: {m: {model: mean_interval(_scores(runs, task, m, model, lang)) for model in models}
                       for m in methods} for lang in languages}
    over_majority = {lang: {m: {model: shifted(accuracy[lang][m][model], majority["by_language"][lang]["accuracy"])
                                for model in models} for m in methods} for lang in languages}
    over_control = {}
    if {"pretrained", "control"} <= set(models):
        over_control = {lang: {m: welch_interval(_scores(runs, task, m, "pretrained", lang),
                                                 _scores(runs, task, m, "control", lang)) for m in methods}
                        for lang in languages}
    gaps = {}
    if FT in methods:
        gaps = {lang: {m: {model: _gap(tested, runs, task, lang, m, model) for model in models}
                       for m in methods if m != FT} for lang in languages}
    found = contrasts(lab["languages"], base)
    for contrast in found:
        a, b = contrast["languages"]
        contrast["accuracy"] = {m: {model: mean_interval(_by_seed(runs, task, m, model, a, b)) for model in models}
                                for m in methods}
        if FT in methods:
            contrast["gap"] = {m: {model: welch_interval(_by_seed(runs, task, m, model, a, b),
                                                         _by_seed(runs, task, FT, model, a, b)) for model in models}
                               for m in methods if m != FT}
    one_label = {lang: {m: {model: _one_label(runs, task, m, model, lang) for model in models} for m in methods}
                 for lang in languages}
    examples = max((n for run in runs if run["task"] == task and run["scores"] for n in run["examples"].values()),
                   default=0)
    best_steps = {m: {model: _spread([r["best_step"] for r in _runs(runs, task, m, model)
                                      if r.get("best_step") is not None]) for model in models} for m in methods}
    return {"metric": next((r["metric"] for r in runs if r["task"] == task and r["scores"]), "accuracy"),
            "test_examples": examples, "test_sampling_halfwidth": binomial_halfwidth(examples),
            "majority": majority, "accuracy": accuracy, "one_label": one_label, "over_majority": over_majority,
            "over_control": over_control,
            "gap": gaps, "contrasts": found, "best_step": best_steps}


def _spread(values: list) -> dict:
    """Mean, min and max (descriptive: for settings such as the selected step, not estimates)."""
    return {"mean": sum(values) / len(values), "min": min(values), "max": max(values), "n": len(values)} if values \
        else {"mean": None, "min": None, "max": None, "n": 0}


def retrieval_table(lab: dict) -> dict:
    """Per derived language: mean top-1 retrieval per layer for both models, the topic agreement, chance."""
    table = {}
    pretrained, control = lab["retrieval"]["pretrained"], lab["retrieval"]["control"]
    for lang, report in pretrained.items():
        table[lang] = {"chance": report["chance"], "sentences": report["sentences"], "best_layer": report["best_layer"],
                       "topic_chance": report.get("topic_chance"), "topics_permuted": report.get("topics_permuted"),
                       "layers": [{"layer": row["layer"], "pretrained": row["mean"], "control": other["mean"],
                                   "pretrained_topic": row.get("topic_mean")}
                                  for row, other in zip(report["layers"], control[lang]["layers"])]}
    return table


def build(study: dict, lab: dict) -> dict:
    """Everything the report shows, as one JSON-able dict (claims included)."""
    base = study["base"]
    languages = {name: {"factors": factor_values(spec, lab["languages"][base]),
                        "token_share": lab["pretraining"]["token_share"].get(name),
                        "fertility": lab["fertility"][name]["fertility"],
                        "shared_words": study["overlap"].get(name)}
                 for name, spec in lab["languages"].items()}
    scored = any(run["scores"] is not None for run in study["runs"])
    tested = study_gaps(study) if scored else {}
    # With no run scored there is nothing to estimate (an interval over no seeds is NaN): no task tables,
    # the failures are the report.
    tasks = {task: task_report(task, study, lab, tested) for task in study["spec"]["tasks"]} if scored else {}
    notices = sorted({n for run in study["runs"] for n in run.get("notices") or []})
    report = {"lab": lab["lab"], "key": lab["key"], "study_key": study["key"], "base": base, "intervals": INTERVALS,
              "seeds": study["spec"]["seeds"], "budgets": _budgets(study), "notices": notices,
              "languages": languages, "tasks": tasks, "retrieval": retrieval_table(lab),
              "pretraining": {"steps": lab["pretraining"]["train"]["steps"],
                              "tokens": lab["pretraining"]["train"]["tokens_seen"],
                              "dev_loss": lab["pretraining"]["dev_loss_by_language"],
                              "control_dev_loss": lab["pretraining"]["control_dev_loss"],
                              "parameters": lab["pretraining"]["parameters"]},
              "runs": {"planned": len(study["runs"]), "with_results": sum(r["scores"] is not None for r in study["runs"]),
                       "failed": [{"id": r["id"], "error": r.get("error")} for r in study["runs"] if r["scores"] is None]}}
    report["claims"], report["no_claims"] = claims(report)
    return report


def _budgets(study: dict) -> dict:
    spec = study["spec"]
    return {"methods": spec["methods"], "batch_size": spec["batch_size"], "eval_every": spec["eval_every"],
            "max_dev_examples": spec["max_dev_examples"],
            "selection": f"the checkpoint with the best {study['base']} dev score among evaluations every "
                         f"{spec['eval_every']} steps (earliest on ties)"}


# ------------------------------------------------------------------------------------------ claims


def _interval_text(low: float, high: float) -> str:
    return f"95% CI {low:+.3f} to {high:+.3f}"


def _claim(subject: str, interval: dict, value_key: str, how: str, n: str) -> tuple[str | None, str | None]:
    """(claim sentence, None) or (None, why there is no claim)."""
    side = verdict(interval["low"], interval["high"])
    if side is None:
        return None, f"{subject}: no claim (fewer than 2 seeds in a set: {n})"
    value = interval[value_key]
    said = {"above": "is above 0", "below": "is below 0",
            "overlaps 0": "is not distinguishable from 0 at this number of seeds"}[side]
    return (f"{subject} {said}: {value:+.3f} ({_interval_text(interval['low'], interval['high'])}; {how}, {n}).",
            None)


def _tested_claim(subject: str, entry: dict) -> str | None:
    """A method - FT gap's claim from the seed-aware test (lab.gaps), or None (no claim)."""
    side = gap_verdict(entry)
    if side is None:
        return None
    said = {"above": "is above 0", "below": "is below 0",
            "overlaps 0": "is not distinguishable from 0 at this number of seeds"}[side]
    return (f"{subject} {said} ({entry['correction']}-adjusted p {entry['p_adjusted']:.3f} over the family of "
            f"{entry['family']} target languages): {entry['difference']:+.3f} (unadjusted "
            f"{_interval_text(entry['low'], entry['high'])}; {entry['test']}, {entry['n'][0]} and {entry['n'][1]} seeds, "
            f"{entry['examples']} examples).")


def _seeds(n) -> str:
    if isinstance(n, list):
        return f"{n[0]} and {n[1]} seeds"
    return f"{n} seeds"


def claims(report: dict) -> tuple[list[dict], list[str]]:
    """The claim sentences (each backed by an interval over >= 2 seeds per set) and the comparisons left
    without a claim. A claim built on one-label cells (see ONE_LABEL) names them."""
    made, unclaimed = [], []

    def add(task, lang, kind, subject, interval, value_key, how, cells, tested: bool = False):
        if tested:  # a method - FT gap: the seed-aware test and its correction decide (lab.gaps)
            text, missing = _tested_claim(subject, interval), f"{subject}: no claim ({why_no_claim(interval)})"
        else:
            text, missing = _claim(subject, interval, value_key, how, _seeds(interval["n"]))
        if not text:
            unclaimed.append(missing)
            return
        one_label = [f"{m}/{model} on {where}" for where, m, model in cells
                     if report["tasks"][task]["one_label"][where][m][model]]
        if one_label:
            text += (f" Caveat: {', '.join(one_label)} predict{'s' if len(one_label) == 1 else ''} one label for at least "
                     f"{100 * ONE_LABEL:.0f}% of the examples in every seed (accuracy = that label's share).")
        side = gap_verdict(interval) if tested else verdict(interval["low"], interval["high"])
        made.append({"task": task, "language": lang, "kind": kind, "text": text, "one_label": one_label,
                     "verdict": side, "interval": interval})

    base = report["base"]
    for task, t in report["tasks"].items():
        for lang in t["accuracy"]:
            if lang == base:
                continue
            for method, result in t["over_control"].get(lang, {}).items():
                add(task, lang, "over_control", f"{task}, {lang}, {method}: pretrained minus no-pretraining control",
                    result, "difference", "Welch t", [(lang, method, "pretrained"), (lang, method, "control")])
            for method, models in t["over_majority"][lang].items():
                if "pretrained" in models:
                    add(task, lang, "over_majority", f"{task}, {lang}, {method} on the pretrained model: accuracy minus "
                        f"majority ({t['majority']['by_language'][lang]['accuracy']:.3f})", models["pretrained"], "mean",
                        "Student t", [(lang, method, "pretrained")])
            for method, models in t["gap"].get(lang, {}).items():
                for model, result in models.items():
                    add(task, lang, "gap", f"{task}, {lang}, {model} model: {method} minus {FT}", result, "difference",
                        None, [(lang, method, model), (lang, FT, model)], tested=True)
        for contrast in t["contrasts"]:
            a, b = contrast["languages"]
            pair = f"{a} vs {b} ({contrast['factor']}: {contrast['values'][0]} vs {contrast['values'][1]})"
            for method, models in contrast["accuracy"].items():
                if "pretrained" in models:
                    add(task, pair, "contrast", f"{task}, {pair}, {method} on the pretrained model: accuracy on {a} "
                        f"minus {b}", models["pretrained"], "mean", "paired by run",
                        [(a, method, "pretrained"), (b, method, "pretrained")])
            for method, models in contrast.get("gap", {}).items():
                if "pretrained" in models:
                    add(task, pair, "contrast_gap", f"{task}, {pair}, pretrained model: ({method} minus {FT}) on {a} "
                        f"minus the same on {b}", models["pretrained"], "difference", "Welch t over per-run differences",
                        [(lang, m, "pretrained") for lang in (a, b) for m in (method, FT)])
    return made, unclaimed


# ---------------------------------------------------------------------------------------- markdown


def cell(interval: dict, key: str = "mean", signed: bool = False, compact: bool = False) -> str:
    """'0.761 [0.742, 0.780]' (or, `compact`, '0.761±0.019': t intervals are symmetric); without an
    interval, the value and its number of seeds."""
    value = interval.get(key)
    if value is None:
        return "-"
    pattern = "{:+.3f}" if signed else "{:.3f}"
    shown = pattern.format(value)
    if interval.get("low") is None:
        n = interval["n"] if not isinstance(interval["n"], list) else min(interval["n"])
        return f"{shown} (n={n}, no CI)"
    if compact:
        return f"{shown}±{(interval['high'] - interval['low']) / 2:.3f}"
    return f"{shown} [{pattern.format(interval['low'])}, {pattern.format(interval['high'])}]"


def gap_cell(entry: dict) -> str:
    """A method - FT gap: '-0.046 [-0.097, +0.001]', '*' when significant after correction, 'ex' when the
    interval is example-only (1 seed of a method: seed variance unmeasured)."""
    text = cell(entry, "difference", signed=True)
    if entry.get("low") is not None and not entry.get("seed_aware"):
        text += " ex"
    return text + ("*" if entry.get("significant") else "")


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return markdown_table(header, rows)  # the report's one table writer: one escaped line per cell


def markdown(report: dict, commands: dict[str, str]) -> str:
    base, lines = report["base"], []
    lines += [f"# Lab report: {report['lab']} (lab {report['key'][:12]}, study {report['study_key'][:8]})", ""]
    lines += ["> " + notice for notice in report["notices"]] + ([""] if report["notices"] else [])
    lines += [f"Trained on `{base}` only, evaluated zero-shot on every language's test split. Seeds: "
              f"{', '.join(map(str, report['seeds']))}. {report['intervals']}", ""]
    lines += _budget_lines(report) + [""]
    for task, t in report["tasks"].items():
        lines += _task_lines(report, task, t)
    lines += _retrieval_lines(report)
    lines += ["## Claims", ""]
    lines += [f"- {claim['text']}" for claim in report["claims"]] or ["- none (see below)"]
    if report["no_claims"]:
        lines += ["", "Comparisons without a claim:", ""] + [f"- {text}" for text in report["no_claims"]]
    if report["runs"]["failed"]:
        lines += ["", f"**{len(report['runs']['failed'])} of {report['runs']['planned']} runs have no results** (left "
                  "out of every number above):", ""]
        lines += [f"- {run['id']}: {cell_text(run['error'], ERROR_LIMIT)} (full error: its status.json)"
                  for run in report["runs"]["failed"]]
    ordinary = report.get("ordinary_report")
    if ordinary:
        lines += ["", "The ordinary `xlpt report` over the same runs (per-language tables, the same seed-aware PT − FT "
                  "tests): " + (f"[{Path(ordinary['markdown']).parent.name}/report.md]"
                                f"({Path(ordinary['markdown']).parent.name}/report.md)" if "markdown" in ordinary
                                else f"not written: {ordinary['error']}")]
    lines += ["", "## Reproduce", ""] + [f"- {what}: `{command}`" for what, command in commands.items()]
    return "\n".join(lines) + "\n"


def _budget_lines(report: dict) -> list[str]:
    b = report["budgets"]
    rows = [[name, f"{m['learning_rate']:g}", str(m["steps"]),
             ", ".join(f"{k}={v}" for k, v in m.get("settings", {}).items()) or "-"] for name, m in b["methods"].items()]
    return (["## Budgets (fixed, the same for the pretrained model and the control)", ""]
            + _table(["method", "learning rate", "steps", "other settings"], rows)
            + ["", f"Batch size {b['batch_size']}; selection: {b['selection']}; {b['max_dev_examples']} dev examples."])


def axes(t: dict) -> tuple[list[str], list[str], list[str], list[str]]:
    """A task report's methods, models, methods compared with the control and methods in the PT - FT gap,
    in the study's order (the keys of its per-language tables; the last two are empty when not computed)."""
    first = next(iter(t["accuracy"].values()))
    return (list(first), list(next(iter(first.values()))), list(next(iter(t["over_control"].values()), {})),
            list(next(iter(t["gap"].values()), {})))


def _task_lines(report: dict, task: str, t: dict) -> list[str]:
    base = report["base"]
    methods, models, _, _ = axes(t)
    lines = [f"## {task} ({t['metric']}, {t['test_examples']} test examples per language)", "",
             f"Majority baseline: always `{t['majority']['label']}` (the most frequent {base} training label). Test-set "
             f"sampling error, not in the intervals: up to ±{t['test_sampling_halfwidth']:.3f} (95%, binomial).", ""]
    header = ["language", "majority"] + [f"{m} / {model}" for m in methods for model in models]
    rows = [[lang + (" (train)" if lang == base else ""), f"{t['majority']['by_language'][lang]['accuracy']:.3f}"]
            + [cell(t["accuracy"][lang][m][model]) + (" †" if t["one_label"][lang][m][model] else "")
               for m in methods for model in models] for lang in t["accuracy"]]
    lines += ["### Accuracy, mean [95% CI] over seeds", ""] + _table(header, rows) + [""]
    if any(flag for by_method in t["one_label"].values() for by_model in by_method.values() for flag in by_model.values()):
        lines += [f"† one-label: every seed predicts one label for at least {100 * ONE_LABEL:.0f}% of the examples, so "
                  "the accuracy is that label's share, not evidence of what transferred.", ""]
    lines += _factor_lines(report, t) + _contrast_lines(t)
    steps = ", ".join(f"{m}/{model} {s['mean']:.0f} ({s['min']}-{s['max']})" for m in methods for model in models
                      if (s := t["best_step"][m][model])["n"])
    lines += [f"Selected checkpoint step, mean (min-max over seeds): {steps}.", ""]
    return lines


def _factor_lines(report: dict, t: dict) -> list[str]:
    """Transfer and the PT - FT gap against every controlled factor, one row per derived language."""
    base = report["base"]
    derived = [lang for lang in t["accuracy"] if lang != base]
    if not derived:
        return []
    factors = list(report["languages"][derived[0]]["factors"])
    _, models, over_methods, gap_methods = axes(t)
    over = [(m, f"{m}: pretrained − control") for m in over_methods]
    gaps = [(m, model, f"{m} − {FT} ({model})") for m in gap_methods for model in models]
    header = ["language", *factors, "token share", "fertility", "shared words", "retrieval (pretrained, best layer)",
              *(name for _, name in over), *(name for *_, name in gaps)]
    rows = []
    for lang in derived:
        info, retrieval = report["languages"][lang], report["retrieval"].get(lang)
        best = f"{max(r['pretrained'] for r in retrieval['layers']):.3f} (chance {retrieval['chance']:.3f})" if retrieval else "-"
        rows.append([lang, *info["factors"].values(), f"{info['token_share']:.2f}", f"{info['fertility']:.2f}",
                     "-" if info["shared_words"] is None else f"{info['shared_words']:.2f}", best,
                     *(cell(t["over_control"][lang][m], "difference", True) for m, _ in over),
                     *(gap_cell(t["gap"][lang][m][model]) for m, model, _ in gaps)])
    return (["### Transfer and the PT − FT gap against the controlled factors", "",
             "Pretrained − control: differences with 95% Welch CIs over seeds. Method − FT gaps: 95% CI of the "
             "hierarchical bootstrap over seeds and test examples with Welch's t over the runs (the ordinary report's "
             "test); * Holm-adjusted p < "
             "0.05 over the target languages; ex: 1 seed of a method, an example-only interval that decides nothing. "
             f"Shared words: share of the test text's words written exactly as in {base}.", ""] + _table(header, rows) + [""])


def _contrast_lines(t: dict) -> list[str]:
    if not t["contrasts"]:
        return ["No two derived languages differ in exactly one controlled factor: no contrast.", ""]
    rows = []
    for c in t["contrasts"]:
        a, b = c["languages"]
        for m, models in c["accuracy"].items():
            gap = c.get("gap", {}).get(m, {}).get("pretrained")
            rows.append([f"{a} − {b}", f"{c['factor']}: {c['values'][0]} vs {c['values'][1]}", m,
                         cell(models["pretrained"], signed=True) if "pretrained" in models else "-",
                         cell(models["control"], signed=True) if "control" in models else "-",
                         cell(gap, "difference", True) if gap else "-"])
    return (["### Contrasts: languages that differ in one controlled factor", "",
             "Accuracy difference between the two languages inside the same runs (paired by run), mean [95% CI]; "
             f"gap: (method − {FT}) on the first minus on the second (Welch over per-run differences).", ""]
            + _table(["languages", "factor", "method", "pretrained", "control", "gap difference (pretrained)"], rows)
            + [""])


def _retrieval_lines(report: dict) -> list[str]:
    lines = ["## Retrieval per layer", "",
             "Top-1 parallel-sentence retrieval against the base (mean of both directions; words shared with the base "
             "left out), measured once on the one pretrained model (no seeds, no interval). Layer 0 = embeddings.", ""]
    for lang, r in report["retrieval"].items():
        rows = [[str(row["layer"]), f"{row['pretrained']:.3f}", f"{row['control']:.3f}",
                 "-" if row["pretrained_topic"] is None else f"{row['pretrained_topic']:.2f}"] for row in r["layers"]]
        lines += [f"**{lang}** ({r['sentences']} sentences, chance {r['chance']:.4f}; topic chance "
                  f"{r['topic_chance']:.2f}{'; TOPICS ALIGNED TO THE WRONG ONES' if r['topics_permuted'] else ''})", ""]
        lines += _table(["layer", "pretrained", "control", "topic agreement (pretrained)"], rows) + [""]
    return lines


def write_report(study: dict, lab: dict, out_dir: Path, commands: dict[str, str], extra: dict | None = None) -> dict:
    """Build the report, write report.json and report.md into `out_dir`; returns the report. `extra`
    (e.g. where the ordinary `xlpt report` went) is added to the JSON and linked from the Markdown."""
    report = build(study, lab) | {"commands": commands} | (extra or {})
    _write_json(out_dir / "report.json", report)
    write_text_atomic(out_dir / "report.md", markdown(report, commands))
    return report
