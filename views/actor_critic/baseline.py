"""Baseline vs none (the lesson's exercise 2): REINFORCE with and without a learned value
baseline, on the same seeds. When does each reach the CartPole criteria, and how much does
its learning curve wobble?"""

import pandas as pd
import streamlit as st

from pgcore import default_config
from pgcore.execution.experiments import grid
from ui import experiment_controls as controls
from ui import links
from ui.charts.experiments import group_bands, groups_band_spec, strip_spec, x_max_of
from ui.exercises import download_button
from ui.experiment_reference import (
    reference_bands,
    reference_caption,
    reference_groups,
    reference_rows,
    typical_verdict,
)
from ui.experiment_summary import (
    BASELINE_CLAIM,
    baseline_measure,
    runs_verdict,
    summary_row,
    threshold_rows,
)
from ui.verdicts import evidence

KEY = "exp.baseline"
NONE, VALUE = "no baseline", "learned value baseline"
# Shorter headers, the rest said on hover: with the full ones the table was wider than the page
SUMMARY_COLUMNS = {
    "median episodes to 195": st.column_config.TextColumn(
        "median to 195", help="The median over seeds of the first episode whose 100-episode "
        "average reached 195; \"k/n reached\" when not every seed got there."),
    "median episodes to 475": st.column_config.TextColumn(
        "median to 475", help="The same for 475."),
    "wobble (mean over seeds)": st.column_config.TextColumn(
        "mean wobble", help="The mean over seeds (see below the table)."),
    "final 100-episode average": st.column_config.TextColumn(
        "mean final average",
        help="The mean over seeds of the last 100-episode average return."),
}

st.title("Baseline vs none", anchor=False)
st.caption("Exercise 2. REINFORCE weights each log π(a|s) by the return G_t; the learned-value "
           "variant weights it by G_t − V(s_t) instead. Same seeds, same everything else. "
           "Which reaches the CartPole criteria sooner, and which learns more steadily?")
download_button(2)  # this exercise's notebook (ui/exercises.py)

with st.container(border=True):
    link = links.PageLink(KEY)
    c1, c2, c3 = st.columns(3)
    with c1:
        seeds = controls.seeds_ui(KEY, default=5, link=link)
    with c2:
        episodes = controls.episodes_ui(KEY, link=link)
    with c3:
        window = controls.smoothing_ui(KEY, link=link)
        show_reference = controls.reference_ui(KEY, link=link)
    link.finish()

controls.controls_ui(KEY, lambda: grid({
    NONE: default_config("reinforce", "none", max_episodes=episodes),
    VALUE: default_config("reinforce", "value", max_episodes=episodes)}, seeds),
    what=f"{len(seeds) * 2} runs ({len(seeds)} seeds x 2 settings)")


def draw(snap) -> None:
    controls.status_ui(snap)
    rows = controls.per_snapshot(snap, (KEY, "per seed"), lambda: threshold_rows(snap))
    budget = x_max_of(snap)
    st.subheader("When did each seed get there?", anchor=False)
    controls.chart_ui(st, snap, (KEY, "strip"), lambda: strip_spec(rows, budget))
    st.caption("One mark per seed: the first episode at which its 100-episode average return "
               "reached 195 (CartPole-v0's criterion, the one the lesson uses) or 475 "
               "(CartPole-v1's). A cross at the right edge: not reached within the budget.")

    summary = []
    for setting in (NONE, VALUE):
        sub = rows[rows["setting"] == setting]
        if len(sub):
            summary.append(summary_row(setting, sub.to_dict("records")))
    if show_reference:
        summary += reference_rows(snap)
    st.dataframe(pd.DataFrame(summary), hide_index=True, width="stretch",
                 column_config=SUMMARY_COLUMNS)
    with st.expander("Per seed"):
        st.dataframe(rows, hide_index=True, width="stretch")
    partial = evidence(snap, [NONE, VALUE]).partial_note()
    st.caption((f"{partial} " if partial else "")
               + "Wobble: the standard deviation of the episode-to-episode change of the "
               "100-episode moving average, times 100 (in return units). A steadier learner "
               "has a smaller wobble. It needs at least 102 episodes."
               + (" Rows marked *typical*: the same figures for the reference runs shipped "
                  "with the app (other seeds, 1,000 episodes each)." if show_reference else ""))
    with st.container(border=True):
        st.markdown("##### What the lesson says, and what we measured")
        st.markdown(f"**The lesson:** {BASELINE_CLAIM}")
        typical = (typical_verdict(snap, [NONE, VALUE], BASELINE_CLAIM, baseline_measure)
                   if show_reference else None)
        if typical is not None:
            st.markdown(f"**Typical result:** {typical.measured()}")
        yours = runs_verdict(snap, [NONE, VALUE], BASELINE_CLAIM, baseline_measure)
        st.markdown(f"**Your runs:** {yours.measured()}")

    st.subheader("Learning curves", anchor=False)
    groups = [group for _, group in reference_groups(snap)] if show_reference else []

    def curves():
        reference = reference_bands(snap, window)[0] if show_reference else None
        return groups_band_spec(group_bands(snap, "return", window), budget,
                                "Return, mean ± 1 std across seeds", "return (moving average)",
                                (0, 520), thresholds=True, reference=reference)

    controls.chart_ui(st, snap, (KEY, "curves", window, show_reference), curves)
    if groups:
        st.caption(reference_caption(groups, window))
    controls.download_ui(KEY, snap, "baseline-vs-none")


controls.live_ui(
    KEY, draw, "Press **Start** to train REINFORCE with and without the value baseline "
    "on every seed. Results fill in live.")
