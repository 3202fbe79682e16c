"""Policy heads: the seam between a network's outputs and an environment's action space.

The env's action space picks the head (:func:`head_for`); everything downstream (the network's
output width, sampling, log-probabilities and entropy in the losses, the dtype and shape of
stored actions, what a rendered frame shows about the policy) asks the head instead of
assuming integers and softmax probabilities. There are two policy heads:

* :class:`CategoricalHead` for ``Discrete(n)``: outputs are ``n`` logits,
  pi(a|s) = softmax(logits)[a], actions are int64 scalars.
* :class:`GaussianHead` for ``Box(low, high, (d,))``: outputs are ``d`` means (squashed into
  the bounds, mu = centre + half_range * tanh(output)) and ``d`` log-standard-deviations,
  pi(a|s) = N(a; mu(s), diag(sigma^2)), actions are float32 vectors, sampled unclipped.
  The log-stds do not depend on the state: they are one learned parameter vector that the
  network holds (:class:`pgcore.rl.networks.PolicyValueNet`, asked for by
  :attr:`GaussianHead.state_independent_init`) and appends to every row of its outputs.

Beside it, :class:`QHead` is the value-based counterpart for ``Discrete(n)`` (DQN): outputs
are Q(s, a), acting is epsilon-greedy in the agent, and a frame shows Q(s, a) per action.

An argmax needs a finite list, so for DQN a ``Box`` can be cut into a grid: :class:`BinnedHead`
is a discrete head over ``bins ** d`` joint actions whose ``to_env`` turns an index into the
grid point (``config.action_bins``; :func:`joint_actions` and :func:`discretisation_table`
count how fast that grows with d).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

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



@dataclass
class PolicyTerms:
    """log pi(a_t|s_t) and H(pi(.|s_t)) for a batch (B,), with their derivatives with
    respect to the head's outputs (B, out_dim), as a policy head's :meth:`terms` gives them
    (numpy, for the by-hand updates). A loss that depends on the policy only through them,
    L = sum_t f_t(log pi_t, H_t), has dL/d outputs_t = (df_t/d log pi_t) d log pi_t +
    (df_t/dH_t) dH_t: :meth:`output_grad`."""

    log_prob: np.ndarray  # (B,)
    entropy: np.ndarray  # (B,)
    dlog_prob: np.ndarray  # (B, out_dim)
    dentropy: np.ndarray  # (B, out_dim)

    def output_grad(self, coef_log_prob: np.ndarray, coef_entropy: float) -> np.ndarray:
        """dL/d outputs (B, out_dim) from dL/d log pi_t (B,) and dL/dH_t (the same for every
        t: -beta / B for a mean entropy bonus)."""
        grad = self.dlog_prob * coef_log_prob[:, None]
        if coef_entropy:
            grad += coef_entropy * self.dentropy
        return grad


@dataclass(frozen=True)
class DiscreteActions:
    """What every head over ``Discrete(n)`` shares: ``n`` network outputs (one per action),
    int64 scalar actions, argmax for greedy, and the checkpoint description."""

    n: int
    action_dtype = np.int64
    action_shape = ()
    state_independent_init = ()
    """No outputs that ignore the state: the network's last layer gives all ``n``."""

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

    def to_envs(self, actions: np.ndarray) -> np.ndarray:
        """A vector env's actions (N,) as its ``step`` takes them: unchanged."""
        return actions

    def space_text(self) -> str:
        """The action space in a few words, for messages: ``2 actions``."""
        return f"{self.n} actions"

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

    def distribution(self, outputs: torch.Tensor | np.ndarray) -> np.ndarray:
        """What acting and a frame need of pi(.|s): the probabilities (B, n), float64, from
        the logits as a tensor or (the numpy acting path, :mod:`pgcore.rl.backprop`) an array."""
        if isinstance(outputs, np.ndarray):
            z = outputs.astype(np.float64)
            z -= z.max(axis=-1, keepdims=True)
            np.exp(z, out=z)
            z /= z.sum(axis=-1, keepdims=True)
            return z
        return torch.softmax(outputs, dim=-1).double().numpy()

    def sample(self, probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return sample_actions(probs, rng)

    def log_prob_entropy(self, outputs: torch.Tensor, actions: np.ndarray | torch.Tensor
                         ) -> tuple[torch.Tensor, torch.Tensor]:
        """log pi(a|s) and H(pi(.|s)) for a batch, both (B,) with gradient (autograd's
        side: :func:`policy_terms`)."""
        return policy_terms(outputs, torch.as_tensor(actions, dtype=torch.int64))

    def terms(self, logits: np.ndarray, actions: np.ndarray) -> PolicyTerms:
        """The same in numpy with their derivatives, for logits z (B, A) and the taken
        actions (B,), with pi = softmax(z): d log pi(a|s) / dz = onehot(a) - pi and
        dH/dz = -pi (log pi + H).

        >>> t = CategoricalHead(2).terms(np.zeros((1, 2)), np.array([1]))
        >>> t.dlog_prob, np.round(t.log_prob, 4), np.round(t.entropy, 4)  # pi = (0.5, 0.5)
        (array([[-0.5,  0.5]]), array([-0.6931]), array([0.6931]))
        """
        actions = np.asarray(actions, np.int64).reshape(-1)
        z = logits.astype(np.float64)
        z -= z.max(axis=1, keepdims=True)
        log_pi = z - np.log(np.exp(z).sum(axis=1, keepdims=True))  # (B, A)
        pi = np.exp(log_pi)
        entropy = -(pi * log_pi).sum(axis=1)  # (B,)
        rows = np.arange(len(z))
        dlog_prob = -pi
        dlog_prob[rows, actions] += 1.0
        return PolicyTerms(log_pi[rows, actions], entropy, dlog_prob,
                           -pi * (log_pi + entropy[:, None]))

    def one_step_grad(self, logits: np.ndarray, action, advantage: float,
                      beta: float) -> tuple[np.ndarray, float, float]:
        """:meth:`terms` for one state, folded into the one-sample policy loss
        L = -A log pi(a|s) - beta H(pi(.|s)) (the one-step actor-critic's): for its logits z
        (A,) and the sampled action a, returns (dL/dz (A,), log pi(a|s), H).

        >>> g, log_p, h = CategoricalHead(2).one_step_grad(np.zeros(2), 1, 2.0, 0.0)
        >>> g, round(log_p, 4), round(h, 4)  # pi = (0.5, 0.5): -2 * ((0, 1) - (0.5, 0.5))
        (array([ 1., -1.]), -0.6931, 0.6931)
        """
        action = int(action)
        z = logits - logits.max()
        log_pi = z - math.log(float(np.exp(z).sum()))  # (A,)
        pi = np.exp(log_pi)
        entropy = float(-(pi * log_pi).sum())
        grad = pi * advantage  # -A (onehot - pi) ...
        grad[action] -= advantage
        if beta:
            grad += beta * pi * (log_pi + entropy)  # ... - beta dH/dz
        return grad, float(log_pi[action]), entropy

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

    def distribution(self, outputs: torch.Tensor | np.ndarray) -> np.ndarray:
        """Q(s, .) for a batch (B, n), float64 (from a tensor or an array)."""
        if isinstance(outputs, np.ndarray):
            return outputs.astype(np.float64)
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


# ----- continuous actions: a diagonal Gaussian -------------------------------------------------

LOG_STD_BOUNDS = (-5.0, 2.0)
"""The log-standard-deviation is clamped to this range wherever it is used: sigma stays within
[0.0067, 7.4] (times the unit of the action), so the density can neither collapse onto a
point (log-probabilities blowing up) nor spread without bound. Beyond a bound the clamp passes
no gradient, so a log-std parameter that an update pushes past a bound stays there."""
LOG_STD_INIT = -0.5
"""The log-std every Gaussian policy starts from: sigma = 0.61 in every action dimension."""

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


def gaussian_terms(mean: torch.Tensor, log_std: torch.Tensor, actions: torch.Tensor
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """log pi(a|s) of the taken actions and the entropy H(pi(.|s)) of a diagonal Gaussian
    N(mean, diag(exp(log_std)^2)), both (B,), from means, log-stds and actions, each (B, d).

    With z_i = (a_i - mu_i) / sigma_i, summed over the d action dimensions::

        log pi(a|s) = sum_i [ -z_i^2 / 2 - log sigma_i - log(2 pi) / 2 ]
        H(pi(.|s))  = sum_i [ log sigma_i + (1 + log(2 pi)) / 2 ]  = sum_i 0.5 log(2 pi e sigma_i^2)
    """
    z = (actions - mean) * torch.exp(-log_std)
    log_probs = (-0.5 * z.pow(2) - log_std - _HALF_LOG_2PI).sum(-1)
    entropy = (log_std + 0.5 + _HALF_LOG_2PI).expand_as(mean).sum(-1)
    return log_probs, entropy


@dataclass(frozen=True)
class GaussianHead:
    """A diagonal Gaussian policy over ``Box(low, high, (d,))`` actions:
    pi(.|s) = N(mu(s), diag(sigma^2)).

    The head reads 2d outputs per state. The first d (the network's last layer) give the means.
    With ``squash`` (the default) they are squashed into the action range: mu(s) = centre +
    half_range * tanh(output), so a mean can approach a bound but never leave the range. (With
    a raw, unbounded mean we measured A2C's drifting to |mu| = 6-20 on Pendulum's [-2, 2]
    torque: every sample was then clipped to the same bound, the action stopped mattering, and
    learning stalled.) With ``squash=False`` the mean is the raw output, as in Stable-Baselines3:
    it may leave the range, and the environment then gets the bound (bang-bang control). PPO's
    clipped steps keep such a mean in check; on Pendulum-v1 its ``ppo-pendulum`` preset learns
    better with it (README, Performance). The last d are the
    log-standard-deviations, which do not depend on the state: one learned parameter vector of
    d numbers, starting at :data:`LOG_STD_INIT` and clamped to :data:`LOG_STD_BOUNDS` wherever
    it is read. The head only says that it wants them (:attr:`state_independent_init`); the
    network (:class:`~pgcore.rl.networks.PolicyValueNet`) holds them as an ``nn.Parameter``, so the
    optimiser trains them with the policy and a checkpoint's ``state_dict`` saves them.

    Sampled actions are *not* clipped to [low, high]: the stored action, and the
    log-probability the loss takes of it, are those of the value drawn from N(mu, sigma^2).
    The policy gradient is grad log pi(a|s) for the distribution the action was sampled from;
    the log-density of a clipped value would be that of a different distribution (with point
    masses at the bounds), so the gradient would be wrong. Keeping actions in range is the
    environment's business: :meth:`to_env` and :meth:`to_envs` clip what the environment is
    given, and nothing else.
    """

    low: tuple[float, ...]
    high: tuple[float, ...]
    squash: bool = True
    kind = "gaussian"
    action_dtype = np.float32

    def __post_init__(self):
        if len(self.low) != len(self.high) or not self.low:
            raise NoHeadError("a Box action space needs as many low as high bounds, at least one")
        low, high = np.asarray(self.low, np.float64), np.asarray(self.high, np.float64)
        centre, half = (high + low) / 2, (high - low) / 2  # the mean's range, as arrays
        object.__setattr__(self, "_centre", centre)
        object.__setattr__(self, "_half", half)
        object.__setattr__(self, "_centre_t", torch.tensor(centre, dtype=torch.float32))
        object.__setattr__(self, "_half_t", torch.tensor(half, dtype=torch.float32))

    @property
    def dim(self) -> int:
        """d: the number of action dimensions."""
        return len(self.low)

    @property
    def action_shape(self) -> tuple[int]:
        return (self.dim,)

    @property
    def out_dim(self) -> int:
        """Outputs the head reads per state: d for the means, then d log-stds."""
        return 2 * self.dim

    @property
    def state_independent_init(self) -> tuple[float, ...]:
        """The last ``d`` outputs ignore the state: the network holds them as one learned
        vector, starting here (the log-std)."""
        return (LOG_STD_INIT,) * self.dim

    def mean_and_log_std(self, outputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """mu(s) = centre + half_range * tanh(outputs[:, :d]) (``squash``) or outputs[:, :d]
        itself, and the clamped log-std, each (B, d), with gradient."""
        d = self.dim
        mean = outputs[..., :d]
        if self.squash:
            mean = self._centre_t + self._half_t * torch.tanh(mean)
        return mean, outputs[..., d:].clamp(*LOG_STD_BOUNDS)

    def distribution(self, outputs: torch.Tensor | np.ndarray) -> np.ndarray:
        """What acting and a frame need of pi(.|s): (B, 2d) float64, the means mu(s) then the
        standard deviations sigma (the clamped log-stds, exponentiated)."""
        out = (outputs.astype(np.float64) if isinstance(outputs, np.ndarray)
               else outputs.double().numpy())  # (B, 2d): mean outputs, then log-stds
        d = self.dim
        mean = self._centre + self._half * np.tanh(out[:, :d]) if self.squash else out[:, :d]
        return np.concatenate((mean, np.exp(np.clip(out[:, d:], *LOG_STD_BOUNDS))), axis=1)

    def sample(self, dist: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """a = mu + sigma * eps with eps ~ N(0, I) from ``rng``: (B, d) float32, unclipped."""
        d = self.dim
        eps = rng.standard_normal((len(dist), d))
        return (dist[:, :d] + dist[:, d:] * eps).astype(np.float32)

    def greedy(self, dist: np.ndarray) -> np.ndarray:
        """The most likely action: the mean, (B, d) float32 (inside the bounds when squashed;
        otherwise the environment gets it clipped, like any action)."""
        return dist[:, : self.dim].astype(np.float32)

    def log_prob_entropy(self, outputs: torch.Tensor, actions: np.ndarray | torch.Tensor
                         ) -> tuple[torch.Tensor, torch.Tensor]:
        """log pi(a|s) (summed over the action dimensions) and H(pi(.|s)), both (B,) with
        gradient, for the actions as sampled (unclipped): :func:`gaussian_terms`."""
        a = torch.as_tensor(actions, dtype=outputs.dtype).reshape(-1, self.dim)
        mean, log_std = self.mean_and_log_std(outputs)
        return gaussian_terms(mean, log_std, a)

    def _mean_and_slope(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray | float]:
        """mu from the mean outputs u (numpy) and d mu / du."""
        if self.squash:
            t = np.tanh(u)
            return self._centre + self._half * t, self._half * (1.0 - t * t)
        return u, 1.0  # the raw output is the mean

    def terms(self, outputs: np.ndarray, actions: np.ndarray) -> PolicyTerms:
        """log pi(a|s), H and their derivatives in numpy, for ``outputs`` (B, 2d) (the mean
        outputs u, then the log-std outputs s) and ``actions`` (B, d) as sampled::

            d log pi / du_i = (a_i - mu_i) / sigma_i^2 * d mu_i / du_i
            d log pi / ds_i = (a_i - mu_i)^2 / sigma_i^2 - 1,    dH / ds_i = 1,   dH / du = 0

        (the s derivatives are 0 where the clamp holds s_i at a bound, as for torch's clamp).

        >>> t = GaussianHead((-1.0,), (1.0,), squash=False).terms(
        ...     np.array([[0.0, 0.0]]), np.array([[1.0]]))   # mu = 0, sigma = 1, a = 1
        >>> t.dlog_prob, t.dentropy   # (a - mu) / sigma^2 = 1; (a - mu)^2 / sigma^2 - 1 = 0
        (array([[1., 0.]]), array([[0., 1.]]))
        """
        d = self.dim
        out = outputs.astype(np.float64)
        u, s = out[:, :d], out[:, d:]
        mean, dmean = self._mean_and_slope(u)  # (B, d)
        log_std = np.clip(s, *LOG_STD_BOUNDS)
        inv_var = np.exp(-2.0 * log_std)
        diff = np.asarray(actions, np.float64).reshape(len(out), d) - mean
        z2 = diff * diff * inv_var
        log_prob = (-0.5 * z2 - log_std - 0.5 * math.log(2 * math.pi)).sum(axis=1)
        entropy = (log_std + 0.5 * (1.0 + math.log(2 * math.pi))).sum(axis=1)
        inside = (s >= LOG_STD_BOUNDS[0]) & (s <= LOG_STD_BOUNDS[1])
        dlog_prob = np.concatenate((diff * inv_var * dmean, np.where(inside, z2 - 1.0, 0.0)),
                                   axis=1)
        dentropy = np.concatenate((np.zeros_like(u), inside.astype(np.float64)), axis=1)
        return PolicyTerms(log_prob, entropy, dlog_prob, dentropy)

    def one_step_grad(self, outputs: np.ndarray, action: np.ndarray, advantage: float,
                      beta: float) -> tuple[np.ndarray, float, float]:
        """:meth:`terms` for one state, folded into the one-sample policy loss
        L = -A log pi(a|s) - beta H: for ``outputs`` (2d,) and the sampled action (d,),
        returns (dL/d outputs (2d,), log pi(a|s), H)."""
        d = self.dim
        u, s = outputs[:d], outputs[d:]
        mean, dmean = self._mean_and_slope(u)  # (d,)
        log_std = np.clip(s, *LOG_STD_BOUNDS)
        inv_var = np.exp(-2.0 * log_std)
        diff = action - mean
        z2 = diff * diff * inv_var
        log_prob = float((-0.5 * z2 - log_std - 0.5 * math.log(2 * math.pi)).sum())
        entropy = float((log_std + 0.5 * (1.0 + math.log(2 * math.pi))).sum())
        inside = (s >= LOG_STD_BOUNDS[0]) & (s <= LOG_STD_BOUNDS[1])
        grad = np.empty(2 * d)
        grad[:d] = -advantage * diff * inv_var * dmean
        grad[d:] = np.where(inside, -advantage * (z2 - 1.0) - beta, 0.0)
        return grad, log_prob, entropy

    def to_env(self, action: np.ndarray) -> np.ndarray:
        """One action (d,) as the environment's ``step`` takes it: clipped to [low, high]."""
        return np.clip(action, self.low, self.high).astype(np.float32)

    def to_envs(self, actions: np.ndarray) -> np.ndarray:
        """A vector env's actions (N, d), each clipped to [low, high]."""
        return np.clip(actions, self.low, self.high).astype(np.float32)

    def describe(self) -> dict:
        """Plain data for a checkpoint: enough to rebuild the space."""
        return {"type": "Box", "shape": [self.dim], "low": list(self.low),
                "high": list(self.high), "squash": self.squash}

    def space_text(self) -> str:
        """The action space in a few words, for messages: ``1 continuous action in [-2, 2]``."""
        if self.dim == 1:
            return f"1 continuous action in [{self.low[0]:g}, {self.high[0]:g}]"
        return f"{self.dim} continuous actions"

    def action_names(self, known: tuple[str, ...] = ()) -> tuple[str, ...]:
        """A name per action dimension: ``known`` ones (Pendulum: torque), else ``a`` for one
        dimension and ``a1``, ``a2``, ... for more."""
        if len(known) == self.dim:
            return tuple(known)
        return ("a",) if self.dim == 1 else tuple(f"a{i + 1}" for i in range(self.dim))

    def overlay(self, dist: np.ndarray, names: tuple[str, ...]) -> list[tuple[str, float, str]]:
        """What a frame shows about pi(.|s): two ``(label, bar fraction in [0, 1], value text)``
        rows per action dimension, from one row of :meth:`distribution`. The mean's bar is its
        place between the bounds (half full: the middle of the range); the std's bar is sigma
        as a share of half the range, and its text the one-std band mu - sigma .. mu + sigma.

        >>> GaussianHead((-2.0,), (2.0,)).overlay(np.array([1.0, 0.5]), ("torque",))
        [('μ(torque | s)', 0.75, '+1.00'), ('σ(torque)', 0.25, '±0.50: +0.50 to +1.50')]
        """
        d, rows = self.dim, []
        dist = np.asarray(dist, dtype=np.float64)
        for i, name in enumerate(self.action_names(names)):
            mu, sigma, lo, hi = float(dist[i]), float(dist[d + i]), self.low[i], self.high[i]
            place = (mu - lo) / (hi - lo) if np.isfinite(mu) else 0.0
            share = sigma / (0.5 * (hi - lo)) if np.isfinite(sigma) else 0.0
            rows.append((f"μ({name} | s)", float(np.clip(place, 0.0, 1.0)), f"{mu:+.2f}"))
            rows.append((f"σ({name})", float(np.clip(share, 0.0, 1.0)),
                         f"±{sigma:.2f}: {mu - sigma:+.2f} to {mu + sigma:+.2f}"))
        return rows


# ----- continuous actions on a grid: a finite list for DQN's argmax --------------------------

MAX_JOINT_ACTIONS = 4096
"""The most joint actions a :class:`BinnedHead` may have: a Q-network has one output per joint
action, and ``bins ** d`` grows fast (:func:`joint_actions`)."""

DISCRETISATION_TASKS = {1: "Pendulum", 2: "Reacher", 3: "Hopper", 6: "HalfCheetah",
                        17: "Humanoid"}
"""Action dimensions d of some well-known continuous-control tasks (Gymnasium's classic
control and MuJoCo ones), for :func:`discretisation_table`."""


def joint_actions(bins: int, dims: int) -> int:
    """k^d: the joint actions, so the Q outputs, when each of ``dims`` action dimensions is
    cut into ``bins`` values.

    >>> joint_actions(5, 1), joint_actions(3, 6), joint_actions(11, 17)
    (5, 729, 505447028499293771)
    """
    return int(bins) ** int(dims)


def discretisation_table(bins: tuple[int, ...] = (3, 5, 11),
                         dims: tuple[int, ...] = (1, 2, 3, 6, 17)) -> list[dict]:
    """One row per action dimension count d: ``{"d": d, "task": ..., "k=3": 3**d, ...}``, the
    Q outputs a discretised DQN needs with k bins per dimension. The tasks with those d:
    Pendulum 1 (torque), Reacher 2, Hopper 3, HalfCheetah 6, Humanoid 17 (joint torques).

    >>> rows = discretisation_table(bins=(3, 11), dims=(1, 6))
    >>> rows[0]
    {'d': 1, 'task': 'Pendulum', 'k=3': 3, 'k=11': 11}
    >>> rows[1]
    {'d': 6, 'task': 'HalfCheetah', 'k=3': 729, 'k=11': 1771561}
    """
    return [{"d": d, "task": DISCRETISATION_TASKS.get(d, ""),
             **{f"k={k}": joint_actions(k, d) for k in bins}} for d in dims]


def bin_values(low: float, high: float, bins: int) -> np.ndarray:
    """The ``bins`` evenly spaced values of one action dimension, both ends included:
    v_j = low + j * (high - low) / (bins - 1), j = 0 .. bins - 1. (bins,) float64.

    >>> bin_values(-2.0, 2.0, 5).tolist()
    [-2.0, -1.0, 0.0, 1.0, 2.0]
    """
    return low + np.arange(bins) * (high - low) / (bins - 1)


def bin_indices(index, bins: int, dims: int) -> np.ndarray:
    """Joint action index i -> the bin index j_k of every dimension, row-major (the first
    dimension varies slowest): i = sum_k j_k * bins^(d - 1 - k). (..., d) int64 for indices of
    any shape (...); an index outside 0 .. bins^d - 1 is a ValueError.

    >>> bin_indices(5, 3, 2).tolist()          # 5 = 1 * 3 + 2
    [1, 2]
    >>> bin_indices([0, 1, 8], 3, 2).tolist()
    [[0, 0], [0, 1], [2, 2]]
    """
    return np.stack(np.unravel_index(np.asarray(index, np.int64), (bins,) * dims), axis=-1)


@dataclass(frozen=True)
class BinnedHead(DiscreteActions):
    """A discrete head over a grid of ``Box(low, high, (d,))`` actions: each dimension is cut
    into ``bins`` evenly spaced values (ends included), giving n = bins ** d joint actions.
    Joint action i is the grid point (row-major: the first dimension varies slowest)::

        (j_1, ..., j_d) = unravel(i, (bins,) * d)           i = sum_k j_k * bins^(d - k)
        a_k             = low_k + j_k * (high_k - low_k) / (bins - 1)

    Everything upstream of the environment sees ``Discrete(n)``: ``n`` network outputs,
    int64 scalar actions, argmax for greedy (DQN's Q head reads ``n``); only :meth:`to_env`
    and :meth:`to_envs` hand the environment the float32 grid point. ``q_values=True``
    (:func:`q_head_for`, DQN) reads the outputs as Q(s, a), as :class:`QHead` does;
    otherwise they are logits, as :class:`CategoricalHead`'s. Pendulum's torque in 5 bins:

    >>> head = BinnedHead((-2.0,), (2.0,), 5)
    >>> head.n, head.to_env(np.int64(1)), head.to_envs(np.array([0, 4]))[:, 0].tolist()
    (5, array([-1.], dtype=float32), [-2.0, 2.0])
    >>> BinnedHead((-1.0, 0.0), (1.0, 2.0), 3).to_env(5)   # j = (1, 2)
    array([0., 2.], dtype=float32)
    """

    n: int = field(init=False)
    low: tuple[float, ...]
    high: tuple[float, ...]
    bins: int
    q_values: bool = False

    def __post_init__(self):
        if len(self.low) != len(self.high) or not self.low:
            raise NoHeadError("a binned Box needs as many low as high bounds, at least one")
        low, high = np.asarray(self.low, np.float64), np.asarray(self.high, np.float64)
        if not (np.isfinite(low).all() and np.isfinite(high).all() and (low < high).all()):
            raise NoHeadError("binned actions need finite bounds with low < high in every "
                              "dimension")
        if not isinstance(self.bins, int) or isinstance(self.bins, bool) or self.bins < 2:
            raise NoHeadError(f"binned actions need at least 2 bins, got {self.bins!r}")
        n = joint_actions(self.bins, len(self.low))
        if n > MAX_JOINT_ACTIONS:
            raise NoHeadError(f"{self.bins} bins in each of {len(self.low)} action dimensions "
                              f"make {n:,} joint actions; at most {MAX_JOINT_ACTIONS:,} fit")
        values = np.stack([bin_values(lo, hi, self.bins)
                           for lo, hi in zip(low, high, strict=True)])  # (d, bins)
        object.__setattr__(self, "n", n)
        object.__setattr__(self, "_values", np.clip(values, low[:, None], high[:, None]))

    @property
    def kind(self) -> str:
        return "q-values" if self.q_values else "categorical"

    @property
    def dim(self) -> int:
        """d: the number of action dimensions that were binned."""
        return len(self.low)

    def as_q_values(self) -> BinnedHead:
        """The same grid, its outputs read as Q(s, a) (DQN)."""
        return replace(self, q_values=True)

    def grid_points(self, actions) -> np.ndarray:
        """Joint action indices (...) -> their grid points (..., d) float32: dimension k takes
        its value :func:`bin_values` [j_k] (clipped to [low, high] against rounding)."""
        j = bin_indices(actions, self.bins, self.dim)  # (..., d)
        return self._values[np.arange(self.dim), j].astype(np.float32)

    @property
    def outputs_head(self) -> QHead | CategoricalHead:
        """What the n outputs mean, as a plain discrete head: :class:`QHead` (``q_values``) or
        :class:`CategoricalHead`. Reading outputs is delegated to it; only the grid is ours."""
        return QHead(self.n) if self.q_values else CategoricalHead(self.n)

    def distribution(self, outputs) -> np.ndarray:
        """Q(s, .) (``q_values``) or pi(.|s) = softmax(logits): (B, n) float64."""
        return self.outputs_head.distribution(outputs)

    def sample(self, probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return sample_actions(probs, rng)

    def log_prob_entropy(self, outputs: torch.Tensor, actions: np.ndarray | torch.Tensor
                         ) -> tuple[torch.Tensor, torch.Tensor]:
        """log pi(a|s) and H(pi(.|s)) of the categorical policy over joint actions, (B,)."""
        return CategoricalHead(self.n).log_prob_entropy(outputs, actions)

    def to_env(self, action) -> np.ndarray:
        """One joint action index as the environment's ``step`` takes it: (d,) float32."""
        return self.grid_points(action)

    def to_envs(self, actions: np.ndarray) -> np.ndarray:
        """A vector env's joint action indices (N,) as grid points (N, d) float32."""
        return self.grid_points(actions)

    def describe(self) -> dict:
        """Plain data for a checkpoint: a ``Discrete`` space of n actions and the grid it
        stands for (:func:`head_from_description` rebuilds the head)."""
        return {"type": "Discrete", "n": self.n, "bins": self.bins, "low": list(self.low),
                "high": list(self.high)}

    def space_text(self) -> str:
        """The action space in a few words: ``5 binned actions (5 bins of [-2, 2])``."""
        if self.dim == 1:
            return (f"{self.n} binned actions ({self.bins} bins of "
                    f"[{self.low[0]:g}, {self.high[0]:g}])")
        return f"{self.n:,} binned actions ({self.bins} bins in each of {self.dim} dimensions)"

    def action_names(self, known: tuple[str, ...] = ()) -> tuple[str, ...]:
        """A name per joint action: ``known`` ones if there are n of them, else its grid point,
        each dimension named from ``known`` (Pendulum: torque) or ``a`` / ``a1``, ``a2``, ...

        >>> BinnedHead((-2.0,), (2.0,), 3).action_names(("torque",))
        ('torque = -2', 'torque = +0', 'torque = +2')
        """
        if len(known) == self.n:
            return tuple(known)
        dims = tuple(known) if len(known) == self.dim else (
            ("a",) if self.dim == 1 else tuple(f"a{i + 1}" for i in range(self.dim)))
        points = self.grid_points(np.arange(self.n))  # (n, d)
        return tuple(", ".join(f"{name} = {float(v):+.3g}" for name, v in zip(dims, p,
                                                                              strict=True))
                     for p in points)

    def overlay(self, dist: np.ndarray, names: tuple[str, ...]) -> list[tuple[str, float, str]]:
        """What a frame shows: Q(s, a) (as :meth:`QHead.overlay`) or pi(a|s) (as
        :meth:`CategoricalHead.overlay`) per joint action, named by its grid point."""
        return self.outputs_head.overlay(dist, self.action_names(names))


Head = DiscreteActions | GaussianHead
"""Any head (the type of ``EnvSpec.head`` and ``agent.head``): categorical, Q-values, binned
(a :class:`DiscreteActions` too) or Gaussian."""

_MAX_BOX_DIM = 1_000


def _box_head(low, high, shape, squash: bool = True) -> GaussianHead:
    """A Gaussian head for a flat ``Box`` with finite bounds, or :class:`NoHeadError`."""
    if len(shape) != 1 or not 1 <= shape[0] <= _MAX_BOX_DIM:
        raise NoHeadError(f"Box actions must be a flat vector of 1 to {_MAX_BOX_DIM} numbers, "
                          f"got shape {tuple(shape)}")
    low = np.asarray(low, dtype=np.float64).reshape(-1)
    high = np.asarray(high, dtype=np.float64).reshape(-1)
    if low.shape != (shape[0],) or high.shape != (shape[0],):
        raise NoHeadError(f"Box actions of shape {tuple(shape)} need {shape[0]} low and "
                          f"{shape[0]} high bounds")
    if not (np.isfinite(low).all() and np.isfinite(high).all() and (low < high).all()):
        raise NoHeadError("Box actions need finite bounds with low < high in every dimension")
    return GaussianHead(tuple(map(float, low)), tuple(map(float, high)), squash)


def head_for(action_space) -> Head:
    """The policy head for a Gymnasium action space, or :class:`NoHeadError`:
    :class:`CategoricalHead` for ``Discrete``, :class:`GaussianHead` for a flat ``Box``."""
    import gymnasium as gym

    if isinstance(action_space, gym.spaces.Discrete):
        if int(action_space.start) != 0:
            raise NoHeadError(f"Discrete actions must start at 0, got start={action_space.start}")
        return CategoricalHead(int(action_space.n))
    if isinstance(action_space, gym.spaces.Box):
        return _box_head(action_space.low, action_space.high, action_space.shape)
    raise NoHeadError(f"no policy head for {type(action_space).__name__} actions "
                      "(pgcore supports Discrete and Box actions)")


def binned_head(head: Head, bins: int) -> BinnedHead:
    """The Box that ``head`` (a :class:`GaussianHead`, from :func:`head_for`) acts in, cut into
    ``bins`` values per dimension; :class:`NoHeadError` for any other head or too many joint
    actions (:data:`MAX_JOINT_ACTIONS`)."""
    if not isinstance(head, GaussianHead):
        raise NoHeadError(f"only continuous (Box) actions can be binned, not {head.space_text()}")
    return BinnedHead(head.low, head.high, bins)


def q_head_for(head: Head) -> QHead | BinnedHead:
    """DQN's head over the same finite actions as ``head``: :class:`QHead` for ``Discrete(n)``,
    the same grid read as Q-values for a :class:`BinnedHead`. (A Gaussian head has no finite
    list of actions: callers refuse it first, with ``check_action_space``.)"""
    if isinstance(head, BinnedHead):
        return head.as_q_values()
    if isinstance(head, DiscreteActions):
        return QHead(head.n)
    raise NoHeadError(f"Q-values need a finite list of actions, not {head.space_text()}")


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _binned_from_description(desc: dict) -> BinnedHead:
    """A :class:`BinnedHead` from ``{"type": "Discrete", "n", "bins", "low", "high"}``."""
    n, bins, low, high = (desc.get(k) for k in ("n", "bins", "low", "high"))
    if not (isinstance(bins, int) and not isinstance(bins, bool) and 2 <= bins <= MAX_JOINT_ACTIONS
            and isinstance(low, list) and isinstance(high, list)
            and 1 <= len(low) <= _MAX_BOX_DIM and all(map(_is_number, low))
            and all(map(_is_number, high))):
        raise NoHeadError("unknown action space: binned actions are described by bins >= 2 and "
                          "their low and high bounds (lists of numbers)")
    head = BinnedHead(tuple(map(float, low)), tuple(map(float, high)), bins)
    if n != head.n:
        raise NoHeadError(f"binned actions: n must be bins ** d = {head.n}, got {n!r}")
    return head


def head_from_description(desc: dict) -> Head:
    """Rebuild a head from :meth:`describe` output (a checkpoint's ``action_space``)."""
    if not isinstance(desc, dict):
        raise NoHeadError("action_space must be a mapping")
    if desc.get("type") == "Discrete" and "bins" in desc:
        return _binned_from_description(desc)
    if desc.get("type") == "Discrete":
        n = desc.get("n")
        if isinstance(n, int) and not isinstance(n, bool) and 2 <= n <= 1_000_000:
            return CategoricalHead(n)
        raise NoHeadError(f"a Discrete action space needs n >= 2, got {n!r}")
    if desc.get("type") == "Box":
        shape, low, high = desc.get("shape"), desc.get("low"), desc.get("high")
        if not (isinstance(shape, list) and all(isinstance(d, int) and not isinstance(d, bool)
                                                for d in shape)
                and isinstance(low, list) and isinstance(high, list)
                and all(map(_is_number, low)) and all(map(_is_number, high))):
            raise NoHeadError("unknown action space: a Box is described by its shape and its "
                              "low and high bounds (lists of numbers)")
        squash = desc.get("squash", True)  # files written before the option: squashed
        if not isinstance(squash, bool):
            raise NoHeadError("unknown action space: a Box's squash must be true or false")
        return _box_head(low, high, shape, squash)
    raise NoHeadError(f"unknown action space type {desc.get('type')!r}")
