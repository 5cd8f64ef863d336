"""Multiple-comparison correction of the per-language PT − FT tests.

A comparison (one task, one PT configuration against one FT configuration of the same model) tests
every target language at once; with 7 languages and p < 0.05 each, the chance of at least one false
"significant" is about 30 %, with 200 languages almost certain. Each comparison is therefore one
family, corrected as a whole:

* Holm (1979), the default: controls the family-wise error rate (the chance of *any* false positive)
  without assuming independence. Adjusted p of the k-th smallest raw p (k = 1..m) is
  max_{j<=k} min(1, (m - j + 1) p_(j)). Implemented here (four lines; statsmodels is not a dependency)
  and tested against the step-down rejection rule it is defined by.
* Benjamini–Hochberg: controls the false discovery rate (the expected share of false positives among
  the languages called significant); less strict, for many languages. From scipy
  (`scipy.stats.false_discovery_control`).
"""

from __future__ import annotations

import numpy as np
from scipy import stats as sps

METHODS = {"holm": "Holm", "bh": "Benjamini–Hochberg"}
CONTROLS = {"holm": "family-wise error rate", "bh": "false discovery rate"}


def holm(p_values) -> np.ndarray:
    """Holm step-down adjusted p-values, in the input order."""
    p = np.asarray(p_values, dtype=float)
    m = p.size
    order = np.argsort(p, kind="stable")
    stepped = np.maximum.accumulate((m - np.arange(m)) * p[order])  # (m - j + 1) p_(j), j from 1
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(stepped, 1.0)
    return adjusted


def adjust(p_values, method: str) -> np.ndarray:
    """Adjusted p-values by `method` ("holm" or "bh"); an empty family gives an empty array."""
    p = np.asarray(p_values, dtype=float)
    if method not in METHODS:
        raise ValueError(f"unknown correction {method!r}; choose one of {', '.join(METHODS)}")
    if p.size == 0:
        return p
    if method == "holm":
        return holm(p)
    return sps.false_discovery_control(p, method="bh")


def smallest_adjusted(family_size: int, p_floor: float, method: str) -> float:
    """The smallest adjusted p a family of this size can reach when no raw p is below `p_floor`
    (the bootstrap's resolution, seed_bootstrap.p_floor): all raw p at the floor is the best case."""
    if family_size == 0:
        return 1.0
    return float(adjust(np.full(family_size, p_floor), method).min())
