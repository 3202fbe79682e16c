"""Small statistics across seeds, for a handful of numbers some of which may be missing.

A seed that has not got somewhere yet (or never did) gives ``None`` or NaN: :func:`present`
drops those, :func:`median_range` summarises the rest (median, min, max and how many),
:func:`censored_median` counts them as infinitely far instead, and :func:`t_interval` gives
a mean with its 95% t-interval. Pure Python and numpy: the app formats these
(``ui/charts/numbers.py``), the labs and the app's pages compute with them.
"""

from __future__ import annotations

import math

import numpy as np


def present(values) -> list[float]:
    """The finite numbers among ``values`` (None and NaN dropped), as floats.

    >>> present([3, None, float("nan"), 1.5])
    [3.0, 1.5]
    """
    return [float(v) for v in values if v is not None and np.isfinite(v)]


def median_range(values) -> dict:
    """Median, min and max of the finite ``values`` (None each without any), and their count.

    >>> median_range([3, None, 1, 2])
    {'median': 2.0, 'lo': 1.0, 'hi': 3.0, 'n': 3}
    """
    vals = present(values)
    if not vals:
        return {"median": None, "lo": None, "hi": None, "n": 0}
    return {"median": float(np.median(vals)), "lo": min(vals), "hi": max(vals), "n": len(vals)}


def censored_median(values) -> float:
    """The median with a missing value (a seed that never got there) counted as infinite, so
    it is ``inf`` when most seeds did not get there; NaN without values.

    >>> censored_median([100, None, 300]), censored_median([100, None, None])
    (300.0, inf)
    """
    if not values:
        return float("nan")
    return float(np.median([v if v is not None and not math.isnan(v) else np.inf
                            for v in values]))


T_975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
         2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
         2.060, 2.056, 2.052, 2.048, 2.045, 2.042)
"""Student's t 97.5% quantiles for 1 .. 30 degrees of freedom (a two-sided 95% interval)."""


def t_quantile(df: int) -> float:
    """The 97.5% quantile of Student's t with ``df`` degrees of freedom (1.96 beyond 30)."""
    if df < 1:
        raise ValueError(f"need at least 1 degree of freedom, got {df}")
    return T_975[df - 1] if df <= len(T_975) else 1.96


def t_interval(values) -> dict:
    """Mean of the finite ``values`` with a 95% t-interval, mean ± t(n-1) * s / sqrt(n)
    (s: the sample standard deviation). ``lo`` / ``hi`` / ``half`` are None with fewer than
    two values.

    >>> r = t_interval([1.0, 3.0])
    >>> r["mean"], round(r["half"], 3)
    (2.0, 12.706)
    """
    vals = np.asarray(present(values))
    n = len(vals)
    if n == 0:
        return {"mean": None, "lo": None, "hi": None, "half": None, "n": 0}
    mean = float(vals.mean())
    if n < 2:
        return {"mean": mean, "lo": None, "hi": None, "half": None, "n": 1}
    half = t_quantile(n - 1) * float(vals.std(ddof=1)) / math.sqrt(n)
    return {"mean": mean, "lo": mean - half, "hi": mean + half, "half": half, "n": n}
