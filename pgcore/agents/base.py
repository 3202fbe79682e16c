"""What every agent shares: the network, one Adam, seeded action sampling, the optimiser step.

An agent owns its *loss*; collecting experience is ``pgcore.rollout``'s job and the loop is
``pgcore.trainer``'s. Acting happens under ``torch.no_grad()``: no autograd graph is built per
step. The update recomputes every log-probability in one batched forward pass, which gives
the same gradient at a fraction of the cost of keeping a graph per step.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..config import TrainConfig
from ..networks import PolicyValueNet

# torch.manual_seed is process-global: building two networks at once from two threads
# would interleave their random draws. Building under a lock keeps every run reproducible.
_INIT_LOCK = threading.Lock()


class DivergedError(RuntimeError):
    """A loss or gradient became NaN or infinite: the run cannot continue."""


@dataclass(frozen=True)
class UpdateStats:
    """Diagnostics of one update (scalars; NaN where a quantity does not apply)."""

    policy_loss: float
    value_loss: float
    entropy: float
    grad_norm: float
    advantage_mean: float
    advantage_std: float
    value_mean: float
    target_mean: float
    batch_size: int


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


class Agent:
    """Network + optimiser + action sampler. Subclasses implement ``update``."""

    def __init__(self, config: TrainConfig, obs_dim: int, n_actions: int):
        self.config = config
        self.obs_dim, self.n_actions = obs_dim, n_actions
        with _INIT_LOCK, torch.random.fork_rng(devices=[]):  # leaves the caller's RNG alone
            torch.manual_seed(config.seed)
            self.net = PolicyValueNet(obs_dim, n_actions, hidden=config.hidden,
                                      shared_layers=config.shared_layers,
                                      head_layers=config.head_layers,
                                      with_value=config.has_critic,
                                      activation=config.activation,
                                      ortho_init=config.ortho_init)
        self.optimizer = torch.optim.Adam(self.net.param_groups(config.lr, config.critic_lr),
                                          fused=True)  # fused: ~2x faster steps on CPU
        self.params = [p for g in self.optimizer.param_groups for p in g["params"]]
        self.rng = np.random.default_rng(config.seed)
        self.updates = 0

    # ----- acting --------------------------------------------------------------------------
    @torch.no_grad()
    def policy(self, obs: np.ndarray,
               with_value: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
        """pi(.|s) for a batch of observations (B, obs_dim): probs (B, A) and V(s) (B,) or None."""
        obs_t = torch.from_numpy(np.ascontiguousarray(obs, dtype=np.float32))
        logits, values = self.net.act_forward(obs_t, with_value=with_value)
        probs = torch.softmax(logits, dim=-1).double().numpy()
        return probs, None if values is None else values.double().numpy()

    def act(self, obs: np.ndarray, greedy: bool = False,
            with_value: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Sample actions (B,) for observations (B, obs_dim); also returns probs and values."""
        probs, values = self.policy(obs, with_value=with_value)
        actions = probs.argmax(-1) if greedy else sample_actions(probs, self.rng)
        return actions, probs, values

    # ----- learning ------------------------------------------------------------------------
    def reduce(self, x: torch.Tensor) -> torch.Tensor:
        """Combine per-step terms as the config says (``mean``, or ``sum`` like the lesson)."""
        return x.sum() if self.config.reduction == "sum" else x.mean()

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

    def update(self, batch) -> UpdateStats:  # pragma: no cover - abstract
        raise NotImplementedError

    def value(self, obs: np.ndarray) -> np.ndarray | None:
        """V(s) for a batch of observations, or None if there is no critic."""
        return self.policy(obs, with_value=True)[1]


def _std(x: torch.Tensor) -> float:
    return float(x.std()) if x.numel() > 1 else 0.0
