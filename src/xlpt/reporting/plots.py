"""PNG figures for the report (matplotlib, Agg backend: no display needed, identical output per input).

Each function draws one figure, saves it and closes it, so a report over many tasks does not pile up
open figures. Figures follow the tables' honesty rules: "± std" only where some cell has 2 or more
seeds, no fitted line for a correlation that is not interpretable, and a red "PIPELINE CHECK" title on
figures drawn from pipeline-check models.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402

from xlpt.reporting.aggregate import AVERAGE_ROWS, PromptCurve, TaskTable  # noqa: E402
from xlpt.reporting.source import without_source_label  # noqa: E402
from xlpt.reporting.banner import TITLE as PIPELINE_TITLE  # noqa: E402
from xlpt.reporting.builders import seed_phrase  # noqa: E402

DPI = 110
# Fixed metadata keeps PNG bytes identical across runs (matplotlib stamps its version otherwise).
PNG_METADATA = {"Software": None}


def _mark_pipeline_check(fig) -> None:
    fig.suptitle(PIPELINE_TITLE, color="#b00020", fontweight="bold", fontsize="medium")


def _save(fig, path: Path) -> Path:
    fig.savefig(path, dpi=DPI, metadata=PNG_METADATA)
    plt.close(fig)
    return path


def baselines(table: TaskTable) -> dict[str, float]:
    """The floor a score plot is read against, as label -> fraction: chance (1 / number of labels) and the
    majority class (the most frequent training label's share), for accuracy only and only when every run
    of the table recorded the same training label counts (else nothing is drawn rather than a guess)."""
    if table.metric != "accuracy":
        return {}
    counts = [run.label_counts for runs in table.runs.values() for run in runs]
    if not counts or any(c is None for c in counts) or any(c != counts[0] for c in counts):
        return {}
    total, top = sum(counts[0].values()), max(counts[0], key=counts[0].get)
    return {f"chance (1/{len(counts[0])} = {100 / len(counts[0]):.1f}%)": 1 / len(counts[0]),
            f"majority class ({top}: {100 * counts[0][top] / total:.1f}% of training labels)": counts[0][top] / total}


def _baseline_lines(ax, lines: dict[str, float]) -> None:
    for (label, value), style in zip(lines.items(), (":", "-.")):
        ax.axhline(100 * value, ls=style, lw=1, color="black", alpha=0.7, label=label)


def language_bars(table: TaskTable, path: Path) -> Path:
    return _save(bars_figure(table), path)


def bars_figure(table: TaskTable):
    """Grouped bars: one group per language, one bar per system, error bars = std over seeds (2+ seeds only)."""
    langs, systems = table.languages, table.systems
    width = 0.8 / max(len(systems), 1)
    size = (min(max(6.0, 0.45 * len(langs) * max(1, len(systems) / 2)), 22.0), 4.5)
    fig, ax = plt.subplots(figsize=size, layout="constrained")
    x = np.arange(len(langs))
    for i, system in enumerate(systems):
        summaries = [table.cells.get((lang, system)) for lang in langs]
        heights = [100 * s.mean if s else np.nan for s in summaries]
        errors = [100 * s.std if s and s.std is not None else 0.0 for s in summaries]
        ax.bar(x + (i - (len(systems) - 1) / 2) * width, heights, width, yerr=errors if any(errors) else None,
               capsize=2, label=table.labels[system])
    # † as in the tables: scored on another split than the report's (e.g. dev).
    labels = [lang + ("†" if lang in table.substitute_splits else "") for lang in langs]
    ax.set_xticks(x, labels, rotation=90 if len(langs) > 20 else 0)
    _baseline_lines(ax, baselines(table))
    ax.set_ylabel(f"{table.metric} (%)")
    ax.set_title(f"{table.task}: per-language {table.metric}, {seed_phrase(table.min_seeds, table.max_seeds)}")
    if table.pipeline_check:
        _mark_pipeline_check(fig)
    fig.legend(loc="outside lower center", fontsize="small", ncols=min(len(ax.get_legend_handles_labels()[0]), 4))
    ax.grid(axis="y", alpha=0.3)
    return fig


def prompt_length_curves(curves: list[PromptCurve], path: Path, references: dict[str, float] | None = None,
                         pipeline_check: bool = False, floors: dict[str, float] | None = None) -> Path:
    """Metric against prompt length: thin grey line per language, bold lines for the training language(s)
    and the averages.

    `references` maps a label (e.g. "Full FT average w/o source (en)") to a horizontal dashed line."""
    fig, axes = plt.subplots(1, len(curves), figsize=(4.8 * len(curves), 3.8), squeeze=False,
                             layout="constrained")
    for ax, curve in zip(axes.flat, curves):
        highlighted = {without_source_label(curve.sources): "C1", AVERAGE_ROWS["all"]: "C2"}
        for name, values in curve.series.items():
            ys = [100 * v if v is not None else np.nan for v in values]
            color = "C0" if name in curve.sources else highlighted.get(name)
            if color:
                ax.plot(curve.lengths, ys, marker="o", lw=2, color=color, label=name)
            else:
                ax.plot(curve.lengths, ys, color="grey", lw=0.7, alpha=0.5)
        for i, (label, value) in enumerate((references or {}).items()):
            ax.axhline(100 * value, ls="--", lw=1, color=f"C{3 + i}", label=label)
        _baseline_lines(ax, floors or {})
        ax.set_xscale("log", base=2)
        ax.set_xticks(curve.lengths, [str(n) for n in curve.lengths])
        ax.minorticks_off()
        ax.set_xlabel("prompt length (tokens)")
        ax.set_ylabel("metric (%)")
        ax.set_title(f"{curve.task}: {curve.label}", fontsize=9)
        ax.legend(fontsize="x-small")
        ax.grid(alpha=0.3)
    if pipeline_check:
        _mark_pipeline_check(fig)
    return _save(fig, path)
