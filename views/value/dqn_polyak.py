"""Hard copy or Polyak (the lesson's DQN exercise 2): a hard target copy every 1,000 steps, a
Polyak blend with tau = 0.005 every step, and, to test the lesson's "about the pace of a copy
every 200 steps", a hard copy every 200 steps."""

import streamlit as st

from pgcore.execution.experiments import grid
from pgcore.labs import dqn_exercises as lab
from pgcore.training.config import preset
from ui import dqn_exercises as dq
from ui import experiment_controls as controls
from ui import links, style
from ui.charts.experiments import group_bands, groups_band_spec, x_max_of
from ui.exercises import download_button
from ui.state import server_cores
from ui.verdicts import evidence

KEY = "exp.dqn_polyak"
HARD_1000, POLYAK, HARD_200 = "hard copy every 1,000", "Polyak τ = 0.005", "hard copy every 200"
ORDER = [HARD_1000, POLYAK, HARD_200]
TRACE_EVERY = 50
TAU = 0.005

st.title("Hard copy or Polyak", anchor=False)
st.caption("Three ways to keep DQN's target network slow. A hard copy freezes the target and "
           "then replaces it in one jump; Polyak averaging nudges it a little towards the "
           "online network after every step (θ_target ← τ·θ + (1 − τ)·θ_target). The "
           "distance ‖θ_target − θ‖ between the two networks shows the difference: a saw-tooth "
           "for hard copies (back to zero at each copy), a steady trail for Polyak. The third "
           "setting, a copy every 200 steps, checks the lesson's comparison of the two.")
download_button(5)  # this exercise's notebook (ui/exercises.py)

with st.container(border=True):
    link = links.PageLink(KEY)
    c1, c2, c3 = st.columns(3)
    with c1:
        seeds = controls.seeds_ui(KEY, link=link)
    with c2:
        episodes = controls.episodes_ui(KEY, default=400, link=link)
    with c3:
        window = controls.smoothing_ui(KEY, link=link)
    n_runs = len(seeds) * len(ORDER)
    st.caption(f"Every setting learns on every environment step: {n_runs} runs take "
               f"{dq.duration_text(n_runs, episodes, server_cores())} (longer "
               "when the agents learn well). You can switch pages meanwhile.")
    link.finish()

controls.controls_ui(KEY, lambda: lab.seed_major(grid({
    HARD_1000: preset("dqn-lesson-c1000", max_episodes=episodes),
    POLYAK: preset("dqn-lesson-polyak", max_episodes=episodes),
    HARD_200: preset("dqn-lesson-c1000", target_update=200, max_episodes=episodes)}, seeds)),
    what=f"{n_runs} runs ({len(seeds)} seeds x 3 settings)", trace_every=TRACE_EVERY,
    trace_flips=False)  # the page shows no greedy flips: a seventh of each run's time saved


def draw(snap) -> None:
    controls.status_ui(snap)
    controls.chart_ui(st, snap, (KEY, "returns", window), lambda: groups_band_spec(
        group_bands(snap, "return", window), x_max_of(snap), "Return, mean ± 1 std across seeds",
        "return (moving average)", (0, 520), thresholds=True))

    st.subheader("How far the target trails the online network", anchor=False)
    run_seeds = sorted({r.seed for r in snap.runs})
    p1, p2 = st.columns(2)
    seed = p1.selectbox("Seed", run_seeds, key=f"{KEY}.trace_seed",
                        help="Whose trace to show (one seed keeps the teeth readable).")
    where = p2.segmented_control("Zoom", dq.ZOOMS, default="middle", key=f"{KEY}.zoom",
                                 help=f"Which {dq.ZOOM_STEPS:,} env steps the close-up shows.")
    seed = run_seeds[0] if seed is None else seed
    trace = dq.trace_frame(snap, seed)
    left, right = st.columns(2, gap="medium")
    style.chart(left, dq.distance_chart(
        dq.zoom(trace, where or "middle"), f"Close-up, seed {seed}", ORDER,
        f"{dq.ZOOM_STEPS:,} env steps, a point every {TRACE_EVERY}", points=True),
        width="stretch")
    style.chart(right, dq.distance_chart(
        dq.binned_trace(trace), f"The whole run, seed {seed}", ORDER,
        "averaged over bins of at least 1,000 env steps"), width="stretch")

    numbers = dq.distance_numbers(snap)
    ev = evidence(snap, ORDER)
    st.dataframe(dq.distance_table(numbers), hide_index=True, width="stretch")
    st.caption(" ".join(filter(None, [
        ev.partial_note(),
        "Mean ‖θ_target − θ‖: averaged over every update, per seed over the env steps all "
        "three settings of that seed have reached (so a run that plays longer episodes is not "
        "compared on later, calmer weights); the median over seeds, the range in brackets. "
        "Low point ÷ typical: how far the distance dips below its local median (5th percentile "
        "of the ratio): near 0 for a saw-tooth, near 1 for a smooth trail."])))

    equiv = lab.polyak_equivalents(numbers, POLYAK, HARD_200, HARD_1000)
    with st.container(border=True):
        st.markdown("##### What the lesson says, and what we measured")
        for claim in (dq.smooth_claim(numbers, POLYAK, [HARD_1000, HARD_200], ev),
                      dq.pace_claim(equiv, ev, tau=TAU)):
            st.markdown(claim.markdown())
        st.caption(
            f"Two readings of \"the pace\". Polyak with τ = {TAU} is an average over roughly "
            f"the last 1/τ = {1 / TAU:.0f} versions of the online network, so by averaging "
            f"window it matches C = {1 / TAU:.0f}. But the versions in that average are on "
            f"average (1 − τ)/τ ≈ {(1 - TAU) / TAU:.0f} updates old, while a hard copy every C "
            f"steps is on average (C − 1)/2 old, so by mean lag it matches C ≈ "
            f"{2 * (1 - TAU) / TAU + 1:.0f}. The measured match compares distances, assuming "
            "the online network moves about as fast in all three settings; if the weights "
            "wander like a random walk, the distance favours the smaller C.")
    st.download_button("Traces (CSV)", data=lambda: snap.trace_csv(),
                       file_name="dqn-polyak-trace.csv",
                       mime="text/csv", icon=":material/table:", key=f"{KEY}.trace_csv",
                       on_click="ignore", disabled=not any(len(r.trace["env_steps"])
                                                           for r in snap.runs),
                       help="Every run's trace: a row every 50 env steps with the update "
                            "count, Q and the target distance (greedy-action flips are "
                            "traced on the Value vs policy page).")
    controls.download_ui(KEY, snap, "dqn-hard-copy-or-polyak")


controls.live_ui(
    KEY, draw, "Press **Start** to train the three settings on every seed. The curves and "
    "the target-distance trace fill in live.")
