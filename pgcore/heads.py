"""Policy heads: the seam between a network's outputs and an environment's action space.

The env's action space picks the head (:func:`head_for`); everything downstream (the network's
output width, sampling, log-probabilities and entropy in the losses, the dtype and shape of
stored actions, what a rendered frame shows about the policy) asks the head instead of
assuming integers and softmax probabilities. Today there is one policy head:

* :class:`CategoricalHead` for ``Discrete(n)``: outputs are ``n`` logits,
  pi(a|s) = softmax(logits)[a], actions are int64 scalars.

Beside it, :class:`QHead` is the value-based counterpart for ``Discrete(n)`` (DQN): outputs
are Q(s, a), acting is epsilon-greedy in the agent, and a frame shows Q(s, a) per action.

A Gaussian head for ``Box`` actions will sit beside it with the same methods.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F


class NoHeadError(ValueError):
    """No policy head fits this action space (the caller words it for its user)."""


def policy_terms(logits: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """log pi(a_t|s_t) of the taken actions and the entropy H(pi(.|s_t)), both (B,).

    H = -sum_a pi(a|s) log pi(a|s). Computed from ``log_softmax`` directly, which is exact
    and much cheaper than building a ``torch.distributions.Categorical`` per call.
    """
    log_pi = F.log_softmax(logits, dim=-1)  # (B, A)
    log_probs = log_pi.gather(-1, actions.unsqueeze(-1)).squeeze(-1)  # (B,)
    entropy = -(log_pi.exp() * log_pi).sum(-1)  # (B,)
    return log_probs, entropy


def sample_actions(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One action per row of ``probs`` (B, A) by inverse-CDF sampling with ``rng``: (B,) int64."""
    if len(probs) == 1:  # the common acting case: same draw and result, less overhead
        cdf = np.cumsum(probs[0])  # (A,)
        return np.array([np.count_nonzero(rng.random() * cdf[-1] >= cdf[:-1])], dtype=np.int64)
    cdf = np.cumsum(probs, axis=-1)  # (B, A)
    u = rng.random(len(probs))[:, None] * cdf[:, -1:]  # (B, 1), scaled in case of rounding
    return (u >= cdf[:, :-1]).sum(axis=-1).astype(np.int64)


@dataclass(frozen=True)
class DiscreteActions:
    """What every head over ``Discrete(n)`` shares: ``n`` network outputs (one per action),
    int64 scalar actions, argmax for greedy, and the checkpoint description."""

    n: int
    action_dtype = np.int64
    action_shape = ()

    @property
    def out_dim(self) -> int:
        """Network outputs the head reads: one per action."""
        return self.n

    def greedy(self, dist: np.ndarray) -> np.ndarray:
        """The best action per row (ties go to the lowest): (B,) int64."""
        return dist.argmax(-1)

    def to_env(self, action: np.ndarray):
        """One action as the environment's ``step`` takes it."""
        return int(action)

    def describe(self) -> dict:
        """Plain data for a checkpoint: enough to rebuild the space."""
        return {"type": "Discrete", "n": self.n}

    def action_names(self, known: tuple[str, ...] = ()) -> tuple[str, ...]:
        """A name per action: ``known`` ones (CartPole: left, right), else ``action i``."""
        return tuple(known) if len(known) == self.n else tuple(f"action {i}" for i in range(self.n))


@dataclass(frozen=True)
class CategoricalHead(DiscreteActions):
    """A softmax policy over ``n`` discrete actions: the outputs are logits."""

    kind = "categorical"

    def distribution(self, outputs: torch.Tensor) -> np.ndarray:
        """What acting and a frame need of pi(.|s): the probabilities (B, n), float64."""
        return torch.softmax(outputs, dim=-1).double().numpy()

    def sample(self, probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return sample_actions(probs, rng)

    def log_prob_entropy(self, outputs: torch.Tensor, actions: np.ndarray | torch.Tensor
                         ) -> tuple[torch.Tensor, torch.Tensor]:
        """log pi(a|s) and H(pi(.|s)) for a batch, both (B,) with gradient."""
        return policy_terms(outputs, torch.as_tensor(actions, dtype=torch.int64))

    def overlay(self, dist: np.ndarray, names: tuple[str, ...]) -> list[tuple[str, float, str]]:
        """What a frame shows about pi(.|s): ``(label, bar fraction in [0, 1], value text)``
        per action, from one row of :meth:`distribution`.

        >>> CategoricalHead(2).overlay(np.array([0.25, 0.75]), ("left", "right"))
        [('π(left | s)', 0.25, '0.25'), ('π(right | s)', 0.75, '0.75')]
        """
        rows = []
        for name, p in zip(self.action_names(names), dist, strict=False):
            p = float(np.clip(p, 0.0, 1.0))
            rows.append((f"π({name} | s)", p, f"{p:.2f}"))
        return rows


@dataclass(frozen=True)
class QHead(DiscreteActions):
    """Action values Q(s, a) over ``n`` discrete actions (DQN): not a policy head.

    The network's ``n`` outputs are Q(s, a); the agent acts epsilon-greedily on them, so this
    head has no ``sample`` or ``log_prob_entropy``. Its "distribution" is the Q-values
    themselves, which is what a frame shows. Checkpoints describe it as the ``Discrete``
    space it acts in, like :class:`CategoricalHead`.
    """

    kind = "q-values"

    def distribution(self, outputs: torch.Tensor) -> np.ndarray:
        """Q(s, .) for a batch (B, n), float64."""
        return outputs.double().numpy()

    def overlay(self, q: np.ndarray, names: tuple[str, ...]) -> list[tuple[str, float, str]]:
        """What a frame shows about Q(s, .): ``(label, bar, value text)`` per action; each bar
        is Q(s, a) as a fraction of the largest |Q(s, .)| (negative values show empty).

        >>> QHead(2).overlay(np.array([40.0, 80.0]), ("left", "right"))
        [('Q(s, left)', 0.5, '40.0'), ('Q(s, right)', 1.0, '80.0')]
        """
        q = np.asarray(q, dtype=np.float64)
        scale = float(np.abs(q).max()) if q.size and np.isfinite(q).all() else 0.0
        rows = []
        for name, v in zip(self.action_names(names), q, strict=False):
            frac = float(np.clip(v / scale, 0.0, 1.0)) if scale > 0 else 0.0
            rows.append((f"Q(s, {name})", frac, f"{float(v):.1f}"))
        return rows


Head = DiscreteActions
"""Any head (the type of ``EnvSpec.head`` and ``agent.head``): categorical or Q-values today."""


def head_for(action_space) -> CategoricalHead:
    """The policy head for a Gymnasium action space, or :class:`NoHeadError`."""
    import gymnasium as gym

    if isinstance(action_space, gym.spaces.Discrete):
        if int(action_space.start) != 0:
            raise NoHeadError(f"Discrete actions must start at 0, got start={action_space.start}")
        return CategoricalHead(int(action_space.n))
    raise NoHeadError(f"no policy head for {type(action_space).__name__} actions yet "
                      "(pgcore supports Discrete actions only for now)")


def head_from_description(desc: dict) -> Head:
    """Rebuild a head from :meth:`describe` output (a checkpoint's ``action_space``)."""
    if not isinstance(desc, dict):
        raise NoHeadError("action_space must be a mapping")
    if desc.get("type") == "Discrete":
        n = desc.get("n")
        if isinstance(n, int) and not isinstance(n, bool) and 2 <= n <= 1_000_000:
            return CategoricalHead(n)
        raise NoHeadError(f"a Discrete action space needs n >= 2, got {n!r}")
    raise NoHeadError(f"unknown action space type {desc.get('type')!r}")
