"""The experiment pages' controls: settings widgets, Start / Stop / Reset (the shared
:func:`ui.state.task_controls`), the status line, the CSV download, and the fragment that
redraws the results live while an experiment runs."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from pgcore import ConfigError
from pgcore.execution import ACTIVE_STATES
from pgcore.execution.experiments import ExperimentError, ExperimentSnapshot, Job, check_jobs

from . import links, style, takehome
from .charts.specs import SharedSpecs, wire
from .experiment_session import start_experiment
from .state import (
    draw_clock,
    paced,
    repace,
    session_tasks,
    shows_live,
    slot_pool,
    smoothed_draw,
    task_controls,
)

REFRESH_SECONDS = 1.0
MAX_REFRESH_SECONDS = 5.0
MAX_SEEDS, MIN_SEEDS = 10, 2
MIN_EPISODES, MAX_EPISODES = 20, 3000
STATE_BADGES = {"idle": ("not started", "gray"), "waiting": ("waiting for a slot", "orange"),
                "starting": ("starting", "orange"), "running": ("running", "blue"),
                "finished": ("finished", "green"), "stopped": ("stopped", "gray"),
                "error": ("error", "red")}
"""State -> (badge label, colour) on the experiment pages."""


def seeds_ui(key: str, default: int = 3, link: links.PageLink | None = None) -> list[int]:
    """A bounded seed-count slider; the seeds are 0 .. n-1 (the same on every page)."""
    p = links.Param("seeds", f"{key}.seeds", default, links.whole(MIN_SEEDS, MAX_SEEDS), "Seeds")
    n = links.widget(link, p, lambda c: st.slider(
        "Seeds", MIN_SEEDS, MAX_SEEDS, key=p.key, disabled=c.locked,
        help=c.help(f"How many independent runs per setting ({MIN_SEEDS} to {MAX_SEEDS}). "
                    "Seeds 0, 1, 2, ... are used, the same for every setting.")))
    return list(range(int(n)))


def episodes_ui(key: str, default: int = 1000, label: str = "Episodes per run",
                link: links.PageLink | None = None) -> int:
    p = links.Param("episodes", f"{key}.episodes", default,
                    links.whole(MIN_EPISODES, MAX_EPISODES), label)
    return int(links.widget(link, p, lambda c: st.number_input(
        label, MIN_EPISODES, MAX_EPISODES, step=100, key=p.key, disabled=c.locked,
        help=c.help(f"The episode budget of every run ({MIN_EPISODES:,} to "
                    f"{MAX_EPISODES:,})."))))


SMOOTHING = (1, 5, 10, 20, 50, 100)


def smoothing_ui(key: str, default: int = 20, link: links.PageLink | None = None) -> int:
    p = links.Param("smooth", f"{key}.smooth", default, links.choice(SMOOTHING),
                    "Smoothing (episodes)")
    return int(links.widget(link, p, lambda c: st.select_slider(
        "Smoothing (episodes)", SMOOTHING, key=p.key, disabled=c.locked,
        help=c.help("Each seed's curve is the moving average of its last this-many "
                    "episodes."))))


def reference_ui(key: str, link: links.PageLink | None = None) -> bool:
    """The "typical-run bands" toggle of an experiment page (on by default)."""
    p = links.Param("reference", f"{key}.reference", True, links.flag(), "Typical-run bands")
    return bool(links.widget(link, p, lambda c: st.toggle(
        "Typical-run bands", key=p.key, disabled=c.locked,
        help=c.help("Draw, faintly behind your runs, how runs of the same default settings "
                    "usually learn: reference runs on other seeds (100 onwards), shipped "
                    "with the app."))))


def controls_ui(key: str, build: Callable[[], list[Job]], what: str = "runs",
                frame_every: float | None = None, trace_every: int | None = None,
                trace_flips: bool = True) -> None:
    """Start / Stop / Reset for page ``key``. ``build()`` makes the page's jobs from its
    settings (``grid(configs, seeds)`` or a list of :class:`Job` s); a setting it rejects
    (:class:`ConfigError`, :class:`ExperimentError`) is shown as one line and Start stays off.
    ``frame_every`` (seconds) asks the runs for thumbnails of their environment;
    ``trace_every`` (env steps) for a trace of Q, the target distance and greedy flips."""
    error, jobs = None, None
    try:
        jobs = check_jobs(build())
    except (ConfigError, ExperimentError) as exc:
        error = str(exc)

    def start() -> None:
        start_experiment(key, jobs, frame_every, trace_every, trace_flips)

    task_controls(session_tasks().page(key),
                  None if not jobs else start, keys=key,
                  error=error, start_help=f"Train all the {what} in the background.",
                  stop_help="Stop the running jobs; what they learned so far stays.",
                  reset_help="Stop and forget these results.")
    takehome.take_home_ui(jobs, key=f"{key}.takehome", trace_every=trace_every,
                          trace_flips=trace_flips)


def status_ui(snap: ExperimentSnapshot) -> None:
    """State badge, progress bar and one line per failed run."""
    runs_done = sum(r.ended for r in snap.runs)
    pool = slot_pool()
    queued = all(r.state == "waiting" for r in snap.runs) and snap.active
    waiting = queued and pool.active >= pool.max_concurrent
    label, color = STATE_BADGES["waiting" if waiting else "starting" if queued else snap.state]
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


_SPECS = SharedSpecs(64)
"""The experiment pages' chart specs, per snapshot content and chart, for every session."""
_FIGURES = SharedSpecs(64, digests=_SPECS)
"""Their tables' figures likewise (:func:`per_snapshot`), each snapshot's runs digested once
for both."""


def per_snapshot(snap: ExperimentSnapshot, key: tuple, compute: Callable[[], object]):
    """``compute()`` (figures read from ``snap``: a table's rows, each setting's spread), once
    per snapshot content and ``key`` for every session, as :func:`chart_ui` builds charts;
    the value is shared, so it is read, never changed. ``key``: as :func:`chart_ui`'s."""
    return _FIGURES.get(snap.runs, key, compute)


def chart_ui(where, snap: ExperimentSnapshot, key: tuple, build: Callable[[], dict]) -> None:
    """Draw the chart ``build()`` specifies from ``snap`` (a filled template such as
    :func:`ui.charts.experiments.seeds_band_spec`), with its words (:func:`ui.style.chart_words`).
    It is built, made ready for the screen (:func:`ui.style.for_screen`) and serialised once
    per snapshot content and ``key`` for every session (:class:`ui.charts.specs.SharedSpecs`):
    a refresh with nothing new, or a second tab watching the same shared jobs, re-sends the
    same spec. ``key`` names everything ``build`` reads besides the snapshot's runs: the page,
    the chart and the settings it is drawn with."""
    spec = _SPECS.get(snap.runs, (*key, style.screen_key()),
                      lambda: wire(style.for_screen(build())))
    where.vega_lite_chart(spec, width="stretch")
    style.chart_words(where, spec)


def download_ui(key: str, snap: ExperimentSnapshot, stem: str) -> None:
    page = session_tasks().page(key)

    def data() -> bytes:
        item = page.task
        return item.snapshot().to_csv() if item is not None else b""

    st.download_button("Results (CSV)", data=data, file_name=f"{stem}.csv", mime="text/csv",
                       icon=":material/table:", key=f"{key}.csv", on_click="ignore",
                       disabled=snap.episode_count == 0,
                       help="One row per episode: label, seed, episode, return, length, "
                            "env_steps, wall_seconds, entropy, q_mean, target_distance "
                            "(empty where an algorithm has no such number).")


def live_ui(key: str, draw: Callable[[ExperimentSnapshot], None], empty: str) -> None:
    """Draw page ``key``'s results: live (a fragment refreshing every second, more slowly on a
    busy server or when its charts are slow to draw: :func:`ui.state.paced`) while active, once
    and statically after. When a run ends, the whole page reruns once."""
    page = session_tasks().page(key)
    item = page.task
    if item is None:
        st.info(empty, icon=":material/arrow_upward:")
        return
    if shows_live(page, item.state):  # (also one that ended since its buttons: it reruns)
        every = paced(REFRESH_SECONDS, MAX_REFRESH_SECONDS, page.notes.get("draw_seconds"))
        page.notes["every"] = every
        st.fragment(run_every=every)(_live_fragment)(key, draw)
    else:
        draw(item.snapshot())


def _live_fragment(key: str, draw: Callable[[ExperimentSnapshot], None]) -> None:
    page = session_tasks().page(key)
    item = page.task
    if item is None:
        return
    state = item.state  # read before the snapshot: the snapshot is then at least as new
    began = draw_clock()
    draw(item.snapshot())
    took = page.notes["draw_seconds"] = smoothed_draw(page.notes.get("draw_seconds"),
                                                      draw_clock() - began)
    if state not in ACTIVE_STATES and page.last_state in ACTIVE_STATES:
        page.last_state = state
        st.rerun()
    if repace(page.notes.get("every"), paced(REFRESH_SECONDS, MAX_REFRESH_SECONDS, took)):
        st.rerun()  # the page registers it again, with the new interval
