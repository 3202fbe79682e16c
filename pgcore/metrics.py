"""Learning-curve metrics: moving averages, thresholds, spread over seeds, per-run summaries.

Pure functions of plain sequences (numpy inside, no torch). The "solved" criteria people
quote for CartPole are about a *full* 100-episode window: CartPole-v0 counts as solved when the
average return over 100 consecutive episodes is at least 195, CartPole-v1 at 475. A moving
average over the first 10 episodes can easily be 200, so :func:`episodes_to_threshold` only
looks at points where the window is full.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

CARTPOLE_V0_SOLVED = 195.0
"""CartPole-v0's criterion (the one the lesson uses): 100-episode average >= 195."""
CARTPOLE_V1_SOLVED = 475.0
"""CartPole-v1's own threshold (``gymnasium`` spec ``reward_threshold``): average >= 475."""
DEFAULT_WINDOW = 100


def _as_1d(values) -> np.ndarray:
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"expected a 1-D sequence of returns, got shape {x.shape}")
    return x


def _check_window(window: int) -> None:
    if not isinstance(window, (int, np.integer)) or isinstance(window, bool) or window < 1:
        raise ValueError(f"window must be a whole number >= 1, got {window!r}")


def window_full(n: int, window: int = DEFAULT_WINDOW) -> np.ndarray:
    """Boolean mask of length ``n``: True where a trailing window of ``window`` values exists.

    Entry i (0-based) is full when ``i + 1 >= window``.

    >>> window_full(5, window=3)
    array([False, False,  True,  True,  True])
    """
    _check_window(window)
    return np.arange(n) + 1 >= window


def moving_average(returns: Sequence[float], window: int = DEFAULT_WINDOW,
                   full_only: bool = False) -> np.ndarray:
    """Trailing mean: entry i is the mean of the last ``min(i + 1, window)`` returns.

    ``m_i = (1 / k_i) * sum_{j = i - k_i + 1}^{i} x_j`` with ``k_i = min(i + 1, window)``.
    The output has the same length as the input. The first ``window - 1`` entries average
    a partial window; ``full_only=True`` sets them to NaN instead (use :func:`window_full`
    for the matching mask).

    >>> moving_average([1, 2, 3, 4], window=2)
    array([1. , 1.5, 2.5, 3.5])
    >>> moving_average([1, 2, 3, 4], window=3, full_only=True)
    array([nan, nan,  2.,  3.])
    """
    _check_window(window)
    x = _as_1d(returns)
    n = len(x)
    out = np.empty(n)
    if n == 0:
        return out
    head = min(n, window - 1)  # partial windows: expanding mean
    if head:
        out[:head] = np.cumsum(x[:head]) / np.arange(1, head + 1)
    if n >= window:  # full windows: exact per-window means (no cumsum drift on long runs)
        out[window - 1:] = np.lib.stride_tricks.sliding_window_view(x, window).mean(axis=1)
    if full_only:
        out[:head] = np.nan
    return out


def rolling_std(returns: Sequence[float], window: int = DEFAULT_WINDOW,
                full_only: bool = False) -> np.ndarray:
    """Trailing population standard deviation over the same windows as :func:`moving_average`.

    ``s_i = sqrt((1 / k_i) * sum_j (x_j - m_i)^2)`` over the last ``k_i = min(i + 1, window)``
    values (ddof 0, so a single value has std 0).

    >>> rolling_std([1, 3, 3, 5], window=2)
    array([0., 1., 0., 1.])
    """
    _check_window(window)
    x = _as_1d(returns)
    n = len(x)
    out = np.empty(n)
    head = min(n, window - 1)
    for i in range(head):
        out[i] = x[: i + 1].std()
    if n >= window:
        out[window - 1:] = np.lib.stride_tricks.sliding_window_view(x, window).std(axis=1)
    if full_only:
        out[:head] = np.nan
    return out


def episodes_to_threshold(returns: Sequence[float], threshold: float,
                          window: int = DEFAULT_WINDOW) -> int | None:
    """The 1-based episode at which the full-window moving average first reaches ``threshold``.

    Returns the smallest ``i + 1`` with ``i + 1 >= window`` and ``m_i >= threshold``
    (see :func:`moving_average`), or None if that never happens. With the default window the
    earliest possible answer is 100.

    >>> episodes_to_threshold([10, 20, 30, 40], threshold=25, window=2)
    3
    >>> episodes_to_threshold([30, 30, 10], threshold=25, window=3) is None
    True
    """
    avg = moving_average(returns, window, full_only=True)
    hits = np.flatnonzero(avg >= threshold)  # NaN compares False
    return int(hits[0]) + 1 if len(hits) else None


class SeedStats(NamedTuple):
    """Per-index statistics over several seeds' curves."""

    mean: np.ndarray
    std: np.ndarray
    count: np.ndarray
    """How many seeds have a value at that index (curves may differ in length)."""


def across_seed_stats(curves: Sequence[Sequence[float]], ddof: int = 0) -> SeedStats:
    """Mean and standard deviation per index over seeds; curves may have different lengths.

    At index i, only the curves longer than i count: ``mean_i = (1 / n_i) sum_s c_s[i]``,
    ``std_i = sqrt(sum_s (c_s[i] - mean_i)^2 / (n_i - ddof))`` (NaN when ``n_i <= ddof``).
    The result is as long as the longest curve.

    >>> stats = across_seed_stats([[1, 2, 3], [3, 4]])
    >>> stats.mean, stats.std, stats.count
    (array([2., 3., 3.]), array([1., 1., 0.]), array([2, 2, 1]))
    """
    arrays = [_as_1d(c) for c in curves]
    if not arrays:
        raise ValueError("across_seed_stats needs at least one curve")
    length = max(len(a) for a in arrays)
    grid = np.full((len(arrays), length), np.nan)
    for row, a in zip(grid, arrays, strict=True):
        row[: len(a)] = a
    present = ~np.isnan(grid)
    count = present.sum(axis=0)
    total = np.where(present, grid, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count
        sq = np.where(present, (grid - mean) ** 2, 0.0).sum(axis=0)
        denom = count - ddof
        std = np.where(denom > 0, np.sqrt(sq / np.where(denom > 0, denom, 1)), np.nan)
    return SeedStats(mean, std, count)


def threshold_crossing(result, threshold: float, window: int = DEFAULT_WINDOW
                       ) -> tuple[int | None, int | None, float | None]:
    """(episodes, env steps, seconds) of a run when its moving average first reaches ``threshold``.

    Steps and seconds are the run's totals at the end of that episode
    (``result.episode_env_steps`` and ``result.episode_seconds``); all three are None if the
    threshold is never reached.
    """
    episodes = episodes_to_threshold(result.episode_returns, threshold, window)
    if episodes is None:
        return None, None, None
    return (episodes, int(result.episode_env_steps[episodes - 1]),
            float(result.episode_seconds[episodes - 1]))


def final_average(returns: Sequence[float], window: int = DEFAULT_WINDOW) -> float | None:
    """Mean of the last ``window`` returns (fewer if the run is shorter); None if empty.

    >>> final_average([1, 2, 3, 4, 5], window=2)
    4.5
    """
    x = _as_1d(returns)
    return float(x[-window:].mean()) if len(x) else None


def run_summary(result) -> dict:
    """A JSON-ready summary of one finished run (a :class:`pgcore.trainer.RunResult`).

    Keys: ``seed``, ``episodes_to_195``, ``steps_to_195``, ``seconds_to_195``,
    ``episodes_to_475``, ``steps_to_475``, ``seconds_to_475`` (None when never reached),
    ``final_avg100`` (mean of the last 100 returns, None without episodes),
    ``steps_per_second`` (env steps / training wall seconds), ``episode_returns``, and
    ``episodes``, ``env_steps``, ``wall_seconds``, ``reason`` (why the run ended).
    """
    e195, s195, t195 = threshold_crossing(result, CARTPOLE_V0_SOLVED)
    e475, s475, t475 = threshold_crossing(result, CARTPOLE_V1_SOLVED)
    wall = float(result.wall_seconds)
    sps = result.env_steps / wall if wall > 0 and math.isfinite(wall) else 0.0
    return {
        "seed": int(result.config.seed),
        "episodes_to_195": e195,
        "steps_to_195": s195,
        "seconds_to_195": t195,
        "episodes_to_475": e475,
        "steps_to_475": s475,
        "seconds_to_475": t475,
        "final_avg100": final_average(result.episode_returns),
        "steps_per_second": float(sps),
        "episode_returns": [float(r) for r in result.episode_returns],
        "episodes": len(result.episode_returns),
        "env_steps": int(result.env_steps),
        "wall_seconds": wall,
        "reason": result.reason,
    }
