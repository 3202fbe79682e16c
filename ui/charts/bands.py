"""Bands on a chart: the mean ± 1 standard deviation across seeds (:func:`seed_band`, the one
place such a band is computed, and :func:`band_layers`, how it is drawn), and the faint
typical-run band of the shipped reference runs behind a learner's own curves
(:func:`reference_layers`).

Pure: numpy, pandas and altair, no Streamlit.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

from pgcore.training.metrics import across_seed_stats

from . import palette
from .curves import sample_index

BAND_COLUMNS = ("mean", "lo", "hi", "n")
"""A band's columns besides its x: the mean across seeds, mean − std, mean + std, seeds."""


def seed_band(curves: Sequence, x: np.ndarray | None = None, x_field: str = "episode",
              max_points: int | None = None) -> pd.DataFrame:
    """Mean ± 1 standard deviation across seeds of ``curves`` (one per seed), point by point:
    columns ``x_field``, ``mean``, ``lo``, ``hi`` and ``n`` (the seeds there). Curves may have
    different lengths: at each point only the seeds that reach it count, and where only one
    does there is no spread (``lo`` and ``hi`` are NaN: a gap in the band). ``x``: the points'
    x values (by default episodes 1, 2, ...); points no seed has are left out; with
    ``max_points`` the band is downsampled after the statistics are taken.

    >>> band = seed_band([np.array([1.0, 2.0, 3.0]), np.array([3.0, 4.0])])
    >>> band["episode"].tolist(), band["mean"].tolist(), band["n"].tolist()
    ([1, 2, 3], [2.0, 3.0, 3.0], [2, 2, 1])
    >>> band["lo"].tolist(), band["hi"].tolist()
    ([1.0, 2.0, nan], [3.0, 4.0, nan])
    """
    stats = across_seed_stats(curves)
    n = len(stats.mean)
    idx = sample_index(n, max_points) if max_points else np.arange(n)
    idx = idx[stats.count[idx] > 0]
    xs = np.arange(1, n + 1) if x is None else np.asarray(x)
    mean = stats.mean[idx]
    std = np.where(stats.count[idx] >= 2, stats.std[idx], np.nan)
    return pd.DataFrame({x_field: xs[idx], "mean": mean, "lo": mean - std, "hi": mean + std,
                         "n": stats.count[idx]})


def empty_band(x_field: str = "episode", *first: str) -> pd.DataFrame:
    """A band with no points (columns ``first``, then ``x_field`` and :data:`BAND_COLUMNS`)."""
    return pd.DataFrame({c: [] for c in (*first, x_field, *BAND_COLUMNS)})


def band_layers(data, x: alt.X, y_scale, y_title: str, color: alt.Color,
                dash=alt.Undefined, tooltip=alt.Undefined, opacity: float = 0.2,
                axis: alt.Axis | None = None, line_axis: bool = False,
                **mark) -> list:
    """A band per group from ``lo`` to ``hi`` (faint, ``opacity``) and its ``mean`` as a bold
    line, each group in its ``color`` (and ``dash``) channel from :mod:`ui.charts.palette`.
    ``axis``: the y axis (plain numbers by default; ``line_axis`` repeats it on the line's
    layer); ``mark``: more properties of both marks (``clip=True``)."""
    axis = palette.axis() if axis is None else axis
    base = alt.Chart(data)
    line_y = (alt.Y("mean:Q", scale=y_scale, title=y_title, axis=axis) if line_axis
              else alt.Y("mean:Q", scale=y_scale, title=y_title))
    return [base.mark_area(opacity=opacity, **mark).encode(
                x=x, y=alt.Y("lo:Q", scale=y_scale, title=y_title, axis=axis), y2="hi:Q",
                color=color),
            base.mark_line(strokeWidth=2.2, **mark).encode(
                x=x, y=line_y, color=color, strokeDash=dash, tooltip=tooltip)]


# ----- typical runs ---------------------------------------------------------------------------


REF_COLOR = palette.style(palette.REFERENCE).color
"""Grey: typical-run bands are context, not the learner's data."""
REF_LEGEND = palette.REFERENCE


def reference_layers(data, x: alt.X, y_scale, y_title: str, color, opacity: float = 0.13,
                     extra_tips: tuple = ()) -> list:
    """A typical-run band behind a chart (columns ``x``, ``lo``, ``mid``, ``hi``; see
    ``ui.reference``): a faint area from ``lo`` to ``hi`` and a dashed median (the reference
    look's dash, ``palette``), clipped to the plot. ``data``: a frame or
    ``alt.NamedData``; ``color``: a colour string, or an ``alt.Color`` channel when each band
    takes its series' colour."""
    fixed = isinstance(color, str)
    mark = {"color": color} if fixed else {}
    base = alt.Chart(data).encode(x=x) if fixed else alt.Chart(data).encode(x=x, color=color)
    x_title = x.to_dict().get("title", "x")
    tips = [*extra_tips, alt.Tooltip("x:Q", title=x_title, format=",.0f"),
            alt.Tooltip("mid:Q", title="typical run (median)", format=".1f"),
            alt.Tooltip("lo:Q", title="10th percentile", format=".1f"),
            alt.Tooltip("hi:Q", title="90th percentile", format=".1f")]
    dash = palette.style(palette.REFERENCE).stroke_dash
    return [base.mark_area(opacity=opacity, clip=True, **mark).encode(
                y=alt.Y("lo:Q", scale=y_scale, title=y_title), y2="hi:Q"),
            base.mark_line(strokeWidth=1.2, strokeDash=dash, opacity=0.9, clip=True,
                           **mark).encode(
                y=alt.Y("mid:Q", scale=y_scale, title=y_title), tooltip=tips)]
