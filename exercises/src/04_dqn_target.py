# %% [markdown]
# # Exercise 4 · Target network: a frozen copy against none
#
# (The lesson's first DQN exercise.) DQN regresses Q(s, a) toward a *target* built from its own
# estimate of the next state: y = r + γ · max_a' Q(s', a'). If that estimate comes from the very
# network being trained, every gradient step also moves the target it is chasing. DQN therefore
# keeps a second, *target* network, a copy of the online one refreshed only every C steps.
#
# You write the target y. Its check includes the case that trips most people: CartPole-v1 ends
# an episode in two ways. **terminated**: the pole fell, nothing follows, so y = r.
# **truncated**: the 500-step time limit stopped a pole that was still up; the future was cut
# off by the clock, not by the task, so the target still bootstraps from Q(s', ·).
#
# Then the notebook trains pgcore's DQN with your target twice: the target network refreshed
# every 1,000 steps (C = 1,000), and refreshed every step (C = 1, which is no target network
# at all). In the app this is the **Target network** page. Everything runs on your own machine.

# %%
import numpy as np

from pgcore import UpdateEnd, preset, train
from pgcore.exercises import budget
from pgcore.exercises.agents import dqn_agent
from pgcore.exercises.checks import check
from pgcore.exercises.plots import reference_band, runs_chart
from pgcore.labs.dqn_exercises import CEILING

EPISODES = budget(400, quick=3)  # the lesson's 400 episodes
SEED = 0

# %% [markdown]
# ## 1. The TD target
#
# Write `td_target(rewards, next_q, terminated, truncated, gamma)` for a minibatch of B
# transitions: `rewards` has shape (B,); `next_q` (B, A) holds the target network's
# Q(s', a') for every next action; `terminated` and `truncated` are arrays of 0.0 and 1.0,
# shape (B,). Return the B targets y = r + γ · (1 − terminated) · max_a' Q(s', a') as a numpy
# array. (`truncated` is there so you can decide what to do with it.)

# %% tags=["solution"]
def td_target(rewards, next_q, terminated, truncated, gamma):
    raise NotImplementedError

# %%
check(td_target)

# %% [markdown]
# ## 2. Train with C = 1,000 and with C = 1
#
# The lesson's settings (Adam 10⁻³, a replay buffer of 10,000, minibatches of 64, a gradient
# step every env step, the squared TD error, ε from 1 to 0.01 over 10,000 steps), one seed,
# your target. We also record the mean predicted Q of each minibatch. No CartPole state is worth
# more than about 99 with γ = 0.99 (500 rewards of 1, discounted). Each run takes a few minutes.
#
# pgcore's replay buffer stores a time-limit cut as not terminated, so during training
# `truncated` is always 0 here: only the check above tests how you treat it.

# %%
PRESETS = {"C = 1,000": "dqn-lesson-c1000", "C = 1 (no target network)": "dqn-lesson-c1"}
results, q_means = {}, {}
for label, name in PRESETS.items():
    config = preset(name).replace(seed=SEED, max_episodes=EPISODES)
    q = q_means[label] = []
    results[label] = result = train(
        config, agent=dqn_agent(config, td_target=td_target),
        on_event=lambda e, q=q: q.append(e.stats["q_mean"])
        if isinstance(e, UpdateEnd) else None)
    print(f"{label}: {result.episodes} episodes, {result.env_steps:,} env steps in "
          f"{result.wall_seconds:.0f} s; average of the last 100: "
          f"{np.mean(result.episode_returns[-100:]):.0f}; largest mean Q "
          f"{max(q, default=float('nan')):,.0f} (no state is worth more than {CEILING:.0f})")

# %%
runs_chart({label: r.episode_returns for label, r in results.items()},
           reference_band("dqn", by="steps"),
           x={label: r.episode_env_steps for label, r in results.items()}, x_title="env steps",
           band_title="our tuned Double DQN, 10 seeds: middle 80%, median dashed",
           title="DQN with your TD target")

# %% [markdown]
# ## 3. What to look for
#
# - Does the C = 1 run rise and then fall apart? Look at its largest mean Q next to the ~99
#   that any state can be worth: what does a target that moves with every step do to Q?
# - Where is the C = 1,000 run after 400 episodes? The grey band is our tuned Double DQN with
#   150,000 env steps, a fair idea of where DQN can get on CartPole.
# - Each refresh of the target lets the values look one more step ahead. How many refreshes
#   does a C = 1,000 run get in 400 episodes?
