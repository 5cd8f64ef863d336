"""Score plots carry their floor (chance and the majority class, where the results say the label counts);
language labels in the gap scatter never overlap in the saved figure (renderer extents)."""

from __future__ import annotations

import io

from xlpt.reporting.aggregate import build_task_tables
from xlpt.reporting.collect import collect_runs
from xlpt.reporting.plots import bars_figure

COUNTS = {"entailment": 60, "neutral": 20, "contradiction": 20}


def _baseline_labels(fig) -> list[str]:
    return [line.get_label() for ax in fig.axes for line in ax.get_lines()]


def test_bars_show_chance_and_the_majority_class(runs):
    for seed in (1, 2):
        runs.write(f"pt{seed}", seed=seed, scores={"en": 0.8, "de": 0.6},
                   top={"training": {"train_label_counts": COUNTS}})
    (table,) = build_task_tables(collect_runs(runs.root).runs)
    fig = bars_figure(table)
    labels = _baseline_labels(fig)
    assert any(label.startswith("chance") and "33.3" in label for label in labels), labels
    assert any(label.startswith("majority class") and "60.0" in label for label in labels), labels


def test_no_majority_line_without_label_counts(runs):
    runs.write("pt", scores={"en": 0.8, "de": 0.6})
    (table,) = build_task_tables(collect_runs(runs.root).runs)
    assert not any(label.startswith("majority") for label in _baseline_labels(bars_figure(table)))


def test_gap_scatter_labels_do_not_overlap(tmp_path):
    from xlpt.reporting.correlation_views import scatter_figure
    from xlpt.reporting.correlations import CorrelationAnalysis

    # 14 languages crowded on nearly the same point: every naive label would sit on the others
    points = [(f"lang{i:02d}", 0.30 + 0.001 * i, 1.0 + 0.01 * i) for i in range(14)]
    analysis = CorrelationAnalysis("xnli: PT − FT", "fertility", points=points, problem="too few points")
    fig = scatter_figure([analysis], "fertility")
    fig.savefig(io.BytesIO(), format="png")
    renderer = fig.canvas.get_renderer()
    boxes = [text.get_window_extent(renderer) for ax in fig.axes for text in ax.texts]
    assert len(boxes) == 14
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not a.overlaps(b), (a, b)
