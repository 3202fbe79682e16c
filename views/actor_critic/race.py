"""Algorithm race: REINFORCE, REINFORCE with a baseline, actor-critic, A2C and PPO on the
same seed.
Who reaches the 475 finish line first, counted in environment steps and in seconds?"""

import pandas as pd
import streamlit as st

from pgcore import default_config
from pgcore.execution.experiments import Job
from ui import experiment_controls as controls
from ui import links
from ui.charts.experiments import race_data, race_spec
from ui.charts.numbers import fmt
from ui.experiment_reference import reference_bands, reference_caption, reference_groups
from ui.experiment_summary import job_label

KEY = "exp.race"
RUNNERS = {"REINFORCE": ("reinforce", "none"), "REINFORCE + baseline": ("reinforce", "value"),
           "actor-critic": ("actor-critic", None), "A2C": ("a2c", None), "PPO": ("ppo", None)}
ORDER = list(RUNNERS)

st.title("Algorithm race", anchor=False)
st.caption("Five algorithms, our tuned defaults, the same seed. The finish line is CartPole-v1's "
           "criterion: a 100-episode average return of 475.")

SEED = links.Param("seed", f"{KEY}.seed", 0, links.whole(0, 10_000), "Seed")

with st.container(border=True):
    link = links.PageLink(KEY)
    c1, c2, c3 = st.columns(3)
    seed = int(links.widget(link, SEED, lambda c: c1.number_input(
        "Seed", 0, 10_000, key=SEED.key, disabled=c.locked, help=c.help(None))))
    with c2:
        episodes = controls.episodes_ui(KEY, link=link)
    with c3:
        window = controls.smoothing_ui(KEY, link=link)
        show_reference = controls.reference_ui(KEY, link=link)
    link.finish()

controls.controls_ui(KEY, lambda: [
    Job(name, default_config(algo, baseline, seed=seed, max_episodes=episodes))
    for name, (algo, baseline) in RUNNERS.items()], what="five runs", frame_every=0.5)


def draw(snap) -> None:
    controls.status_ui(snap)
    if snap.active:  # small live views of each runner's first environment
        cols = st.columns(len(snap.runs))
        for col, r in zip(cols, snap.runs, strict=True):
            if r.frame is not None:
                rgb, episode, step = r.frame
                col.image(rgb, caption=f"{r.label}: episode {episode:,}, step {step}",
                          width="stretch")
            else:
                what = {"waiting": "waiting to start",
                        "starting": "starting"}.get(r.state, r.state)
                col.caption(f"{r.label}: {what}")
    groups = [group for _, group in reference_groups(snap)] if show_reference else []

    def steps():
        reference = (reference_bands(snap, window, x="env_steps", group_column="algorithm")[0]
                     if show_reference else None)
        return race_spec(race_data(snap, window), "env_steps", "environment steps", ORDER,
                         reference=reference)

    def seconds():
        return race_spec(race_data(snap, window), "seconds",
                         "training seconds (each run's own clock)", ORDER)

    left, right = st.columns(2, gap="medium")
    controls.chart_ui(left, snap, (KEY, "steps", window, show_reference), steps)
    controls.chart_ui(right, snap, (KEY, "seconds", window), seconds)
    rows = []
    for r in snap.runs:
        s = r.summary()
        rows.append({"algorithm": r.label, "state": job_label(r.state),
                     "episodes": r.episodes,
                     "episodes to 475": fmt(s["episodes_to_475"]),
                     "env steps to 475": fmt(s["steps_to_475"]),
                     "seconds to 475": fmt(s["seconds_to_475"], ",.1f"),
                     "last 100 average": fmt(s["final_avg100"], ".1f")})
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    st.caption("The five runs train at the same time, taking turns on this server's cores, "
               "so seconds are each run's own training time. Env steps are the fairer "
               "yardstick of how much experience each algorithm needs."
               + (" " + reference_caption(groups, window, x="env_steps") +
                  " Seconds depend on the machine, so that chart has no bands."
                  if groups else ""))
    controls.download_ui(KEY, snap, f"race-seed{seed}")


controls.live_ui(KEY, draw, "Press **Start** to start the race.")
