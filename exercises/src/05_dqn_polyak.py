# %% [markdown]
# # Exercise 5 · Hard copy or Polyak: let the target drift
#
# (The lesson's second DQN exercise.) A hard copy holds the target network still for C steps
# and then jumps it onto the online network. Polyak averaging moves it a little at *every*
# step instead:
#
# θ_target ← τ · θ_online + (1 − τ) · θ_target, with a small τ such as 0.005,
#
# so the target trails the online network smoothly, about 1/τ steps behind, and never jumps.
#
# You write the update; the notebook trains pgcore's DQN with it and compares that run with a
# hard copy every 1,000 steps. In the app this is the **Hard copy or Polyak** page. Everything
# runs on your own machine.

# %%
import numpy as np
import torch  # noqa: F401 - for your code below

from pgcore import UpdateEnd, preset, train
from pgcore.exercises import budget
from pgcore.exercises.agents import dqn_agent
from pgcore.exercises.checks import check
from pgcore.exercises.plots import reference_band, runs_chart, side_by_side

EPISODES = budget(400, quick=3)
SEED = 0

# %% [markdown]
# ## 1. The soft update
#
# Write `polyak_update(target_params, online_params, tau)`. The first two are lists of torch
# tensors of matching shapes, the target network's and the online network's weights, layer by
# layer. Change each target tensor **in place** (for example with `t.copy_(...)`, or
# `t.mul_(...)` then `t.add_(...)`), so the network holding it sees the new values; leave the
# online weights alone. Return nothing. pgcore calls it under `torch.no_grad()`. With τ = 1 it
# is a hard copy.

# %% tags=["solution"]
def polyak_update(target_params, online_params, tau):
    raise NotImplementedError

# %%
check(polyak_update)

# %% [markdown]
# ## 2. Train: Polyak with your update, against a hard copy
#
# The lesson's settings, one seed. The Polyak run updates its target with your function after
# every gradient step (τ = 0.005); the hard-copy run is pgcore's own (τ = 1 every 1,000 steps).
# We record the distance ‖θ_target − θ_online‖ at each update: it is 0 right after a hard
# copy.

# %%
RUNS = {"Polyak, τ = 0.005 (yours)": ("dqn-lesson-polyak", polyak_update),
        "hard copy every 1,000": ("dqn-lesson-c1000", None)}
results, distances = {}, {}
for label, (name, update) in RUNS.items():
    config = preset(name).replace(seed=SEED, max_episodes=EPISODES)
    d = distances[label] = []
    results[label] = result = train(
        config, agent=dqn_agent(config, polyak_update=update),
        on_event=lambda e, d=d: d.append(e.stats["target_distance"])
        if isinstance(e, UpdateEnd) else None)
    print(f"{label}: {result.episodes} episodes, {result.env_steps:,} env steps in "
          f"{result.wall_seconds:.0f} s; average of the last 100: "
          f"{np.mean(result.episode_returns[-100:]):.0f}; mean target distance "
          f"{np.mean(d) if d else float('nan'):.2f}")

# %%
returns = runs_chart({label: r.episode_returns for label, r in results.items()},
                     reference_band("dqn", by="steps"),
                     x={label: r.episode_env_steps for label, r in results.items()},
                     x_title="env steps",
                     band_title="our tuned Double DQN, 10 seeds: middle 80%, median dashed",
                     title="Polyak with your update against a hard copy")
distance = runs_chart(distances, x_title="gradient step", y_title="‖θ_target − θ_online‖",
                      window=1, title="How far the target trails the online network")
side_by_side(returns, distance)

# %% [markdown]
# ## 3. What to look for
#
# - The distance chart: a saw-tooth for the hard copy, a smooth curve for Polyak. Which hard-copy
#   period C keeps the target about as far behind as τ = 0.005 does? (The app's page measures
#   it.)
# - Is either run steadier? A target that never jumps changes the regression problem gently at
#   every step instead of all at once every C steps.
