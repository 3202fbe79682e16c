"""Home: what the app teaches and how to use it, in two minutes."""

from pathlib import Path

import streamlit as st

VIEWS = Path(__file__).resolve().parent  # pages linked by their file: right from any entry point

st.title("Policy Gradient Lab", anchor=False)
st.markdown("#### Learn policy gradients by training agents and watching what happens inside them.")

left, right = st.columns([1.3, 1], gap="large")
with left:
    st.markdown(
        """
A **policy-gradient** agent does not learn how good each action is and then pick the best one.
It learns the *policy itself*, a network that outputs the probability of each action, and
nudges those probabilities up or down according to how things turned out. This app walks
from the simplest version of that idea to the ones used in practice:

- **REINFORCE**: play an episode, then make the actions that led to high returns more likely;
- **baselines**: subtract what was expected anyway, to cut the noise without biasing anything;
- **actor-critic**: learn a value function V(s) alongside the policy and update every step;
- **A2C**: many environments at once, n-step returns and a shared network.

And the other road, for contrast: **DQN** learns how good each action is, Q(s, a), and acts
by its argmax, with a replay buffer and a target network. The **Value-based** pages run the
lesson's DQN exercises and set the two families side by side, measured. The **Why a policy?**
pages show the lesson's three reasons to learn the policy itself: a game whose best play is
random (rock-paper-scissors), how smoothly a policy changes with its weights while an
argmax jumps, and a pendulum's continuous torque (**Continuous actions**), where an argmax has
no finite list of actions to choose from.

Everything else runs on **CartPole**: keep a pole balanced on a moving cart, +1 reward per step,
at most 500 steps (CartPole-v1).
"""
    )
with right:
    with st.container(border=True):
        st.markdown("##### In two minutes")
        st.markdown(
            """
1. Open **Train**, keep *REINFORCE* and its default preset, press **Start**.
2. Watch the return climb, its 100-episode average (bold) and its spread (shaded band),
   and the pole itself. The grey band behind them is where typical runs were.
3. Switch the algorithm to **Actor-critic** and the preset to **the lesson's settings**:
   watch entropy fall to zero and the critic's V(s₀) drift away from the real returns.
4. Go back to the **default** actor-critic preset: same algorithm, it learns.
5. Read **Theory** for the why: every formula sits next to the code that runs it.
6. Try the **Experiments**: each one tests one of the lesson's claims across several seeds
   with a single click. The **Value-based** pages do the same for DQN, and **Why a policy?**
   shows where an argmax cannot follow.
"""
        )
    c1, c2 = st.columns(2)
    c1.page_link(VIEWS / "train.py", label="Start training", icon=":material/monitoring:")
    c2.page_link(VIEWS / "theory.py", label="Read the theory", icon=":material/menu_book:")

st.divider()
a, b, c = st.columns(3, gap="large")
with a:
    st.markdown("##### What the charts mean")
    st.markdown(
        "The **return** per episode is noisy; the **100-episode average** is the usual yardstick. "
        "Dashed lines mark **195** (CartPole-v0's 'solved', the number the lesson quotes) and "
        "**475** (CartPole-v1's own). Losses, entropy and gradient size show *how* it learns."
    )
with b:
    st.markdown("##### Honest numbers")
    st.markdown(
        "Runs are seeded: the same settings and seed give the same run. One run is one sample, "
        "so a faint grey band behind it shows where the middle 80% of 10 reference runs (other "
        "seeds, shipped with the app) were: inside it, your run is typical. Download the "
        "metrics as CSV to compare runs yourself."
    )
with c:
    st.markdown("##### Sharing a server")
    st.markdown(
        "Each browser tab owns one run, which stops when the tab closes. A few runs train at "
        "once; if all slots are busy, yours waits and starts by itself when one frees."
    )
