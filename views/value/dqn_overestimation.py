"""Overestimation (the lesson's DQN exercise 3): plain DQN against Double DQN. Every 20
training episodes the greedy agent plays 5 episodes from seeded start states; we compare what
it predicted for each start state with the discounted return it then collected."""

import streamlit as st

from pgcore.execution.experiments import grid
from pgcore.labs import dqn_exercises as lab
from pgcore.training.config import preset
from ui import dqn_exercises as dq
from ui import experiment_controls as controls
from ui import links, style
from ui.charts.experiments import x_max_of
from ui.charts.numbers import counted, fmt, range_text
from ui.exercises import download_button
from ui.state import server_cores
from ui.verdicts import evidence

KEY = "exp.dqn_over"
PLAIN, DOUBLE = "plain DQN", "Double DQN"
PRESETS = {PLAIN: "dqn-lesson-c1000", DOUBLE: "dqn-lesson-c1000-double"}
EVAL_EVERY, EVAL_EPISODES = 20, 5

st.title("Overestimation", anchor=False)
st.caption("Plain DQN's target takes the max over the target network's noisy Q estimates, and "
           "a max of noisy numbers is biased upwards. Double DQN lets the online network pick "
           "the next action and the target network value it, which removes most of that "
           f"bias. Every {EVAL_EVERY} training episodes each agent plays {EVAL_EPISODES} greedy "
           "episodes from fixed start states: red is what it predicted those starts are worth "
           "(max over a of Q(s₀, a)), blue the discounted return it really collected. The gap "
           "is the bias.")
download_button(6)  # this exercise's notebook (ui/exercises.py)

SPAN = links.Param("span", f"{KEY}.span", dq.SPANS[0], links.choice(dq.SPANS), "Bias over")

with st.container(border=True):
    link = links.PageLink(KEY)
    c1, c2, c3 = st.columns(3)
    with c1:
        seeds = controls.seeds_ui(KEY, link=link)
    with c2:
        episodes = controls.episodes_ui(KEY, default=400, link=link)
    with c3:
        span = links.widget(link, SPAN, lambda c: st.radio(
            "Bias over", dq.SPANS, key=SPAN.key, disabled=c.locked,
            help=c.help("Which evaluations the bias numbers average: those after half the "
                        "episode budget (once Q has had time to grow), or all.")))
    n_runs = len(seeds) * len(PRESETS)
    st.caption(f"Both settings learn on every environment step: {n_runs} runs take "
               f"{dq.duration_text(n_runs, episodes, server_cores())} (longer "
               "when the agents learn well). You can switch pages meanwhile.")
    link.finish()

controls.controls_ui(KEY, lambda: lab.seed_major(grid({
    label: preset(name, max_episodes=episodes, eval_every_episodes=EVAL_EVERY,
                  eval_episodes=EVAL_EPISODES) for label, name in PRESETS.items()}, seeds)),
    what=f"{n_runs} runs ({len(seeds)} seeds x 2 settings)")


def draw(snap) -> None:
    controls.status_ui(snap)
    x_max = x_max_of(snap)
    evals = {label: dq.eval_frame(snap, label) for label in snap.labels}
    top = max((float(e[["predicted", "collected"]].max().max()) for e in evals.values()
               if len(e)), default=0.0)
    cols = st.columns(len(evals), gap="medium")
    for col, (label, frame) in zip(cols, evals.items(), strict=True):
        style.chart(col, dq.eval_chart(frame, x_max, label, y_max=top), width="stretch")
    if not any(len(e) for e in evals.values()):
        st.caption(f"The first evaluation comes after {EVAL_EVERY} training episodes.")
        controls.download_ui(KEY, snap, "dqn-overestimation")
        return
    if any(dq.early_underestimate(e) for e in evals.values()):
        st.caption("Early on the red line can sit *below* the blue one: Q starts near 0 and "
                   "grows by bootstrapping, one frozen target at a time, so at first it "
                   "underestimates even returns as short as a random policy's. Overestimation "
                   "is about the level Q settles at, which is why the numbers below can be "
                   "restricted to the second half of training.")

    budget = max(r.config.max_episodes or 0 for r in snap.runs)
    nums = {label: dq.bias_numbers(dq.in_span(e, span, budget)) for label, e in evals.items()}
    diff = dq.bias_difference(nums[PLAIN], nums[DOUBLE])
    st.subheader(f"Bias over the {span}", anchor=False)
    st.dataframe(dq.bias_table({PLAIN: nums[PLAIN], DOUBLE: nums[DOUBLE],
                                "Double minus plain (paired by seed)": {"bias": diff}}),
                 hide_index=True, width="stretch")
    n = diff["n"]
    ev = evidence(snap, [PLAIN, DOUBLE])
    st.caption((f"{ev.partial_note()} " if not ev.complete else "")
               + "Bias: per seed, the mean of (predicted − collected) over its evaluations in "
               "the span; then the mean of those per-seed numbers with a 95% t-interval across "
               f"seeds ({counted(n, 'seed')})."
               + (" With 2 seeds the t-interval is very wide (its multiplier is 12.7)."
                  if n == 2 else "")
               + f" A perfect agent shows a bias of about +{100 - lab.CEILING:.1f}: its Q "
               "counts on beyond the 500-step limit, the collected return stops there.")

    with st.container(border=True):
        st.markdown("##### What the lesson says, and what we measured")
        for claim in (dq.float_claim(nums[PLAIN], span, ev),
                      dq.hug_claim(nums[PLAIN], nums[DOUBLE], diff, span, ev)):
            st.markdown(claim.markdown())
        plain_bias = nums[PLAIN]["bias"]["mean"]
        copies = lab.copies_numbers(snap, PLAIN)
        if (ev.complete and plain_bias is not None and plain_bias < 0
                and copies["copies"]["median"] is not None):
            st.caption(
                "Why it can sit below: with a hard copy every 1,000 steps each copy adds one "
                "step of look-ahead to Q, and after K copies Q can be worth at most about "
                "(1 − γᴷ⁺¹)/(1 − γ). The plain runs made "
                f"{range_text(copies['copies'])} copies so far, which allows about "
                f"{fmt(copies['allowed'], '.0f')}, while the greedy agent collects "
                f"{fmt(nums[PLAIN]['collected'], '.0f')} on average: Q has not caught up "
                "with the policy yet, and an upward bias can only show once it has. More "
                "episodes give it more copies.")
    st.download_button("Evaluations (CSV)", data=lambda: snap.evals_csv(),
                       file_name="dqn-overestimation-evals.csv", mime="text/csv",
                       icon=":material/table:", key=f"{KEY}.evals_csv", on_click="ignore",
                       help="One row per greedy evaluation: label, seed, env steps, episodes, "
                            "return, predicted start value, discounted return collected.")
    controls.download_ui(KEY, snap, "dqn-overestimation")


controls.live_ui(
    KEY, draw, "Press **Start** to train plain and Double DQN on every seed. Each chart "
    "gains a point every 20 training episodes.")
