"""The sidebar every page shares: what the app is, and this session's run at a glance."""

from __future__ import annotations

import streamlit as st

from pgcore.execution import ACTIVE_STATES, SlotPool

from .state import RunHolder

BADGE_COLORS = {"waiting": "orange", "starting": "orange", "running": "blue", "paused": "violet",
                "finished": "green", "stopped": "gray", "diverged": "red", "error": "red"}


def about() -> None:
    st.markdown("**Policy Gradient Lab** teaches policy-gradient reinforcement learning "
                "(REINFORCE, actor-critic, A2C), and DQN for contrast, by letting you train "
                "agents on CartPole and watch what happens inside them.")


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
    st.caption(f"Training slots on this server: {pool.active} of {pool.max_concurrent} busy"
               + (f", {pool.waiting} waiting" if pool.waiting else ""))


@st.fragment(run_every=2.0)
def _live_status(holder: RunHolder, pool: SlotPool) -> None:
    _status_body(holder, pool)


def run_status(holder: RunHolder, pool: SlotPool) -> None:
    """The session's run status; refreshes itself every 2 s while the run is active (which
    also tells the run that someone is still watching)."""
    if holder.active:
        _live_status(holder, pool)
    else:
        _status_body(holder, pool)
