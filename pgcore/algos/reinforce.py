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

from ..collect import Episode
from ..fields import Field, one_of
from ..returns import discounted_returns, normalize
from .base import Algorithm, Preset
from .common import (
    POLICY_GRADIENT_FIELDS,
    Agent,
    Stats,
    advantage_stats,
    policy_gradient_panels,
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


class ReinforceAgent(Agent):
    """Policy network (and, for the ``value`` baseline, a critic) trained per episode."""

    action_spaces = ("Discrete", "Box")  # the loss reads the policy only through the head

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
        returns = discounted_returns(episode.rewards, cfg.gamma, bootstrap)  # (T,)
        values_np = None if values is None else values.detach().double().numpy()
        advantages = reinforce_advantages(returns, cfg.baseline, values_np)  # (T,)
        if cfg.normalize_advantages and cfg.baseline != "normalize":
            advantages = normalize(advantages)
        adv = torch.as_tensor(advantages, dtype=torch.float32)

        policy_loss = -self.reduce(log_probs * adv)
        entropy_term = self.reduce(entropy)
        loss = policy_loss - cfg.entropy_beta * entropy_term
        value_loss = torch.tensor(float("nan"))
        if values is not None:
            returns_t = torch.as_tensor(returns, dtype=torch.float32)
            value_loss = F.mse_loss(values, returns_t)
            loss = loss + cfg.value_coef * value_loss
        grad_norm = self.optimize(loss)
        return Stats({"policy_loss": float(policy_loss.detach()),
                "value_loss": float(value_loss.detach()),
                "entropy": float(entropy.detach().mean()), "grad_norm": grad_norm,
                **advantage_stats(adv),
                "value_mean": float("nan") if values_np is None else float(values_np.mean()),
                "target_mean": float(returns.mean()), "batch_size": len(episode.actions)})


# ----- presets and the registry entry ---------------------------------------------------------

_TUNED = dict(algo="reinforce", lr=1e-3, hidden=128, shared_layers=0, head_layers=2,
              activation="tanh", ortho_init=True, gamma=0.99, reduction="mean")
_LESSON = dict(algo="reinforce", lr=1e-3, hidden=128, shared_layers=0, head_layers=2,
               gamma=0.99, reduction="sum", bootstrap_truncated=False)

PRESETS = (
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
    """Raw or normalised returns start from the normalised-returns default (no critic)."""
    return "reinforce-normalize" if overrides.get("baseline") in ("none", "normalize") \
        else "reinforce"


ALGORITHM = Algorithm(
    name="reinforce", label="REINFORCE", title="REINFORCE",
    summary="Monte Carlo policy gradient: one update per finished episode",
    fields=(BASELINE, *POLICY_GRADIENT_FIELDS), loop="episode", make_agent=ReinforceAgent,
    presets=PRESETS, panels=policy_gradient_panels(),
    has_critic=lambda config: config.baseline == "value",
    no_critic_hint="Pick the learned-value baseline to get one.",
    default_preset=_default_preset, variant_fields=("baseline",))
