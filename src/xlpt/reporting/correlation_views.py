"""How the gap correlations are shown: the table, the scatter figures, their captions and the CSVs.

Rules, so that no correlation goes out unqualified:
* every p-value is shown raw *and* adjusted over the family of every correlation shown (Holm by
  default), and the family is stated in the table title, figure captions and CSV rows;
* every caption names n and the languages a correlation rests on;
* the natural and the sampled pretraining share are named as such on every column and axis;
* a correlation over too few languages shows its reason instead of r, and its figure has no line.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402

from xlpt.reporting import banner  # noqa: E402
from xlpt.reporting.correlations import (  # noqa: E402
    VARIABLES, CorrelationAnalysis, CorrelationFamily, summarize_left_out,
)
from xlpt.reporting.exports import write_csv  # noqa: E402
from xlpt.reporting.multiplicity import CONTROLS, METHODS  # noqa: E402
from xlpt.reporting.tables import Table  # noqa: E402

TITLE = "PT − FT gap (pp) against tokenization and pretraining share"
"""Fixed, so the table can be found by its title; the family it is corrected over is its first note."""
SHARE_NOTE = ("Natural share: the language's tokens over all pretraining tokens. Sampled share: its share of the "
              "training mixture after low-resource upsampling, i.e. what the model was trained on (XGLM: the model "
              "card's 'ratio' and 'ratio w/ lowRes upsampling' columns; no sampled share is assumed for other "
              "models).")


def format_p(p: float) -> str:
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def family_of(analyses: list[CorrelationAnalysis]) -> CorrelationFamily | None:
    return next((a.family for a in analyses if a.family is not None), None)


def family_sentence(analyses: list[CorrelationAnalysis]) -> str:
    """'p adjusted: Holm over 12 correlations: ... (family-wise error rate)'."""
    family = family_of(analyses)
    if family is None:
        return "p not adjusted: no correlation computed"
    return f"p adjusted: {family.describe()} ({CONTROLS[family.method]})"


def correlation_table(analyses: list[CorrelationAnalysis], min_languages: int, pipeline_check: bool = False) -> Table:
    """One row per (scope, variable): n, r and ρ with CIs, raw and family-adjusted p, languages, left out."""
    family = family_of(analyses)
    method = METHODS[family.method] if family else "adjusted"
    header = ["Scope", "x", "n", "Pearson r", "r 95% CI", "Pearson p (raw)", f"Pearson p ({method})",
              "Spearman ρ", "ρ 95% CI", "Spearman p (raw)", f"Spearman p ({method})", "Slope (pp per unit x)",
              "Languages", "Left out"]
    out = Table(TITLE, header)
    for a in analyses:
        r = a.result
        if r is None:
            numbers = [a.problem or "not computed"] + ["—"] * 8
        else:
            numbers = [f"{r.pearson_r:.3f}", _ci(r.pearson_ci), format_p(r.pearson_p),
                       format_p(a.p_adjusted["pearson"]), f"{r.spearman_rho:.3f}", _ci(r.spearman_ci),
                       format_p(r.spearman_p), format_p(a.p_adjusted["spearman"]), f"{r.slope:.2f}"]
        n = str(len(a.points))
        if len(a.languages()) != len(a.points):
            n += f" ({len(a.languages())} languages)"
        out.add_row([a.scope, VARIABLES[a.variable], n] + numbers
                    + [", ".join(a.languages()) or "—", summarize_left_out(a.left_out)])
    out.footnotes = [banner.SHORT] if pipeline_check else []
    out.footnotes.append(f"p ({method}): {family_sentence(analyses)}; "
                         "every correlation shown with an r is in the family, and only the adjusted p may be read "
                         "as evidence. p (raw): scipy.stats pearsonr / spearmanr, for reference.")
    out.footnotes.append(SHARE_NOTE)
    out.footnotes.append(f"Correlations over fewer than {min_languages} distinct languages are not interpretable and "
                         "not computed (outside the family); their points are still listed (correlation_points.csv, "
                         "figures). The runs' source language is never a point.")
    if any(len(a.languages()) != len(a.points) for a in analyses):
        out.footnotes.append("Pooled scopes count each language once per task: the points are not independent.")
    return out


def _ci(ci: tuple[float, float]) -> str:
    return f"[{ci[0]:.3f}, {ci[1]:.3f}]"


def figure_caption(analyses: list[CorrelationAnalysis], variable: str) -> str:
    """What one variable's figure rests on: per panel n and languages, then the family."""
    panels = [a for a in analyses if a.variable == variable and a.points]
    parts = [f"{a.scope}: {a.caption()}" for a in panels]
    return (f"PT − FT gap against {VARIABLES[variable]}. " + "; ".join(parts)
            + f". {family_sentence(analyses)}.")


def gap_scatter(analyses: list[CorrelationAnalysis], variable: str, path: Path,
                pipeline_check: bool = False) -> Path | None:
    fig = scatter_figure(analyses, variable, pipeline_check)
    if fig is None:
        return None
    fig.savefig(path, dpi=110, metadata={"Software": None})  # fixed metadata: identical bytes per input
    plt.close(fig)
    return path


def scatter_figure(analyses: list[CorrelationAnalysis], variable: str, pipeline_check: bool = False):
    """One panel per scope: gap against the variable, language labels; OLS line, r, ρ and their adjusted
    p in the title only when the correlation was computed, else the reason instead."""
    panels = [a for a in analyses if a.variable == variable and a.points]
    if not panels:
        return None
    cols = min(len(panels), 3)
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.8 * cols, 4.0 * rows), squeeze=False, layout="constrained")
    for ax, analysis in zip(axes.flat, panels):
        _scatter_panel(ax, analysis)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    if pipeline_check:
        fig.suptitle(banner.TITLE, color="#b00020", fontweight="bold", fontsize="medium")
    fig.canvas.draw()  # lay the figure out once, then freeze it: moving labels must not move the axes
    fig.set_layout_engine("none")
    for ax in axes.flat:
        separate_labels(ax.texts, fig)
    return fig


def separate_labels(texts, fig) -> None:
    """Greedy vertical offsets so no two point labels overlap: labels from the bottom up, each moved up
    just past every placed label it would cover (measured with the renderer's extents, in points)."""
    renderer = fig.canvas.get_renderer()
    placed = []
    for text in sorted(texts, key=lambda t: (t.get_window_extent(renderer).y0, t.get_window_extent(renderer).x0)):
        for _ in range(len(placed) + 1):
            box = text.get_window_extent(renderer)
            hit = [other for other in placed if box.overlaps(other)]
            if not hit:
                break
            dx, dy = text.get_position()
            text.set_position((dx, dy + (max(o.y1 for o in hit) - box.y0 + 1) * 72 / fig.dpi))
        placed.append(text.get_window_extent(renderer))


def _scatter_panel(ax, analysis: CorrelationAnalysis) -> None:
    xs = np.array([x for _, x, _ in analysis.points])
    ys = np.array([y for _, _, y in analysis.points])
    groups = [label.rsplit(":", 1)[0] if ":" in label else "" for label, _, _ in analysis.points]
    for group in dict.fromkeys(groups):
        mask = np.array([g == group for g in groups])
        ax.scatter(xs[mask], ys[mask], s=18, label=group or None)
    if len(set(groups)) > 1:
        ax.legend(fontsize="x-small")
    if len(analysis.points) <= 60:
        for label, x, y in analysis.points:
            ax.annotate(label.split(":")[-1], (x, y), fontsize=7, xytext=(2, 2), textcoords="offset points")
    ax.axhline(0, color="grey", lw=0.8, ls="--")
    title = f"{analysis.scope} (n={len(analysis.points)}, {len(analysis.languages())} languages)"
    if analysis.interpretable and analysis.result is not None:
        r, method = analysis.result, METHODS[analysis.family.method] if analysis.family else "adj."
        grid = np.linspace(xs.min(), xs.max(), 50)
        ax.plot(grid, r.slope * grid + r.intercept, color="C3")
        title += (f"\nr={r.pearson_r:.2f} [{r.pearson_ci[0]:.2f}, {r.pearson_ci[1]:.2f}], "
                  f"p {method} {format_p(analysis.p_adjusted['pearson'])}"
                  f"\nρ={r.spearman_rho:.2f} [{r.spearman_ci[0]:.2f}, {r.spearman_ci[1]:.2f}], "
                  f"p {method} {format_p(analysis.p_adjusted['spearman'])}")
    else:
        title += f"\n{analysis.problem or 'no correlation'}: points only, no fitted line"
    ax.set_title(title, fontsize=8)
    ax.set_xlabel(VARIABLES[analysis.variable])
    ax.set_ylabel("PT − FT (pp)")
    ax.grid(alpha=0.3)


def write_correlation_csvs(directory: Path, analyses: list[CorrelationAnalysis]) -> None:
    """`correlations.csv` (one row per analysis, raw and adjusted p, the family) and `correlation_points.csv`."""
    header = ["scope", "variable", "n", "pearson_r", "pearson_ci_low", "pearson_ci_high", "pearson_p",
              "pearson_p_adjusted", "spearman_rho", "spearman_ci_low", "spearman_ci_high", "spearman_p",
              "spearman_p_adjusted", "slope", "intercept", "correction", "family_size", "family",
              "left_out", "problem", "languages", "language_list", "interpretable"]
    rows, points = [], []
    for a in analyses:
        r = a.result
        numbers = [None] * 12 if r is None else [
            r.pearson_r, *r.pearson_ci, r.pearson_p, a.p_adjusted["pearson"], r.spearman_rho, *r.spearman_ci,
            r.spearman_p, a.p_adjusted["spearman"], r.slope, r.intercept]
        family = [a.family.method, a.family.size, a.family.describe()] if a.family and r is not None else [None] * 3
        left = "; ".join(f"{label} ({reason})" for label, reason in a.left_out)
        rows.append([a.scope, a.variable, len(a.points)] + numbers + family
                    + [left, a.problem, len(a.languages()), " ".join(a.languages()), a.interpretable])
        points += [[a.scope, a.variable, label, x, y] for label, x, y in a.points]
    write_csv(directory / "correlations.csv", header, rows)
    write_csv(directory / "correlation_points.csv", ["scope", "variable", "language", "x", "gap_pp"], points)
