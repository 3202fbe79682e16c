"""Small statistics across seeds, for a handful of numbers some of which may be missing.

A seed that has not got somewhere yet (or never did) gives ``None`` or NaN: :func:`present`
drops those, :func:`median_range` summarises the rest (median, min, max and how many),
:func:`censored_median` counts them as infinitely far instead, and :func:`t_interval` gives
a mean with its 95% t-interval. Pure Python and numpy: the app formats these
(``ui/charts/numbers.py``), the labs and the app's pages compute with them.

How far apart runs that differ only in their seed land (the lesson's exercise 1) is measured
the same way for every algorithm by :func:`seed_spread`: the across-seed standard deviation of
each seed's smoothed return averaged over the run (:func:`run_spread`) and at its end
(:func:`final_spread`), and each seed's episodes to 195 and 475.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..training.metrics import (
    DEFAULT_WINDOW,
    across_seed_stats,
    episodes_to_threshold,
    moving_average,
)


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


# ----- spread across seeds (exercise 1) --------------------------------------------------------


def run_spread(curves: Sequence[Sequence[float]]) -> float | None:
    """The standard deviation across seeds of ``curves`` (one per seed, e.g. each seed's
    moving average), averaged over the indices where at least two seeds have a value; None
    without two seeds. Population std (ddof 0), as the band of mean ± 1 std is drawn:

    ``run_spread = mean_i sqrt((1 / n_i) sum_s (c_s[i] - mean_s c_s[i])^2)`` over ``n_i >= 2``.

    >>> run_spread([[0, 10, 20], [0, 30]])  # stds 0 and 10; the last index has one seed
    5.0
    >>> run_spread([[1, 2, 3]]) is None
    True
    """
    if len(curves) < 2:
        return None
    stats = across_seed_stats(curves)
    ok = stats.count >= 2
    return float(np.mean(stats.std[ok])) if ok.any() else None


def final_spread(finals) -> float | None:
    """The population standard deviation of the finite ``finals`` (each seed's final
    100-episode average), None with fewer than two.

    >>> final_spread([100, None, 300])
    100.0
    """
    vals = present(finals)
    return float(np.std(vals)) if len(vals) >= 2 else None


@dataclass(frozen=True)
class SeedSpread:
    """How far apart some seeds of one setting landed (see :func:`seed_spread`)."""

    seeds: int
    """Seeds with at least one episode."""
    run_std: float | None
    """:func:`run_spread` of the seeds' moving averages: the average half-width of the band."""
    final_std: float | None
    """:func:`final_spread` of the seeds' final averages."""
    finals: tuple[float, ...]
    """Each seed's final ``window``-episode average (the last ``window`` episodes)."""
    to_195: tuple[int | None, ...]
    """Each seed's first episode with a full-window average of at least 195 (None: never)."""
    to_475: tuple[int | None, ...]
    """The same for 475."""

    @property
    def final_mean(self) -> float | None:
        return float(np.mean(self.finals)) if self.finals else None


def seed_spread(returns: Sequence[Sequence[float]], window: int = DEFAULT_WINDOW) -> SeedSpread:
    """:class:`SeedSpread` of per-seed episode returns (seeds without episodes are left out),
    each seed smoothed by its trailing ``window``-episode moving average (the lesson's 100).

    >>> s = seed_spread([[10, 30], [50, 70]], window=2)  # averages [10, 20] and [50, 60]
    >>> s.run_std, s.final_std, s.finals, s.to_195
    (20.0, 20.0, (20.0, 60.0), (None, None))
    """
    runs = [np.asarray(r, dtype=np.float64) for r in returns if len(r)]
    curves = [moving_average(r, window) for r in runs]
    finals = tuple(float(c[-1]) for c in curves)  # the mean of the last `window` returns
    return SeedSpread(len(runs), run_spread(curves), final_spread(finals), finals,
                      tuple(episodes_to_threshold(r, 195.0, window) for r in runs),
                      tuple(episodes_to_threshold(r, 475.0, window) for r in runs))
