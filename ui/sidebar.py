"""The sidebar every page shares: what the app is, and this session's run at a glance."""

from __future__ import annotations

import html

import streamlit as st

from pgcore.execution import ACTIVE_STATES, SlotPool

from . import links
from .charts.numbers import counted
from .state import RunHolder

BADGE_COLORS = {"waiting": "orange", "starting": "orange", "running": "blue", "paused": "violet",
                "finished": "green", "stopped": "gray", "diverged": "red", "error": "red"}


def page_links(pages: dict[str, list]) -> None:
    """The menu: every page (``st.Page`` objects by section, as ``app.py`` gives them to
    ``st.navigation``) as a link, under its section's name. Plain links, not Streamlit's own
    sidebar menu, whose section headers sit inside its list (invalid list markup that screen
    readers stumble on, and axe-core's ``list``/``listitem`` rules reject)."""
    with st.container(key="pg-nav", gap="xxsmall"):
        for section, section_pages in pages.items():
            if section:
                st.markdown(f'<p class="pg-nav-section">{html.escape(section)}</p>',
                            unsafe_allow_html=True)
            for p in section_pages:
                st.page_link(p, label=p.title, icon=p.icon)


def about() -> None:
    st.markdown("**Policy Gradient Lab** teaches policy-gradient reinforcement learning "
                "(REINFORCE, baselines, actor-critic, A2C and PPO), with DQN for contrast, by "
                "letting you train agents on CartPole and a pendulum and watch what happens "
                "inside them.")


def _status_body(holder: RunHolder, pool: SlotPool) -> None:
    snap = holder.snapshot()
    st.markdown("**Your run**")
    if snap is None:
        st.caption("No run yet: start one on the Train page.")
    else:
        c = snap.config
        st.badge(snap.state, color=BADGE_COLORS.get(snap.state, "gray"))
        avg = snap.episodes["episode_return"][-100:]
        line = f"{c.algo}, seed {c.seed}: {snap.episode_count:,} episodes"
        if len(avg):
            line += f", last-100 average {avg.mean():.0f}"
        st.caption(line)
        if snap.state in ACTIVE_STATES:
            st.progress(snap.progress())
    st.caption(server_load_text(pool))


def server_load_text(pool: SlotPool) -> str:
    """Who shares the server's cores: the runs in its host processes (all train at once,
    each slower the more there are), or the thread runs' slots (the rest wait)."""
    from .state import memory_plan, started_hosts

    plan = memory_plan()
    if not plan.in_threads:  # (hosts not started yet: they start after the first page)
        hosts = started_hosts()
        n, cores = (0, plan.hosts) if hosts is None else (hosts.runs, hosts.hosts)
        share = f"; each gets about {min(1.0, cores / n):.0%} of a core" if n > cores else ""
        return (f"Training on this server: {counted(n, 'run')} sharing "
                f"{counted(cores, 'core')}{share}.")
    return (f"Training slots on this server: {pool.active} of {pool.max_concurrent} busy"
            + (f", {pool.waiting} waiting" if pool.waiting else ""))


STATUS_SECONDS = 2.0
MAX_STATUS_SECONDS = 6.0


def status_seconds() -> float:
    """How often the sidebar's run status refreshes (:func:`ui.state.paced`): every
    :data:`STATUS_SECONDS`, up to :data:`MAX_STATUS_SECONDS` on a busy server (30 tabs on 2
    cores: every 6 s), for a line the Train page's own panel already shows live."""
    from .state import paced

    return paced(STATUS_SECONDS, MAX_STATUS_SECONDS)


def _live_status(holder: RunHolder, pool: SlotPool) -> None:
    _status_body(holder, pool)


def run_status(holder: RunHolder, pool: SlotPool) -> None:
    """The session's run status; refreshes itself (every :func:`status_seconds`) while the
    run is active, which also tells the run that someone is still watching."""
    if holder.active:
        st.fragment(run_every=status_seconds())(_live_status)(holder, pool)
    else:
        _status_body(holder, pool)


def presenter_button() -> None:
    """The sidebar's way into the presenter view (``?present=1`` in a link does the same)."""
    st.button("Presenter view", icon=":material/present_to_all:", type="tertiary",
              key="links.present.on", on_click=links.set_presenter, args=(True,),
              help="For a projector: large numbers and charts, no sidebar. Any page's link "
                   "with ?present=1 opens it too; it stays on as you change pages.")


def presenter_bar() -> None:
    """The presenter view's one control, above the page: back to the normal view."""
    st.button("Leave presenter view", icon=":material/close_fullscreen:", type="tertiary",
              key="links.present.off", on_click=links.set_presenter, args=(False,),
              help="Back to the normal view with the sidebar.")
