"""Smoothness: nudge the weights of a trained softmax policy and of a trained Q-network in
random directions and watch how far what they play moves."""

import time

import streamlit as st

from pgcore.labs import smoothness as sm
from pgcore.training.checkpoint import CheckpointError
from ui import links, style
from ui import smoothness as sc

KEY = "exp.smooth"
RESULT = f"{KEY}.result"
DIRECTIONS = (1, 10)
EPISODES = (1, 10)
STATE_COUNTS = (64, 128, 256, 512, 1024)
# Shorter headers for the numbers table, the rest said on hover (it was wider than the page)
st.title("Smoothness", anchor=False)
st.markdown(
    "A policy gradient improves a policy by small steps in its weights θ, and that only "
    "works if a small step in θ is also a small step in what the agent does. For a softmax "
    "policy it is: π(a|s) = softmax(f_θ(s))[a] changes continuously with θ. A value-based "
    "agent acts with argmax_a Q_θ(s, a) instead, and an argmax is a step function: where two "
    "actions have nearly the same value, a tiny change of θ swaps their order and the action "
    "played switches completely. Here we check this on two trained CartPole agents by "
    "pushing their weights in random directions by more and more.")
st.caption(
    "The agents ship with the app (`assets/agents/`): a softmax policy trained by A2C and a "
    "Q-network trained by Double DQN, each our tuned default, both scoring 500 when they play "
    "greedily. Each random direction is Gaussian noise rescaled layer by layer to the norm "
    "of that layer's weights, so a size ε changes every layer by the fraction ε of its own "
    "size (ε = 0.01: 1%); the same directions are used for every size. On a fixed set of "
    "states that the two agents visit in their own greedy episodes we measure the total "
    "variation (TV) between the action distribution before and after: ½·Σ_a |p(a|s) − "
    "p'(a|s)|, averaged over the states. A greedy agent's distribution puts all its "
    "probability on one action, so its TV on a state is 0 or 1 and its average TV is the "
    "fraction of states whose argmax action flipped. Finally each perturbed network plays a "
    "few greedy episodes.")

SIZES = links.Param("sizes", f"{KEY}.sizes", (sm.DEFAULT_SIZES[0], sm.DEFAULT_SIZES[-1]),
                    links.span(sm.SIZE_GRID), "Perturbation sizes ε")
P_DIRECTIONS = links.Param("directions", f"{KEY}.directions", sm.DEFAULT_DIRECTIONS,
                           links.whole(*DIRECTIONS), "Random directions")
P_STATES = links.Param("states", f"{KEY}.states", sm.DEFAULT_STATES,
                       links.choice(STATE_COUNTS), "States")
P_EPISODES = links.Param("episodes", f"{KEY}.episodes", sm.DEFAULT_EPISODES,
                         links.whole(*EPISODES), "Greedy episodes per perturbed network")

with st.container(border=True):
    link = links.PageLink(KEY)
    c1, c2, c3 = st.columns(3)
    with c1:
        lo, hi = links.widget(link, SIZES, lambda c: st.select_slider(
            "Perturbation sizes ε", sm.SIZE_GRID, SIZES.default,  # a default: a range slider
            key=SIZES.key, format_func=lambda v: f"{v:g}", disabled=c.locked,
            help=c.help("The range of sizes, on a log grid (×3, ×10, ...): ε = 0.001 changes "
                        "each layer by 0.1% of its norm, ε = 1 by 100%.")))
    with c2:
        directions = int(links.widget(link, P_DIRECTIONS, lambda c: st.slider(
            "Random directions", *DIRECTIONS, key=P_DIRECTIONS.key, disabled=c.locked,
            help=c.help("How many random directions each network is pushed along; the charts "
                        "show the median and the range across them."))))
        states_n = int(links.widget(link, P_STATES, lambda c: st.select_slider(
            "States", STATE_COUNTS, key=P_STATES.key, disabled=c.locked,
            help=c.help("How many fixed states the change of the action distribution is "
                        "measured on (half from each agent's greedy episodes)."))))
    with c3:
        episodes = int(links.widget(link, P_EPISODES, lambda c: st.slider(
            "Greedy episodes per perturbed network", *EPISODES, key=P_EPISODES.key,
            disabled=c.locked,
            help=c.help("Episodes (up to 500 steps each) that each perturbed network plays "
                        "greedily; its return is their mean."))))
    sizes = tuple(s for s in sm.SIZE_GRID if lo <= s <= hi)
    settings = {"sizes": sizes, "directions": directions, "states": states_n,
                "episodes": episodes}
    st.caption(f"{len(sizes)} sizes × {directions} directions × 2 agents = "
               f"{2 * len(sizes) * directions} perturbed networks, each measured on "
               f"{states_n} states and {episodes} greedy episodes: a few seconds.")
    run = st.button("Run", type="primary", icon=":material/play_arrow:", key=f"{KEY}.run")
    link.finish()


@st.cache_resource(show_spinner=False)
def trained_agents() -> dict:
    """Loaded once per server; :func:`pgcore.labs.smoothness.perturbation_curve` works on its own
    copy, so sessions never see each other's perturbations."""
    return sm.load_agents()


try:
    trained = trained_agents()
except CheckpointError as exc:
    st.error(f"The trained agents could not be loaded: {exc}. Make them again with "
             "`python -m pgcore.labs.smoothness --out assets/agents`.")
    st.stop()

if run:
    started = time.perf_counter()
    bar = st.progress(0.0, text="Perturbing…")
    agents = {role: t.agent for role, t in trained.items()}
    states = sm.visited_states(list(agents.values()), "CartPole-v1", n=states_n)
    total = 2 * len(sizes) * directions
    curves = {}
    for n, (role, agent) in enumerate(agents.items()):
        offset, text = n * len(sizes) * directions, f"Perturbing the {sc.NAMES[role]}…"
        curves[role] = sm.perturbation_curve(
            agent, states, sizes, directions, episodes=episodes,
            on_progress=lambda done, _, o=offset, t=text: bar.progress((o + done) / total, t))
    bar.empty()
    st.session_state[RESULT] = {"settings": settings, "curves": curves,
                                "q_values": sm.outputs(agents["q"], states),
                                "seconds": time.perf_counter() - started}


def draw(done: dict, settings: dict) -> None:
    used, policy, q = done["settings"], done["curves"]["policy"], done["curves"]["q"]
    st.caption(f"Perturbed both agents along {used['directions']} directions by "
               f"{len(used['sizes'])} sizes from {used['sizes'][0]:g} to {used['sizes'][-1]:g}, "
               f"measured on {used['states']} states with {used['episodes']} greedy episodes "
               f"each, in {done['seconds']:.1f} s."
               + (" The settings above have changed since: press **Run** again to use them."
                  if used != settings else ""))
    changes = sc.change_frame(policy, q)
    log_y = st.toggle("Log scale for the mean TV", value=False, key=f"{KEY}.log_y",
                      help="On a log scale a quantity proportional to ε is a straight line of "
                           "slope 1; sizes where nothing moved (TV 0) are left out.")
    left, right = st.columns(2, gap="medium")
    style.chart(left, sc.change_chart(changes, log_y=log_y), width="stretch")
    style.chart(right, sc.jump_chart(changes), width="stretch")
    left, right = st.columns(2, gap="medium")
    style.chart(left, sc.return_chart(sc.return_frame(policy, q)), width="stretch")
    right.markdown("##### What the shapes mean")
    right.markdown(
        "The blue line rises smoothly with ε: double the change in θ and π moves about twice "
        "as far, on every state a little. That is what makes a gradient step on a policy "
        "safe to take. The red line is already well above zero at sizes where π has hardly "
        "moved: the Q-network's values move just as continuously, but the argmax turns "
        "their small changes into whole actions, and a state either keeps its action or "
        "switches it (the biggest change on a single state is 0 or 1). The dashed line is "
        "the softmax policy's own argmax, which jumps too, on fewer states: any greedy "
        "choice is a step function, and what is smooth is the distribution the policy "
        "samples from.")
    right.caption(sc.gap_sentence(done["q_values"]))

    st.subheader("Numbers", anchor=False)
    st.table(sc.numbers_table(policy, q), hide_index=True)  # wraps: fits a laptop
    st.caption("Median over directions, with the range in brackets. TV: total variation "
               "between the action distribution before and after, averaged over the states "
               "(mean) or the largest on one state. Flipped: the share of states whose argmax "
               "action changed. Returns: greedy play, the mean over the episodes.")

    with st.container(border=True):
        st.markdown("##### What we claim, and what we measured")
        for finding in sc.findings(policy, q):
            st.markdown(finding.markdown(sc.LEAD))

    st.download_button("Measurements (CSV)", data=sc.to_csv(policy, q),
                       file_name="smoothness.csv", mime="text/csv", icon=":material/table:",
                       key=f"{KEY}.csv", on_click="ignore",
                       help="One row per agent, size and direction: the mean and largest TV "
                            "of π, the argmax flip fraction, the TV of the distribution the "
                            "agent plays, and each greedy episode's return.")
    with st.expander("The two agents"):
        for role, t in trained.items():
            extra = t.meta.get("extra", {})
            kb = t.path.stat().st_size / 1024
            st.markdown(f"**{sc.NAMES[role]}**: `{t.path.name}` ({kb:.0f} KB), "
                        f"trained for {extra.get('env_steps', 0):,} env steps; greedy mean "
                        f"return {extra.get('confirm_mean_return', float('nan')):g} on 20 "
                        "fresh episodes when it was saved.")
        st.caption("Made with `python -m pgcore.labs.smoothness --out assets/agents` (about a "
                   "minute): each algorithm's tuned default, stopped at its first greedy "
                   "evaluation of 500.")


done = st.session_state.get(RESULT)
if done is None:
    st.info("Press **Run** to perturb both agents and measure how far they move.")
else:
    draw(done, settings)
