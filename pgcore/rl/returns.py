"""Returns and advantages: one small pure function per equation (numpy in, numpy out).

Shapes: ``T`` is time steps, ``N`` parallel environments. Every function here is exact,
has no side effects and is checked against hand-computed values in ``tests/test_returns.py``.

Two flags describe how a step ended, and they are *not* the same thing:

* ``terminated[t]``: s_{t+1} is a true end of the task (the pole fell). Nothing follows, so
  the value of s_{t+1} is 0.
* ``truncated[t]``: a time limit stopped the episode (CartPole-v1 stops at 500 steps). The
  pole was still up; the future was cut off by the clock, not by the task, so the value of
  s_{t+1} is V(s_{t+1}) and we bootstrap from it. Treating a truncation as terminal teaches
  the critic that the 500th step of a perfect episode is worth nothing.
"""

from __future__ import annotations

import numpy as np


def discounted_returns(rewards, gamma: float, bootstrap: float = 0.0) -> np.ndarray:
    """Reward-to-go of one episode: G_t = r_t + gamma * G_{t+1}, with G_T = ``bootstrap``.

    ``bootstrap`` is 0 when the episode terminated, and V(s_T) when it was truncated by a
    time limit (the return would have continued). One reversed pass: O(T).

    >>> discounted_returns([1.0, 1.0, 1.0], gamma=0.5)
    array([1.75, 1.5 , 1.  ])
    >>> discounted_returns([1.0, 1.0], gamma=0.5, bootstrap=4.0)   # 1 + .5*(1 + .5*4)
    array([2.5, 3. ])
    """
    rewards = np.asarray(rewards, dtype=np.float64)  # (T,)
    returns = np.empty_like(rewards)  # (T,)
    running = float(bootstrap)
    for t in range(len(rewards) - 1, -1, -1):
        running = rewards[t] + gamma * running
        returns[t] = running
    return returns


def normalize(x, eps: float = 1e-8) -> np.ndarray:
    """Standardise: (x - mean(x)) / (std(x) + eps). A length-1 input becomes 0.

    Uses the sample standard deviation (ddof=1), like ``torch.std``.

    >>> normalize([1.0, 2.0, 3.0]).round(6)
    array([-1.,  0.,  1.])
    """
    x = np.asarray(x, dtype=np.float64)
    if x.size < 2:
        return np.zeros_like(x)
    return (x - x.mean()) / (x.std(ddof=1) + eps)


def td_errors(rewards, values, next_values, terminated, gamma: float) -> np.ndarray:
    """One-step TD errors: delta_t = r_t + gamma * (1 - terminated_t) * V(s_{t+1}) - V(s_t).

    ``next_values[t]`` is V of the state reached after step t (for a truncated step that is
    the last real state, so truncation bootstraps; only ``terminated`` zeroes it). Any shape.

    >>> td_errors([1.0, 1.0], values=[2.0, 1.0], next_values=[1.0, 5.0],
    ...           terminated=[False, True], gamma=0.9)
    array([-0.1,  0. ])
    """
    rewards = np.asarray(rewards, dtype=np.float64)
    alive = 1.0 - np.asarray(terminated, dtype=np.float64)
    next_values = np.asarray(next_values, np.float64)
    return rewards + gamma * alive * next_values - np.asarray(values, np.float64)


def gae_advantages(rewards, values, next_values, terminated, truncated, gamma: float,
                   lam: float) -> np.ndarray:
    """Generalised advantage estimation over a rollout of shape (T, N) (or (T,)).

    A_t = delta_t + gamma * lam * (1 - done_t) * A_{t+1},  done_t = terminated_t or truncated_t,
    with delta_t from :func:`td_errors` and A_T = 0 after the last step of the rollout (the
    last step's delta already bootstraps from V(s_T)).

    ``lam = 0`` gives the one-step TD error; ``lam = 1`` gives the n-step return minus V(s_t)
    (see :func:`nstep_returns`). An episode boundary inside the rollout stops the sum, so no
    advantage ever mixes two episodes; a truncated step still bootstraps through delta_t.

    >>> gae_advantages([1.0, 1.0], values=[0.0, 0.0], next_values=[0.0, 2.0],
    ...                terminated=[False, False], truncated=[False, False], gamma=0.5, lam=1.0)
    array([2., 2.])
    """
    deltas = td_errors(rewards, values, next_values, terminated, gamma)  # (T, N)
    done = np.logical_or(terminated, truncated).astype(np.float64)  # (T, N)
    advantages = np.zeros_like(deltas)
    running = np.zeros_like(deltas[0]) if deltas.ndim > 1 else 0.0
    for t in range(len(deltas) - 1, -1, -1):
        running = deltas[t] + gamma * lam * (1.0 - done[t]) * running
        advantages[t] = running
    return advantages


def nstep_returns(rewards, next_values, terminated, truncated, gamma: float) -> np.ndarray:
    """n-step bootstrapped returns over a rollout of shape (T, N) (or (T,)).

    G_t = r_t + gamma * G_{t+1} inside an episode; at the rollout's last step, or where an
    episode ended, G_t = r_t + gamma * (1 - terminated_t) * V(s_{t+1}). Equal to
    ``gae_advantages(..., lam=1) + values`` whenever ``next_values[t] == values[t + 1]`` inside an
    episode, as in every real rollout (a test checks it).

    >>> nstep_returns([1.0, 1.0, 1.0], next_values=[9.0, 9.0, 4.0],
    ...               terminated=[False, False, False], truncated=[False, False, False], gamma=0.5)
    array([2.25, 2.5 , 3.  ])
    """
    rewards = np.asarray(rewards, dtype=np.float64)
    next_values = np.asarray(next_values, dtype=np.float64)
    alive = 1.0 - np.asarray(terminated, dtype=np.float64)
    done = np.logical_or(terminated, truncated)
    returns = np.zeros_like(rewards)
    running = None
    for t in range(len(rewards) - 1, -1, -1):
        bootstrap = gamma * alive[t] * next_values[t]
        if running is None:
            running = rewards[t] + bootstrap
        else:
            running = rewards[t] + np.where(done[t], bootstrap, gamma * running)
        returns[t] = running
    return returns


def td_targets(rewards, next_q, terminated, gamma: float) -> np.ndarray:
    """DQN's TD target: y = r + gamma * (1 - terminated) * max_a' Q_target(s', a').

    ``next_q`` (B, A) holds the target network's Q(s', .) for each transition; a terminated
    row ignores it (nothing follows the end of the task). A truncated row is stored as not
    terminated, so it bootstraps. Shapes: rewards (B,), next_q (B, A), terminated (B,).

    >>> td_targets([1.0, 1.0], next_q=[[2.0, 5.0], [3.0, 4.0]], terminated=[False, True],
    ...            gamma=0.9)                    # 1 + 0.9 * 5 = 5.5;  1 + 0
    array([5.5, 1. ])
    """
    next_q = np.asarray(next_q, dtype=np.float64)  # (B, A)
    return bootstrapped_targets(rewards, next_q.max(axis=-1), terminated, gamma)


def double_td_targets(rewards, next_q_online, next_q_target, terminated,
                      gamma: float) -> np.ndarray:
    """Double DQN's target: the online network picks a', the target network values it.

    a*_t = argmax_a' Q_online(s'_t, a'),  y_t = r_t + gamma * (1 - terminated_t) *
    Q_target(s'_t, a*_t). Decoupling the choice from the valuation removes most of the upward
    bias of max over noisy estimates. Shapes: rewards (B,), both next_q (B, A), terminated (B,).

    >>> double_td_targets([1.0], next_q_online=[[2.0, 5.0]], next_q_target=[[3.0, 4.0]],
    ...                   terminated=[False], gamma=0.5)   # online picks a'=1: 1 + 0.5 * 4
    array([3.])
    """
    next_q_target = np.asarray(next_q_target, dtype=np.float64)  # (B, A)
    best = np.asarray(next_q_online).argmax(axis=-1)  # (B,) chosen by the online network
    chosen = np.take_along_axis(next_q_target, best[:, None], axis=-1)[:, 0]  # (B,)
    return bootstrapped_targets(rewards, chosen, terminated, gamma)


def bootstrapped_targets(rewards, next_values, terminated, gamma: float) -> np.ndarray:
    """y_t = r_t + gamma * (1 - terminated_t) * next_values_t (the shared last step of the
    TD targets above; ``next_values`` is already the value of s'_t). Any shape.

    >>> bootstrapped_targets([1.0, 2.0], next_values=[10.0, 10.0], terminated=[False, True],
    ...                      gamma=0.5)
    array([6., 2.])
    """
    alive = 1.0 - np.asarray(terminated, dtype=np.float64)
    return (np.asarray(rewards, dtype=np.float64)
            + gamma * alive * np.asarray(next_values, dtype=np.float64))
