"""Seeds & variance (the lesson's exercise 1): how different are runs that differ only in
their seed? REINFORCE without a baseline against A2C, on the same seeds."""

import streamlit as st

from pgcore import default_config
from pgcore.execution.experiments import grid
from ui import experiment_controls as controls
from ui import links, style
from ui.charts.experiments import seed_curves, seeds_band_chart, x_max_of
from ui.charts.numbers import fmt
from ui.exercises import download_button
from ui.experiment_reference import reference_bands, reference_caption, typical_verdict
from ui.experiment_summary import SPREAD_CLAIM, runs_verdict, spread_measure, spread_numbers
from ui.verdicts import evidence

KEY = "exp.seeds"
LABELS = {"reinforce": "REINFORCE, no baseline", "a2c": "A2C"}

st.title("Seeds & variance", anchor=False)
st.caption("Exercise 1. The same algorithm, the same settings, only the random seed changes: "
           "how far apart do the learning curves land? Each seed is a thin line; the bold line "
           "is their mean, with a band of ± 1 standard deviation across seeds.")
download_button(1)  # this exercise's notebook (ui/exercises.py)

with st.container(border=True):
    link = links.PageLink(KEY)
    c1, c2, c3 = st.columns(3)
    with c1:
        seeds = controls.seeds_ui(KEY, link=link)
    with c2:
        episodes = controls.episodes_ui(KEY, link=link)
    with c3:
        window = controls.smoothing_ui(KEY, link=link)
        show_reference = controls.reference_ui(KEY, link=link)
    link.finish()

controls.controls_ui(KEY, lambda: grid({
    LABELS["reinforce"]: default_config("reinforce", "none", max_episodes=episodes),
    LABELS["a2c"]: default_config("a2c", max_episodes=episodes)}, seeds),
    what=f"{len(seeds) * 2} runs ({len(seeds)} seeds x 2 algorithms)")


def draw(snap) -> None:
    controls.status_ui(snap)
    x_max = x_max_of(snap)
    cols = st.columns(2, gap="medium")
    drawn = []
    for col, label in zip(cols, snap.labels, strict=False):
        with col:
            seeds_df, band = seed_curves(snap, label, "return", window)
            reference = None
            if show_reference:
                reference, groups = reference_bands(snap, window, labels=[label])
                drawn += groups
            style.chart(st, seeds_band_chart(seeds_df, band, x_max, label,
                                             reference=reference), width="stretch")
            spread = spread_numbers(snap, label, window)
            m1, m2 = st.columns(2)
            m1.metric("Spread across seeds", fmt(spread["mean_std"], ".1f"),
                      help="The standard deviation across seeds of the smoothed return, "
                           "averaged over all episodes: the average half-width of the band.")
            m2.metric("Final spread", fmt(spread["final_std"], ".1f"),
                      help="The standard deviation across seeds of each seed's mean return "
                           "over its last 100 episodes.")
    labels = [LABELS["reinforce"], LABELS["a2c"]]
    partial = evidence(snap, labels).partial_note()
    st.caption((f"{partial} " if partial else "")
               + "Thresholds: 195 is CartPole-v0's criterion (the one the lesson quotes), 475 "
               "CartPole-v1's. Both algorithms use our tuned defaults; REINFORCE here uses raw "
               "returns, no baseline at all.")
    if drawn:
        st.caption(reference_caption(drawn, window))
    with st.container(border=True):
        st.markdown("##### What the lesson says, and what we measured")
        st.markdown(f"**The lesson:** {SPREAD_CLAIM}")
        typical = (typical_verdict(snap, labels, SPREAD_CLAIM, spread_measure)
                   if show_reference else None)
        if typical is not None:
            st.markdown(f"**Typical result:** {typical.measured()}")
        yours = runs_verdict(snap, labels, SPREAD_CLAIM, spread_measure)
        st.markdown(f"**Your runs:** {yours.measured()}")
    controls.download_ui(KEY, snap, "seeds-and-variance")


controls.live_ui(
    KEY, draw, "Press **Start** to train both algorithms on every seed. The curves fill "
    "in live; you can change pages meanwhile.")
