"""The experiment pages' shared parts: session ownership, controls, the live fragment, charts.

Each experiment page keeps at most one :class:`pgcore.experiments.Experiment` (or, on the
gradient-variance page, one :class:`pgcore.gradvar.GradVarLab`) in this session's
:class:`ExperimentHolder`, a session-scoped ``st.cache_resource`` like the Train page's run
holder: it survives page switches, and when the tab closes ``on_release`` stops everything.
Jobs take slots from the same process-wide pool as Train-page runs.

Charts are altair, built from one snapshot per refresh and downsampled per curve, so a
refresh sends a bounded number of points however many seeds and episodes there are.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from pgcore.experiments import Experiment, ExperimentSnapshot, Job, run_stats
from pgcore.metrics import CARTPOLE_V0_SOLVED, CARTPOLE_V1_SOLVED, across_seed_stats

from . import reference as typical
from .charts import REF_COLOR, REF_LEGEND, reference_layers, rolling_mean_std, sample_index
from .state import slot_pool

REFRESH_SECONDS = 1.0
CURVE_POINTS = 250
"""Points per curve sent to the browser on each refresh."""
MAX_SEEDS, MIN_SEEDS = 10, 2
MIN_EPISODES, MAX_EPISODES = 20, 3000
THRESHOLDS = ((CARTPOLE_V0_SOLVED, "195: CartPole-v0 criterion", "#b45309"),
              (CARTPOLE_V1_SOLVED, "475: CartPole-v1 criterion", "#15803d"))
SEED_COLOR, MEAN_COLOR, BAND_COLOR = "#94a3b8", "#1d4ed8", "#60a5fa"
PALETTE = ["#1d4ed8", "#dc2626", "#059669", "#9333ea", "#d97706", "#0891b2"]
BAND_LABEL = "mean ± 1 std across seeds"
STATE_BADGES = {"idle": ("not started", "gray"), "waiting": ("waiting for a slot", "orange"),
                "running": ("running", "blue"), "finished": ("finished", "green"),
                "stopped": ("stopped", "gray"), "error": ("error", "red")}


def experiment_mode() -> str:
    """``process`` (parallel workers) unless ``PGLAB_EXPERIMENT_MODE=inline`` (tests)."""
    mode = os.environ.get("PGLAB_EXPERIMENT_MODE", "process").strip().lower()
    return mode if mode in ("process", "inline") else "process"


# ----- session ownership --------------------------------------------------------------------

_STARTED: weakref.WeakSet = weakref.WeakSet()  # every item started by this process


def stop_all(timeout: float = 30.0) -> None:
    """Stop every experiment this process started and wait for them (tests, shutdown)."""
    items = list(_STARTED)
    for item in items:
        item.stop()
    for item in items:
        item.join(timeout)



class ExperimentHolder:
    """What one browser session owns on the experiment pages: one item per page key."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.items: dict[str, object] = {}
        self.last_state: dict[str, str] = {}
        self.notes: dict[str, dict] = {}  # per page: anything worth keeping (labels, results)

    def get(self, key: str):
        with self._lock:
            return self.items.get(key)

    def start(self, key: str, item) -> None:
        """Stop the page's current item (if any) and start ``item`` in its place."""
        with self._lock:
            old = self.items.get(key)
            self.items[key] = item
            self.last_state[key] = "running"
        if old is not None:
            old.stop()
        _STARTED.add(item)
        item.start()

    def stop(self, key: str) -> None:
        item = self.get(key)
        if item is not None:
            item.stop()

    def reset(self, key: str) -> None:
        with self._lock:
            item = self.items.pop(key, None)
            self.last_state.pop(key, None)
        if item is not None:
            item.stop()

    def release(self) -> None:
        """The session ended: stop everything it started."""
        with self._lock:
            items = list(self.items.values())
        for item in items:
            item.stop()


def _release(holder: ExperimentHolder) -> None:
    holder.release()


@st.cache_resource(scope="session", on_release=_release, show_spinner=False)
def session_experiments() -> ExperimentHolder:
    """This browser session's experiments (survive page switches; stopped with the tab)."""
    return ExperimentHolder()


def start_experiment(key: str, jobs: list[Job], frame_every: float | None = None) -> None:
    """Build and start an experiment for page ``key`` (a button callback)."""
    exp = Experiment(jobs, mode=experiment_mode(), pool=slot_pool(), frame_every=frame_every)
    session_experiments().start(key, exp)


# ----- widgets --------------------------------------------------------------------------------


def seeds_ui(key: str, default: int = 3) -> list[int]:
    """A bounded seed-count slider; the seeds are 0 .. n-1 (the same on every page)."""
    n = st.slider("Seeds", MIN_SEEDS, MAX_SEEDS, default, key=f"{key}.seeds",
                  help=f"How many independent runs per setting ({MIN_SEEDS} to {MAX_SEEDS}). "
                       "Seeds 0, 1, 2, ... are used, the same for every setting.")
    return list(range(int(n)))


def episodes_ui(key: str, default: int = 1000, label: str = "Episodes per run") -> int:
    return int(st.number_input(label, MIN_EPISODES, MAX_EPISODES, default, step=100,
                               key=f"{key}.episodes",
                               help=f"The episode budget of every run ({MIN_EPISODES:,} to "
                                    f"{MAX_EPISODES:,})."))


def smoothing_ui(key: str, default: int = 20) -> int:
    return int(st.select_slider("Smoothing (episodes)", [1, 5, 10, 20, 50, 100], default,
                                key=f"{key}.smooth",
                                help="Each seed's curve is the moving average of its last "
                                     "this-many episodes."))


def controls_ui(key: str, make_jobs: Callable[[], list[Job]] | None, error: str | None,
                what: str = "runs", frame_every: float | None = None) -> None:
    """Start / Stop / Reset for page ``key``. ``make_jobs`` builds the grid at click time;
    ``frame_every`` (seconds) asks the runs for thumbnails of their environment."""
    holder = session_experiments()
    item = holder.get(key)
    active = item is not None and item.state in ("running", "waiting")
    c1, c2, c3 = st.columns(3)

    def start() -> None:
        start_experiment(key, make_jobs(), frame_every)

    c1.button("Start", type="primary", icon=":material/play_arrow:", width="stretch",
              key=f"{key}.start", disabled=make_jobs is None or error is not None or active,
              on_click=start, help=f"Train all the {what} in the background.")
    c2.button("Stop", icon=":material/stop:", width="stretch", key=f"{key}.stop",
              disabled=not active, on_click=holder.stop, args=(key,),
              help="Stop the running jobs; what they learned so far stays.")
    c3.button("Reset", icon=":material/restart_alt:", width="stretch", key=f"{key}.reset",
              disabled=item is None, on_click=holder.reset, args=(key,),
              help="Stop and forget these results.")
    if error:
        st.error(f"These settings cannot run: {error}.", icon=":material/block:")


def status_ui(snap: ExperimentSnapshot) -> None:
    """State badge, progress bar and one line per failed run."""
    runs_done = sum(r.ended for r in snap.runs)
    pool = slot_pool()
    queued = all(r.state == "queued" for r in snap.runs) and snap.active
    waiting = queued and pool.active >= pool.max_concurrent
    label, color = STATE_BADGES["waiting" if waiting else snap.state]
    if queued and not waiting:
        label = "starting"
    b1, b2 = st.columns([1, 5], vertical_alignment="center")
    with b1:
        st.badge(label, color=color)
    b2.caption(f"{runs_done} of {len(snap.runs)} runs done · {snap.episode_count:,} episodes · "
               f"{snap.elapsed:,.0f} s")
    if snap.active:
        st.progress(snap.progress())
    if waiting:
        st.info(f"Waiting for a free training slot ({pool.active} of {pool.max_concurrent} "
                "busy). It starts by itself when one frees.", icon=":material/hourglass_top:")
    for line in snap.errors():
        st.error(line, icon=":material/error:")


def download_ui(key: str, snap: ExperimentSnapshot, stem: str) -> None:
    holder = session_experiments()

    def data() -> bytes:
        item = holder.get(key)
        return item.snapshot().to_csv() if item is not None else b""

    st.download_button("Results (CSV)", data=data, file_name=f"{stem}.csv", mime="text/csv",
                       icon=":material/table:", key=f"{key}.csv", on_click="ignore",
                       disabled=snap.episode_count == 0,
                       help="One row per episode: label, seed, episode, return, length, "
                            "env_steps, wall_seconds, entropy.")


def live_ui(key: str, draw: Callable[[ExperimentSnapshot], None], empty: str) -> None:
    """Draw page ``key``'s results: live (a fragment refreshing every second) while active,
    once and statically after. When a run ends, the whole page reruns once."""
    item = session_experiments().get(key)
    if item is None:
        st.info(empty, icon=":material/arrow_upward:")
        return
    if item.state in ("running", "waiting"):
        _live_fragment(key, draw)
    else:
        draw(item.snapshot())


@st.fragment(run_every=REFRESH_SECONDS)
def _live_fragment(key: str, draw: Callable[[ExperimentSnapshot], None]) -> None:
    holder = session_experiments()
    item = holder.get(key)
    if item is None:
        return
    state = item.state  # read before the snapshot: the snapshot is then at least as new
    draw(item.snapshot())
    if state not in ("running", "waiting") and holder.last_state.get(key) == "running":
        holder.last_state[key] = state
        st.rerun()


# ----- chart data -----------------------------------------------------------------------------


def smoothed(x: np.ndarray, window: int) -> np.ndarray:
    """Trailing moving average over the last ``min(i + 1, window)`` values."""
    if window <= 1 or len(x) == 0:
        return np.asarray(x, dtype=np.float64)
    return rolling_mean_std(x, window)[0]


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
        return seeds, pd.DataFrame({"episode": [], "mean": [], "lo": [], "hi": [], "n": []})
    stats = across_seed_stats(curves)
    idx = sample_index(len(stats.mean), max_points)
    std = np.where(stats.count[idx] >= 2, stats.std[idx], np.nan)
    band = pd.DataFrame({"episode": idx + 1, "mean": stats.mean[idx],
                         "lo": stats.mean[idx] - std, "hi": stats.mean[idx] + std,
                         "n": stats.count[idx]})
    return seeds, band


def spread_numbers(snap: ExperimentSnapshot, label: str, window: int = 20) -> dict:
    """Numbers for the spread across seeds of ``label``'s runs (None without 2 seeds)."""
    runs = [r for r in snap.by_label(label) if r.episodes]
    out = {"seeds": len(runs), "mean_std": None, "final_std": None, "final_mean": None}
    if len(runs) < 2:
        return out
    curves = [smoothed(r.returns, window) for r in runs]
    stats = across_seed_stats(curves)
    ok = stats.count >= 2
    out["mean_std"] = float(np.mean(stats.std[ok])) if ok.any() else None
    finals = [float(r.returns[-100:].mean()) for r in runs]
    out["final_std"] = float(np.std(finals))
    out["final_mean"] = float(np.mean(finals))
    return out


# ----- charts ---------------------------------------------------------------------------------


def _threshold_layers(y_title: str, y_scale) -> list:
    rules = pd.DataFrame({"y": [t[0] for t in THRESHOLDS], "label": [t[1] for t in THRESHOLDS],
                          "color": [t[2] for t in THRESHOLDS]})
    base = alt.Chart(rules).encode(y=alt.Y("y:Q", scale=y_scale, title=y_title),
                                   color=alt.Color("color:N", scale=None))
    return [base.mark_rule(strokeDash=[6, 4], strokeWidth=1.2),
            base.mark_text(align="left", baseline="bottom", dx=4, dy=-2, fontSize=10,
                           fontWeight="bold").encode(x=alt.value(0), text="label:N")]


def seeds_band_chart(seeds: pd.DataFrame, band: pd.DataFrame, x_max: int, title: str,
                     y_title: str = "return (moving average)", y_max: float | None = 500.0,
                     thresholds: bool = True, height: int = 320,
                     reference: pd.DataFrame | None = None) -> alt.LayerChart:
    """Each seed a thin line, the mean bold, and a band labelled "mean ± 1 std across seeds";
    behind them, when given, the grey typical-run band ``reference``."""
    x_scale = alt.Scale(domain=[0, x_max], nice=False)
    x = alt.X("episode:Q", title="episode", scale=x_scale)
    y_scale = alt.Scale(domain=[0, y_max * 1.04], nice=False) if y_max else alt.Scale(zero=True)
    keys = ["one seed", "mean", BAND_LABEL]
    colors = [SEED_COLOR, MEAN_COLOR, BAND_COLOR]
    if reference is not None:
        keys.append(REF_LEGEND)
        colors.append(REF_COLOR)
    legend = alt.Color("series:N", title=None,
                       scale=alt.Scale(domain=keys, range=colors),
                       legend=alt.Legend(orient="top", direction="horizontal",
                                         symbolType="stroke", symbolStrokeWidth=4,
                                         labelLimit=240,
                                         columns=2 if len(keys) > 3 else alt.Undefined))
    band = band.assign(series=BAND_LABEL)
    seeds = seeds.assign(series="one seed")
    layers = [
        alt.Chart(band).mark_area(opacity=0.3).encode(
            x=x, y=alt.Y("lo:Q", scale=y_scale, title=y_title), y2="hi:Q", color=legend),
        alt.Chart(seeds).mark_line(strokeWidth=0.9, opacity=0.8).encode(
            x=x, y=alt.Y("value:Q", scale=y_scale, title=y_title), detail="seed:N",
            color=legend, tooltip=["seed:N", "episode:Q",
                                   alt.Tooltip("value:Q", format=".1f", title=y_title)]),
        alt.Chart(band.assign(series="mean")).mark_line(strokeWidth=2.5).encode(
            x=x, y=alt.Y("mean:Q", scale=y_scale, title=y_title), color=legend,
            tooltip=["episode:Q", alt.Tooltip("mean:Q", format=".1f", title="mean"),
                     alt.Tooltip("lo:Q", format=".1f", title="mean − std"),
                     alt.Tooltip("hi:Q", format=".1f", title="mean + std"),
                     alt.Tooltip("n:Q", title="seeds")]),
    ]
    if reference is not None:
        layers = reference_layers(reference.assign(series=REF_LEGEND),
                                  alt.X("x:Q", title="episode", scale=x_scale), y_scale,
                                  y_title, legend) + layers
    if thresholds:
        layers += _threshold_layers(y_title, y_scale)
    return alt.layer(*layers).properties(
        title=alt.TitleParams(title, anchor="start", fontSize=14),
        height=height + (24 if reference is not None else 0))  # the legend wraps


def groups_band_chart(data: pd.DataFrame, x_max: int, title: str, y_title: str,
                      y_domain: tuple[float, float] | None = None, thresholds: bool = False,
                      height: int = 300, reference: pd.DataFrame | None = None
                      ) -> alt.LayerChart:
    """Several settings on one chart: per setting a mean line and a ± 1 std band (across
    seeds), coloured by ``group``. ``data``: episode, mean, lo, hi, group. ``reference``:
    typical-run bands (x, lo, mid, hi, group) drawn faintly in their group's colour."""
    x_scale = alt.Scale(domain=[0, x_max], nice=False)
    x = alt.X("episode:Q", title="episode", scale=x_scale)
    y_scale = alt.Scale(domain=list(y_domain), nice=False) if y_domain else alt.Scale(zero=True)
    groups = list(dict.fromkeys(data["group"])) if len(data) else []
    color = alt.Color("group:N", title=None, scale=alt.Scale(domain=groups,
                                                             range=PALETTE[:len(groups)]),
                      legend=alt.Legend(orient="top", direction="horizontal", labelLimit=260))
    base = alt.Chart(data)
    layers = [base.mark_area(opacity=0.2).encode(
                  x=x, y=alt.Y("lo:Q", scale=y_scale, title=y_title), y2="hi:Q", color=color),
              base.mark_line(strokeWidth=2.2).encode(
                  x=x, y=alt.Y("mean:Q", scale=y_scale, title=y_title), color=color,
                  tooltip=["group:N", "episode:Q",
                           alt.Tooltip("mean:Q", format=".3g", title="mean across seeds"),
                           alt.Tooltip("lo:Q", format=".3g", title="mean − std"),
                           alt.Tooltip("hi:Q", format=".3g", title="mean + std")])]
    if reference is not None and len(reference):
        layers = reference_layers(reference, alt.X("x:Q", title="episode", scale=x_scale),
                                  y_scale, y_title, color,
                                  extra_tips=(alt.Tooltip("group:N", title="reference for"),)
                                  ) + layers
    if thresholds:
        layers += _threshold_layers(y_title, y_scale)
    return alt.layer(*layers).properties(
        title=alt.TitleParams(title, anchor="start", fontSize=14), height=height)


def group_bands(snap: ExperimentSnapshot, column: str, window: int,
                names: dict[str, str] | None = None) -> pd.DataFrame:
    """Mean/std bands of ``column`` for every label, stacked with a ``group`` column."""
    parts = []
    for label in snap.labels:
        _, band = seed_curves(snap, label, column, window)
        if len(band):
            parts.append(band.assign(group=(names or {}).get(label, label)))
    if not parts:
        return pd.DataFrame({"episode": [], "mean": [], "lo": [], "hi": [], "group": []})
    return pd.concat(parts, ignore_index=True)


def reference_ui(key: str) -> bool:
    """The "typical-run bands" toggle of an experiment page (on by default)."""
    return st.toggle("Typical-run bands", value=True, key=f"{key}.reference",
                     help="Draw, faintly behind your runs, how runs of the same default "
                          "settings usually learn: reference runs on other seeds (100 "
                          "onwards), shipped with the app.")


def _matched(snap: ExperimentSnapshot, labels: list[str] | None = None):
    """``(label, reference group)`` for each label (or those in ``labels``) whose config has
    reference runs (an exact match, budgets and seeds aside)."""
    for label in labels if labels is not None else snap.labels:
        runs = snap.by_label(label)
        group, _ = typical.group_for(runs[0].config) if runs else (None, False)
        if group is not None:
            yield label, group


def reference_bands(snap: ExperimentSnapshot, window: int, x: str = "episode",
                    names: dict[str, str] | None = None, group_column: str = "group",
                    labels: list[str] | None = None) -> tuple[pd.DataFrame | None, list]:
    """Typical-run bands of the labels that have reference runs (see :func:`_matched`): one
    frame (x, lo, mid, hi, ``group_column``) and the matched reference groups. ``x``:
    ``episode`` or ``env_steps``. (None, []) when none match."""
    band = typical.episode_band if x == "episode" else typical.steps_band
    parts, groups = [], []
    for label, group in _matched(snap, labels):
        parts.append(band(group.label, window).assign(
            **{group_column: (names or {}).get(label, label)}))
        groups.append(group)
    if not parts:
        return None, []
    return pd.concat(parts, ignore_index=True), groups


def reference_caption(groups: list, window: int, x: str = "episode",
                      whose: str = "the same settings") -> str:
    """What the faint bands on an experiment page are (one sentence)."""
    return typical.band_caption(groups, window, whose, x, lead="Faint bands with dashed lines")


def _present(values) -> list:
    return [v for v in values if v is not None and not pd.isna(v)]


def median_text(values) -> str:
    """The median as text when every seed reached it, else "k/n reached"."""
    vals = _present(values)
    if len(vals) < len(values) or not vals:
        return f"{len(vals)}/{len(values)} reached"
    return f"{pd.Series(vals).median():,.0f}"


def summary_row(setting: str, stats: list[dict]) -> dict:
    """Exercise 2's summary of some runs' :func:`run_stats` (or :func:`threshold_rows`
    records): medians to 195 and 475, the mean wobble, the mean final 100-episode average."""
    wob = _present([s["wobble"] for s in stats])
    finals = _present([s["final_avg100"] for s in stats])
    return {"setting": setting, "seeds": len(stats),
            "median episodes to 195": median_text([s["episodes_to_195"] for s in stats]),
            "median episodes to 475": median_text([s["episodes_to_475"] for s in stats]),
            "wobble (mean over seeds)": fmt(float(np.mean(wob)) if wob else None, ".2f"),
            "final 100-episode average": fmt(float(np.mean(finals)) if finals else None,
                                             ".1f")}


def reference_rows(snap: ExperimentSnapshot, names: dict[str, str] | None = None) -> list[dict]:
    """:func:`summary_row` of the reference runs of each label that has them, as
    "typical: <setting>" rows to set beside the learner's own."""
    return [summary_row(f"typical: {(names or {}).get(label, label)}",
                        typical.reference_stats(group.label))
            for label, group in _matched(snap)]


def x_max_of(snap: ExperimentSnapshot) -> int:
    budgets = [r.config.max_episodes or 0 for r in snap.runs]
    return max([*budgets, *(r.episodes for r in snap.runs), 10])


# ----- thresholds table and strip plot (exercise 2) -------------------------------------------

V0 = "195 (CartPole-v0 criterion)"
V1 = "475 (CartPole-v1 criterion)"


def threshold_rows(snap: ExperimentSnapshot, names: dict[str, str] | None = None) -> pd.DataFrame:
    """Per run: setting, seed, episodes to 195 and 475 (None: not reached), wobble, final avg."""
    rows = []
    for r in snap.runs:
        s = run_stats(r.returns)
        rows.append({"setting": (names or {}).get(r.label, r.label), "seed": r.seed,
                     "episodes": r.episodes, "state": r.state,
                     "episodes_to_195": s["episodes_to_195"],
                     "episodes_to_475": s["episodes_to_475"],
                     "wobble": s["wobble"], "final_avg100": s["final_avg100"]})
    return pd.DataFrame(rows)


def strip_chart(rows: pd.DataFrame, budget: int, height: int = 130) -> alt.VConcatChart:
    """Episodes to each threshold per seed, one strip per setting; a seed that never got
    there is drawn as a hollow mark at the budget ("not reached")."""
    long = []
    for _, r in rows.iterrows():
        for col, name in (("episodes_to_195", V0), ("episodes_to_475", V1)):
            v = r[col]
            reached = v is not None and not pd.isna(v)
            long.append({"setting": r["setting"], "seed": int(r["seed"]), "threshold": name,
                         "episodes": float(v) if reached else float(budget),
                         "reached": "reached" if reached else "not reached (within budget)"})
    data = pd.DataFrame(long)
    x = alt.X("episodes:Q", title="episodes until the 100-episode average first reaches it",
              scale=alt.Scale(domain=[0, budget * 1.02], nice=False))
    charts = []
    for name in (V0, V1):
        sub = data[data["threshold"] == name] if len(data) else data
        charts.append(alt.Chart(sub).mark_point(size=90, strokeWidth=2).encode(
            x=x, y=alt.Y("setting:N", title=None, axis=alt.Axis(labelLimit=220)),
            yOffset=alt.YOffset("seed:N"),
            shape=alt.Shape("reached:N", title=None,
                            scale=alt.Scale(domain=["reached", "not reached (within budget)"],
                                            range=["circle", "cross"]),
                            legend=alt.Legend(orient="top")),
            color=alt.Color("setting:N", title=None, legend=None,
                            scale=alt.Scale(range=PALETTE)),
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
               height: int = 320, reference: pd.DataFrame | None = None) -> alt.LayerChart:
    """Each algorithm's smoothed return against ``x_field``; with ``reference`` (x, lo, mid,
    hi, algorithm), faint typical-run bands in each algorithm's colour, clipped to the
    range the live runs have covered so far (so they do not squash the live curves)."""
    y_scale = alt.Scale(domain=[0, 520], nice=False)
    color = alt.Color("algorithm:N", title=None,
                      scale=alt.Scale(domain=order, range=PALETTE[:len(order)]),
                      legend=alt.Legend(orient="top", direction="horizontal", columns=2,
                                        labelLimit=240, symbolType="stroke",
                                        symbolStrokeWidth=3, symbolOpacity=1))
    x_scale = alt.Undefined
    if reference is not None and len(reference):
        x_end = float(data[x_field].max()) if len(data) else 0.0
        x_scale = alt.Scale(domain=[0, max(x_end, 1.0)], nice=False)
    lines = alt.Chart(data).mark_line(strokeWidth=2).encode(
        x=alt.X(f"{x_field}:Q", title=x_title, axis=alt.Axis(format="~s"), scale=x_scale),
        y=alt.Y("value:Q", scale=y_scale, title="return (moving average)"), color=color,
        tooltip=["algorithm:N", "episode:Q", alt.Tooltip(f"{x_field}:Q", format=",.1f"),
                 alt.Tooltip("value:Q", format=".1f", title="return")])
    finish = alt.Chart(pd.DataFrame({"y": [CARTPOLE_V1_SOLVED], "t": ["finish line: 475"]}))
    rule = finish.mark_rule(color="#15803d", strokeDash=[6, 4], strokeWidth=1.5).encode(
        y=alt.Y("y:Q", scale=y_scale))
    text = finish.mark_text(align="left", baseline="bottom", dx=4, dy=-2, color="#15803d",
                            fontWeight="bold").encode(y=alt.Y("y:Q", scale=y_scale),
                                                      x=alt.value(0), text="t:N")
    layers = [lines, rule, text]
    if reference is not None and len(reference):
        layers = reference_layers(reference, alt.X("x:Q", title=x_title, scale=x_scale),
                                  y_scale, "return (moving average)", color, opacity=0.08,
                                  extra_tips=(alt.Tooltip("algorithm:N"),)) + layers  # 4 overlap
    return alt.layer(*layers).properties(height=height)


def fmt(v, spec: str = ",.0f", none: str = "–") -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return none
    return format(v, spec)
