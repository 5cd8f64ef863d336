"""Plain-text tables for the terminal (the full report lives in xlpt.reporting).

The same honesty rules as the report: the pipeline-check banner comes first, every language shows
the split it was scored on, and a capped evaluation says so ("n=200 of 2,000, capped").
"""

from __future__ import annotations

from pathlib import Path

from xlpt.reporting.banner import notices as banner_notices
from xlpt.reporting.collect import RunFormatError, RunRecord, parse_results
from xlpt.reporting.coverage import count_text, language_coverage
from xlpt.reporting.source import average_without_source, source_language
from xlpt.reporting.split_mix import mix_text


def _record(results: dict) -> RunRecord | None:
    """The results as a report record (for the banner and the caps); None if they do not parse."""
    try:
        return parse_results(results, Path("."), results.get("split", "test"))
    except RunFormatError as err:
        print(f"(results do not follow the results.json contract: {err}; shown without caps or banner)")
        return None


def banner(records: list[RunRecord | None]) -> list[str]:
    """The runs' notices (a pipeline check's first of all), verbatim and once each, framed so they cannot be
    missed."""
    notices = banner_notices([r for r in records if r is not None])
    if not notices:
        return []
    rule = "!" * 78
    return [rule] + [f"!! {notice}" for notice in notices] + [rule]


def print_results(results: dict) -> None:
    metric, split = results["metric"], results["split"]
    record = _record(results)
    for line in banner([record]):
        print(line)
    print(f"\n{results['task']} / {results['method']} / {results['model']}  "
          f"({metric}; {split} split where labeled, else the split shown per language)")
    width = max([4] + [len(lang) for lang in results["languages"]])
    for lang, m in results["languages"].items():
        lang_split = m.get("split") or split
        if record is not None:
            n = count_text(record.lang_n[lang], record.lang_n_available[lang], record.lang_capped[lang], sep=",")
        else:
            n = str(m.get("n", "?"))
        print(f"  {lang:>{width}}  {100 * m[metric]:6.2f}  {lang_split:<11}  n={n}")
    source = source_language(results)
    splits = {lang: m.get("split") or split for lang, m in results["languages"].items()}
    mix = mix_text(splits)
    # Say what the average is over: with --languages de,sw it is those two, and "without the source
    # language" is only a distinct number when the source was among the evaluated languages.
    evaluated = list(results["languages"])
    over = ", ".join(evaluated) if len(evaluated) <= 8 else f"{len(evaluated)} languages"
    print(f"  {'avg':>{width}}  {100 * results['average']:6.2f}  (average over {over}"
          + (f"; mixed: {mix})" if mix else ")"))
    without = average_without_source(results)
    if without is not None and source in results["languages"]:
        mix = mix_text({lang: s for lang, s in splits.items() if lang != source})
        print(f"  {'-src':>{width}}  {100 * without:6.2f}  (average without the source language, {source}"
              + (f"; mixed: {mix})" if mix else ")"))
    for lang, reason in (record.skipped_languages if record else {}).items():
        print(f"  {lang:>{width}}  skipped on request: {reason}")


def comparison_table(results_by_method: dict[str, dict]) -> str:
    """Languages as rows (with split and examples scored), methods as columns; the best per row is starred.

    A pipeline-check banner, when any run has one, comes first. "avg-src" is each run's average without
    its own source language; the rows named in the last line are the source languages."""
    methods = list(results_by_method)
    metric = next(iter(results_by_method.values()))["metric"]
    records = [_record(r) for r in results_by_method.values()]
    coverage = language_coverage([r for r in records if r is not None])
    languages = sorted({lang for r in results_by_method.values() for lang in r["languages"]})
    width = max([6] + [len(lang) for lang in languages])
    n_width = max([8] + [len(coverage[lang].examples_text()) for lang in languages if lang in coverage])
    header = f"{'lang':>{width}} {'split':<11} {'examples':<{n_width}} " + " ".join(f"{m:>16}" for m in methods)
    lines = banner(records) + [header, "-" * len(header)]
    for lang in languages + ["avg", "avg-src"]:
        values = [_value(results_by_method[m], lang, metric) for m in methods]
        best = max((v for v in values if v is not None), default=None)
        cells = [f"{'-':>16}" if v is None else f"{100 * v:15.2f}{'*' if v == best else ' '}" for v in values]
        found = coverage.get(lang)
        split, examples = (found.split_text, found.examples_text()) if found else ("", "")
        lines.append(f"{lang:>{width}} {split:<11} {examples:<{n_width}} " + " ".join(cells))
    sources = sorted({source_language(r) for r in results_by_method.values()})
    lines.append(f"avg-src: average without the source language ({', '.join(sources)})")
    return "\n".join(lines)


def _value(results: dict, lang: str, metric: str):
    if lang == "avg":
        return results["average"]
    if lang == "avg-src":
        return average_without_source(results)
    entry = results["languages"].get(lang)
    return None if entry is None else entry[metric]
