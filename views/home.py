"""Home: what the app teaches, in the lesson's order, and how to use it in two minutes."""

import streamlit as st

from ui import navigation
from ui.exercises import listing

PAGES = {e.url_path: e.path for e in navigation.entries()}  # linked by file, from any entry point

STEPS = {  # what each numbered section of the menu is about, in our words
    "1 · Why a policy?":
        "Why learn the policy itself instead of how good each action is: a game whose best "
        "play is random, a policy that changes smoothly with its weights where an argmax "
        "jumps, and a continuous action with no list to take the argmax over.",
    "2 · The theorem and REINFORCE":
        "The policy gradient theorem, then its simplest use: **REINFORCE** plays an episode "
        "and makes the actions that led to high returns more likely. It learns, but one "
        "episode is a noisy sample, and it shows across seeds and in the gradient itself.",
    "3 · Baselines to actor-critic":
        "Taming that noise: a **baseline** subtracts what was expected anyway (less noise, no "
        "bias), an **entropy bonus** keeps the policy exploring, **actor-critic** learns V(s) "
        "beside the policy and updates every step, **A2C** runs many environments at once. "
        "**PPO** (on Train and in the race) takes several careful steps on each batch.",
    "4 · Value vs policy (DQN)":
        "The other road: **DQN** learns Q(s, a) and acts by its argmax, with a replay buffer "
        "and a target network. The lesson's comparison of the two families, measured, and its "
        "three DQN exercises.",
    "Class":
        "Join your class to see everyone's runs together.",
}

st.title("Policy Gradient Lab", anchor=False)
st.markdown("#### Learn policy gradients by training agents and watching what happens inside them.")

left, right = st.columns([1.3, 1], gap="large")
with left:
    st.markdown(
        "A **policy-gradient** agent does not learn how good each action is and then pick the "
        "best one. It learns the *policy itself*, a network that gives each action a "
        "probability, and nudges those probabilities up or down by how things turned out. The "
        "menu on the left follows the lesson, step by step:")
    for section, pages in navigation.SECTIONS.items():
        if not section:
            continue  # Home itself
        stop = "" if section.endswith("?") else "."
        st.markdown(f"**{section}{stop}** {STEPS.get(section, '')}")
        for e in pages:  # the link is the title; what the page does follows as a caption
            link, what = st.columns(2, vertical_alignment="center")
            link.page_link(e.path, label=e.title, icon=e.icon)
            if e.blurb:
                what.caption(e.blurb)
    st.caption("Everything but the pendulum runs on **CartPole**: keep a pole balanced on a "
               "moving cart, +1 reward per step, at most 500 steps (CartPole-v1).")
    st.expander("The lesson's six exercises, as notebooks to do at home").markdown(listing())
with right:
    with st.container(border=True):
        st.markdown("##### In two minutes")
        st.markdown(
            """
1. Open **Train**. It starts where the lesson does, with *plain REINFORCE* (no baseline):
   press **Start**.
2. Watch the return climb, noisily: its 100-episode average (bold), its spread (shaded
   band) and the pole itself. The grey band behind them is where typical runs were.
3. Set the baseline to **learned value V(s)** and press **Start** again: the same seed,
   a steadier climb.
4. Switch the algorithm to **Actor-critic** and the preset to **the lesson's settings**:
   watch entropy fall to zero and the critic's V(s₀) drift away from the real returns.
   Its default preset, same algorithm, learns.
5. Read **Theory** for the why: every formula sits next to the code that runs it.
6. Then follow the menu: each experiment tests one of the lesson's claims across several
   seeds with a single click.
"""
        )
    c1, c2 = st.columns(2)
    c1.page_link(PAGES["train"], label="Start training", icon=":material/monitoring:")
    c2.page_link(PAGES["theory"], label="Read the theory", icon=":material/menu_book:")

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
        "Each browser tab has its own runs, and closing the tab stops them. A run starts "
        "training the moment you press Start, however many others are running, on the "
        "**Train** page and on the experiment pages alike: all of them train at once and "
        "take turns on the server's processor cores, so every condition of an experiment "
        "moves from the first seconds, and each run goes slower the more there are (the "
        "sidebar says how many share them)."
    )
