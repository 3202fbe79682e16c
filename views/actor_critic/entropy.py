"""Entropy bonus (the lesson's exercise 3): does rewarding uncertainty keep the policy from
collapsing too early? Actor-critic or A2C with beta = 0 against a chosen beta."""

import streamlit as st

from pgcore import algos, default_config
from pgcore.execution.experiments import grid
from ui import experiment_controls as controls
from ui import links
from ui.charts.experiments import group_bands, groups_band_spec, x_max_of
from ui.exercises import download_button
from ui.experiment_reference import reference_bands, reference_caption, reference_groups

KEY = "exp.entropy"
ALGOS = ("actor-critic", "a2c")  # the bootstrapping learners: one-step and n-step
BETAS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1]

st.title("Entropy bonus", anchor=False)
st.caption("Exercise 3. The entropy bonus adds β·H(π(·|s)) to what the agent maximises, so a "
           "policy pays a price for becoming certain. Compare β = 0 with a β of your choice: "
           "the reward curves, and the policy's entropy (ln 2 ≈ 0.69 is a coin flip, 0 is "
           "always the same action).")
download_button(3)  # this exercise's notebook (ui/exercises.py)

ALGO = links.Param("algo", f"{KEY}.algo", ALGOS[0], links.choice(ALGOS), "Algorithm")
BETA = links.Param("beta", f"{KEY}.beta", 0.01, links.choice(BETAS), "β (entropy bonus)")

with st.container(border=True):
    link = links.PageLink(KEY)
    c1, c2, c3, c4 = st.columns(4)
    with c1:
        algo = links.widget(link, ALGO, lambda c: st.radio(
            "Algorithm", ALGOS, format_func=lambda n: algos.get(n).label, key=ALGO.key,
            disabled=c.locked, help=c.help(None)))
        beta = links.widget(link, BETA, lambda c: st.select_slider(
            "β (entropy bonus)", BETAS, key=BETA.key, format_func=lambda v: f"{v:g}",
            disabled=c.locked, help=c.help("Compared with β = 0 on the same seeds.")))
    with c2:
        seeds = controls.seeds_ui(KEY, link=link)
    with c3:
        episodes = controls.episodes_ui(KEY, default=500, link=link)
    with c4:
        window = controls.smoothing_ui(KEY, link=link)
        show_reference = controls.reference_ui(KEY, link=link)
    link.finish()

names = {"beta=0": "β = 0", f"beta={beta:g}": f"β = {beta:g}"}
controls.controls_ui(KEY, lambda: grid({
    "beta=0": default_config(algo, entropy_beta=0.0, max_episodes=episodes),
    f"beta={beta:g}": default_config(algo, entropy_beta=float(beta), max_episodes=episodes)},
    seeds), what=f"{len(seeds) * 2} runs ({len(seeds)} seeds x 2 values of β)")


def draw(snap) -> None:
    controls.status_ui(snap)
    x_max = x_max_of(snap)
    algo_name = snap.runs[0].config.algorithm.title
    left, right = st.columns(2, gap="medium")
    groups = [group for _, group in reference_groups(snap)] if show_reference else []
    settings = (KEY, window, tuple(names.items()))

    def returns():
        reference = reference_bands(snap, window, names=names)[0] if show_reference else None
        return groups_band_spec(group_bands(snap, "return", window, names), x_max,
                                f"{algo_name}: return", "return (moving average)", (0, 520),
                                thresholds=True, reference=reference)

    def entropy():
        return groups_band_spec(group_bands(snap, "entropy", window, names), x_max,
                                f"{algo_name}: policy entropy", "entropy H(π(·|s)), nats",
                                (0, 0.72))

    with left:
        controls.chart_ui(st, snap, (*settings, "return", show_reference), returns)
    with right:
        controls.chart_ui(st, snap, (*settings, "entropy"), entropy)
    st.caption("Bold lines: the mean across seeds; bands: ± 1 standard deviation across seeds. "
               "Entropy is the mean over each update's states of H(π(·|s)).")
    if groups:
        st.caption(reference_caption(groups, window, whose="the default settings (β = 0)"))
    controls.download_ui(KEY, snap, "entropy-bonus")


controls.live_ui(KEY, draw, "Press **Start** to train both values of β on every seed.")
