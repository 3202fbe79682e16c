"""The Train page's moving parts: run controls, the live panel, "watch the agent", downloads.

The live panel reads ONE snapshot per refresh and draws everything from it; it never touches
the training thread. While a run is active the panel is an ``st.fragment`` that reruns
itself every :data:`REFRESH_SECONDS`; once the run has ended the page draws the same panel
once, statically, so a finished run costs the server nothing.
"""

from __future__ import annotations

import html
import io
import time
from functools import lru_cache

import numpy as np
import pandas as pd
import streamlit as st

from pgcore import algos
from pgcore.execution import ACTIVE_STATES, SlotPool
from pgcore.execution.runner import EPISODE_FIELDS, UPDATE_POSITION_FIELDS, RunSnapshot
from pgcore.rl.envs import env_spec
from pgcore.training.checkpoint import checkpoint_bytes
from pgcore.training.metrics import episodes_to_threshold, write_csv

from . import reference as typical
from . import style
from .charts import live
from .charts.numbers import fmt
from .charts.specs import wire
from .drawn import Drawn
from .state import (
    RunHolder,
    WatchResult,
    draw_clock,
    end_note,
    repace,
    shows_live,
    smoothed_draw,
)
from .widgets import changed_settings, describe_run, preset_record

REFRESH_SECONDS = 0.5
FIRST_FRAME_WAIT = 0.5
"""Seconds a Start click's rerun waits, at most, for the new run's first CartPole frame, so
that the panel it draws shows the cart at once (a warm run host sends one about 0.1 s after
the start) instead of "appears once training has started" until the panel's next refresh."""
SHOW_CHANGES = 4  # the "applies at the next Start" note lists at most this many changes
ACTIONS = {"CartPole": ("left", "right")}
BADGES = {  # state -> (label, color, icon)
    "idle": ("ready", "gray", ":material/hourglass_empty:"),
    "waiting": ("waiting for a free slot", "orange", ":material/hourglass_top:"),
    "running": ("training", "blue", ":material/directions_run:"),
    "paused": ("paused", "violet", ":material/pause:"),
    "finished": ("finished", "green", ":material/check_circle:"),
    "stopped": ("stopped", "gray", ":material/stop_circle:"),
    "diverged": ("diverged", "red", ":material/warning:"),
    "error": ("error", "red", ":material/error:"),
}



# ----- small helpers --------------------------------------------------------------------------


def action_names(env_id: str) -> tuple[str, ...]:
    """Names for an environment's actions where we know them (the head numbers the rest)."""
    return ACTIONS.get(env_id.split("-")[0], ())


@lru_cache(maxsize=16)
def head_of(env_id: str):
    """The policy head of ``env_id``'s action space (looked up once per environment)."""
    return env_spec(env_id).head


def recent_rate(snap: RunSnapshot, last: int = 50) -> float | None:
    """Episodes per second over the last ``last`` episodes (training time, pauses excluded)."""
    t = snap.episodes["wall_seconds"]
    n = len(t)
    if n >= 2:
        k = min(last, n - 1)
        dt = t[-1] - t[-1 - k]
        if dt > 0:
            return k / dt
    if snap.wall_seconds > 0 and snap.episode_count:
        return snap.episode_count / snap.wall_seconds
    return None


def first_reached(holder: RunHolder, snap: RunSnapshot, threshold: float) -> int | None:
    """Episode at which the full 100-episode average first reached ``threshold`` (cached:
    once reached it never changes)."""
    if threshold in holder.reached:
        return holder.reached[threshold]
    hit = episodes_to_threshold(snap.episodes["episode_return"], threshold)
    if hit is not None:
        hit += snap.episodes_dropped
        holder.reached[threshold] = hit
    return hit


_FRAMES = Drawn(256)  # a JPEG, ~30 KB
_SPECS = Drawn(128)
"""A frame's JPEG and a snapshot's chart specs, made once for every tab that shows them
(identical runs share one computation, so one snapshot per moment: :mod:`ui.drawn`)."""


def frame_jpeg(holder: RunHolder, frame, crop: bool = True) -> bytes | None:
    """The frame as JPEG (2 ms; PNG takes ~10 ms), encoded once per frame for every tab
    that shows it."""
    if frame is None or frame.rgb is None:
        return None

    def encode() -> bytes:
        from PIL import Image

        rgb = np.asarray(frame.rgb, np.uint8)
        if rgb.shape[:2] == (400, 600) and crop:  # CartPole: the top third is empty sky
            rgb = rgb[120:345]
        buf = io.BytesIO()
        Image.fromarray(rgb).save(buf, format="JPEG", quality=90)
        return buf.getvalue()

    return _FRAMES.make((id(frame), crop), frame, encode)


# ----- controls -------------------------------------------------------------------------------


def wait_for_frame(snapshot, timeout: float, poll: float = 0.02,
                   clock=time.monotonic, sleep=time.sleep) -> RunSnapshot | None:
    """Read ``snapshot()`` (a run's) until it has a frame, or the run is no longer active
    (ended, or not started), or ``timeout`` seconds have passed, every ``poll`` seconds; the
    last snapshot read.

    >>> wait_for_frame(lambda: None, 10.0) is None  # no run: no wait
    True
    """
    deadline = clock() + timeout
    while True:
        snap = snapshot()
        if snap is None or snap.frame is not None or snap.state not in ACTIVE_STATES:
            return snap
        left = deadline - clock()
        if left <= 0:
            return snap
        sleep(min(poll, left))


def next_start_note(snap: RunSnapshot | None, config) -> str | None:
    """What the settings change for the next run, when a run is shown (markdown; None when
    they are the run's own): "**Applies at the next Start** ...: baseline: ... → ...".

    >>> from pgcore import preset
    >>> next_start_note(None, preset("a2c")) is None
    True
    """
    if snap is None or config is None:
        return None
    changes = changed_settings(snap.config, config)
    if not changes:
        return None
    shown = "; ".join(changes[:SHOW_CHANGES])
    if len(changes) > SHOW_CHANGES:
        shown += f"; and {len(changes) - SHOW_CHANGES} more"
    keeps = "keeps" if snap.state in ACTIVE_STATES else "kept"
    return (f"**Applies at the next Start** (the run below {keeps} its own settings): "
            f"{shown}.")


def next_start_ui(holder: RunHolder, config, preset: str) -> None:
    """The settings' header: what the next Start runs (it follows the widgets), and what has
    changed since the run shown below started."""
    if config is None:
        return  # the controls say why these settings cannot run
    st.markdown(f"**Next Start:** {describe_run(config, preset)}")
    note = next_start_note(holder.snapshot(), config)
    if note:
        st.info(note, icon=":material/schedule:")


def controls_ui(holder: RunHolder, config, error: str | None, pool: SlotPool) -> None:
    """What the next Start runs, then Start / Pause / Resume / Stop / Reset for the Train
    page's run (the shared widget, :func:`ui.state.task_controls`), each enabled only when
    it makes sense."""
    from .state import task_controls

    preset = st.session_state.get("cfg.preset", "")
    next_start_ui(holder, config, preset)

    def start() -> None:
        holder.start(config, pool, preset_record(config, preset),
                     summary=describe_run(config, preset))
        wait_for_frame(holder.snapshot, FIRST_FRAME_WAIT)  # the rerun then draws it

    task_controls(holder, None if config is None else start, keys="ctl", error=error,
                  pausable=True,
                  start_help="Start a new run with these settings." if config is not None
                  else "Fix the settings first.",
                  stop_help="End the run; its charts, GIF and downloads stay.",
                  reset_help="Stop and forget this run.")
    from .recording import recording_ui

    recording_ui(holder)  # "recorded for class X as Y", or why it is not


# ----- the live panel -------------------------------------------------------------------------


def metrics_html(snap: RunSnapshot, holder: RunHolder) -> str:
    """The headline numbers as ONE element (five st.metric in five columns cost 11 deltas
    per refresh; every delta wakes the server's event loop)."""
    rate = recent_rate(snap)
    returns = snap.episodes["episode_return"]
    last100 = float(returns[-100:].mean()) if len(returns) else None
    hit195 = first_reached(holder, snap, 195.0)
    hit475 = first_reached(holder, snap, 475.0)
    cells = [
        style.metric("Episodes", fmt(snap.episode_count)),
        style.metric("Episodes / s", fmt(rate, ".1f"),
                     "Over the last 50 episodes, pauses excluded."),
        style.metric("Last 100 avg", fmt(last100, ".1f"),
                     "Mean return of the last 100 episodes (fewer at the start)."),
        style.metric("195 reached", fmt(hit195),
                     "First episode at which the full 100-episode average reached 195 "
                     "(CartPole-v0's criterion, the one the lesson quotes)."),
        style.metric("475 reached", fmt(hit475),
                     "First episode at which the full 100-episode average reached 475 "
                     "(CartPole-v1's own criterion)."),
    ]
    return f'<div class="pg-metrics">{"".join(cells)}</div>'


def policy_html(head, names, dist, value: float) -> str:
    """The frame's overlay: what the policy head says about this state (a bar per action for
    a categorical policy), then the critic's V(s) if there is one."""
    rows = []
    for label, fraction, text in head.overlay(np.asarray(dist), names):
        rows.append(f'<div class="pg-prob"><span class="pg-prob-label">{html.escape(label)}'
                    f'</span><span class="pg-bar"><span style="width:{100 * fraction:.1f}%">'
                    f'</span></span><span class="pg-prob-value">{html.escape(text)}</span></div>')
    if np.isfinite(value):
        rows.append(f'<div class="pg-v"><b>V(s) = {value:,.1f}</b>: the critic\'s estimate of '
                    "the discounted return from this state.</div>")
    return "".join(rows)


def status_line(snap: RunSnapshot, holder: RunHolder) -> str:
    """The panel's header: the run's state, and which run the charts below show (as the
    settings described it when it started)."""
    label, color, icon = BADGES.get(snap.state, (snap.state, "gray", ""))
    c = snap.config
    text = holder.summary or f"{algos.get(c.algo).title}, seed {c.seed}"
    return (f":{color}-badge[{icon} {label}] &nbsp; **Charts of the run:** :gray[{text}]"
            + shared_note(snap))


def shared_note(snap: RunSnapshot) -> str:
    """How many tabs watch this run's one computation, when more than this one
    (:mod:`pgcore.execution.sharing`), and what Pause and Stop do then.

    >>> from dataclasses import replace
    >>> from pgcore import default_config
    >>> from pgcore.execution.runner import RunLog, RunSnapshot
    >>> log = RunLog()
    >>> snap = RunSnapshot("running", "", default_config("a2c"), 0, log.episodes.copy(),
    ...                    log.updates.copy())
    >>> shared_note(snap)
    ''
    >>> "shared: 3 tabs with identical settings" in shared_note(replace(snap, viewers=3))
    True
    """
    if snap.viewers <= 1 or snap.state not in ACTIVE_STATES:
        return ""
    return (f" &nbsp; :gray[· shared: {snap.viewers} tabs with identical settings watch one run "
            "(Pause and Stop act on this tab only)]")


def chart_specs(holder: RunHolder, snap: RunSnapshot, reference: str | None) -> dict:
    """The panel's chart specs (returns, value, diagnostics), built once per snapshot for
    every tab that shows it (identical runs share their snapshots): a refresh with nothing
    new re-sends the same specs without recomputing them."""

    def build() -> dict:
        band = (typical.episode_band_arrow(reference, live.WINDOW)
                if reference is not None else None)
        value = live.value_spec(snap)
        return {"returns": wire(style.for_screen(live.returns_spec(snap, reference=band))),
                "value": None if value is None else wire(style.for_screen(value)),
                "diagnostics": [wire(style.for_screen(s))
                                for s in live.diagnostics_specs(snap)]}

    key = (id(snap.episodes), snap.version, snap.state, reference, style.screen_key())
    return _SPECS.make(key, snap, build)  # (snap holds snap.episodes: the key's id is valid)


def draw_panel(holder: RunHolder, snap: RunSnapshot, pool: SlotPool,
               reference: str | None = None, notes: bool = True) -> None:
    """Everything the run shows, from one snapshot, in as few elements as is reasonable.
    ``reference``: the label of the typical-run band to draw behind the returns, if any;
    ``notes``: whether to draw the algorithm's explainer (off once the settings have moved to
    another algorithm)."""
    c = snap.config
    st.markdown(status_line(snap, holder))
    st.html(metrics_html(snap, holder))
    budget = f"{snap.episode_count:,} of {c.max_episodes:,} episodes" if c.max_episodes \
        else f"{snap.env_steps:,} steps"
    st.progress(snap.progress(), text=f"{budget} · {snap.env_steps:,} env steps · "
                                      f"{snap.wall_seconds:,.1f} s of training")

    end_note(snap, pool)

    returns = st.container()  # filled after the frame: see below
    left, right = st.columns([1.1, 1.4], gap="medium")
    with left:  # the frame goes to the browser ahead of the charts: it waits neither for
        _frame_card(holder, snap)  # their specs here nor for their drawing in the browser
    specs = chart_specs(holder, snap, reference)
    with returns:
        st.vega_lite_chart(specs["returns"], width="stretch")
        style.chart_words(st, specs["returns"])
        greedy = live.evaluation_caption(snap)
        if greedy is not None:
            st.caption(greedy)
    with right:
        spec = specs["value"]
        if spec is not None:
            st.vega_lite_chart(spec, width="stretch")
            style.chart_words(st, spec)
        else:
            st.caption("This run has no critic, so there is no V(s) to compare with the "
                       f"returns. {c.algorithm.no_critic_hint}".strip())
    st.caption("Per-update diagnostics against episodes, averaged over consecutive updates "
               "when there are many; log-scaled charts skip values at or below 0.")
    for col, spec in zip(st.columns(2, gap="medium"), specs["diagnostics"], strict=False):
        col.vega_lite_chart(spec, width="stretch")
        style.chart_words(col, spec)
    note = c.algorithm.notes(c) if notes else None
    if note:
        st.warning(note, icon=":material/school:")


def _frame_card(holder: RunHolder, snap: RunSnapshot) -> None:
    frame = snap.frame
    data = frame_jpeg(holder, frame, crop=snap.config.env_id.startswith("CartPole"))
    if frame is None or data is None:
        st.caption("The CartPole view appears once training has started.")
        return
    st.image(data, caption=frame_caption(frame.episode, frame.step, snap.config.max_episodes),
             width="stretch")
    head = frame.head if frame.head is not None else head_of(snap.config.env_id)
    st.html(policy_html(head, action_names(snap.config.env_id), frame.probs, frame.value))
    for stat, sentence in snap.config.algorithm.frame_stats:
        values = snap.updates.get(stat)
        if values is not None and len(values) and np.isfinite(values[-1]):
            st.caption(sentence.format(float(values[-1])))


def frame_caption(episode: int, step: int, budget: int | None) -> str:
    """The frame's caption; a frame drawn after the last episode of the budget (the next
    one had begun) says the run finished instead of counting past the budget.

    >>> frame_caption(12, 30, 1000)
    'the policy playing: episode 12, step 30'
    >>> frame_caption(1001, 4, 1000)
    'the policy playing: finished after 1,000 episodes'
    """
    if budget and episode > budget:
        return f"the policy playing: finished after {budget:,} episodes"
    return f"the policy playing: episode {episode:,}, step {step}"


MAX_REFRESH_SECONDS = 3.0


def refresh_seconds(took: float | None = None) -> float:
    """How often a live panel redraws: every :data:`REFRESH_SECONDS` while the server has at
    most one active task per core, slower in proportion beyond that (up to
    :data:`MAX_REFRESH_SECONDS`), so a class's 30 open Train pages do not spend the server's
    core on redrawing, and never more often than a few times what the last redraw ``took``
    (:func:`ui.state.paced`; 30 runs on 2 cores: every 3 s)."""
    from .state import paced

    return paced(REFRESH_SECONDS, MAX_REFRESH_SECONDS, took)


def _live_body(holder: RunHolder, pool: SlotPool, reference: str | None = None,
               notes: bool = True) -> None:
    """The panel, redrawn from a fresh snapshot while the run is active (every
    :func:`refresh_seconds`). When the run ends, or the server's load has moved the refresh
    interval a long way, the whole page reruns once (the buttons change; the fragment is
    registered again with the new interval)."""
    snap = holder.snapshot()
    if snap is None:
        return
    began = draw_clock()
    draw_panel(holder, snap, pool, reference, notes)
    holder.draw_seconds = smoothed_draw(getattr(holder, "draw_seconds", None),
                                        draw_clock() - began)
    if snap.state != holder.last_state and holder.last_state in ACTIVE_STATES:
        holder.last_state = snap.state  # ended, or paused by its host: the buttons change
        st.rerun()
    if repace(getattr(holder, "refresh_every", None), refresh_seconds(holder.draw_seconds)):
        st.rerun()


def live_panel(holder: RunHolder, pool: SlotPool, reference: str | None = None,
               notes: bool = True) -> None:
    """:func:`_live_body` as a fragment that reruns every :func:`refresh_seconds`."""
    holder.refresh_every = refresh_seconds(getattr(holder, "draw_seconds", None))
    st.fragment(run_every=holder.refresh_every)(_live_body)(holder, pool, reference, notes)


def panel_ui(holder: RunHolder, pool: SlotPool, settings_algo: str | None = None) -> None:
    """The live fragment while a run is active; a static panel once it has ended. The run's
    explainer (the lesson's collapsing actor-critic) goes once the settings have switched to
    another algorithm (``settings_algo``): the charts stay, headed with the run they show."""
    snap = holder.snapshot()
    if snap is None:
        st.info("Choose an algorithm and a preset, then press **Start**. The charts, the "
                "CartPole view and the diagnostics appear here and update about twice a "
                "second while the agent trains.", icon=":material/arrow_back:")
        return
    reference = reference_ui(snap.config)
    notes = settings_algo is None or settings_algo == snap.config.algo
    if shows_live(holder, snap.state):  # (also one that ended since its buttons: it reruns)
        live_panel(holder, pool, reference, notes)
    else:
        draw_panel(holder, snap, pool, reference, notes)


def reference_ui(config) -> str | None:
    """A toggle for the typical-run band behind the returns chart, with a caption saying
    whose runs it shows; returns the band's label when it is on (None without a band).
    Outside the live fragment, so it is not re-sent on every refresh."""
    group, exact = typical.group_for(config, exact=False)
    if group is None:
        return None
    left, right = st.columns([1.25, 3], vertical_alignment="center")
    with left:
        on = st.toggle("Typical runs", value=True, key="train.reference",
                       help="Draw, behind your run, how runs of the same algorithm usually "
                            "learn: reference runs on other seeds, shipped with the app.")
    if on:
        whose = "these settings" if exact else \
            "this algorithm's default settings (yours differ)"
        right.caption(typical.band_caption([group], live.WINDOW, whose))
    return group.label if on else None


# ----- watch the agent and downloads ----------------------------------------------------------


def episodes_csv(snap: RunSnapshot) -> bytes:
    """The run's logged episodes (:data:`EPISODE_FIELDS`, every digit) as CSV bytes."""
    buf = io.StringIO()
    write_csv(buf, [((), snap.episodes)], EPISODE_FIELDS, precise=True)
    return buf.getvalue().encode()


def updates_csv(snap: RunSnapshot) -> bytes:
    u = snap.updates
    stats = [k for k in u if k not in UPDATE_POSITION_FIELDS and k != "count"]
    cols = [*UPDATE_POSITION_FIELDS, "count", *stats]
    df = pd.DataFrame({f: u[f] for f in cols}).rename(columns={"count": "updates_averaged"})
    return df.to_csv(index=False).encode()


def play_gif(holder: RunHolder, greedy: bool) -> WatchResult | None:
    """Play one full episode of the latest published policy and encode it as a GIF."""
    from pgcore.training.render import frames_to_gif, play_episode

    run = holder.run
    agent = None if run is None else run.policy_agent()
    if agent is None:
        return None
    seed = int(time.time_ns() % 2**31)
    ret, length, frames = play_episode(agent, run.config.env_id, seed=seed, greedy=greedy,
                                       render=True, max_frames=500)
    gif = frames_to_gif(frames[::2], fps=25, scale=0.5)  # every 2nd step: real time (50 Hz)
    holder.watch = WatchResult(gif, ret, length, run.snapshot().weights_update, greedy)
    return holder.watch


def watch_ui(holder: RunHolder) -> None:
    """'Watch the agent' and the downloads, for the current (or last) run."""
    run = holder.run
    if run is None:
        return
    st.subheader("Watch the agent", anchor=False)
    c1, c2 = st.columns([1, 2], vertical_alignment="center")
    algorithm = run.config.algorithm
    greedy = c2.toggle(algorithm.greedy_label, key="watch.greedy",
                       help=algorithm.explore_help)
    if c1.button("Play one episode", icon=":material/movie:", key="watch.play"):
        with st.spinner("Playing a full episode and drawing it…"):
            if play_gif(holder, greedy) is None:
                st.info("The policy has no weights to show yet: wait for the first update.")
    w = holder.watch
    if w is not None:
        how = "greedy" if w.greedy else "sampled"
        note = f"weights after update {w.weights_update:,}" if w.weights_update else ""
        st.image(w.gif, caption=f"one episode ({how} actions): return {w.episode_return:.0f}, "
                                f"{w.length} steps · {note}", width=420)
    st.subheader("Downloads", anchor=False)
    d = [st.container(horizontal=True)] * 4  # each as wide as its label, wrapping when full
    snap = run.snapshot()
    stem = f"{snap.config.algo}-seed{snap.config.seed}"
    d[0].download_button("Episodes (CSV)", data=lambda: episodes_csv(run.snapshot()),
                         file_name=f"{stem}-episodes.csv", mime="text/csv",
                         icon=":material/table:", key="dl.episodes", on_click="ignore")
    d[1].download_button("Updates (CSV)", data=lambda: updates_csv(run.snapshot()),
                         file_name=f"{stem}-updates.csv", mime="text/csv",
                         icon=":material/table:", key="dl.updates", on_click="ignore")
    d[2].download_button("Episode (GIF)", data=w.gif if w is not None else b"",
                         file_name=f"{stem}-episode.gif", mime="image/gif",
                         icon=":material/gif:", key="dl.gif", on_click="ignore",
                         disabled=w is None, help=None if w is not None
                         else "Play an episode first.")

    def checkpoint() -> bytes:
        agent = run.policy_agent()
        deadline = time.monotonic() + 10.0
        while agent is None and run.alive and time.monotonic() < deadline:
            time.sleep(0.1)  # the first weights arrive as soon as the run has a slot
            agent = run.policy_agent()
        if agent is None:
            raise RuntimeError("this run has no weights yet")
        return checkpoint_bytes(agent, optimizer=False,
                                extra={"episodes": run.snapshot().episode_count})

    d[3].download_button("Checkpoint (.pt)", data=checkpoint,
                         file_name=f"{stem}.pt", mime="application/octet-stream",
                         icon=":material/save:", key="dl.ckpt", on_click="ignore",
                         help="The policy's weights and config; load with "
                              "pgcore.training.checkpoint.load_checkpoint.")
