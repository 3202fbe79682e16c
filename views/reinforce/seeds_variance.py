"""Seeds & variance (the lesson's exercise 1): how different are runs that differ only in
their seed? Plain REINFORCE against DQN, as the lesson sets it (our default DQN, or the
lesson's settings), or against A2C, on the same seeds and the same episode budget."""

import pandas as pd
import streamlit as st

from pgcore import default_config
from pgcore.execution.experiments import grid
from pgcore.labs.dqn_exercises import seed_major
from pgcore.labs.stats import seed_spread
from pgcore.training.config import preset
from ui import experiment_controls as controls
from ui import links
from ui.charts.experiments import seed_curves, seeds_band_spec, x_max_of
from ui.charts.numbers import fmt
from ui.exercises import download_button
from ui.experiment_reference import (
    reference_bands,
    reference_caption,
    reference_groups,
    typical_core_seconds,
    typical_verdict,
)
from ui.experiment_summary import (
    runs_verdict,
    spread_claim,
    spread_measure,
    spread_of,
    spread_row,
    threshold_rows,
    wall_time_text,
)
from ui.reference import reference_spread
from ui.state import server_cores
from ui.verdicts import evidence

KEY = "exp.seeds"
REINFORCE = "REINFORCE, no baseline"
DQN, DQN_LESSON, A2C = "DQN, our default", "DQN, the lesson's settings", "A2C"
# What plain REINFORCE is compared with (its name in links, its label, its config for an
# episode budget): DQN first, as the lesson asks; our DQN gets the page's episode budget
# instead of its default env steps.
RIVALS = {"dqn": (DQN, lambda n: default_config("dqn", max_episodes=n, max_steps=None)),
          "dqn-lesson": (DQN_LESSON, lambda n: preset("dqn-lesson-c1000", max_episodes=n)),
          "a2c": (A2C, lambda n: default_config("a2c", max_episodes=n))}
# The rivals the lesson's claim is about (it names DQN); with A2C the page says so.
LESSONS_CONTRAST = (DQN, DQN_LESSON)
# Env steps per second per core of each setting's runs, rounded down: REINFORCE ~12k and A2C
# ~49k alone (docs/performance.md); our DQN 1,540 (its 1,000-episode reference runs, before
# the machine got busy); the lesson's DQN 1,500 (bench_pages, as on the DQN pages). Rough, for
# the time estimate only.
STEPS_PER_SECOND = {REINFORCE: 8000.0, DQN: 1500.0, DQN_LESSON: 1500.0, A2C: 20000.0}
RIVAL = links.Param("rival", f"{KEY}.rival", "dqn", links.choice(list(RIVALS)),
                    "Compare with")

st.title("Seeds & variance", anchor=False)
st.caption("Exercise 1. The same algorithm, the same settings, only the random seed changes: "
           "how far apart do the learning curves land? The lesson trains plain REINFORCE on "
           "three seeds and sets it beside three runs of its DQN agent from the episode "
           "before. Each seed is a thin line; the bold line is their mean, with a band of "
           "± 1 standard deviation across seeds.")
download_button(1)  # this exercise's notebook (ui/exercises.py)

with st.container(border=True):
    link = links.PageLink(KEY)
    c1, c2, c3 = st.columns(3)
    with c1:
        rival = links.widget(link, RIVAL, lambda c: st.radio(
            "Compare plain REINFORCE with", list(RIVALS), key=RIVAL.key, disabled=c.locked,
            format_func=lambda name: RIVALS[name][0],
            help=c.help("DQN is the lesson's contrast: our tuned default, or the lesson's own "
                        "settings (a hard target copy every 1,000 steps). A2C adds a critic "
                        "to the policy gradient, the lesson's own cure for REINFORCE's "
                        "variance.")))
    with c2:
        seeds = controls.seeds_ui(KEY, link=link)
        episodes = controls.episodes_ui(KEY, link=link)
    with c3:
        window = controls.smoothing_ui(KEY, default=100, link=link)
        show_reference = controls.reference_ui(KEY, link=link)
    rival_label, rival_config = RIVALS[rival]
    configs = {REINFORCE: default_config("reinforce", "none", max_episodes=episodes),
               rival_label: rival_config(episodes)}
    work = [typical_core_seconds(cfg, episodes, STEPS_PER_SECOND[label])
            for label, cfg in configs.items()]
    n_runs = len(seeds) * len(configs)
    if None not in work:
        dqn = (" DQN's cost the most: it learns on every step or two, and its good episodes "
               "are long." if rival_label in LESSONS_CONTRAST else "")
        st.caption(f"{n_runs} runs take {wall_time_text(len(seeds) * sum(work), server_cores())}"
                   f", judging by the reference runs' episode lengths.{dqn} You can switch "
                   "pages meanwhile.")
    link.finish()

controls.controls_ui(KEY, lambda: seed_major(grid(configs, seeds)),
                     what=f"{n_runs} runs ({len(seeds)} seeds x 2 algorithms)")


def draw(snap) -> None:
    controls.status_ui(snap)
    x_max = x_max_of(snap)
    labels = list(snap.labels)
    spreads = controls.per_snapshot(snap, (KEY, "spreads"),
                                    lambda: {label: spread_of(snap, label) for label in labels})
    seed_rows = controls.per_snapshot(snap, (KEY, "per seed"), lambda: threshold_rows(snap))
    cols = st.columns(2, gap="medium")
    drawn = []
    for col, label in zip(cols, labels, strict=False):
        with col:
            if show_reference:
                drawn += [group for _, group in reference_groups(snap, [label])]

            def returns(label=label):
                seeds_df, band = seed_curves(snap, label, "return", window)
                reference = (reference_bands(snap, window, labels=[label])[0]
                             if show_reference else None)
                return seeds_band_spec(seeds_df, band, x_max, label, reference=reference)

            controls.chart_ui(st, snap, (KEY, "returns", label, window, show_reference),
                              returns)
            spread = spreads[label]
            m1, m2 = st.columns(2)
            m1.metric("Spread over the run", fmt(spread.run_std, ".1f"),
                      help="The standard deviation across seeds of the 100-episode average "
                           "(the lesson's), averaged over all episodes: the average "
                           "half-width of the band when the smoothing is 100.")
            m2.metric("Spread at the end", fmt(spread.final_std, ".1f"),
                      help="The standard deviation across seeds of each seed's mean return "
                           "over its last 100 episodes.")
    ev = evidence(snap, labels)
    rows = [spread_row(label, spreads[label]) for label in labels]
    if show_reference:
        rows += [spread_row(f"typical: {label}", reference_spread(group.label))
                 for label, group in reference_groups(snap, labels)]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    with st.expander("Per seed"):
        st.dataframe(seed_rows, hide_index=True, width="stretch")
    partial = ev.partial_note()
    st.caption((f"{partial} " if partial else "")
               + "Every setting measured the same way, on the 100-episode average: its spread "
               "across seeds over the run and at the end (standard deviations, in return "
               "units), the range of the seeds' final averages, and the episode at which each "
               "seed's average first reached 195 (CartPole-v0's criterion, the one the lesson "
               "quotes) and 475 (CartPole-v1's): median [range] over the seeds that got "
               "there. REINFORCE here uses raw returns, no baseline at all."
               + (" Rows marked *typical*: the reference runs shipped with the app (other "
                  "seeds, 1,000 episodes each)." if show_reference else ""))
    if drawn:
        st.caption(reference_caption(drawn, window))
    with st.container(border=True):
        st.markdown("##### What the lesson says, and what we measured")
        claim = spread_claim(None if labels[-1] in LESSONS_CONTRAST else labels[-1])
        st.markdown(f"**The lesson:** {claim}")

        def measure(high, low):
            return spread_measure(high, low, names=(labels[0], labels[1]))

        typical = (typical_verdict(snap, labels, claim, measure,
                                   of=lambda g: reference_spread(g.label))
                   if show_reference and len(labels) == 2 else None)
        if typical is not None:
            st.markdown(f"**Typical result:** {typical.measured()}")
        yours = runs_verdict(snap, labels, claim, measure,
                             of=lambda runs: seed_spread([r.returns for r in runs]))
        st.markdown(f"**Your runs:** {yours.measured()}")
    controls.download_ui(KEY, snap, "seeds-and-variance")


controls.live_ui(
    KEY, draw, "Press **Start** to train both algorithms on every seed. The curves fill "
    "in live; you can change pages meanwhile.")
