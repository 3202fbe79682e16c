"""Target network (the lesson's DQN exercise 1): a hard target copy every 1,000 steps against
a copy every step (C = 1, no target network at all), on the same seeds."""

import streamlit as st

from pgcore.execution.experiments import grid
from pgcore.labs import dqn_exercises as lab
from pgcore.training.config import preset
from ui import dqn_exercises as dq
from ui import experiment_controls as controls
from ui import links, style
from ui.charts.experiments import x_max_of
from ui.charts.numbers import fmt, range_text
from ui.exercises import download_button
from ui.state import server_cores
from ui.verdicts import evidence

KEY = "exp.dqn_target"
FROZEN, NONE = "C = 1000 (frozen target)", "C = 1 (no target network)"
PRESETS = {FROZEN: "dqn-lesson-c1000", NONE: "dqn-lesson-c1"}

st.title("Target network", anchor=False)
st.caption("DQN learns Q(s, a) by regressing it on r + γ·max Q_target(s′, ·). Here the target "
           "network is either a copy of the online network refreshed every 1,000 steps, or "
           "refreshed every single step, which is the same as having no target at all. Watch "
           "two things: does the return curve climb and stay, and does the predicted Q stay "
           "within what a CartPole state can actually be worth (about 99)?")
download_button(4)  # this exercise's notebook (ui/exercises.py)

with st.container(border=True):
    link = links.PageLink(KEY)
    c1, c2 = st.columns(2)
    with c1:
        seeds = controls.seeds_ui(KEY, link=link)
    with c2:
        episodes = controls.episodes_ui(KEY, default=400, link=link)
    n_runs = len(seeds) * len(PRESETS)
    st.caption(f"Both settings learn on every environment step, so this is slow: {n_runs} runs "
               f"take {dq.duration_text(n_runs, episodes, server_cores())} "
               "(longer when the agents learn well: good episodes are long). You can switch "
               "pages meanwhile.")
    link.finish()

controls.controls_ui(KEY, lambda: lab.seed_major(grid({
    label: preset(name, max_episodes=episodes) for label, name in PRESETS.items()}, seeds)),
    what=f"{n_runs} runs ({len(seeds)} seeds x 2 settings)")


def draw(snap) -> None:
    controls.status_ui(snap)
    x_max = x_max_of(snap)
    q_top = lab.q_top(snap)
    numbers = {label: lab.target_numbers(snap, label) for label in snap.labels}
    for label in snap.labels:
        left, right = st.columns(2, gap="medium")
        style.chart(left, dq.return_chart(dq.return_curves(snap, label), x_max, label),
                          width="stretch")
        style.chart(right, dq.q_chart(dq.q_curves(snap, label), x_max, f"{label}: Q",
                                      y_max=q_top), width="stretch")

    ev = evidence(snap, [FROZEN, NONE])
    st.subheader("Numbers", anchor=False)
    st.dataframe(dq.target_table(list(numbers.values())), hide_index=True, width="stretch")
    st.caption(" ".join(filter(None, [
        ev.partial_note(),
        "Median over seeds, with the range in brackets. The final average is over the last "
        "100 episodes; the best is the highest 100-episode average anywhere in the run (both "
        "over the whole run while it is shorter than 100 episodes). Peak mean Q: the largest "
        "per-episode mean of the predicted Q over the run."])))

    stable, broken = numbers.get(FROZEN), numbers.get(NONE)
    if stable is None or broken is None:
        return
    with st.container(border=True):
        st.markdown("##### What the lesson says, and what we measured")
        for claim in (dq.parks_claim(stable, ev.of([FROZEN])),
                      dq.collapse_claim(broken, stable, ev), dq.q_claim(broken, stable, ev)):
            st.markdown(claim.markdown())
    copies = lab.copies_numbers(snap, FROZEN)
    if copies["copies"]["median"]:
        st.caption(
            "Why a frozen target is slow: between two copies the online network only fits "
            "r + γ·Q_target, so each copy adds one more step of look-ahead, and after K copies "
            "Q can be worth at most about (1 − γᴷ⁺¹)/(1 − γ). The C = 1000 runs made "
            f"{range_text(copies['copies'])} copies so far, which allows a Q of about "
            f"{fmt(copies['allowed'], '.0f')}; their mean Q over the last 20 episodes is "
            f"{range_text(copies['q_last'], '.1f')}. Without a target the same regression "
            "chases its own output on every step, with nothing to stop it overshooting.")
    controls.download_ui(KEY, snap, "dqn-target-network")


controls.live_ui(
    KEY, draw, "Press **Start** to train DQN with and without a target network on every "
    "seed. The curves fill in live.")
