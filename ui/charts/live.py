"""One run's live charts: the return per episode with its moving average, the typical-run
band and the greedy evaluations (the Train page; the Continuous actions page draws the same
chart), the algorithm's update diagnostics, and the critic's V(s₀) against the return it
predicts.

Each is authored in altair once per shape and refilled with a small, downsampled Arrow table
on every refresh (:mod:`ui.charts.specs`); moving averages and rolling deviations are computed
over the *full* history first and only then sampled (:mod:`ui.charts.curves`), so every chart
sends a bounded number of points however long the run. Nothing here imports streamlit: the
benchmark times these functions directly.
"""

from __future__ import annotations

import json
from functools import lru_cache

import altair as alt
import numpy as np
import pandas as pd
import pyarrow as pa

from pgcore.execution.runner import RunSnapshot

from . import palette
from .bands import REF_COLOR, REF_LEGEND, reference_layers
from .curves import rolling_mean_std, run_x_max, sample_index
from .numbers import counted
from .specs import with_data
from .thresholds import SOLVED, rules

MAX_POINTS = 800
"""Points per series on the main returns chart (about one per pixel of its width)."""
SMALL_POINTS = 250
"""Points per series on the small diagnostic charts (each is ~250 px wide)."""
WINDOW = 100

AVERAGE_COLOR = palette.style(palette.AVERAGE).color
"""A run's own line (its moving average; the diagnostic panels)."""
EVAL_POINTS = 200
"""Greedy evaluations drawn on the returns chart at most (evenly sampled, the latest kept)."""


def eval_legend(n_episodes: int) -> str:
    """The legend entry of the greedy evaluations on the returns chart."""
    return f"greedy evaluation (mean of {counted(n_episodes, 'episode')})"


_SYMLOG_TICKS = [-1000, -100, -10, 0, 10, 100, 1000, 10_000, 100_000, 1_000_000, 10_000_000]

V_LABEL = "critic's V(s₀)"
G_LABEL = "return collected (discounted)"


# ----- data helpers ---------------------------------------------------------------------------


def _f32(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float32)  # half the bytes on the wire; plenty of precision


# ----- returns --------------------------------------------------------------------------------


def returns_data(snap: RunSnapshot, window: int = WINDOW,
                 max_points: int = MAX_POINTS) -> pa.Table:
    """Episode, return, its moving average and average +- rolling std, downsampled.

    An Arrow table, not a pandas frame: Streamlit ships charts' data as Arrow, and building
    the table straight from numpy skips a pandas conversion on every refresh."""
    ep = snap.episodes
    returns = ep["episode_return"]
    idx = sample_index(len(returns), max_points)
    mean, std = rolling_mean_std(returns, window, idx)
    return pa.table({"x": ep["episode"][idx].astype(np.int32), "ret": _f32(returns[idx]),
                     "avg": _f32(mean), "lo": _f32(mean - std), "hi": _f32(mean + std)})


def evaluations_data(snap: RunSnapshot, max_points: int = EVAL_POINTS) -> pa.Table | None:
    """The run's greedy evaluations for the returns chart (``x`` = training episodes done
    when each was played; ``mean``, ``lo`` (min) and ``hi`` (max) greedy return; ``steps``),
    at most ``max_points`` of them; None when the run has none."""
    ev = snap.evaluations
    n = len(ev["episodes"]) if "episodes" in ev else 0
    if not n:
        return None
    idx = sample_index(n, max_points)
    return pa.table({"x": ev["episodes"][idx].astype(np.int32),
                     "steps": ev["env_steps"][idx].astype(np.int64),
                     "mean": _f32(ev["mean_return"][idx]), "lo": _f32(ev["min_return"][idx]),
                     "hi": _f32(ev["max_return"][idx])})


def evaluation_caption(snap: RunSnapshot, window: int = WINDOW) -> str | None:
    """One line under the returns chart: the latest greedy mean against the training average
    of the last ``window`` episodes (None without evaluations)."""
    ev = snap.evaluations
    if "episodes" not in ev or not len(ev["episodes"]):
        return None
    n = snap.config.eval_episodes
    text = (f"Greedy evaluation at episode {int(ev['episodes'][-1]):,}: "
            f"{float(ev['mean_return'][-1]):.1f} ({counted(n, 'episode')})")
    returns = snap.episodes["episode_return"][-window:]
    if len(returns):
        text += (f"; the training average of the last {len(returns)} episodes, with "
                 f"exploration, is {float(returns.mean()):.1f}")
    return text + "."


def returns_chart(x_max: int, y_max: float | None = 500.0, window: int = WINDOW,
                  thresholds=SOLVED, height: int = 360,
                  reference: bool = False, evaluations: int | None = None) -> alt.LayerChart:
    """The altair chart (named dataset ``returns``): return per episode (thin), its
    ``window``-episode moving average (bold), a band of +-1 rolling standard deviation, and
    labelled rules (``thresholds``: (y, label) pairs) at the solve thresholds. With
    ``reference``, a faint grey band and a dashed median (named dataset ``reference``: x, lo,
    mid, hi) of typical runs go behind. With ``evaluations`` (the episodes per greedy
    evaluation), a point per evaluation at its mean and a thin rule from its lowest to its
    highest return go on top (named dataset ``evaluations``: x, steps, mean, lo, hi). Every
    part is drawn in its look from ``palette``."""
    x = alt.X("x:Q", title="episode", scale=alt.Scale(domain=[0, x_max], nice=False),
              axis=palette.axis())
    y_scale = (alt.Scale(domain=[0, y_max * 1.04], nice=False) if y_max
               else alt.Scale(zero=False))
    ytitle = "return per episode"
    average = f"{window}-episode average"
    tips = [alt.Tooltip("x:Q", title="episode"), alt.Tooltip("ret:Q", title="return"),
            alt.Tooltip("avg:Q", title=average, format=".1f"),
            alt.Tooltip("lo:Q", title="average − std", format=".1f"),
            alt.Tooltip("hi:Q", title="average + std", format=".1f")]
    raw_look, avg_look = palette.style(palette.RAW), palette.style(average)
    data = alt.NamedData("returns")
    base = alt.Chart(data).encode(x=x)
    band = base.mark_area(opacity=0.25, color=avg_look.color).encode(
        y=alt.Y("lo:Q", scale=y_scale, title=ytitle, axis=palette.axis()), y2="hi:Q")
    raw = base.mark_line(color=raw_look.color, strokeWidth=0.8, opacity=0.8).encode(
        y=alt.Y("ret:Q", scale=y_scale, title=ytitle))
    avg = base.mark_line(color=avg_look.color, strokeDash=avg_look.stroke_dash,
                         strokeWidth=2.5).encode(
        y=alt.Y("avg:Q", scale=y_scale, title=ytitle), tooltip=tips)
    layers = [band, raw, avg]
    if reference:
        layers = reference_layers(alt.NamedData("reference"), x, y_scale, ytitle, REF_COLOR,
                                  opacity=0.16) + layers
    if thresholds:
        layers += rules(thresholds, y_scale, ytitle, font_size=11, stroke_width=1.5)
    keys = ["return", average, "average ± 1 std"]
    colors = [raw_look.color, avg_look.color, avg_look.tint()]
    dashes = [raw_look.stroke_dash, avg_look.stroke_dash, list(palette.SOLID)]
    if evaluations is not None:
        look = palette.style(palette.EVALUATION)
        greedy = alt.Chart(alt.NamedData("evaluations")).encode(x=x)
        eval_tips = [alt.Tooltip("x:Q", title="training episodes", format=",.0f"),
                     alt.Tooltip("steps:Q", title="env steps", format=",.0f"),
                     alt.Tooltip("mean:Q", title=f"greedy mean ({evaluations} ep.)",
                                 format=".1f"),
                     alt.Tooltip("lo:Q", title="lowest", format=".0f"),
                     alt.Tooltip("hi:Q", title="highest", format=".0f")]
        layers.append(greedy.mark_rule(color=look.color, strokeWidth=1.2, opacity=0.7,
                                       clip=True).encode(
            y=alt.Y("lo:Q", scale=y_scale, title=ytitle), y2="hi:Q"))
        layers.append(greedy.mark_point(color=look.color, shape=look.marker, filled=True,
                                        size=45, opacity=1, clip=True).encode(
            y=alt.Y("mean:Q", scale=y_scale, title=ytitle), tooltip=eval_tips))
    if reference:
        keys.append(REF_LEGEND)
        colors.append(REF_COLOR)
        dashes.append(palette.style(REF_LEGEND).stroke_dash)
    if evaluations is not None:
        keys.append(eval_legend(evaluations))
        colors.append(look.color)
        dashes.append(look.stroke_dash)
    # the live panel's width: about 560 px at 1280 px with the sidebar and the settings open
    legend = palette.legend(keys, width=520)
    layers.append(alt.Chart(pd.DataFrame({"series": keys})).mark_point(opacity=0).encode(
        color=alt.Color("series:N", title=None, scale=alt.Scale(domain=keys, range=colors),
                        legend=legend),
        strokeDash=alt.StrokeDash("series:N", title=None,
                                  scale=alt.Scale(domain=keys, range=dashes), legend=legend)))
    return alt.layer(*layers).properties(height=height)


@lru_cache(maxsize=32)
def _returns_template(x_max: int, y_max: float | None, window: int, reference: bool,
                      evaluations: int | None = None) -> str:
    return json.dumps(returns_chart(x_max, y_max, window, reference=reference,
                                    evaluations=evaluations).to_dict())


def returns_spec(snap: RunSnapshot, y_max: float | None = 500.0, window: int = WINDOW,
                 max_points: int = MAX_POINTS, reference: pa.Table | None = None) -> dict:
    """A Vega-Lite spec of :func:`returns_chart` filled with ``snap``'s episodes, with the
    typical-run band ``reference`` (x, lo, mid, hi; see ``ui.reference``) if given, and with
    the run's greedy evaluations (:func:`evaluations_data`) once it has any (a second
    template: a run without evaluations gets exactly the chart it always had)."""
    datasets = {"returns": returns_data(snap, window, max_points)}
    if reference is not None:
        datasets["reference"] = reference
    greedy = evaluations_data(snap)
    if greedy is not None:
        datasets["evaluations"] = greedy
    template = _returns_template(run_x_max(snap), y_max, window, reference is not None,
                                 None if greedy is None else snap.config.eval_episodes)
    return with_data(template, **datasets)


# ----- per-update diagnostics -----------------------------------------------------------------

def panels_of(config) -> tuple:
    """The live diagnostic panels of ``config``'s algorithm (its registry entry), without the
    critic's panels when the run has no critic."""
    critic = config.has_critic
    return tuple(p for p in config.algorithm.panels if critic or not p.needs_critic)


def updates_data(snap: RunSnapshot, panels: tuple, max_points: int = SMALL_POINTS) -> pa.Table:
    """The bucketed update statistics the ``panels`` show, downsampled; ``x`` = episodes
    finished so far. Non-positive values of log-scaled statistics become null (a gap, not an
    error); a statistic not reported yet is all null."""
    u = snap.updates
    idx = sample_index(len(u["update"]), max_points)
    data = {"x": _f32(u["episodes"][idx])}
    for p in panels:
        v = _f32(u[p.key][idx]) if p.key in u else np.full(len(idx), np.nan, np.float32)
        if p.scale == "log":
            v = np.where(v > 0, v, np.nan).astype(np.float32)
        data[p.key] = v
    return pa.table(data)


def update_chart(field: str, title: str, scale: str, x_max: int, height: int = 120,
                 y_domain: tuple[float, float] | None = None) -> alt.Chart:
    """One small line chart (named dataset ``updates``) of an update statistic. A log axis
    labels its powers of ten in plain numbers (``palette.log_axis``); the values at or below
    0 it cannot place are gaps (:func:`updates_data`)."""
    if y_domain is not None:
        y_scale = alt.Scale(domain=list(y_domain), nice=False)
    elif scale in ("log", "symlog"):
        y_scale = alt.Scale(type=scale)
    else:
        y_scale = alt.Scale(zero=False)
    if scale == "log":
        axis = palette.log_axis(tickCount=4, labelFlush=True, grid=False)
    else:
        axis = palette.axis(tickCount=4, labelFlush=True, grid=True)
    return alt.Chart(alt.NamedData("updates")).mark_line(
        color=AVERAGE_COLOR, strokeWidth=1.5, clip=True).encode(
        x=alt.X("x:Q", title=None, scale=alt.Scale(domain=[0, x_max], nice=False),
                axis=palette.axis(tickCount=5, grid=False)),
        y=alt.Y(f"{field}:Q", title=None, scale=y_scale, axis=axis),
        tooltip=[alt.Tooltip("x:Q", title="episodes", format=".0f"),
                 alt.Tooltip(f"{field}:Q", title=field.replace("_", " "), format=".4g")],
    ).properties(title=alt.TitleParams(title, fontSize=13, anchor="start"), height=height)


@lru_cache(maxsize=64)
def _diagnostics_template(panels: tuple, x_max: int, n_actions: int) -> str:
    charts = []
    for p in panels:
        domain = (0.0, round(float(np.log(n_actions)) * 1.02, 4)) if p.key == "entropy" else None
        charts.append(update_chart(p.key, p.title, p.scale, x_max, y_domain=domain))
    return json.dumps(alt.vconcat(*charts, spacing=18).to_dict())


def diagnostics_specs(snap: RunSnapshot, max_points: int = SMALL_POINTS,
                      n_actions: int = 2) -> list[dict]:
    """The algorithm's diagnostic panels (:func:`panels_of`) as stacked charts, one element
    per column (policy-gradient runs: policy loss, entropy and gradient norm; value loss, with
    a critic, and advantage size). An entropy axis is fixed to [0, ln(n_actions)] so a
    collapse to 0 is unmistakable. All share one small Arrow table."""
    panels = panels_of(snap.config)
    table = updates_data(snap, panels, max_points)
    x_max = run_x_max(snap)
    out = []
    for col in sorted({p.column for p in panels}):
        group = tuple(p for p in panels if p.column == col)
        columns = table.select(["x", *(p.key for p in group)])  # only what this chart draws
        out.append(with_data(_diagnostics_template(group, x_max, n_actions), updates=columns))
    return out


# ----- the critic against reality --------------------------------------------------------------


def value_data(snap: RunSnapshot, max_points: int = SMALL_POINTS,
               window: int = 10) -> pa.Table:
    """Per episode: the critic's V(s_0) and the discounted return actually collected, both
    averaged over the last ``window`` episodes; long format for a two-line chart."""
    ep = snap.episodes
    idx = sample_index(len(ep["episode"]), max_points)
    v, _ = rolling_mean_std(ep["start_value"], window, idx)
    g, _ = rolling_mean_std(ep["discounted_return"], window, idx)
    x = ep["episode"][idx].astype(np.int32)
    series = pa.DictionaryArray.from_arrays(
        np.repeat(np.array([0, 1], np.int8), len(x)), pa.array([V_LABEL, G_LABEL]))
    return pa.table({"x": np.concatenate([x, x]), "y": _f32(np.concatenate([v, g])),
                     "series": series})


VALUE_CHART_WIDTH = 260
"""About the narrowest the V(s₀) chart gets (half the live panel at 1280 px): its legend
wraps to fit."""


def value_chart(x_max: int, window: int = 10, height: int = 300) -> alt.Chart:
    """V(s_0) against sum_t gamma^t r_t per episode (named dataset ``values``)."""
    keys = [V_LABEL, G_LABEL]
    return alt.Chart(alt.NamedData("values")).mark_line(strokeWidth=2, clip=True).encode(
        x=alt.X("x:Q", title="episode", scale=alt.Scale(domain=[0, x_max], nice=False),
                axis=palette.axis(tickCount=4)),
        # symlog: a critic that runs away to 10^4 and returns of ~9 both stay readable
        y=alt.Y("y:Q", title=None, scale=alt.Scale(type="symlog"),
                axis=palette.axis(values=_SYMLOG_TICKS)),
        color=palette.color("series", keys, width=VALUE_CHART_WIDTH),
        strokeDash=palette.stroke_dash("series", keys, width=VALUE_CHART_WIDTH),
        tooltip=[alt.Tooltip("x:Q", title="episode"), alt.Tooltip("series:N", title="series"),
                 alt.Tooltip("y:Q", title=f"{window}-episode average", format=".2f")],
    ).properties(title=alt.TitleParams(
        "V(s₀) vs the return it predicts",
        subtitle=f"{window}-episode averages, log scale away from 0", fontSize=13,
        anchor="start"), height=height)


@lru_cache(maxsize=32)
def _value_template(x_max: int, window: int) -> str:
    return json.dumps(value_chart(x_max, window).to_dict())


def value_spec(snap: RunSnapshot, max_points: int = SMALL_POINTS, window: int = 10) -> dict | None:
    """:func:`value_chart` filled with ``snap``'s episodes; None when there is no critic."""
    if not snap.config.has_critic:
        return None
    return with_data(_value_template(run_x_max(snap), window),
                     values=value_data(snap, max_points, window))


