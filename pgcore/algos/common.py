"""What the policy-gradient algorithms share: their config fields and the agent's body.

The agent is a network (:class:`~pgcore.rl.networks.PolicyValueNet`, sized by the policy head
that the env's action space picked), one Adam, a seeded sampler and the optimiser step. Each
algorithm module adds only its *loss* (``update``). Acting happens under ``torch.no_grad()``:
no autograd graph is built per step; the update recomputes every log-probability in one
batched forward pass, which gives the same gradient at a fraction of the cost.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import torch

from ..rl.backprop import FlatAdam, HandNet, hand_net
from ..rl.envs import EnvSpec
from ..rl.networks import PolicyValueNet
from ..training.fields import ConfigError, Field, boolean, number, one_of, optional

# torch.manual_seed is process-global: building two networks at once from two threads
# would interleave their random draws. Building under a lock keeps every run reproducible.
_INIT_LOCK = threading.Lock()

NUMPY_ACTING_ROWS = 64
"""Acting on at most this many states runs the network in numpy (see :meth:`Agent.policy`)."""

LR_OPTIONS = (1e-5, 3e-5, 1e-4, 3e-4, 5e-4, 7e-4, 1e-3, 2e-3, 3e-3, 5e-3, 1e-2, 3e-2, 1e-1)


class DivergedError(RuntimeError):
    """A loss or gradient became NaN or infinite: the run cannot continue."""


class Loss(NamedTuple):
    """A policy-gradient loss and its named terms, torch scalars: ``total`` is what
    ``.backward()`` takes, and ``total = policy + value_coef * value - beta * entropy``
    (``value`` is NaN where there is no critic and then not part of ``total``)."""

    total: torch.Tensor
    policy: torch.Tensor  # the actor's term (minimised: gradient ascent on J)
    value: torch.Tensor  # the critic's regression error
    entropy: torch.Tensor  # the (reduced) entropy of the policy, which the bonus rewards


def reduce(x: torch.Tensor, reduction: str) -> torch.Tensor:
    """Combine per-step terms: ``mean`` (our default) or ``sum`` (the lesson's).

    >>> x = torch.tensor([1.0, 2.0, 3.0])
    >>> reduce(x, "sum").item(), reduce(x, "mean").item()
    (6.0, 2.0)
    """
    return x.sum() if reduction == "sum" else x.mean()


# ----- config fields every policy-gradient algorithm uses -------------------------------------

ENTROPY_BETA = Field(
    "entropy_beta", 0.0,
    "Entropy bonus: maximise J + beta * H(pi), so ``beta * H`` is subtracted from the loss.",
    number(0.0, 1.0), label="Entropy bonus β", format="g", rank=30,
    options=(0.0, 1e-4, 5e-4, 1e-3, 5e-3, 0.01, 0.02, 0.05, 0.1),
    help="Adds β·H(π) to the objective: keeps the policy from becoming deterministic too early.",
    cli_help="entropy bonus: maximise J + BETA*H (default from the preset, mostly 0)")
VALUE_LR = Field(
    "value_lr", None,
    "Adam learning rate for the critic's own layers; ``None`` means the same as ``lr``.",
    optional(number(0.0, 1.0, low_open=True, what="learning rate")),
    label="Critic learning rate", format="same", options=(None, *LR_OPTIONS), advanced=True,
    needs_critic=True, rank=110, flag=None, kind="float | None",
    help="Adam's step size for the critic's own layers.")
VALUE_COEF = Field(
    "value_coef", 0.5,
    "Weight of the critic's loss in the total loss (matters when a trunk is shared).",
    number(0.0, 100.0, low_open=True), label="Value-loss weight",
    options=(0.1, 0.25, 0.5, 1.0, 2.0), advanced=True, needs_critic=True, rank=120, flag=None,
    help="Weight of the critic's loss in the total loss (matters when actor and critic share "
         "layers).")
REDUCTION = Field(
    "reduction", "mean",
    "How the policy loss combines time steps: ``mean`` or ``sum`` (the lesson sums).",
    one_of(("mean", "sum")), label="Loss over time steps", widget="radio",
    options=("mean", "sum"), advanced=True, rank=180, flag=None,
    help="The lesson sums; we average.")
NORMALIZE_ADVANTAGES = Field(
    "normalize_advantages", False,
    "Standardise the advantages of each update batch (mean 0, std 1).",
    boolean(), label="Normalise advantages", widget="checkbox", advanced=True, rank=200,
    flag=None, help="Standardise each update's advantages (mean 0, std 1).")

SQUASH_MEAN = Field(
    "squash_mean", True,
    "Continuous (Box) actions: a Gaussian mean squashed into the bounds, centre + half * "
    "tanh(output) (True), or the raw output, which the env clips like any action (False).",
    boolean(), flag=None)  # no Train-page widget: that page is CartPole's (discrete actions)

POLICY_GRADIENT_FIELDS = (ENTROPY_BETA, VALUE_LR, VALUE_COEF, REDUCTION, NORMALIZE_ADVANTAGES,
                          SQUASH_MEAN)


# ----- the agent ------------------------------------------------------------------------------


class Agent:
    """Network + optimiser + action sampler. Algorithm modules subclass it with ``update``."""

    action_spaces: tuple[str, ...] = ("Discrete",)
    """The kinds of action space (``head.describe()["type"]``) this agent's loss is written
    for: see :func:`check_action_space`. Discrete only unless a subclass says more; a loss that
    reaches the policy only through ``head.log_prob_entropy`` works for any policy head and
    says ``("Discrete", "Box")``."""

    def __init__(self, config, spec: EnvSpec):
        self.config = config
        self.spec = spec
        self.head = spec.head
        with _INIT_LOCK, torch.random.fork_rng(devices=[]):  # leaves the caller's RNG alone
            torch.manual_seed(config.seed)
            self.net = PolicyValueNet(spec.obs_dim, self.head.out_dim, hidden=config.hidden,
                                      shared_layers=config.shared_layers,
                                      head_layers=config.head_layers,
                                      with_value=config.has_critic,
                                      activation=config.activation,
                                      ortho_init=config.ortho_init,
                                      state_independent_init=self.head.state_independent_init)
        self.optimizer = self.make_optimizer(self.net.param_groups(config.lr, config.critic_lr))
        self.params = [p for g in self.optimizer.param_groups for p in g["params"]]
        self.rng = np.random.default_rng(config.seed)
        self.updates = 0
        self.interrupted: Callable[[], bool] | None = None
        """While a :class:`~pgcore.training.trainer.Trainer` runs this agent: its check point
        (waits while the run is paused; True once it is stopped). An ``update`` that makes
        many gradient steps (PPO's epochs of minibatches) asks it between them and ends
        early when it says True, so a stop need not wait for the whole update."""

    def make_optimizer(self, groups: list[dict]):
        """Adam over the network's parameter groups (policy, critic): ``torch.optim.Adam``,
        fused (about 2x faster steps on CPU). The one-step actor-critic uses its own."""
        return torch.optim.Adam(groups, fused=True)

    @property
    def obs_dim(self) -> int:
        return self.spec.obs_dim

    @property
    def n_actions(self) -> int:
        return self.spec.n_actions

    # ----- acting --------------------------------------------------------------------------
    def policy(self, obs: np.ndarray,
               with_value: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
        """pi(.|s) for a batch of observations (B, obs_dim), as the head describes it
        (categorical: probs (B, A)), and V(s) (B,) or None.

        Up to :data:`NUMPY_ACTING_ROWS` states at a time (one state for REINFORCE, the
        one-step actor-critic and greedy evaluation; 8 or 16 for A2C's and PPO's vector envs)
        run in numpy (:meth:`~pgcore.rl.networks.PolicyValueNet.numpy_forward`), where torch's
        per-call overhead would cost more than the arithmetic (measured at 2x64 networks:
        10 against 29 us for one state, 12 against 31 us for 8); larger batches run in
        torch."""
        obs = np.ascontiguousarray(obs, dtype=np.float32)
        if len(obs) <= NUMPY_ACTING_ROWS:
            outputs, values = self.net.numpy_forward(obs, with_value=with_value)
        else:  # act_forward runs under no_grad
            outputs, values = self.net.act_forward(torch.from_numpy(obs), with_value=with_value)
            values = None if values is None else values.numpy()
        return self.head.distribution(outputs), \
            None if values is None else values.astype(np.float64)

    def act(self, obs: np.ndarray, greedy: bool = False,
            with_value: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Sample actions (B, *action_shape) for observations (B, obs_dim); also returns the
        policy's distribution (see :meth:`policy`) and values."""
        dist, values = self.policy(obs, with_value=with_value)
        actions = self.head.greedy(dist) if greedy else self.head.sample(dist, self.rng)
        return actions, dist, values

    def value(self, obs: np.ndarray) -> np.ndarray | None:
        """V(s) for a batch of observations, or None if there is no critic."""
        return self.policy(obs, with_value=True)[1]

    def predicted_value(self, obs: np.ndarray) -> np.ndarray:
        """What the agent expects to collect from each state (B,): V(s) from the critic, NaN
        without one. DQN overrides it with max_a Q(s, a)."""
        values = self.value(obs)
        return np.full(len(obs), np.nan) if values is None else np.asarray(values, np.float64)

    # ----- learning ------------------------------------------------------------------------
    def reduce(self, x: torch.Tensor) -> torch.Tensor:
        """Combine per-step terms as the config says (``mean``, or ``sum`` like the lesson)."""
        return reduce(x, self.config.reduction)

    def optimize(self, loss: torch.Tensor) -> float:
        """One gradient step on ``loss``; returns the global gradient norm *before* clipping.

        Raises :class:`DivergedError` instead of stepping if the loss or gradient is not finite,
        so the weights are never overwritten with NaN.
        """
        if not torch.isfinite(loss):
            raise DivergedError(f"the loss became {loss.item()} at update {self.updates + 1}")
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        max_norm = self.config.max_grad_norm
        if max_norm is None:  # measure only
            grads = [p.grad for p in self.params if p.grad is not None]
            grad_norm = float(torch.nn.utils.get_total_norm(grads))
        else:
            grad_norm = float(torch.nn.utils.clip_grad_norm_(self.params, max_norm))
        if not math.isfinite(grad_norm):
            raise DivergedError(
                f"the gradient norm became {grad_norm} at update {self.updates + 1}")
        self.optimizer.step()
        self.updates += 1
        return grad_norm

    def update(self, batch) -> dict[str, float]:  # pragma: no cover - each algorithm's own
        raise NotImplementedError


class HandAgent(Agent):
    """An agent whose update is written out by hand (:mod:`pgcore.rl.backprop`): A2C, PPO and
    the one-step actor-critic.

    The loss is the same as through autograd; its gradient is the chain rule written out on
    :attr:`hand`, the network as numpy layers on the parameters' own memory, and Adam runs on
    one flat buffer per parameter group (:class:`~pgcore.rl.backprop.FlatAdam`, whose state
    has ``torch.optim.Adam``'s layout, so checkpoints move between the two). At these network
    sizes that costs a fraction of autograd's graph and ``torch.optim``'s loops; the numbers
    agree with autograd to float32 rounding (``tests/test_backprop.py``, ``tests/test_ppo.py``).
    """

    def __init__(self, config, spec: EnvSpec):
        self._hand: HandNet | None = None  # taken on first use (again after a copy)
        super().__init__(config, spec)

    def make_optimizer(self, groups: list[dict]) -> FlatAdam:
        return FlatAdam(groups)

    @property
    def hand(self) -> HandNet:
        """The trained network as :class:`~pgcore.rl.backprop.HandNet` layers; each update's
        backward writes every element of the optimiser's gradient buffers."""
        if self._hand is None:
            self._hand = hand_net(self.trained_net, self.optimizer.grads)
        return self._hand

    @property
    def trained_net(self):
        """The :class:`~pgcore.rl.networks.PolicyValueNet` the optimiser trains (DQN: the
        online network, not its target)."""
        return self.net

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_hand"] = None  # views of the original's memory: a copy takes its own
        return state

    def gradients(self) -> list[np.ndarray]:
        """The last update's gradient of each parameter (before clipping), in ``params``
        order: views of the optimiser's buffers."""
        return [self.optimizer.grads[id(p)] for p in self.params]

    def step(self, loss: float) -> float:
        """One Adam step from the gradients the update has just written for ``loss``; returns
        the global gradient norm *before* clipping (``max_grad_norm`` clips as
        ``torch.nn.utils.clip_grad_norm_`` does). Raises :class:`DivergedError` instead of
        stepping if the loss or the gradient is not finite."""
        if not math.isfinite(loss):
            raise DivergedError(f"the loss became {loss} at update {self.updates + 1}")
        opt = self.optimizer
        grad_norm = opt.grad_norm()
        if not math.isfinite(grad_norm):
            raise DivergedError(
                f"the gradient norm became {grad_norm} at update {self.updates + 1}")
        max_norm = self.config.max_grad_norm
        if max_norm is not None and grad_norm > max_norm:
            opt.scale_grads(max_norm / (grad_norm + 1e-6))
        opt.step()
        self.updates += 1
        return grad_norm


_SPACE_WORDS = {"Discrete": "discrete", "Box": "continuous"}


def check_action_space(config, spec: EnvSpec) -> None:
    """A one-line :class:`ConfigError` unless ``config``'s algorithm can act in ``spec``'s
    action space (its agent class's :attr:`Agent.action_spaces`), e.g. ``dqn needs a discrete
    action space; Pendulum-v1 has a continuous one (Box)``. The trainer, the CLI and checkpoint
    loading call it before building an agent."""
    accepted = getattr(config.algorithm.make_agent, "action_spaces", Agent.action_spaces)
    kind = spec.head.describe()["type"]
    if kind in accepted:
        return
    wanted = " or ".join(_SPACE_WORDS.get(k, k) for k in accepted)
    env = spec.env_id or "this environment"
    hint = ""
    if kind == "Box" and any(f.name == "action_bins" for f in config.algorithm.fields):
        hint = " (or set --action-bins K to discretise it)"
    raise ConfigError(f"{config.algo} needs a {wanted} action space; {env} has a "
                      f"{_SPACE_WORDS.get(kind, kind)} one ({kind}){hint}")


# ----- schedules ------------------------------------------------------------------------------


def linear_schedule(step: int, start: float, end: float, duration: int) -> float:
    """x_t = start + (end - start) * min(1, t / duration); ``end`` from t = duration on
    (at once if duration is 0). DQN's epsilon and learning-rate decay, PPO's annealing.

    >>> [linear_schedule(t, 1.0, 0.1, 10) for t in (0, 5, 10, 20)]
    [1.0, 0.55, 0.1, 0.1]
    """
    if duration <= 0 or step >= duration:
        return float(end)
    return float(start + (end - start) * (step / duration))


class Stats(dict):
    """What ``update()`` returns: named scalars (a plain dict), readable as attributes too
    (``stats.policy_loss``)."""

    __slots__ = ()

    def __getattr__(self, name: str):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"no statistic {name!r}") from None


def advantage_stats(adv: torch.Tensor | np.ndarray) -> dict[str, float]:
    """Mean, std (the unbiased one, as ``torch.std``) and RMS of a batch's advantages (the RMS
    is averaged as a root mean square over a chart bucket: see
    :func:`pgcore.execution.runner.aggregate`)."""
    if isinstance(adv, torch.Tensor):
        adv = adv.detach().double().numpy()
    adv = np.asarray(adv, np.float64).reshape(-1)
    mean = float(adv.mean())
    std = float(adv.std(ddof=1)) if adv.size > 1 else 0.0
    return {"advantage_mean": mean, "advantage_std": std,
            "advantage_rms": math.sqrt(mean * mean + std * std)}


def policy_gradient_panels():
    """The diagnostics every policy-gradient run shows, in two stacked columns: policy loss,
    entropy and gradient norm; the critic's loss and the advantages' size."""
    from .base import Panel

    return (Panel("policy_loss", "policy loss"),
            Panel("entropy", "policy entropy H(π(·|s)), nats"),
            Panel("grad_norm", "gradient norm, before clipping", "log"),
            Panel("value_loss", "value loss (critic)", "log", column=1, needs_critic=True),
            Panel("advantage_rms", "advantage size (RMS)", "log", column=1))
