"""Stochastic optimum (RPS): a policy-gradient learner and a greedy value learner play
rock-paper-scissors against an opponent that exploits what they have been doing."""

import time

import streamlit as st

from pgcore.labs import rps as game
from ui import experiment_controls as controls
from ui import links, style
from ui import rps as rc

KEY = "exp.rps"
STEPS = (1_000, 2_000, 4_000, 6_000, 8_000, 10_000)
RATES = (0.01, 0.03, 0.1, 0.3, 1.0)
MEMORIES = (1, 5, 10, 20, 50, 100, 200, 500)
BETAS = (0.0, 0.01, 0.03, 0.1, 0.3, 1.0)
RESULT = f"{KEY}.result"

st.title("Stochastic optimum (RPS)", anchor=False)
st.markdown(
    "Value-based learning ends in a *greedy* policy: in each state, the action with the "
    "largest value, for sure. Rock-paper-scissors is a game where that cannot be optimal. "
    "Whatever single hand you commit to, the hand that beats it wins every round, so a "
    "pure strategy can be exploited by the full +1 per round. The only policy nobody can "
    "beat on average is the uniform mix, each hand with probability 1/3, and to play it a "
    "learner has to represent a distribution over actions: that is what a policy is.")
st.caption(
    "Two learners play many rounds against the same kind of opponent. It keeps an "
    "exponential moving average of the learner's recent hands (over about *memory* "
    "rounds) and always plays the best response to it. The **policy-gradient** learner "
    "holds a softmax policy π = softmax(θ) and, after each round, takes a step along the "
    "exact gradient of its expected payoff against the hand it just saw (no sampling "
    "noise), plus β times the gradient of its entropy. The **greedy** learner keeps Q(a), "
    "the average payoff each hand has brought it, and always plays the best one (ε = 0). "
    "Exploitability measures how much a best response would win per round against a "
    "policy: 0 for the uniform mix, 1 for any single hand.")

P_STEPS = links.Param("steps", f"{KEY}.steps", game.DEFAULT_STEPS, links.choice(STEPS),
                      "Rounds per match")
P_LR = links.Param("lr", f"{KEY}.lr", game.DEFAULT_LR, links.choice(RATES),
                   "Learning rate (policy gradient)")
P_BETA = links.Param("beta", f"{KEY}.beta", game.DEFAULT_BETA, links.choice(BETAS),
                     "Entropy bonus β (policy gradient)")
P_MEMORY = links.Param("memory", f"{KEY}.memory", game.DEFAULT_MEMORY, links.choice(MEMORIES),
                       "Opponent memory (rounds)")

with st.container(border=True):
    link = links.PageLink(KEY)
    c1, c2, c3 = st.columns(3)
    with c1:
        steps = int(links.widget(link, P_STEPS, lambda c: st.select_slider(
            "Rounds per match", STEPS, key=P_STEPS.key, format_func=lambda v: f"{v:,}",
            disabled=c.locked, help=c.help("How many rounds each learner plays on each seed."))))
        seeds = controls.seeds_ui(KEY, default=game.DEFAULT_SEEDS, link=link)
    with c2:
        lr = float(links.widget(link, P_LR, lambda c: st.select_slider(
            "Learning rate (policy gradient)", RATES, key=P_LR.key, disabled=c.locked,
            help=c.help("The step size on the logits θ after each round."))))
        beta = float(links.widget(link, P_BETA, lambda c: st.select_slider(
            "Entropy bonus β (policy gradient)", BETAS, key=P_BETA.key, disabled=c.locked,
            help=c.help("Adds β·H(π) to the objective, pulling the policy towards uniform. "
                        "0: off."))))
    with c3:
        memory = int(links.widget(link, P_MEMORY, lambda c: st.select_slider(
            "Opponent memory (rounds)", MEMORIES, key=P_MEMORY.key, disabled=c.locked,
            help=c.help("The time scale of the opponent's moving average of the learner's "
                        "hands. 1: it answers the last hand only; larger: it reacts more "
                        "slowly."))))
    settings = {"steps": steps, "seeds": seeds, "lr": lr, "beta": beta, "memory": memory}
    st.caption(f"{len(seeds) * len(game.KINDS)} matches of {steps:,} rounds (seeds "
               f"{seeds[0]}–{seeds[-1]}); plain numpy, a second or two.")
    run = st.button("Run", type="primary", icon=":material/play_arrow:", key=f"{KEY}.run")
    link.finish()

if run:
    with st.spinner("Playing…"):
        started = time.perf_counter()
        results = game.simulate_all(steps, seeds, lr=lr, memory=memory, beta=beta)
    st.session_state[RESULT] = {"settings": settings, "results": results,
                                "seconds": time.perf_counter() - started}


def draw(done: dict, settings: dict) -> None:
    results, used = done["results"], done["settings"]
    kinds = list(results)
    st.caption(f"Played {used['steps']:,} rounds on seeds {used['seeds'][0]}–{used['seeds'][-1]} "
               f"with learning rate {used['lr']:g}, entropy bonus {used['beta']:g} and opponent "
               f"memory {used['memory']} in {done['seconds']:.1f} s."
               + (" The settings above have changed since: press **Run** again to use them."
                  if used != settings else ""))

    seed = st.selectbox("Seed drawn in the charts", used["seeds"], key=f"{KEY}.seed_shown")
    for kind in kinds:
        r = rc.run_of(results, kind, seed)
        left, right = st.columns(2, gap="medium")
        style.chart(left, rc.policy_chart(
            rc.policy_frame(r), used["steps"], f"{rc.label(kind)}: π_t",
            "the policy it plays in each round"), width="stretch")
        style.chart(right, rc.policy_chart(
            rc.policy_frame(r, average=True), used["steps"], f"{rc.label(kind)}: time average",
            "mean of π_1 … π_t; dashed: the thirds of the uniform mix", thirds=True),
            width="stretch")

    left, right = st.columns(2, gap="medium")
    style.chart(left, rc.exploitability_chart(
        rc.exploitability_frame(results, seed), used["steps"], kinds,
        f"Exploitability, seed {seed}"), width="stretch")
    style.chart(right, rc.payoff_chart(rc.payoff_frame(results), used["steps"], kinds),
                       width="stretch")
    pg_run = rc.run_of(results, rc.PG, seed)
    if pg_run is not None:
        left, right = st.columns([3, 2], gap="medium")
        style.chart(left, rc.simplex_chart(
            rc.simplex_frame(pg_run), f"Policy gradient in the triangle of policies, seed "
            f"{seed}"), width="content")
        right.caption(
            "Every policy over three hands is a point of this triangle: the corners are the "
            "pure hands, the centre is the uniform mix. The light path is π_t: the opponent "
            "punishes whatever hand the learner favours, the gradient moves it towards the "
            "hand that beats the punisher, the opponent notices and switches, and so on "
            "around the centre. The dark path is the running average of π_t, which closes in "
            "on the centre. The greedy learner would sit on a corner at every round.")

    st.subheader("Numbers", anchor=False)
    # A static table: its headers and cells wrap (as a dataframe it was wider than the page)
    st.table(rc.numbers_table(results), hide_index=True)
    st.caption("Median over seeds, with the range in brackets. π_T: the policy in the last "
               "round. Mean exploitability, 2nd half: of π_t over the second half of the rounds. "
               "Time average: of the mean of π_1 … π_T. Laps: how many times π_t circled the "
               "uniform mix.")
    with st.expander("Per seed"):
        st.dataframe(rc.seed_table(results), hide_index=True, width="stretch")

    with st.container(border=True):
        st.markdown("##### What we claim, and what we measured")
        for finding in rc.findings(results):
            st.markdown(finding.markdown(rc.LEAD))

    st.download_button("Records (CSV)", data=rc.to_csv(results), file_name="rps-records.csv",
                       mime="text/csv", icon=":material/table:", key=f"{KEY}.csv",
                       on_click="ignore",
                       help="One row per learner, seed and recorded round: the current and "
                            "time-averaged policy, the average payoff, both exploitabilities and "
                            "the laps around the uniform mix.")


done = st.session_state.get(RESULT)
if done is None:
    st.info("Press **Run** to play both learners against the exploiting opponent on every "
            "seed.")
else:
    draw(done, settings)
