# %% [markdown]
# # Exercise 1 · Seeds & variance: plain REINFORCE, three seeds
#
# REINFORCE learns a policy straight from finished episodes: after each episode it makes every
# action it took more likely in proportion to the return that followed it. No baseline, no
# critic, nothing subtracted. That is an honest estimate of the policy gradient, but a very
# noisy one, and noise is what this exercise is about.
#
# You write the two pieces of maths REINFORCE stands on. Each gets a check that runs your
# function on a few small, fixed inputs, compares it with pgcore's own code and, if they
# disagree, tells you the most likely mistake. Then the notebook trains REINFORCE on
# CartPole-v1 with **your** functions on three seeds and draws the three curves over a grey
# band: where the middle 80% of 10 reference runs of the same settings were.
#
# In the app this is the **Seeds & variance** page. Run the cells from the top
# (Shift+Enter). Everything runs on your own machine.

# %%
import numpy as np
import torch  # noqa: F401 - for your code below

from pgcore import default_config, train
from pgcore.exercises import budget
from pgcore.exercises.agents import reinforce_agent
from pgcore.exercises.checks import check
from pgcore.exercises.plots import reference_band, runs_chart

EPISODES = budget(1000, quick=3)  # per seed; the lesson trains for 1,000 episodes
SEEDS = (0, 1, 2)

# %% [markdown]
# ## 1. The return that follows each step
#
# An episode gives you its rewards r_0, r_1, ..., r_(T-1). The weight of step t is the
# discounted sum of the rewards from t to the end, the *reward-to-go*:
#
# G_t = r_t + γ·r_(t+1) + γ²·r_(t+2) + ... = r_t + γ·G_(t+1), with G_T = 0 after the last step.
#
# The second form gives a single pass from the end of the episode backwards. Write
# `discounted_returns(rewards, gamma)`: it takes a list (or array) of T rewards and returns a
# numpy array of T returns, G_0 first. For rewards [1, 1, 1] and γ = 0.5 you should get
# [1.75, 1.5, 1].

# %% tags=["solution"]
def discounted_returns(rewards, gamma):
    raise NotImplementedError

# %%
check(discounted_returns)

# %% [markdown]
# ## 2. The loss whose gradient is the policy gradient
#
# The policy gradient theorem says the gradient of the expected return is the average of
# ∇ log π(a_t|s_t) · G_t. Autograd computes gradients of a loss that we *minimise*, so we hand
# it the negative: L = −mean_t[ log π(a_t|s_t) · G_t ]. Lowering L raises the log-probability of
# each action in proportion to its return.
#
# Write `reinforce_loss(log_probs, returns)`: `log_probs` is a torch tensor of the T actions'
# log π(a_t|s_t) (it carries the policy's gradient) and `returns` a tensor of the T returns
# G_t. Return one number, a 0-d torch tensor: the mean over the steps (the lesson sums instead;
# the mean keeps a step's size independent of the episode's length).

# %% tags=["solution"]
def reinforce_loss(log_probs, returns):
    raise NotImplementedError

# %%
check(reinforce_loss)

# %% [markdown]
# ## 3. Train with your functions, three seeds
#
# The agent is pgcore's REINFORCE with our tuned network (two hidden layers of 128, tanh, Adam at
# 10⁻³) and γ = 0.99, exactly the settings of the reference runs; only its returns and its
# loss are yours. Each seed takes a minute or two on a laptop.

# %%
results = {}
for seed in SEEDS:
    config = default_config("reinforce", "none", seed=seed, max_episodes=EPISODES)
    agent = reinforce_agent(config, discounted_returns=discounted_returns,
                            reinforce_loss=reinforce_loss)
    results[f"seed {seed}"] = result = train(config, agent=agent)
    last = np.mean(result.episode_returns[-100:])
    print(f"seed {seed}: {result.episodes} episodes in {result.wall_seconds:.0f} s, "
          f"average of the last 100: {last:.0f}")

# %%
runs_chart({label: r.episode_returns for label, r in results.items()},
           reference_band("reinforce/none"),
           title="Plain REINFORCE with your returns and loss")

# %% [markdown]
# ## 4. What to look for
#
# - How far apart are your three curves at episode 300, and at the end? Do they stay inside
#   the grey band, and how wide is the band itself?
# - Does a seed ever climb to 500 and then fall back? Why might a method that weights every
#   action by one noisy episode's return do that?
# - DQN learns from a replay buffer and one-step targets instead. Would you expect three DQN
#   seeds to lie closer together? The app's **Seeds & variance** page runs both, so you can
#   measure it rather than guess.
