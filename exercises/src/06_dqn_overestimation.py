# %% [markdown]
# # Exercise 6 · Overestimation: plain against Double DQN
#
# (The lesson's third DQN exercise.) DQN's target takes the max over next actions of noisy
# estimates, and the max of noisy numbers is biased upward: whichever action happens to be
# overestimated wins. Double DQN splits the job in two. The online network *chooses* the next
# action, a' = argmax_a' Q_online(s', a'), and the target network *values* it,
# y = r + γ · (1 − terminated) · Q_target(s', a'). An error that made the online network pick
# a' is unlikely to be repeated by the target network, so the upward bias mostly cancels.
#
# You write the Double DQN target. The notebook then trains plain DQN and Double DQN (with your
# target) and, every few episodes, plays greedy episodes to compare what the agent *predicted*
# for the start state, max_a Q(s_0, a), with the discounted return it then actually collected.
# The gap between the two is the overestimation. In the app this is the **Overestimation**
# page. Everything runs on your own machine.

# %%
import numpy as np

from pgcore import preset, train
from pgcore.exercises import budget
from pgcore.exercises.agents import dqn_agent
from pgcore.exercises.checks import check
from pgcore.exercises.plots import reference_band, runs_chart, side_by_side

EPISODES = budget(400, quick=3)
EVERY = budget(20, quick=1)  # training episodes between greedy evaluations
SEED = 0

# %% [markdown]
# ## 1. The Double DQN target
#
# Write `double_dqn_target(rewards, next_q_online, next_q_target, terminated, gamma)` for a
# minibatch of B transitions: `rewards` (B,), the online network's Q(s', ·) and the target
# network's Q(s', ·), both (B, A), and `terminated`, 0.0 or 1.0 per transition (B,). Return the
# B targets as a numpy array. `np.take_along_axis`, or indexing with
# `[np.arange(B), actions]`, picks one entry per row.

# %% tags=["solution"]
def double_dqn_target(rewards, next_q_online, next_q_target, terminated, gamma):
    raise NotImplementedError

# %%
check(double_dqn_target)

# %% [markdown]
# ## 2. Train plain and Double DQN, measuring as they go
#
# The lesson's settings with a target copy every 1,000 steps, one seed. Every `EVERY` training
# episodes the run pauses to play 3 greedy episodes on a separate environment (this does not
# change what it learns) and records the predicted start value and the discounted return.

# %%
RUNS = {"plain DQN": ("dqn-lesson-c1000", None),
        "Double DQN (yours)": ("dqn-lesson-c1000-double", double_dqn_target)}
results, measured = {}, {}
for label, (name, target) in RUNS.items():
    config = preset(name).replace(seed=SEED, max_episodes=EPISODES,
                                  eval_every_episodes=EVERY, eval_episodes=3)
    results[label] = result = train(config, agent=dqn_agent(config, double_dqn_target=target))
    evals = result.evaluations
    measured[f"{label}: predicted"] = [np.mean(e.start_values) for e in evals]
    measured[f"{label}: collected"] = [np.mean(e.discounted_returns) for e in evals]
    gap = [p - c for p, c in zip(measured[f"{label}: predicted"],
                                 measured[f"{label}: collected"], strict=True)]
    half = gap[len(gap) // 2:]
    print(f"{label}: {result.episodes} episodes in {result.wall_seconds:.0f} s; "
          f"predicted minus collected over the second half: "
          f"{np.mean(half) if half else float('nan'):+.1f}")

# %%
steps = {f"{label}: {what}": [e.env_steps for e in r.evaluations]
         for label, r in results.items() for what in ("predicted", "collected")}
values = runs_chart(measured, x=steps, x_title="env steps", window=1,
                    y_title="start state: predicted Q and collected return",
                    title="Predicted against collected, greedy episodes")
returns = runs_chart({label: r.episode_returns for label, r in results.items()},
                     reference_band("dqn", by="steps"),
                     x={label: r.episode_env_steps for label, r in results.items()},
                     x_title="env steps",
                     band_title="our tuned Double DQN, 10 seeds: middle 80%, median dashed",
                     title="Training returns")
side_by_side(values, returns)

# %% [markdown]
# ## 3. What to look for
#
# - Is plain DQN's predicted value above what it collects? By how much, and when? Is Double
#   DQN's closer?
# - While Q is still rising toward the true values, both can *under*estimate. Overestimation
#   shows most when the target moves fast: try the presets `dqn-lesson-c1` and
#   `dqn-lesson-c1-double`, or `dqn-lesson-polyak` and `dqn-lesson-polyak-double`.
