"""Entropy bonus (the lesson's exercise 3): does rewarding uncertainty keep the policy from
collapsing too early? Actor-critic or A2C with beta = 0 against a chosen beta."""

import streamlit as st

from pgcore import ConfigError, default_config
from pgcore.experiments import ExperimentError, check_jobs, grid
from ui import experiments as ux
from ui.router import require_router

require_router()

KEY = "exp.entropy"
ALGOS = {"actor-critic": "Actor-critic (one-step)", "a2c": "A2C"}
BETAS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1]

st.title("Entropy bonus", anchor=False)
st.caption("Exercise 3. The entropy bonus adds β·H(π(·|s)) to what the agent maximises, so a "
           "policy pays a price for becoming certain. Compare β = 0 with a β of your choice: "
           "the reward curves, and the policy's entropy (ln 2 ≈ 0.69 is a coin flip, 0 is "
           "always the same action).")

with st.container(border=True):
    c1, c2, c3, c4 = st.columns(4)
    with c1:
        algo = st.radio("Algorithm", list(ALGOS), format_func=ALGOS.get, key=f"{KEY}.algo")
        beta = st.select_slider("β (entropy bonus)", BETAS, 0.01, key=f"{KEY}.beta",
                                format_func=lambda v: f"{v:g}",
                                help="Compared with β = 0 on the same seeds.")
    with c2:
        seeds = ux.seeds_ui(KEY)
    with c3:
        episodes = ux.episodes_ui(KEY, default=500)
    with c4:
        window = ux.smoothing_ui(KEY)
        show_reference = ux.reference_ui(KEY)

names = {"beta=0": "β = 0", f"beta={beta:g}": f"β = {beta:g}"}
error = None
jobs = None
try:
    configs = {"beta=0": default_config(algo, entropy_beta=0.0, max_episodes=episodes),
               f"beta={beta:g}": default_config(algo, entropy_beta=float(beta),
                                                max_episodes=episodes)}
    jobs = check_jobs(grid(configs, seeds))
except (ConfigError, ExperimentError) as exc:
    error = str(exc)

ux.controls_ui(KEY, (lambda: jobs) if jobs else None, error,
               what=f"{len(seeds) * 2} runs ({len(seeds)} seeds x 2 values of β)")


def draw(snap) -> None:
    ux.status_ui(snap)
    x_max = ux.x_max_of(snap)
    algo_name = ALGOS.get(snap.runs[0].config.algo, snap.runs[0].config.algo)
    left, right = st.columns(2, gap="medium")
    reference, groups = (ux.reference_bands(snap, window, names=names) if show_reference
                         else (None, []))
    with left:
        bands = ux.group_bands(snap, "return", window, names)
        st.altair_chart(ux.groups_band_chart(bands, x_max, f"{algo_name}: return",
                                             "return (moving average)", (0, 520),
                                             thresholds=True, reference=reference),
                        width="stretch")
    with right:
        bands = ux.group_bands(snap, "entropy", window, names)
        st.altair_chart(ux.groups_band_chart(bands, x_max, f"{algo_name}: policy entropy",
                                             "entropy H(π(·|s)), nats", (0, 0.72)),
                        width="stretch")
    st.caption("Bold lines: the mean across seeds; bands: ± 1 standard deviation across seeds. "
               "Entropy is the mean over each update's states of H(π(·|s)).")
    if groups:
        st.caption(ux.reference_caption(groups, window, whose="the default settings (β = 0)"))
    ux.download_ui(KEY, snap, "entropy-bonus")


ux.live_ui(KEY, draw, "Press **Start** to train both values of β on every seed.")
