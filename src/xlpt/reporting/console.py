"""Plain-text tables for the terminal (the full report lives in xlpt.reporting)."""

from __future__ import annotations


def print_results(results: dict) -> None:
    metric = results["metric"]
    print(f"\n{results['task']} / {results['method']} / {results['model']}  ({metric}, split {results['split']})")
    for lang, m in results["languages"].items():
        note = "" if m.get("split") == results["split"] else f"  ({m.get('split')})"
        print(f"  {lang:>4}  {100 * m[metric]:6.2f}  n={m['n']}{note}")
    print(f"  {'avg':>4}  {100 * results['average']:6.2f}")
    if results.get("average_without_en") is not None:
        print(f"  {'-en':>4}  {100 * results['average_without_en']:6.2f}  (average without English)")


def comparison_table(results_by_method: dict[str, dict]) -> str:
    """Languages as rows, methods as columns; the best score per row is starred."""
    methods = list(results_by_method)
    metric = next(iter(results_by_method.values()))["metric"]
    languages = sorted({lang for r in results_by_method.values() for lang in r["languages"]})
    header = f"{'lang':>6} " + " ".join(f"{m:>16}" for m in methods)
    lines = [header, "-" * len(header)]
    for lang in languages + ["avg", "avg-en"]:
        values = [_value(results_by_method[m], lang, metric) for m in methods]
        best = max((v for v in values if v is not None), default=None)
        cells = [f"{'-':>16}" if v is None else f"{100 * v:15.2f}{'*' if v == best else ' '}" for v in values]
        lines.append(f"{lang:>6} " + " ".join(cells))
    return "\n".join(lines)


def _value(results: dict, lang: str, metric: str):
    if lang == "avg":
        return results["average"]
    if lang == "avg-en":
        return results.get("average_without_en")
    entry = results["languages"].get(lang)
    return None if entry is None else entry[metric]
