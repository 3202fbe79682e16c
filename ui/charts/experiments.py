"""The charts of an experiment's runs across seeds, and the data behind them: each seed's
curve with the mean ± 1 std band (Seeds & variance), several settings' bands on one chart
(Baseline vs none, Entropy bonus, Hard copy or Polyak), when each seed reached 195 and 475
(Baseline vs none), and a race of smoothed returns (Algorithm race).

Each chart is authored once in altair (``*_chart``: from data frames, or from named datasets
for a template). A live page draws its ``*_spec``: the chart's template (built by altair once
per shape and kept) filled with the snapshot's data as Arrow tables (:mod:`ui.charts.specs`),
a few milliseconds instead of the hundreds altair takes per chart on a busy server;
``tests/test_chart_specs.py`` holds each spec equal to the chart altair builds from the same
frames. Curves are downsampled, so a refresh sends a bounded number of points however many
seeds and episodes there are.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache

import altair as alt
import pandas as pd

from pgcore.execution.experiments import ExperimentSnapshot

from . import palette
from .bands import REF_COLOR, REF_LEGEND, band_layers, empty_band, reference_layers, seed_band
from .curves import sample_index, smoothed
from .specs import HOLE, arrow, with_data, with_holes
from .thresholds import CRITERIA, V1, rules

CURVE_POINTS = 250
"""Points per curve sent to the browser on each refresh."""
BAND_LABEL = "mean ± 1 std across seeds"


# ----- chart data -----------------------------------------------------------------------------


def seed_curves(snap: ExperimentSnapshot, label: str, column: str = "return",
                window: int = 20, max_points: int = CURVE_POINTS
                ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per-seed curves, mean/std across seeds) of ``column`` for the runs of ``label``.

    Each seed's curve is smoothed first (full history), then the across-seed mean and std are
    taken per episode, and only then is everything downsampled to ``max_points``.
    """
    runs = [r for r in snap.by_label(label) if r.episodes]
    lines, curves = [], []
    for r in runs:
        y = smoothed(r.columns[column], window)
        curves.append(y)
        idx = sample_index(len(y), max_points)
        lines.append(pd.DataFrame({"episode": idx + 1, "value": y[idx],
                                   "seed": f"seed {r.seed}"}))
    seeds = pd.concat(lines, ignore_index=True) if lines else \
        pd.DataFrame({"episode": [], "value": [], "seed": []})
    if not curves:
        return seeds, empty_band()
    return seeds, seed_band(curves, max_points=max_points)


def group_bands(snap: ExperimentSnapshot, column: str, window: int,
                names: dict[str, str] | None = None) -> pd.DataFrame:
    """Mean/std bands of ``column`` for every label, stacked with a ``group`` column."""
    parts = []
    for label in snap.labels:
        _, band = seed_curves(snap, label, column, window)
        if len(band):
            parts.append(band.assign(group=(names or {}).get(label, label)))
    if not parts:
        return empty_band().assign(group=[])
    return pd.concat(parts, ignore_index=True)


def x_max_of(snap: ExperimentSnapshot) -> int:
    budgets = [r.config.max_episodes or 0 for r in snap.runs]
    return max([*budgets, *(r.episodes for r in snap.runs), 10])


# ----- charts ---------------------------------------------------------------------------------


def _tagged(data, series: str, name: str):
    """``data`` with a constant ``series`` column: a frame gets the column; a template's named
    dataset stands for the dataset ``name``, which its filler gives that column."""
    if isinstance(data, alt.NamedData):
        return alt.NamedData(name)
    return data.assign(series=series)


def _some(reference) -> bool:
    """Whether a chart has typical-run bands to draw (a template's named dataset counts)."""
    return reference is not None and (isinstance(reference, alt.NamedData) or len(reference))


def _json(chart) -> str:
    return json.dumps(chart.to_dict())


def seeds_band_chart(seeds: pd.DataFrame, band: pd.DataFrame, x_max: int, title: str,
                     y_title: str = "return (moving average)", y_max: float | None = 500.0,
                     thresholds: bool = True, height: int = 320,
                     reference: pd.DataFrame | None = None,
                     condition: str | None = None) -> alt.LayerChart:
    """Each seed a thin grey line, the mean bold, and a band labelled "mean ± 1 std across
    seeds", the mean and the band in the look of ``condition`` (by default the title: the
    page's setting, e.g. "A2C"); behind them, when given, the grey typical-run band
    ``reference``."""
    look = palette.style(condition if condition is not None else title)
    one = palette.style(palette.ONE_SEED)
    x_scale = alt.Scale(domain=[0, x_max], nice=False)
    x = alt.X("episode:Q", title="episode", scale=x_scale, axis=palette.axis())
    y_scale = alt.Scale(domain=[0, y_max * 1.04], nice=False) if y_max else alt.Scale(zero=True)
    keys = ["one seed", "mean", BAND_LABEL]
    colors = [one.color, look.color, look.tint()]
    dashes = [one.stroke_dash, look.stroke_dash, list(palette.SOLID)]
    if reference is not None:
        keys.append(REF_LEGEND)
        colors.append(REF_COLOR)
        dashes.append(palette.style(REF_LEGEND).stroke_dash)
    legend = palette.legend(keys)
    color = alt.Color("series:N", title=None, scale=alt.Scale(domain=keys, range=colors),
                      legend=legend)
    dash = alt.StrokeDash("series:N", title=None, scale=alt.Scale(domain=keys, range=dashes),
                          legend=legend)
    mean = _tagged(band, "mean", "mean")
    band = _tagged(band, BAND_LABEL, "band")
    seeds = _tagged(seeds, "one seed", "seeds")
    layers = [
        alt.Chart(band).mark_area(opacity=0.3).encode(
            x=x, y=alt.Y("lo:Q", scale=y_scale, title=y_title, axis=palette.axis()),
            y2="hi:Q", color=color),
        alt.Chart(seeds).mark_line(strokeWidth=0.9, opacity=0.8).encode(
            x=x, y=alt.Y("value:Q", scale=y_scale, title=y_title), detail="seed:N",
            color=color, strokeDash=dash,
            tooltip=["seed:N", "episode:Q",
                     alt.Tooltip("value:Q", format=".1f", title=y_title)]),
        alt.Chart(mean).mark_line(strokeWidth=2.5).encode(
            x=x, y=alt.Y("mean:Q", scale=y_scale, title=y_title), color=color,
            strokeDash=dash,
            tooltip=["episode:Q", alt.Tooltip("mean:Q", format=".1f", title="mean"),
                     alt.Tooltip("lo:Q", format=".1f", title="mean − std"),
                     alt.Tooltip("hi:Q", format=".1f", title="mean + std"),
                     alt.Tooltip("n:Q", title="seeds")]),
    ]
    if reference is not None:
        layers = reference_layers(_tagged(reference, REF_LEGEND, "reference"),
                                  alt.X("x:Q", title="episode", scale=x_scale), y_scale,
                                  y_title, color) + layers
    if thresholds:
        layers += rules(CRITERIA, y_scale, y_title)
    return alt.layer(*layers).properties(
        title=alt.TitleParams(title, anchor="start", fontSize=14),
        height=height + (24 if reference is not None else 0))  # the legend wraps


def groups_band_chart(data: pd.DataFrame, x_max: int, title: str, y_title: str,
                      y_domain: tuple[float, float] | None = None, thresholds: bool = False,
                      height: int = 300, reference: pd.DataFrame | None = None,
                      groups: Sequence[str] | None = None) -> alt.LayerChart:
    """Several settings on one chart: per setting a mean line and a ± 1 std band (across
    seeds), each setting in its own colour and dash (``palette``: the same whatever order
    the settings come in). ``data``: episode, mean, lo, hi, group. ``reference``: typical-run
    bands (x, lo, mid, hi, group) drawn faintly in their group's colour. ``groups``: the
    settings in legend order (by default as they come in ``data``; a template's named
    ``data`` needs them)."""
    x_scale = alt.Scale(domain=[0, x_max], nice=False)
    x = alt.X("episode:Q", title="episode", scale=x_scale, axis=palette.axis())
    y_scale = alt.Scale(domain=list(y_domain), nice=False) if y_domain else alt.Scale(zero=True)
    if groups is None:
        groups = list(dict.fromkeys(data["group"])) if len(data) else []
    groups = list(groups)
    color = palette.color("group", groups)
    dash = palette.stroke_dash("group", groups)
    layers = band_layers(data, x, y_scale, y_title, color, dash,
                         ["group:N", "episode:Q",
                          alt.Tooltip("mean:Q", format=".3g", title="mean across seeds"),
                          alt.Tooltip("lo:Q", format=".3g", title="mean − std"),
                          alt.Tooltip("hi:Q", format=".3g", title="mean + std")])
    if _some(reference):
        layers = reference_layers(reference, alt.X("x:Q", title="episode", scale=x_scale),
                                  y_scale, y_title, color,
                                  extra_tips=(alt.Tooltip("group:N", title="reference for"),)
                                  ) + layers
    if thresholds:
        layers += rules(CRITERIA, y_scale, y_title)
    return alt.layer(*layers).properties(
        title=alt.TitleParams(title, anchor="start", fontSize=14), height=height)


# ----- strip plot (exercise 2) ----------------------------------------------------------------

STRIP_195 = "195 (CartPole-v0 criterion)"
STRIP_475 = "475 (CartPole-v1 criterion)"


def strip_data(rows: pd.DataFrame, budget: int) -> pd.DataFrame:
    """The strip chart's points: per seed and threshold, the episode it was reached at (or
    the budget, "not reached (within budget)")."""
    long = []
    for _, r in rows.iterrows():
        for col, name in (("episodes_to_195", STRIP_195), ("episodes_to_475", STRIP_475)):
            v = r[col]
            reached = v is not None and not pd.isna(v)
            long.append({"setting": r["setting"], "seed": int(r["seed"]), "threshold": name,
                         "episodes": float(v) if reached else float(budget),
                         "reached": "reached" if reached else "not reached (within budget)"})
    return pd.DataFrame(long)


def strip_chart(rows: pd.DataFrame, budget: int, height: int = 130,
                settings: Sequence[str] | None = None,
                named: bool = False) -> alt.VConcatChart:
    """Episodes to each threshold per seed, one strip per setting (in its colour from
    ``palette``); a seed that never got there is drawn as a cross at the budget ("not
    reached"). ``rows``: :func:`ui.experiment_summary.threshold_rows`; with ``named`` (a
    template) the strips' data are the named datasets ``strip0`` and ``strip1`` and
    ``settings`` (in order) must be given."""
    data = None if named else strip_data(rows, budget)
    if settings is None:
        settings = list(dict.fromkeys(data["setting"])) if len(data) else []
    settings = list(settings)
    x = alt.X("episodes:Q", title="episodes until the 100-episode average first reaches it",
              scale=alt.Scale(domain=[0, budget * 1.02], nice=False), axis=palette.axis())
    marks = ["reached", "not reached (within budget)"]
    charts = []
    for i, name in enumerate((STRIP_195, STRIP_475)):
        if named:
            sub = alt.NamedData(f"strip{i}")
        else:
            sub = data[data["threshold"] == name] if len(data) else data
        charts.append(alt.Chart(sub).mark_point(size=90, strokeWidth=2, opacity=1).encode(
            x=x, y=alt.Y("setting:N", title=None, sort=settings,
                         axis=alt.Axis(labelLimit=palette.label_limit(settings))),
            yOffset=alt.YOffset("seed:N"),
            shape=alt.Shape("reached:N", title=None,
                            scale=alt.Scale(domain=marks, range=["circle", "cross"]),
                            legend=palette.legend(marks, symbol="circle")),
            color=palette.color("setting", settings, legend_=None),
            tooltip=["setting:N", "seed:Q", "threshold:N", "episodes:Q", "reached:N"],
        ).properties(
            title=alt.TitleParams(f"Episodes to {name}", anchor="start", fontSize=13),
            height=height))
    return alt.vconcat(*charts)


# ----- the race -------------------------------------------------------------------------------


def race_data(snap: ExperimentSnapshot, window: int = 20, max_points: int = CURVE_POINTS,
              names: dict[str, str] | None = None) -> pd.DataFrame:
    """Per run: smoothed return against env steps and against wall seconds."""
    parts = []
    for r in snap.runs:
        if not r.episodes:
            continue
        y = smoothed(r.returns, window)
        idx = sample_index(len(y), max_points)
        parts.append(pd.DataFrame({
            "algorithm": (names or {}).get(r.label, r.label),
            "env_steps": r.columns["env_steps"][idx], "seconds": r.columns["wall_seconds"][idx],
            "episode": idx + 1, "value": y[idx]}))
    if not parts:
        return pd.DataFrame({"algorithm": [], "env_steps": [], "seconds": [], "episode": [],
                             "value": []})
    return pd.concat(parts, ignore_index=True)


def race_chart(data: pd.DataFrame, x_field: str, x_title: str, order: list[str],
               height: int = 320, reference: pd.DataFrame | None = None,
               x_end: float | None = None) -> alt.LayerChart:
    """Each algorithm's smoothed return against ``x_field``, in its colour and dash from
    ``palette``; with ``reference`` (x, lo, mid, hi, algorithm), faint typical-run bands in
    each algorithm's colour, clipped to the range the live runs have covered so far (so they
    do not squash the live curves): up to ``x_end`` (by default the data's largest
    ``x_field``; a template's named data gives :data:`~ui.charts.specs.HOLE`)."""
    y_scale = alt.Scale(domain=[0, 520], nice=False)
    color = palette.color("algorithm", order)
    dash = palette.stroke_dash("algorithm", order)
    x_scale = alt.Undefined
    if _some(reference):
        if x_end is None:
            x_end = max(float(data[x_field].max()) if len(data) else 0.0, 1.0)
        x_scale = alt.Scale(domain=[0, x_end], nice=False)
    lines = alt.Chart(data).mark_line(strokeWidth=2).encode(
        x=alt.X(f"{x_field}:Q", title=x_title, axis=palette.axis(), scale=x_scale),
        y=alt.Y("value:Q", scale=y_scale, title="return (moving average)",
                axis=palette.axis()),
        color=color, strokeDash=dash,
        tooltip=["algorithm:N", "episode:Q", alt.Tooltip(f"{x_field}:Q", format=",.1f"),
                 alt.Tooltip("value:Q", format=".1f", title="return")])
    layers = [lines, *rules([(V1, "finish line: 475")], y_scale, font_size=11,
                            stroke_width=1.5)]
    if _some(reference):
        layers = reference_layers(reference, alt.X("x:Q", title=x_title, scale=x_scale),
                                  y_scale, "return (moving average)", color, opacity=0.08,
                                  extra_tips=(alt.Tooltip("algorithm:N"),)) + layers  # 4 overlap
    return alt.layer(*layers).properties(height=height)


# ----- the charts as templates filled with a snapshot's data -----------------------------------


@lru_cache(maxsize=64)
def _seeds_band_template(x_max: int, title: str, y_title: str, y_max: float | None,
                         thresholds: bool, height: int, reference: bool,
                         condition: str | None) -> str:
    return _json(seeds_band_chart(
        alt.NamedData("seeds"), alt.NamedData("band"), x_max, title, y_title, y_max,
        thresholds, height, alt.NamedData("reference") if reference else None, condition))


def seeds_band_spec(seeds: pd.DataFrame, band: pd.DataFrame, x_max: int, title: str,
                    y_title: str = "return (moving average)", y_max: float | None = 500.0,
                    thresholds: bool = True, height: int = 320,
                    reference: pd.DataFrame | None = None,
                    condition: str | None = None) -> dict:
    """:func:`seeds_band_chart` as a Vega-Lite spec: its template filled with these frames as
    Arrow tables (equal to the chart altair builds from them)."""
    datasets = {"band": arrow(band.assign(series=BAND_LABEL)),
                "seeds": arrow(seeds.assign(series="one seed")),
                "mean": arrow(band.assign(series="mean"))}
    if reference is not None:
        datasets["reference"] = arrow(reference.assign(series=REF_LEGEND))
    return with_data(_seeds_band_template(int(x_max), title, y_title, y_max, bool(thresholds),
                                          height, reference is not None, condition),
                     **datasets)


@lru_cache(maxsize=64)
def _groups_band_template(x_max: int, title: str, y_title: str,
                          y_domain: tuple[float, float] | None, thresholds: bool,
                          height: int, reference: bool, groups: tuple[str, ...]) -> str:
    return _json(groups_band_chart(
        alt.NamedData("bands"), x_max, title, y_title, y_domain, thresholds, height,
        alt.NamedData("reference") if reference else None, groups=groups))


def groups_band_spec(data: pd.DataFrame, x_max: int, title: str, y_title: str,
                     y_domain: tuple[float, float] | None = None, thresholds: bool = False,
                     height: int = 300, reference: pd.DataFrame | None = None) -> dict:
    """:func:`groups_band_chart` as a Vega-Lite spec: its template filled with these frames
    as Arrow tables (equal to the chart altair builds from them)."""
    groups = tuple(dict.fromkeys(data["group"])) if len(data) else ()
    datasets = {"bands": arrow(data)}
    has_reference = bool(_some(reference))
    if has_reference:
        datasets["reference"] = arrow(reference)
    domain = None if not y_domain else tuple(y_domain)
    return with_data(_groups_band_template(int(x_max), title, y_title, domain,
                                           bool(thresholds), height, has_reference, groups),
                     **datasets)


@lru_cache(maxsize=32)
def _strip_template(budget: int, height: int, settings: tuple[str, ...]) -> str:
    return _json(strip_chart(None, budget, height, settings=settings, named=True))


def strip_spec(rows: pd.DataFrame, budget: int, height: int = 130) -> dict:
    """:func:`strip_chart` as a Vega-Lite spec: its template filled with ``rows``' points
    (:func:`strip_data`) as Arrow tables (equal to the chart altair builds from them)."""
    data = strip_data(rows, budget)
    settings = tuple(dict.fromkeys(data["setting"])) if len(data) else ()
    parts = {f"strip{i}": arrow(data[data["threshold"] == name] if len(data) else data)
             for i, name in enumerate((STRIP_195, STRIP_475))}
    return with_data(_strip_template(int(budget), height, settings), **parts)


@lru_cache(maxsize=32)
def _race_template(x_field: str, x_title: str, order: tuple[str, ...], height: int,
                   reference: bool) -> str:
    return _json(race_chart(alt.NamedData("race"), x_field, x_title, list(order), height,
                            alt.NamedData("reference") if reference else None,
                            x_end=HOLE if reference else None))


def race_spec(data: pd.DataFrame, x_field: str, x_title: str, order: list[str],
              height: int = 320, reference: pd.DataFrame | None = None) -> dict:
    """:func:`race_chart` as a Vega-Lite spec: its template filled with these frames as
    Arrow tables and the x range the runs have covered (equal to the chart altair builds
    from them)."""
    has_reference = bool(_some(reference))
    template = _race_template(x_field, x_title, tuple(order), height, has_reference)
    datasets = {"race": arrow(data)}
    if not has_reference:
        return with_data(template, **datasets)
    datasets["reference"] = arrow(reference)
    x_end = max(float(data[x_field].max()) if len(data) else 0.0, 1.0)
    return with_holes(template, {HOLE: x_end}, **datasets)
