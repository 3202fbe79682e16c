"""Charts for the exercise notebooks: a learner's runs (their moving average) over the faint
band of the shipped reference runs, drawn with Altair (a Jupyter notebook shows the chart).

The reference runs are ``assets/reference/cartpole-v1.json.gz`` of the repository
(:mod:`pgcore.training.reference`): found beside the package in a clone of the repository
(``pip install -e .``), or wherever ``PGLAB_REFERENCE`` points. Without the file the charts
have no band and :func:`reference_band` says why. Never imports streamlit.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ..training.metrics import moving_average
from ..training.reference import (
    Band,
    ReferenceError,
    band_by_episode,
    band_by_steps,
    load_reference,
)

REFERENCE_FILE = Path(__file__).resolve().parents[2] / "assets" / "reference" / \
    "cartpole-v1.json.gz"
"""Where a clone of the repository keeps the reference runs."""
WINDOW = 100
"""The lesson's running average: 100 episodes."""
MAX_POINTS = 400
"""Points per curve sent to the notebook."""


def reference_band(label: str, by: str = "episode", window: int = WINDOW) -> Band | None:
    """The band (10th-90th percentile and median across the reference seeds) of the
    reference group ``label`` (``reinforce/none``, ``reinforce/value``, ``a2c``, ``dqn``, ...)
    against episodes (``by="episode"``) or env steps (``"steps"``); None, with a printed
    reason, when the file or the group is missing."""
    path = os.environ.get("PGLAB_REFERENCE") or REFERENCE_FILE
    try:
        group = load_reference(path).get(label)
    except ReferenceError as exc:
        print(f"No reference band: {exc}")
        return None
    if group is None:
        print(f"No reference band: the reference file has no runs labelled {label!r}.")
        return None
    return band_by_steps(group, window) if by == "steps" else band_by_episode(group, window)


def _thin(n: int) -> np.ndarray:
    """At most :data:`MAX_POINTS` indices of ``n``, evenly spread, the last one kept."""
    if n <= MAX_POINTS:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, MAX_POINTS).round().astype(np.int64))


def curve_rows(label: str, returns: Sequence[float], x: Sequence[float] | None = None,
               window: int = WINDOW) -> list[dict]:
    """One run's rows for the chart: its ``window``-episode moving average (shorter while
    fewer episodes exist) at each episode (or at ``x``, e.g. its env steps).

    >>> curve_rows("seed 0", [10, 20, 30], window=2)
    [{'run': 'seed 0', 'x': 1, 'y': 10.0}, {'run': 'seed 0', 'x': 2, 'y': 15.0}, \
{'run': 'seed 0', 'x': 3, 'y': 25.0}]
    """
    r = np.asarray(returns, dtype=np.float64)
    if not len(r):
        return []
    avg = moving_average(r, window)
    xs = np.arange(1, len(r) + 1) if x is None else np.asarray(x)
    return [{"run": label, "x": xs[i].item(), "y": round(float(avg[i]), 3)}
            for i in _thin(len(r))]


def band_rows(band: Band, x_max: float | None = None) -> list[dict]:
    """A band's rows for the chart: x, low, median, high; up to the first x at or past
    ``x_max`` (where the runs drawn over it end), so a short run is not squeezed into a corner.

    >>> b = Band(np.array([1, 2, 3, 4]), np.zeros(4), np.ones(4), np.full(4, 2.0), 10)
    >>> [r["x"] for r in band_rows(b, x_max=2.5)]
    [1, 2, 3]
    """
    n = len(band.x)
    if x_max is not None:
        n = min(n, int(np.searchsorted(band.x, x_max, side="left")) + 1)
    return [{"x": band.x[i].item(), "lo": float(band.lo[i]), "mid": float(band.mid[i]),
             "hi": float(band.hi[i])} for i in _thin(n)]


def runs_chart(runs: Mapping[str, Sequence[float]], band: Band | None = None, *,
               x: Mapping[str, Sequence[float]] | None = None, x_title: str = "episode",
               y_title: str = "return, 100-episode average", band_title: str = "",
               title: str = "", window: int = WINDOW):
    """An Altair chart: each run's moving average (one colour per run) over the faint
    reference ``band`` (grey, its median dashed) as far as the runs go. ``x`` gives a run's x
    values (its env steps, say) instead of its episode numbers."""
    import altair as alt

    rows = [row for label, returns in runs.items()
            for row in curve_rows(label, returns, None if x is None else x.get(label), window)]
    lines = alt.Chart(alt.Data(values=rows)).mark_line().encode(
        x=alt.X("x:Q", title=x_title), y=alt.Y("y:Q", title=y_title),
        color=alt.Color("run:N", title=None, sort=list(runs)))
    layers = [lines]
    if band is not None:
        x_max = max((row["x"] for row in rows), default=None)
        data = alt.Data(values=band_rows(band, x_max))
        name = band_title or f"reference runs ({band.n_seeds} seeds): middle 80%, median dashed"
        area = alt.Chart(data).mark_area(opacity=0.25, color="#888888").encode(
            x="x:Q", y="lo:Q", y2="hi:Q", tooltip=[alt.Tooltip("mid:Q", title=name)])
        median = alt.Chart(data).mark_line(color="#666666", strokeDash=[4, 3]).encode(
            x="x:Q", y="mid:Q")
        layers = [area, median, lines]
        title = title + ("\n" if title else "") + "grey: " + name
    return alt.layer(*layers).properties(width=560, height=300,
                                         title=alt.TitleParams(title.split("\n"), anchor="start"))


def side_by_side(*charts):
    """Charts in a row, each with its own colours and legend."""
    import altair as alt

    return alt.hconcat(*charts).resolve_scale(color="independent")
