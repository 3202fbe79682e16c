"""Learning-curve metrics: one run's per-episode history, its summary, moving averages,
thresholds and the spread over seeds.

* :class:`EpisodeHistory` is *the* per-episode record of a run (the trainer's result, the live
  run log, an experiment's jobs all keep one), with :func:`write_csv`, the one CSV writer.
* :func:`summarize` is *the* per-run summary (episodes / steps / seconds to 195 and 475, final
  and best 100-episode average, wobble, steps per second) that the app, the CLI, the
  experiments, the reference runs and the benchmarks print.
* The rest are pure functions of plain sequences (numpy inside, no torch).

The "solved" criteria people quote for CartPole are about a *full* 100-episode window:
CartPole-v0 counts as solved when the average return over 100 consecutive episodes is at
least 195, CartPole-v1 at 475. A moving average over the first 10 episodes can easily be 200,
so :func:`episodes_to_threshold` only looks at points where the window is full.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple, TextIO

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


def final_average(returns: Sequence[float], window: int = DEFAULT_WINDOW) -> float | None:
    """Mean of the last ``window`` returns (fewer if the run is shorter); None if empty.

    >>> final_average([1, 2, 3, 4, 5], window=2)
    4.5
    """
    x = _as_1d(returns)
    return float(x[-window:].mean()) if len(x) else None


def best_average(returns: Sequence[float], window: int = DEFAULT_WINDOW) -> float | None:
    """The highest full-window moving average; None with fewer than ``window`` returns.

    >>> best_average([1, 5, 3, 1], window=2)
    4.0
    >>> best_average([1, 5], window=3) is None
    True
    """
    _check_window(window)
    x = _as_1d(returns)
    if len(x) < window:
        return None
    return float(moving_average(x, window)[window - 1:].max())


def wobble(returns: Sequence[float], window: int = DEFAULT_WINDOW) -> float | None:
    """How much the learning curve wobbles: the standard deviation of the episode-to-episode
    change of the ``window``-episode moving average (full windows only), times ``window``.

    Times ``window`` puts it back in return units: one episode swapping a return of ``a`` for
    ``b`` in the window moves the average by ``(b - a) / window``. None with fewer than
    ``window + 2`` episodes.

    >>> wobble([100.0] * 150) == 0.0
    True
    """
    x = np.asarray(returns, dtype=np.float64)
    if len(x) < window + 2:
        return None
    avg = moving_average(x, window)[window - 1:]
    return float(np.diff(avg).std() * window)


# ----- the per-episode history ----------------------------------------------------------------

HISTORY_COLUMNS = ("episode", "return", "length", "env_steps", "wall_seconds",
                   "discounted_return", "start_value")
"""The columns every :class:`EpisodeHistory` has, in order (``episode`` is 1-based;
``env_steps`` and ``wall_seconds`` are the run's totals when the episode ended;
``discounted_return`` and ``start_value`` are NaN when not recorded)."""

INT_COLUMNS = frozenset({"episode", "length", "env_steps"})
"""Columns that hold whole numbers (stored as float64 like the others; written as integers)."""


def _column_view(name: str) -> property:
    """A read-only property for one column of an :class:`EpisodeHistory` (its ``column``)."""
    return property(lambda self: self.column(name),
                    doc=f"The ``{name}`` column (a read-only view, valid until the next append).")


class EpisodeHistory:
    """One run's per-episode history: a float64 column per field, a row per finished episode.

    The columns are :data:`HISTORY_COLUMNS` and then ``extra`` (e.g. ``("entropy",)``).
    Rows are added with :meth:`append` (one episode), :meth:`append_event` (an
    :class:`~pgcore.training.events.EpisodeEnd`) or :meth:`extend` (a batch); :meth:`from_arrays`
    builds one from columns. Storage grows geometrically; with ``cap`` it holds at most ``cap``
    rows: when full, the oldest half is dropped (:attr:`dropped` counts them, :attr:`count` counts
    every episode ever added).

    Reading: :meth:`column` (or ``history["return"]``, :attr:`returns`, ...) is a read-only
    *view*, valid until the next append; :meth:`arrays` gives read-only *copies*, safe to hand
    to another thread. Not thread-safe by itself.

    >>> h = EpisodeHistory()
    >>> h.append(10.0, length=10, env_steps=10, wall_seconds=0.5)
    >>> h.append(30.0, length=30, env_steps=40, wall_seconds=1.25)
    >>> len(h), h.returns.tolist(), h["episode"].tolist()
    (2, [10.0, 30.0], [1.0, 2.0])
    """

    def __init__(self, extra: Sequence[str] = (), *, cap: int | None = None,
                 initial: int = 256):
        names = (*HISTORY_COLUMNS, *extra)
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate column names in {names}")
        if cap is not None and (not isinstance(cap, (int, np.integer)) or cap < 2):
            raise ValueError(f"cap must be a whole number >= 2 or None, got {cap!r}")
        self.columns: tuple[str, ...] = names
        self.extra: tuple[str, ...] = tuple(extra)
        self.cap = None if cap is None else int(cap)
        self._index = {name: i for i, name in enumerate(names)}
        size = max(1, initial if cap is None else min(initial, cap))
        self._data = np.full((len(names), size), np.nan)
        self._n = 0
        self.dropped = 0
        """Rows dropped from the front so far (bounded histories only)."""

    # ----- adding episodes ----------------------------------------------------------------
    def _room(self) -> None:
        """Make room for one more row: grow, or (at the cap) drop the oldest half."""
        n = self._n
        if n < self._data.shape[1]:
            return
        if self.cap is not None and n >= self.cap:
            half = n // 2
            self._data[:, : n - half] = self._data[:, half:n]
            self._n = n - half
            self.dropped += half
        else:
            size = 2 * n if self.cap is None else min(self.cap, 2 * n)
            grown = np.full((len(self.columns), size), np.nan)
            grown[:, :n] = self._data[:, :n]
            self._data = grown

    def append(self, episode_return: float, length: float, env_steps: float,
               wall_seconds: float, discounted_return: float = math.nan,
               start_value: float = math.nan, *, episode: int | None = None,
               **extra: float) -> None:
        """Add one finished episode (``episode`` defaults to :attr:`count` + 1; extra
        columns not given are NaN)."""
        if extra and not set(extra) <= set(self.extra):
            unknown = sorted(set(extra) - set(self.extra))
            raise KeyError(f"no column {unknown[0]!r} in this history")
        self._room()
        row = (self.count + 1 if episode is None else episode, episode_return, length,
               env_steps, wall_seconds, discounted_return, start_value)
        if self.extra:
            row += tuple(extra.get(name, math.nan) for name in self.extra)
        self._data[:, self._n] = row
        self._n += 1

    def append_event(self, event, **extra: float) -> None:
        """Add the episode of an :class:`~pgcore.training.events.EpisodeEnd`."""
        self.append(event.episode_return, event.length, event.env_steps, event.wall_seconds,
                    event.discounted_return, event.start_value, episode=event.episode,
                    **extra)

    def extend(self, rows: Sequence[Sequence[float]], columns: Sequence[str] | None = None
               ) -> None:
        """Add many episodes: ``rows[k]`` holds the values of ``columns`` (default: all of
        them, in order) for one episode; columns left out are NaN (``episode``: numbered on
        from :attr:`count`). Same result as appending the rows one by one (including what a
        bounded history drops)."""
        columns = self.columns if columns is None else tuple(columns)
        try:
            idx = [self._index[c] for c in columns]
        except KeyError as exc:
            raise KeyError(f"no column {exc.args[0]!r} in this history") from None
        block = np.asarray(rows, dtype=np.float64).reshape(-1, len(columns))
        partial = len(set(idx)) < len(self.columns)
        numbered = "episode" not in columns
        done = 0
        while done < len(block):
            self._room()
            take = min(len(block) - done, self._data.shape[1] - self._n)
            target = slice(self._n, self._n + take)
            if partial:
                self._data[:, target] = np.nan
            if numbered:
                self._data[0, target] = np.arange(self.count + 1, self.count + take + 1)
            self._data[idx, target] = block[done: done + take].T
            self._n += take
            done += take

    @classmethod
    def from_arrays(cls, returns: Sequence[float], lengths: Sequence[float] | None = None,
                    env_steps: Sequence[float] | None = None,
                    wall_seconds: Sequence[float] | None = None, *,
                    episode: Sequence[float] | None = None,
                    discounted_return: Sequence[float] | None = None,
                    start_value: Sequence[float] | None = None, cap: int | None = None,
                    **extra: Sequence[float]) -> EpisodeHistory:
        """A history from per-episode columns (all of one length). ``episode`` defaults to
        1, 2, ...; columns not given are NaN; each ``extra`` keyword becomes a column."""
        given = {"return": returns, "length": lengths, "env_steps": env_steps,
                 "wall_seconds": wall_seconds, "episode": episode,
                 "discounted_return": discounted_return, "start_value": start_value, **extra}
        given = {k: _as_1d(v) for k, v in given.items() if v is not None}
        n = len(given["return"])
        for name, values in given.items():
            if len(values) != n:
                raise ValueError(f"column {name!r} has {len(values)} values, 'return' has {n}")
        history = cls(tuple(extra), cap=cap, initial=max(n, 1))
        names = list(given)
        history.extend(np.column_stack([given[c] for c in names]) if n else
                       np.empty((0, len(names))), names)
        return history

    # ----- reading ------------------------------------------------------------------------
    def __len__(self) -> int:
        """Episodes held (fewer than :attr:`count` once a bounded history dropped some)."""
        return self._n

    @property
    def count(self) -> int:
        """Episodes added in total (held + dropped)."""
        return self.dropped + self._n

    def column(self, name: str) -> np.ndarray:
        """A read-only view of one column (valid until the next append)."""
        try:
            view = self._data[self._index[name], : self._n]
        except KeyError:
            raise KeyError(f"no column {name!r}; columns: {', '.join(self.columns)}") from None
        view.flags.writeable = False
        return view

    __getitem__ = column

    returns = _column_view("return")
    lengths = _column_view("length")
    env_steps = _column_view("env_steps")
    wall_seconds = _column_view("wall_seconds")

    def arrays(self, columns: Sequence[str] | Mapping[str, str] | None = None
               ) -> dict[str, np.ndarray]:
        """Read-only copies of the columns (all, the ones named, or ``{key: column}`` to
        rename them), taken in one go."""
        if columns is None:
            columns = self.columns
        keys, names = ((list(columns), list(columns.values())) if isinstance(columns, Mapping)
                       else (list(columns), list(columns)))
        try:  # fancy indexing: already a copy
            block = self._data[[self._index[c] for c in names], : self._n]
        except KeyError as exc:
            raise KeyError(f"no column {exc.args[0]!r} in this history") from None
        block.setflags(write=False)
        return {key: block[i] for i, key in enumerate(keys)}

    def to_csv(self, columns: Sequence[str] | None = None, *, precise: bool = False) -> str:
        """This history as CSV text (see :func:`write_csv`)."""
        buf = io.StringIO()
        write_csv(buf, [((), self)], self.columns if columns is None else columns,
                  precise=precise)
        return buf.getvalue()

    # ----- pickling (a result crosses process boundaries): only the rows held ------------
    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_data"] = self._data[:, : self._n].copy()
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        if self._data.shape[1] == 0:
            self._data = np.full((len(self.columns), 1), np.nan)

    def __repr__(self) -> str:
        cap = "" if self.cap is None else f", cap={self.cap}, dropped={self.dropped}"
        extra = f", extra={self.extra}" if self.extra else ""
        return f"EpisodeHistory({self._n} episodes{extra}{cap})"


def _csv_format(name: str, precise: bool):
    """How :func:`write_csv` writes column ``name``."""
    if name in INT_COLUMNS:
        return int
    if precise:  # every digit (what pandas writes): shortest repr, NaN as an empty field
        return lambda v: "" if math.isnan(v) else repr(float(v))
    if name == "return":
        return lambda v: repr(float(v))
    if name == "wall_seconds":
        return lambda v: f"{v:.6f}"
    return lambda v: f"{v:.6g}" if math.isfinite(v) else ""


def write_csv(out: TextIO, runs: Iterable[tuple[Sequence, EpisodeHistory | Mapping]],
              columns: Sequence[str], *, lead: Sequence[str] = (), precise: bool = False,
              lineterminator: str = "\n") -> None:
    """Write episodes as CSV to the text stream ``out``: the header ``lead + columns``, then,
    for each ``(lead_values, episodes)`` of ``runs``, one row per episode. ``episodes`` is an
    :class:`EpisodeHistory` or a mapping of column arrays (e.g. a snapshot's).

    Formats: ``episode``, ``length`` and ``env_steps`` as integers; with ``precise`` every
    other column as the shortest repr that reads back exactly (NaN empty); otherwise
    ``return`` exactly, ``wall_seconds`` to the microsecond and other columns to 6
    significant digits (empty when not finite).

    >>> h = EpisodeHistory.from_arrays([9.0, 12.0], [9, 12], [9, 21], [0.1, 0.25])
    >>> buf = io.StringIO()
    >>> write_csv(buf, [((7,), h)], ["episode", "return", "env_steps"], lead=["seed"])
    >>> print(buf.getvalue(), end="")
    seed,episode,return,env_steps
    7,1,9.0,9
    7,2,12.0,21
    """
    formats = [_csv_format(c, precise) for c in columns]
    w = csv.writer(out, lineterminator=lineterminator)
    w.writerow([*lead, *columns])
    for lead_values, episodes in runs:
        lead_values = list(lead_values)
        if len(lead_values) != len(lead):
            raise ValueError(f"expected {len(lead)} leading values, got {len(lead_values)}")
        data = [np.asarray(episodes[c], dtype=np.float64) for c in columns]
        for values in zip(*data, strict=True):
            w.writerow([*lead_values, *(f(v) for f, v in zip(formats, values, strict=True))])


# ----- the per-run summary --------------------------------------------------------------------

SUMMARY_THRESHOLDS = (CARTPOLE_V0_SOLVED, CARTPOLE_V1_SOLVED)


def _history_of(run) -> EpisodeHistory | None:
    """The history of a :class:`pgcore.training.trainer.RunResult` (or the history itself)."""
    if isinstance(run, EpisodeHistory):
        return run
    history = getattr(run, "history", None)
    return history if isinstance(history, EpisodeHistory) else None


def _value_at(values: np.ndarray | None, i: int, kind: type) -> float | int | None:
    if values is None or not len(values):
        return None
    v = float(values[i])
    return kind(v) if math.isfinite(v) else None


def _crossing(returns, numbers, steps, seconds, threshold, window):
    e = episodes_to_threshold(returns, threshold, window)
    if e is None:
        return None, None, None
    episode = e if numbers is None else int(numbers[e - 1])
    return episode, _value_at(steps, e - 1, int), _value_at(seconds, e - 1, float)


def threshold_crossing(run, threshold: float, window: int = DEFAULT_WINDOW
                       ) -> tuple[int | None, int | None, float | None]:
    """(episodes, env steps, seconds) of a run when its moving average first reaches
    ``threshold``: a :class:`pgcore.training.trainer.RunResult` or an :class:`EpisodeHistory`.

    Steps and seconds are the run's totals at the end of that episode (its ``env_steps`` and
    ``wall_seconds`` columns); all three are None if the threshold is never reached.
    """
    h = _history_of(run)
    if h is None:
        raise TypeError("threshold_crossing needs a RunResult or an EpisodeHistory")
    return _crossing(h.returns, h["episode"], h.env_steps, h.wall_seconds, threshold, window)


def summarize(episodes, env_steps: Sequence[float] | None = None,
              wall_seconds: Sequence[float] | None = None, *, run_steps: float | None = None,
              run_seconds: float | None = None, window: int = DEFAULT_WINDOW) -> dict:
    """The learning-speed figures of one run, JSON-ready (None where not reached or unknown).

    ``episodes`` is an :class:`EpisodeHistory`, a :class:`pgcore.training.trainer.RunResult` (its
    history; its ``env_steps`` and ``wall_seconds`` are the run's totals), or a sequence of
    returns with, optionally, ``env_steps`` and ``wall_seconds`` per episode (the run's totals
    when each episode ended). ``run_steps`` / ``run_seconds``: the whole run's totals (a run
    goes on after its last episode); by default those at the last episode.

    Keys: ``episodes``; ``env_steps``, ``wall_seconds`` and ``steps_per_second`` (0.0 without
    training time) of the whole run; ``episodes_to_195``, ``steps_to_195``,
    ``seconds_to_195`` and the same for 475 (:func:`episodes_to_threshold`: the first full
    ``window`` whose average reaches it); ``final_avg100`` (:func:`final_average`),
    ``best_avg100`` (:func:`best_average`) and ``wobble`` (:func:`wobble`). For a bounded
    history that dropped its oldest episodes, the figures are over the episodes it holds
    (``episodes`` still counts them all, and episode numbers stay true).

    >>> s = summarize([200.0] * 100 + [500.0] * 3, env_steps=range(10, 1040, 10))
    >>> s["episodes_to_195"], s["steps_to_195"], s["best_avg100"], s["env_steps"]
    (100, 1000, 209.0, 1030)
    """
    numbers = None
    h = _history_of(episodes)
    if h is not None:
        if env_steps is not None or wall_seconds is not None:
            raise TypeError("env_steps and wall_seconds come from the history itself")
        if h is not episodes:  # a RunResult: the run's own totals
            run_steps = episodes.env_steps if run_steps is None else run_steps
            run_seconds = episodes.wall_seconds if run_seconds is None else run_seconds
        returns, steps, seconds, numbers = h.returns, h.env_steps, h.wall_seconds, h["episode"]
        count = h.count
    else:
        returns = _as_1d(episodes)
        steps = None if env_steps is None else _as_1d(env_steps)
        seconds = None if wall_seconds is None else _as_1d(wall_seconds)
        for name, values in (("env_steps", steps), ("wall_seconds", seconds)):
            if values is not None and len(values) != len(returns):
                raise ValueError(f"{name} has {len(values)} values for {len(returns)} returns")
        count = len(returns)

    def total(given, values, kind):
        if given is not None:
            return kind(given)
        if values is None:
            return None
        return _value_at(values, -1, kind) if len(values) else kind(0)

    steps_total = total(run_steps, steps, int)
    seconds_total = total(run_seconds, seconds, float)
    if steps_total is None or seconds_total is None:
        rate = None
    elif seconds_total > 0 and math.isfinite(seconds_total):
        rate = float(steps_total / seconds_total)
    else:
        rate = 0.0
    out = {"episodes": int(count), "env_steps": steps_total, "wall_seconds": seconds_total,
           "steps_per_second": rate}
    for t in SUMMARY_THRESHOLDS:
        e, s, sec = _crossing(returns, numbers, steps, seconds, t, window)
        out[f"episodes_to_{t:g}"], out[f"steps_to_{t:g}"], out[f"seconds_to_{t:g}"] = e, s, sec
    out["final_avg100"] = final_average(returns, window)
    out["best_avg100"] = best_average(returns, window)
    out["wobble"] = wobble(returns, window)
    return out
