"""One curve of a chart: smoothed over the full history first, then downsampled, so a chart
sends a bounded number of points however long the run and downsampling never changes what the
curve says; and where an episode axis ends.

Pure numpy: every page's charts build their curves with these (``ui/charts/live.py``, the
experiment pages, the DQN pages, the typical-run bands, the Continuous actions page).
"""

from __future__ import annotations

import numpy as np


def sample_index(n: int, max_points: int) -> np.ndarray:
    """At most ``max_points`` evenly spread indices into ``range(n)``, first and last included.

    >>> sample_index(5, 10).tolist()
    [0, 1, 2, 3, 4]
    >>> sample_index(10, 4).tolist()
    [0, 3, 6, 9]
    """
    if n <= max_points:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, max_points).round().astype(np.int64))


def rolling_mean_std(x: np.ndarray, window: int,
                     at: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Trailing mean and (population) std over the last ``min(i + 1, window)`` values, at
    the indices ``at`` (all by default): prefix sums, O(n) then O(len(at)). The same windows
    as ``pgcore.training.metrics.moving_average`` / ``rolling_std`` (a test checks they agree).

    >>> m, s = rolling_mean_std(np.array([1.0, 3.0, 3.0, 5.0]), window=2)
    >>> m.tolist(), s.tolist()
    ([1.0, 2.0, 3.0, 4.0], [0.0, 1.0, 0.0, 1.0])
    """
    x = np.asarray(x, dtype=np.float64)
    at = np.arange(len(x)) if at is None else np.asarray(at, dtype=np.int64)
    c1 = np.concatenate([[0.0], np.cumsum(x)])
    c2 = np.concatenate([[0.0], np.cumsum(x * x)])
    hi = at + 1
    lo = np.maximum(0, hi - window)
    k = hi - lo
    mean = (c1[hi] - c1[lo]) / k
    var = np.maximum((c2[hi] - c2[lo]) / k - mean * mean, 0.0)
    return mean, np.sqrt(var)


def smoothed(x: np.ndarray, window: int) -> np.ndarray:
    """Trailing moving average over the last ``min(i + 1, window)`` values (the mean of
    :func:`rolling_mean_std`; ``x`` itself for a window of 1).

    >>> smoothed(np.array([1.0, 3.0, 3.0, 5.0]), 2).tolist()
    [1.0, 2.0, 3.0, 4.0]
    """
    if window <= 1 or len(x) == 0:
        return np.asarray(x, dtype=np.float64)
    return rolling_mean_std(x, window)[0]


def nice_ceil(n: float) -> int:
    """The smallest 1, 2 or 5 times a power of ten that is >= n (at least 10).

    >>> [nice_ceil(x) for x in (3, 10, 11, 260, 5001)]
    [10, 10, 20, 500, 10000]
    """
    n = max(float(n), 10.0)
    base = 10 ** int(np.floor(np.log10(n)))
    for m in (1, 2, 5, 10):
        if m * base >= n:
            return int(m * base)
    return int(10 * base)  # pragma: no cover


def run_x_max(snap) -> int:
    """Where the episode axis of one run's chart ends (``snap``: a
    :class:`~pgcore.execution.runner.RunSnapshot`): the episode budget, so the axis does not
    jump while the run grows (and each chart's template is built once); without one, or past
    it, a round number past the data (:func:`nice_ceil`)."""
    budget = snap.config.max_episodes or 0
    if budget >= snap.episode_count:
        return int(max(budget, 10))
    return nice_ceil(snap.episode_count)
