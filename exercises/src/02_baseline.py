# %% [markdown]
# # Exercise 2 · Baseline vs none: subtract a learned V(s)
#
# Plain REINFORCE weights log π(a_t|s_t) by the whole return G_t. In CartPole every return is
# positive, so every action taken is pushed up, the good ones only a little more than the bad
# ones, and the difference is buried in noise. A *baseline* fixes that: weight each action by
# how much better than usual its return was, G_t − V(s_t), where V(s) is a second network (the
# critic) that learns the return to expect from s.
#
# Subtracting something that does not depend on the action leaves the gradient's expectation
# unchanged (the expected value of ∇ log π is zero), but it can shrink its variance a lot.
# This notebook measures how much.
#
# In the app this is the **Baseline vs none** page. Run the cells from the top; everything runs
# on your own machine.

# %%
import numpy as np
import torch  # noqa: F401 - for your code below

from pgcore import default_config, train
from pgcore.exercises import budget
from pgcore.exercises.agents import reinforce_agent
from pgcore.exercises.checks import check
from pgcore.exercises.plots import reference_band, runs_chart, side_by_side
from pgcore.training.metrics import summarize

EPISODES = budget(1000, quick=3)  # per run
SEEDS = (0, 1, 2)

# %% [markdown]
# ## 1. Two losses: the actor's and the critic's
#
# Write `value_baseline_loss(log_probs, returns, values)`. All three are torch tensors of T
# numbers: log π(a_t|s_t) (with the policy's gradient), the returns G_t (constants), and the
# critic's V(s_t) (with the critic's gradient). Return a pair `(policy_loss, value_loss)`:
#
# - `policy_loss` = −mean_t[ log π(a_t|s_t) · (G_t − V(s_t)) ]. The advantage G_t − V(s_t) is a
#   fixed weight here: the actor's loss must not move the critic, so use `values.detach()`
#   inside it.
# - `value_loss` = mean_t[ (V(s_t) − G_t)² ]: the critic learns to predict the return.
#
# pgcore adds them, the critic's weighted by 0.5 (the config's `value_coef`), and takes one
# gradient step for both networks.

# %% tags=["solution"]
def value_baseline_loss(log_probs, returns, values):
    raise NotImplementedError

# %%
check(value_baseline_loss)

# %% [markdown]
# ## 2. Train both versions on the same seeds
#
# The runs without a baseline are pgcore's own plain REINFORCE; the runs with one use your loss.
# Same network, same Adam (the critic's at 10⁻²), same seeds, the settings of the reference runs.

# %%
results = {"no baseline": {}, "value baseline": {}}
for seed in SEEDS:
    plain = default_config("reinforce", "none", seed=seed, max_episodes=EPISODES)
    results["no baseline"][seed] = train(plain, agent=reinforce_agent(plain))  # pgcore's maths
    config = default_config("reinforce", "value", seed=seed, max_episodes=EPISODES)
    agent = reinforce_agent(config, value_baseline_loss=value_baseline_loss)
    results["value baseline"][seed] = train(config, agent=agent)

for name, runs in results.items():
    for seed, r in runs.items():
        s = summarize(r.history)
        reached = s["episodes_to_195"] or "not reached"
        print(f"{name:>14}, seed {seed}: first 100-episode average ≥ 195 at episode {reached}; "
              f"last 100: {np.mean(r.episode_returns[-100:]):.0f}")

# %%
no_baseline = runs_chart({f"seed {s}": r.episode_returns
                          for s, r in results["no baseline"].items()},
                         reference_band("reinforce/none"), title="No baseline")
with_baseline = runs_chart({f"seed {s}": r.episode_returns
                            for s, r in results["value baseline"].items()},
                           reference_band("reinforce/value"), title="Your value baseline")
side_by_side(no_baseline, with_baseline)

# %% [markdown]
# ## 3. What to look for
#
# - Roughly how many episodes does each version need to first reach a 100-episode average of
#   195? How much do the three seeds of each version disagree about it?
# - Compare the wobble of the curves once they are high. Which one holds its level?
# - Why can subtracting V(s_t) not bias the gradient, while subtracting something that depends
#   on the action a_t could?
