"""95% confidence intervals over seeds: Student t for a mean, Welch for a difference of two means.

Seeds are few (3 to 5), so the intervals use the t distribution with the seeds' own spread, never a
normal approximation. Three shapes occur in the lab report:

* `mean_interval(values)`: one set of runs (e.g. full fine-tuning of the pretrained model on greek);
  also the *paired* interval of per-seed differences measured inside the same runs (greek minus
  armenian accuracy of each run).
* `welch_interval(a, b)`: two independent sets of runs (pretrained vs control, prompt tuning vs fine-
  tuning): mean(a) - mean(b) with Welch's degrees of freedom (no equal-variance assumption).

Fewer than 2 values give no interval (`low`/`high` None), and callers make no claim from them. Values
that do not vary at all (a model stuck on one class in every seed) give a zero-width interval: there
is no spread over seeds to widen it; the report says that the intervals leave out test-set sampling.
"""

from __future__ import annotations

import math
from statistics import fmean, stdev

LEVEL = 0.95


def _t_quantile(df: float) -> float:
    from scipy.stats import t

    return float(t.ppf(0.5 + LEVEL / 2, df))


def mean_interval(values: list[float]) -> dict:
    """{"mean", "low", "high", "sd", "n", "values"}: the 95% Student t interval of the mean."""
    values = [float(v) for v in values]
    n = len(values)
    result = {"mean": fmean(values) if values else None, "low": None, "high": None, "sd": None, "n": n,
              "values": values}
    if n >= 2:
        sd = stdev(values)
        half = _t_quantile(n - 1) * sd / math.sqrt(n)
        result.update(sd=sd, low=result["mean"] - half, high=result["mean"] + half)
    return result


def welch_interval(a: list[float], b: list[float]) -> dict:
    """{"difference", "low", "high", "n": [len(a), len(b)], "df"}: 95% Welch interval of mean(a) - mean(b)."""
    a, b = [float(v) for v in a], [float(v) for v in b]
    result = {"difference": fmean(a) - fmean(b) if a and b else None, "low": None, "high": None,
              "n": [len(a), len(b)], "df": None}
    if len(a) < 2 or len(b) < 2:
        return result
    va, vb = stdev(a) ** 2 / len(a), stdev(b) ** 2 / len(b)
    if va + vb == 0:  # no spread in either set: nothing widens the difference
        result.update(low=result["difference"], high=result["difference"])
        return result
    df = (va + vb) ** 2 / ((va ** 2 / (len(a) - 1) if va else 0.0) + (vb ** 2 / (len(b) - 1) if vb else 0.0))
    half = _t_quantile(df) * math.sqrt(va + vb)
    result.update(df=df, low=result["difference"] - half, high=result["difference"] + half)
    return result


def shifted(interval: dict, by: float) -> dict:
    """A mean interval minus a constant (e.g. accuracy above the majority baseline)."""
    moved = {key: interval[key] for key in ("n", "sd")}
    for key in ("mean", "low", "high"):
        moved[key] = None if interval[key] is None else interval[key] - by
    return moved


def verdict(low: float | None, high: float | None) -> str | None:
    """'above' (interval above 0), 'below', 'overlaps 0', or None without an interval."""
    if low is None or high is None:
        return None
    return "above" if low > 0 else "below" if high < 0 else "overlaps 0"


def binomial_halfwidth(n: int, p: float = 0.5) -> float:
    """Normal-approximation 95% half-width of an accuracy on n test examples (largest at p = 0.5): the
    test-set sampling error the seed intervals leave out."""
    return 1.959964 * math.sqrt(p * (1 - p) / n) if n else float("nan")
