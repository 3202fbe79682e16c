# %% [markdown]
# # Exercise 3 · Entropy bonus: pay the policy to stay unsure
#
# A policy-gradient agent can become certain too early: once one action's probability is near
# 1 the other is almost never tried, its gradient vanishes, and the agent may never find out it
# was wrong. The entropy bonus adds β·H(π(·|s)) to the objective, so certainty has a price. The
# entropy H = −Σ_a π(a|s)·log π(a|s) is largest for a coin flip (ln 2 ≈ 0.69 with two actions)
# and 0 when one action is certain.
#
# Here the agent is A2C, an actor-critic that learns from 16 CartPoles at once: its advantage
# A_t comes from the critic, and its loss has three parts, the actor's, the critic's and the
# entropy bonus. You write the entropy and the whole loss; pgcore collects the experience,
# computes the advantages and the critic's targets, and lets autograd do the gradient.
#
# In the app this is the **Entropy bonus** page. Run the cells from the top; everything runs on
# your own machine.

# %%
import numpy as np
import torch  # noqa: F401 - for your code below
import torch.nn.functional as F  # noqa: F401 - for your code below

from pgcore import UpdateEnd, default_config, train
from pgcore.exercises import budget
from pgcore.exercises.agents import a2c_agent
from pgcore.exercises.checks import check
from pgcore.exercises.plots import reference_band, runs_chart, side_by_side

EPISODES = budget(500, quick=3)  # per run
SEEDS = (0, 1)
BETAS = (0.0, 0.01)

# %% [markdown]
# ## 1. The entropy of a softmax policy
#
# The policy network outputs one *logit* per action; π(·|s) = softmax(logits). Write
# `policy_entropy(logits)`: `logits` is a torch tensor of shape (B, A), one row per state;
# return the B entropies, a tensor of shape (B,), computed with torch so that the bonus can
# send a gradient back into the network. `F.softmax` and `F.log_softmax` along the last
# dimension give π and log π (more accurately than `torch.log` of the softmax).

# %% tags=["solution"]
def policy_entropy(logits):
    raise NotImplementedError

# %%
check(policy_entropy)

# %% [markdown]
# ## 2. The actor-critic loss with the bonus
#
# Write `actor_critic_loss(log_probs, advantages, values, targets, entropy, beta)`. The first
# five are tensors of B numbers: log π(a_t|s_t), the advantages A_t (constants), the critic's
# V(s_t), its targets R_t (constants) and the entropies H_t from your function; `beta` is a
# number. Return the loss as a 0-d tensor:
#
# L = −mean_t[ log π(a_t|s_t) · A_t ] + 0.5 · mean_t[ (V(s_t) − R_t)² ] − β · mean_t[ H_t ]
#
# Mind the sign of the last term: we *maximise* return + β·entropy, and the optimiser
# *minimises* L.

# %% tags=["solution"]
def actor_critic_loss(log_probs, advantages, values, targets, entropy, beta):
    raise NotImplementedError

# %%
check(actor_critic_loss)

# %% [markdown]
# ## 3. Train with β = 0 and β = 0.01
#
# pgcore's A2C defaults (16 environments, 8 steps each per update, a shared 64-unit trunk),
# the settings of the reference runs, with your entropy and loss. We also record the policy's
# mean entropy at every update. A run takes a minute or two.

# %%
results, entropies = {}, {}
for beta in BETAS:
    for seed in SEEDS:
        label = f"β = {beta:g}, seed {seed}"
        config = default_config("a2c", entropy_beta=beta, seed=seed, max_episodes=EPISODES)
        agent = a2c_agent(config, policy_entropy=policy_entropy,
                          actor_critic_loss=actor_critic_loss)
        seen = entropies[label] = []
        results[label] = result = train(
            config, agent=agent,
            on_event=lambda e, seen=seen: seen.append(e.stats["entropy"])
            if isinstance(e, UpdateEnd) else None)
        print(f"{label}: {result.episodes} episodes in {result.wall_seconds:.0f} s, average of "
              f"the last 100: {np.mean(result.episode_returns[-100:]):.0f}, final entropy "
              f"{np.mean(seen[-50:]):.2f}")

# %%
returns = runs_chart({label: r.episode_returns for label, r in results.items()},
                     reference_band("a2c"), title="A2C with your loss (band: β = 0)")
entropy = runs_chart(entropies, x_title="update", y_title="policy entropy (nats)", window=20,
                     title="The policy's mean entropy, per update")
side_by_side(returns, entropy)

# %% [markdown]
# ## 4. What to look for
#
# - How fast does the entropy fall with β = 0, and with β = 0.01? Where does each settle?
# - Does the bonus change how fast the return climbs, or how steady it is afterwards? Try a
#   bigger β, such as 0.05 or 0.1: at some point the bonus outweighs the return.
# - This is the exploration-exploitation trade-off of the multi-armed bandit again: which term
#   of your loss explores, and which one exploits?
