"""REINFORCE (Williams, 1992): Monte Carlo policy gradient, one update per finished episode.

Loss, for one episode of T steps (minimising it is gradient *ascent* on J)::

    L = - reduce_t[ log pi(a_t|s_t) * A_t ]  -  beta * reduce_t[ H(pi(.|s_t)) ]
        + value_coef * mean_t[ (V(s_t) - G_t)^2 ]                 (value baseline only)

with the advantage ``A_t`` chosen by ``config.baseline``:

* ``none``:      A_t = G_t                         (the policy gradient theorem as stated)
* ``normalize``: A_t = (G_t - mean G) / std G       (per episode; the lesson's variance fix)
* ``value``:     A_t = G_t - V(s_t), V detached     (a learned baseline: no bias, less noise)
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..rl.collect import Episode
from ..rl.returns import discounted_returns, normalize
from ..training.fields import Field, one_of
from .base import Algorithm, Preset
from .common import (
    POLICY_GRADIENT_FIELDS,
    Agent,
    Loss,
    Stats,
    advantage_stats,
    policy_gradient_panels,
    reduce,
)

# ----- config ---------------------------------------------------------------------------------

BASELINES = ("none", "normalize", "value")
BASELINE = Field(
    "baseline", "value",
    "REINFORCE only: ``none`` (raw returns G_t), ``normalize`` (returns standardised per "
    "episode) or ``value`` (a learned V(s); advantage G_t - V(s_t) with V detached).",
    one_of(BASELINES, style="unknown"), label="Baseline", widget="radio", options=BASELINES,
    option_labels=("none (raw returns)", "normalise returns", "learned value V(s)"), rank=0,
    cli_help="REINFORCE baseline (default: value)",
    help="What REINFORCE subtracts from (or does to) the returns G_t before weighting "
         "log pi(a_t|s_t). A learned V(s) lowers the variance without biasing the gradient.")


# ----- the loss -------------------------------------------------------------------------------


def reinforce_advantages(returns: np.ndarray, baseline: str,
                         values: np.ndarray | None = None) -> np.ndarray:
    """A_t from returns G_t for the three baselines (``values`` = V(s_t) for ``value``).

    >>> reinforce_advantages(np.array([3.0, 2.0, 1.0]), "none")
    array([3., 2., 1.])
    >>> reinforce_advantages(np.array([3.0, 2.0, 1.0]), "normalize").round(6)
    array([ 1.,  0., -1.])
    >>> reinforce_advantages(np.array([3.0, 2.0, 1.0]), "value", values=np.array([2.5, 2.5, 2.5]))
    array([ 0.5, -0.5, -1.5])
    """
    if baseline == "none":
        return returns
    if baseline == "normalize":
        return normalize(returns)
    if baseline == "value":
        return returns - values
    raise ValueError(f"unknown baseline {baseline!r}")


def loss(log_probs: torch.Tensor, entropy: torch.Tensor, advantages: torch.Tensor, *,
         beta: float = 0.0, reduction: str = "mean", values: torch.Tensor | None = None,
         returns: torch.Tensor | None = None, value_coef: float = 1.0) -> Loss:
    """REINFORCE's loss for one episode of T steps; autograd's gradient of it is the update::

        L = - reduce_t[ log pi(a_t|s_t) * A_t ]           policy: minimising it climbs J
            - beta * reduce_t[ H(pi(.|s_t)) ]              entropy bonus
            + value_coef * mean_t[ (V(s_t) - G_t)^2 ]      critic (the value baseline only)

    ``log_probs``, ``entropy`` (T,) carry the policy's gradient; ``advantages`` (T,) are
    constants (for the value baseline G_t - V(s_t) with V detached); ``values`` (T,) carry the
    critic's gradient, ``returns`` (T,) are its targets G_t.

    A worked example: two steps, each action taken with probability 1/2, A = (2, 1), summed:
    L = -(2 log 1/2 + 1 log 1/2) = 3 ln 2.

    >>> lp = torch.log(torch.tensor([0.5, 0.5]))
    >>> round(loss(lp, torch.zeros(2), torch.tensor([2.0, 1.0]), reduction="sum").total.item(), 4)
    2.0794
    """
    policy = -reduce(log_probs * advantages, reduction)  # (T,) -> ()
    entropy_term = reduce(entropy, reduction)
    total = policy - beta * entropy_term
    value = torch.tensor(float("nan"))
    if values is not None:
        value = F.mse_loss(values, returns)  # mean_t (V(s_t) - G_t)^2
        total = total + value_coef * value
    return Loss(total, policy, value, entropy_term)


class ReinforceAgent(Agent):
    """Policy network (and, for the ``value`` baseline, a critic) trained per episode."""

    action_spaces = ("Discrete", "Box")  # the loss reads the policy only through the head

    # The maths the update calls: this module's functions, held as attributes so that an
    # exercise notebook can train this agent with a learner's own in their place
    # (pgcore.exercises.agents).
    discounted_returns = staticmethod(discounted_returns)
    loss = staticmethod(loss)

    def update(self, episode: Episode) -> Stats:
        cfg = self.config
        obs = torch.as_tensor(episode.obs, dtype=torch.float32)  # (T, obs_dim)
        outputs, values = self.net(obs)  # (T, head outputs), (T,) or None
        log_probs, entropy = self.head.log_prob_entropy(outputs, episode.actions)  # (T,), (T,)

        bootstrap = 0.0
        # bootstrap only a pure time-limit cut: if the task also ended on that step, it is terminal
        if (episode.truncated and not episode.terminated and values is not None
                and cfg.bootstrap_truncated):
            bootstrap = float(self.value(episode.final_obs[None])[0])  # V(s_T)
        returns = self.discounted_returns(episode.rewards, cfg.gamma, bootstrap)  # (T,)
        values_np = None if values is None else values.detach().double().numpy()
        advantages = reinforce_advantages(returns, cfg.baseline, values_np)  # (T,)
        if cfg.normalize_advantages and cfg.baseline != "normalize":
            advantages = normalize(advantages)
        adv = torch.as_tensor(advantages, dtype=torch.float32)  # (T,) constants

        terms = self.loss(log_probs, entropy, adv, beta=cfg.entropy_beta,
                          reduction=cfg.reduction, values=values,
                          returns=torch.as_tensor(returns, dtype=torch.float32),
                          value_coef=cfg.value_coef)
        grad_norm = self.optimize(terms.total)  # autograd: backward() of the loss above
        return Stats({"policy_loss": float(terms.policy.detach()),
                "value_loss": float(terms.value.detach()),
                "entropy": float(entropy.detach().mean()), "grad_norm": grad_norm,
                **advantage_stats(adv),
                "value_mean": float("nan") if values_np is None else float(values_np.mean()),
                "target_mean": float(returns.mean()), "batch_size": len(episode.actions)})


# ----- presets and the registry entry ---------------------------------------------------------

_TUNED = dict(algo="reinforce", lr=1e-3, hidden=128, shared_layers=0, head_layers=2,
              activation="tanh", ortho_init=True, gamma=0.99, reduction="mean")
_LESSON = dict(algo="reinforce", lr=1e-3, hidden=128, shared_layers=0, head_layers=2,
               gamma=0.99, reduction="sum", bootstrap_truncated=False)

PRESETS = (  # the first is where the Train page starts: the lesson's own starting point
    Preset("reinforce-plain",
           "Plain REINFORCE: each log π(a|s) is weighted by the raw return G_t, with nothing "
           "subtracted. The lesson starts here (its first exercise); our tuned network and "
           "Adam at 1e-3, as in the other defaults.",
           dict(_TUNED, baseline="none"),
           label="Plain REINFORCE (no baseline)"),
    Preset("reinforce", "REINFORCE with a learned value baseline: our tuned default.",
           dict(_TUNED, baseline="value", value_lr=1e-2),
           label="Our default: learned value baseline"),
    Preset("reinforce-normalize",
           "REINFORCE with per-episode normalised returns: our tuned default.",
           dict(_TUNED, baseline="normalize"), label="Our default: normalised returns"),
    Preset("reinforce-lesson",
           "The lesson's REINFORCE as written: normalised returns, Adam 1e-3, summed loss.",
           dict(_LESSON, baseline="normalize"),
           label="Lesson: normalised returns"),
    Preset("reinforce-value-lesson",
           "The lesson's REINFORCE with a value baseline: two Adams at 1e-3, summed loss.",
           dict(_LESSON, baseline="value", value_lr=1e-3),
           label="Lesson: value baseline"),
)


def _default_preset(overrides: dict) -> str:
    """Our tuned default for a baseline: the learned value baseline unless the overrides ask
    for raw (``none``) or normalised returns, which have no critic."""
    baseline = overrides.get("baseline")
    if baseline == "none":
        return "reinforce-plain"
    return "reinforce-normalize" if baseline == "normalize" else "reinforce"


ALGORITHM = Algorithm(
    name="reinforce", label="REINFORCE", title="REINFORCE",
    summary="Monte Carlo policy gradient: one update per finished episode",
    fields=(BASELINE, *POLICY_GRADIENT_FIELDS), loop="episode", make_agent=ReinforceAgent,
    presets=PRESETS, panels=policy_gradient_panels(),
    has_critic=lambda config: config.baseline == "value",
    no_critic_hint="Pick the learned-value baseline to get one.",
    default_preset=_default_preset, variant_fields=("baseline",))
