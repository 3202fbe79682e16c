"""Value vs policy: the lesson's comparison table, every row checked against runs of DQN, A2C
and REINFORCE with a learned baseline on the same seeds and the same env-step budget."""

import streamlit as st

from pgcore import default_config
from pgcore.labs import value_policy as lab
from ui import experiment_controls as controls
from ui import links, style
from ui import value_policy as vp
from ui.charts.numbers import fmt
from ui.verdicts import evidence

KEY = "exp.value_policy"
RUNNERS, SIDES = lab.RUNNERS, lab.SIDES

st.title("Value vs policy", anchor=False)
st.caption("The lesson sets value-based learning (DQN) against policy-based learning "
           "(REINFORCE, A2C) in a five-row table. Here every row gets a number measured on "
           "CartPole-v1: our tuned defaults of all three, the same seeds, the same budget of "
           "environment steps, with the greedy policy evaluated on 10 separate episodes "
           "along the way.")

BUDGET = links.Param("budget", f"{KEY}.budget", lab.DEFAULT_BUDGET, links.choice(lab.BUDGETS),
                     "Env steps per run")

with st.container(border=True):
    link = links.PageLink(KEY)
    c1, c2 = st.columns(2)
    with c1:
        seeds = controls.seeds_ui(KEY, link=link)
    with c2:
        budget = int(links.widget(link, BUDGET, lambda c: st.select_slider(
            "Env steps per run", lab.BUDGETS, key=BUDGET.key, format_func=lambda v: f"{v:,}",
            disabled=c.locked,
            help=c.help("Every run stops after this many environment steps (no episode cap), "
                        "so the three algorithms get the same amount of experience."))))
    every, trace_every = lab.eval_interval(budget), lab.trace_interval(budget)
    st.caption(f"Greedy evaluation every {every:,} env steps ({lab.EVAL_EPISODES} episodes); "
               f"greedy-action flips on 256 fixed probe states traced every {trace_every:,}. "
               f"{len(seeds) * len(RUNNERS)} runs; DQN is the slow one per step (a gradient "
               f"step every {default_config('dqn').train_freq} env steps).")
    link.finish()

controls.controls_ui(KEY, lambda: lab.page_jobs(budget, seeds),
    what=f"{len(seeds) * len(RUNNERS)} runs ({len(seeds)} seeds x {len(RUNNERS)} algorithms)",
    trace_every=trace_every)


def draw(snap) -> None:
    controls.status_ui(snap)
    done, total = lab.step_progress(snap)
    st.caption(f"{done:,} of {total:,} env steps trained")
    n_actions = lab.action_count(snap.runs[0].config.env_id)
    budget = lab.snapshot_budget(snap)  # the runs' own, whatever the widget says now
    trace_every = lab.trace_interval(budget)
    figs = vp.figures(snap)
    found = vp.verdicts(snap, figs, SIDES, n_actions, trace_every, lab.eval_interval(budget))

    st.subheader("The lesson's table, measured", anchor=False)
    partial = evidence(snap, SIDES.order).partial_note()
    if partial:
        st.caption(f"{partial} Until then the numbers in the table are the runs' own so far, "
                   "and a queued run has none.")
    st.table(vp.comparison_table(snap, figs, SIDES, n_actions, trace_every, found),
             hide_index=True)
    for aspect, verdict in found.items():
        st.markdown(f"**{aspect.capitalize()}**: {verdict.measured()}")

    x_max = max(budget, 1)
    left, right = st.columns(2, gap="medium")
    style.chart(left, vp.curves_chart(
        vp.training_curves(snap, SIDES.order), SIDES.order,
        "Training returns (with exploration)", "100-episode average return", x_max),
        width="stretch")
    style.chart(right, vp.curves_chart(
        vp.eval_curves(snap, SIDES.order), SIDES.order,
        f"Greedy evaluation ({lab.EVAL_EPISODES} episodes)", "mean greedy return", x_max),
        width="stretch")
    st.caption("Left: what each algorithm scored while it trained, exploration included: DQN "
               "takes a random action on ε of its steps and the policy-gradient learners "
               "sample from π, so these returns understate every learned policy. Right: the "
               "same policies acting greedily (argmax of Q or of π) on separately seeded "
               "episodes. Lines: the mean across seeds; bands: ± 1 standard deviation.")
    style.chart(st, vp.curves_chart(
        vp.flip_curves(snap, SIDES.order, trace_every), SIDES.order,
        f"Greedy flips per {trace_every:,} env steps", "fraction of probe states flipped",
        x_max, y_domain=(0, 1), thresholds=False, height=360, y_type="sqrt",
        y_ticks=[0, 0.01, 0.05, 0.1, 0.25, 0.5, 1]),
        width="stretch")
    st.caption("The probe states are 256 states a random policy visits, the same for every "
               "run. A flip means the action the agent would pick greedily there changed. "
               "Net: the share of probe states whose greedy action differs from the previous "
               "trace point (the chart). Summed update by update: the same, counted after "
               "every update and added up; far above the net, it means actions flip and flip "
               "back. "
               f"Averages in the table leave out the first {lab.WARMUP:.0%} of the budget, "
               "while the networks are still close to their random start. Seconds are each "
               "run's own training clock (evaluations excluded); runs share this machine's "
               "cores, so they are rougher than env steps.")

    with st.expander("All measurements (median [min–max] across seeds)"):
        st.dataframe(vp.measurements_table(figs, SIDES, trace_every), hide_index=True,
                     width="stretch")
        st.dataframe(figs, hide_index=True, width="stretch")
        st.caption("A threshold counts from the first greedy evaluation at or above it (one "
                   "lucky evaluation is enough: the “two in a row” rows are stricter), or "
                   "from the first full 100-episode training window averaging at least it. "
                   "Medians are over the seeds that got there within the "
                   f"{fmt(budget)}-step budget; the others are counted as missing. Largest "
                   "fall: the biggest drop of the training average below its best so far.")
    d1, d2 = st.columns(2)
    with d1:
        controls.download_ui(KEY, snap, "value-vs-policy")
    d2.download_button("Measurements (CSV)", data=figs.to_csv(index=False).encode(),
                       file_name="value-vs-policy-measurements.csv", mime="text/csv",
                       icon=":material/table:", key=f"{KEY}.figures_csv", on_click="ignore",
                       disabled=not len(figs),
                       help="One row per run: every measured number of the tables above.")


controls.live_ui(KEY, draw, "Press **Start** to train DQN, A2C and REINFORCE + baseline on "
                            "every seed. The table and charts fill in live.")
