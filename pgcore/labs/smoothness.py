"""Smoothness: how far a small random change of the weights moves what an agent plays.

A softmax policy pi_theta(a|s) = softmax(f_theta(s))[a] is a smooth function of theta: a
small step in theta is a small change in pi, which is what lets a policy gradient take small
steps. A value agent plays argmax_a Q_theta(s, a), and an argmax is a step function: in a
state where two actions' values are close, a tiny change of theta swaps them and the action
played changes completely. This module measures both on trained CartPole agents:

1. fix a set of states (:func:`visited_states`: states the trained agents visit themselves);
2. draw random directions d in weight space, scaled per layer to that layer's norm
   (:func:`random_direction`), and move the weights to theta + eps * d for a range of sizes
   eps (:func:`perturbed`; the trained weights come back afterwards, bit for bit);
3. on the fixed states, measure how far the action distribution moved
   (:func:`total_variation`) and on how many states the argmax action changed
   (:func:`argmax_flip_fraction`), and play a few greedy episodes (:func:`greedy_returns`:
   the episodes of :func:`pgcore.training.evaluation.evaluate_greedy`, side by side).
   :func:`perturbation_curve` does all of it.

A greedy policy's distribution is one-hot, so its total variation on a state is 0 (same
action) or 1 (the other action), and its mean total variation over the states *is* the
flip fraction. That is the comparison the Smoothness page draws: the softmax policy's pi
against the Q-network's greedy policy, each as the distribution it acts with.

The two trained agents live in ``assets/agents/`` (weights and config only, no optimiser
state; :data:`AGENT_FILES`). To make them again (under a minute; DQN takes most of it)::

    python -m pgcore.labs.smoothness --out assets/agents

which trains each algorithm's tuned default (seed 0) with a greedy evaluation of 10 episodes
every 5,000 env steps, and keeps the first agent whose evaluation averages 500 *and* that
also averages at least 495 on 20 fresh episodes (:func:`train_until_solved`).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..rl.heads import CategoricalHead
from ..training.evaluation import evaluate_greedy, evaluation_seeds

AGENTS_DIR = Path(__file__).resolve().parents[2] / "assets" / "agents"
"""Where the trained agents of the Smoothness page are kept."""
AGENT_FILES = {"policy": "a2c-cartpole.pt", "q": "dqn-cartpole.pt"}
"""The two checkpoints: a softmax policy (A2C, our tuned default) and a Q-network (Double DQN,
our tuned default), both trained on CartPole-v1 by :func:`train_until_solved`."""
AGENT_ALGOS = {"policy": "a2c", "q": "dqn"}
"""Which algorithm's tuned default made each of :data:`AGENT_FILES`."""

SIZE_GRID = (1e-5, 3e-5, 1e-4, 3e-4, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
"""The sizes eps the page offers: relative changes of each layer's weights, 0.001% to 1000%."""
DEFAULT_SIZES = SIZE_GRID[2:12]
"""1e-4 (0.01%) to 3 (300%): from where the Q-network's argmax starts to flip to where both
agents fail."""
DEFAULT_DIRECTIONS = 5
DEFAULT_EPISODES = 3
DEFAULT_STATES = 256
STATE_SEED = 2024
"""Seeds the resets of the episodes the fixed states come from, and which states are kept."""
DIRECTION_SEED = 0
EVAL_SEED = 7
"""Run seed given to :func:`pgcore.training.evaluation.evaluate_greedy` for the episodes after a
perturbation (their start states: :func:`pgcore.training.evaluation.evaluation_seeds`)."""


# ----- the two measures -----------------------------------------------------------------------


def total_variation(p, q) -> float:
    """Mean over states of the total variation distance between two distributions over
    actions::

        TV(p, q) = mean_s 0.5 * sum_a |p(a|s) - q(a|s)|          p, q: (n_states, n_actions)

    0 when nothing moved, 1 when every state's probability mass moved to other actions.
    A single distribution (n_actions,) counts as one state.

    >>> total_variation([[0.5, 0.5], [1.0, 0.0]], [[0.6, 0.4], [0.0, 1.0]])
    0.55
    """
    p, q = np.atleast_2d(np.asarray(p, np.float64)), np.atleast_2d(np.asarray(q, np.float64))
    if p.shape != q.shape:
        raise ValueError(f"distributions of shapes {p.shape} and {q.shape} do not match")
    if not p.size:
        return float("nan")
    return round(float(np.mean(per_state_total_variation(p, q))), 15)


def per_state_total_variation(p, q) -> np.ndarray:
    """0.5 * sum_a |p(a|s) - q(a|s)| for each state: (n_states,).

    >>> per_state_total_variation([[0.5, 0.5], [1.0, 0.0]], [[0.6, 0.4], [0.0, 1.0]])
    array([0.1, 1. ])
    """
    p, q = np.atleast_2d(np.asarray(p, np.float64)), np.atleast_2d(np.asarray(q, np.float64))
    return np.round(0.5 * np.abs(p - q).sum(axis=-1), 15)


def argmax_flip_fraction(q_before, q_after) -> float:
    """The fraction of states whose argmax action changed::

        flips = mean_s [argmax_a before(s, a) != argmax_a after(s, a)]

    for any per-action scores (Q-values, logits or probabilities; ties go to the lowest
    action). It equals the total variation of the greedy (one-hot) policies.

    >>> argmax_flip_fraction([[1.0, 2.0], [3.0, 0.0]], [[1.0, 0.5], [2.9, 0.1]])
    0.5
    >>> total_variation(one_hot_argmax([[1.0, 2.0], [3.0, 0.0]]),
    ...                 one_hot_argmax([[1.0, 0.5], [2.9, 0.1]]))
    0.5
    """
    a = np.atleast_2d(np.asarray(q_before)).argmax(-1)
    b = np.atleast_2d(np.asarray(q_after)).argmax(-1)
    if a.shape != b.shape:
        raise ValueError(f"scores for {a.size} and {b.size} states do not match")
    return float(np.mean(a != b)) if a.size else float("nan")


def one_hot_argmax(scores) -> np.ndarray:
    """The greedy policy of per-action scores as a distribution: 1 on the argmax.

    >>> one_hot_argmax([[0.2, 0.7], [5.0, -1.0]])
    array([[0., 1.],
           [1., 0.]])
    """
    scores = np.atleast_2d(np.asarray(scores))
    out = np.zeros(scores.shape, np.float64)
    np.put_along_axis(out, scores.argmax(-1)[:, None], 1.0, axis=-1)
    return out


def action_gaps(scores) -> np.ndarray:
    """Per state, the best action's score minus the second best's (n_states,): how far the
    argmax is from flipping, in the outputs' own units.

    >>> action_gaps([[64.0, 64.05], [0.8, 0.2]])
    array([0.05, 0.6 ])
    """
    top2 = np.sort(np.atleast_2d(np.asarray(scores, np.float64)), axis=-1)[:, -2:]
    return np.round(top2[:, 1] - top2[:, 0], 12)


# ----- random directions and perturbed weights ------------------------------------------------


def _tensors(net) -> list[torch.Tensor]:
    return list(net.parameters()) if isinstance(net, nn.Module) else list(net)


def random_direction(params, rng: np.random.Generator) -> list[torch.Tensor]:
    """A random direction in weight space, one tensor per parameter tensor, each scaled to
    the norm of the weights it belongs to (layer normalisation)::

        d_l = g_l * ||theta_l|| / ||g_l||          g_l ~ N(0, I), one per tensor l

    so ``theta + eps * d`` changes every layer by the same *relative* amount:
    ||eps * d_l|| = eps * ||theta_l||, and a size eps = 0.01 is a 1% change of each layer.
    Without it, a step of one size would be a large change to a layer of small weights and
    a negligible one to a layer of large weights. This follows the normalisation of Li et
    al. (2018), "Visualizing the Loss Landscape of Neural Nets", which scales per filter
    (per row of a weight matrix); here each tensor (a weight matrix, a bias vector) is one
    unit. A tensor of zeros gets a zero direction. ``params``: a module or a list of
    tensors; ``rng`` draws the direction, so the same seed gives the same direction.

    >>> net = nn.Linear(3, 2)
    >>> d = random_direction(net, np.random.default_rng(0))
    >>> [round(float(x.norm() / p.detach().norm()), 6) for x, p in zip(d, net.parameters())]
    [1.0, 1.0]
    """
    out = []
    for p in _tensors(params):
        g = torch.from_numpy(rng.standard_normal(tuple(p.shape))).to(p.dtype)
        g_norm, p_norm = float(g.norm()), float(p.detach().norm())
        out.append(g * (p_norm / g_norm) if g_norm > 0 and p_norm > 0 else torch.zeros_like(g))
    return out


@contextmanager
def perturbed(net, direction: Sequence[torch.Tensor], size: float):
    """Within the ``with`` block the weights are theta + size * d; afterwards they are the
    trained ones again, bit for bit (copied back, not subtracted), even after an exception.

    ``net``: a module or a list of its parameter tensors, in the order of ``direction``
    (as :func:`random_direction` returns it). The weights are changed in place, so anything
    that reads them (an agent's fast acting path included) sees the perturbed network.

    >>> net = nn.Linear(2, 1)
    >>> before = net.weight.clone()
    >>> with perturbed(net, random_direction(net, np.random.default_rng(1)), 0.5):
    ...     bool(torch.equal(net.weight, before))
    False
    >>> bool(torch.equal(net.weight, before))
    True
    """
    params = _tensors(net)
    if len(params) != len(direction):
        raise ValueError(f"{len(direction)} direction tensors for {len(params)} parameters")
    for p, d in zip(params, direction, strict=True):
        if p.shape != d.shape:
            raise ValueError(f"direction of shape {tuple(d.shape)} for a parameter of shape "
                             f"{tuple(p.shape)}")
    saved = [p.detach().clone() for p in params]
    try:
        with torch.no_grad():
            for p, d in zip(params, direction, strict=True):
                p.add_(d.to(p.dtype), alpha=float(size))
        yield net
    finally:
        with torch.no_grad():
            for p, s in zip(params, saved, strict=True):
                p.copy_(s)


# ----- states, curves -------------------------------------------------------------------------


def plays_a_distribution(agent) -> bool:
    """True when the agent's outputs are a stochastic policy pi(.|s) it samples from (a
    categorical head); False when they are scores whose argmax it plays (Q-values)."""
    return isinstance(agent.head, CategoricalHead)


def outputs(agent, states: np.ndarray) -> np.ndarray:
    """What the agent's head makes of ``states`` (n, obs_dim): pi(.|s) for a policy,
    Q(s, .) for a Q-network, (n, n_actions) float64."""
    return np.asarray(agent.policy(states)[0], np.float64)


def visited_states(agents, env_id: str, n: int = DEFAULT_STATES,
                   seed: int = STATE_SEED) -> np.ndarray:
    """``n`` states (n, obs_dim) that the ``agents`` visit when they play greedily: each
    agent in turn plays greedy episodes from resets seeded ``seed``, ``seed + 1``, ... until
    it has visited at least its share of states (n split evenly, the first agents taking the
    remainder), and that many are drawn from them without replacement with
    ``default_rng(seed)``. The same agents and seed give the same states."""
    from ..rl.envs import make_env

    agents = list(agents)
    if not agents or n < 1:
        raise ValueError("need at least one agent and one state")
    rng = np.random.default_rng(seed)
    shares = [n // len(agents) + (i < n % len(agents)) for i in range(len(agents))]
    env = make_env(env_id)
    picked = []
    try:
        for agent, share in zip(agents, shares, strict=True):
            seen: list[np.ndarray] = []
            episode = 0
            while len(seen) < share:
                obs, _ = env.reset(seed=int(seed) + episode)
                episode += 1
                while True:
                    obs = np.asarray(obs, np.float32)
                    seen.append(obs)
                    action = agent.act(obs[None], greedy=True)[0][0]
                    obs, _, terminated, truncated, _ = env.step(agent.head.to_env(action))
                    if terminated or truncated:
                        break
            keep = np.sort(rng.choice(len(seen), size=share, replace=False))
            picked.append(np.stack(seen)[keep])
    finally:
        env.close()
    return np.concatenate(picked).astype(np.float32)


def greedy_returns(agent, env_id: str, episodes: int, seed: int, envs=None) -> np.ndarray:
    """The returns (episodes,) of the greedy episodes that
    :func:`~pgcore.training.evaluation.evaluate_greedy` plays with run seed ``seed`` (the same start
    seeds, :func:`~pgcore.training.evaluation.evaluation_seeds`, and the same actions), played side
    by side: one batched forward pass picks the actions of every episode still running, which
    makes a few episodes cost little more than one. ``envs`` reuses open environments (at
    least ``episodes`` of them)."""
    from ..rl.envs import make_env

    if episodes < 1:
        return np.zeros(0)
    own = envs is None
    envs = [make_env(env_id) for _ in range(episodes)] if own else list(envs)[:episodes]
    if len(envs) < episodes:
        raise ValueError(f"{episodes} episodes need as many environments, got {len(envs)}")
    totals = np.zeros(episodes)
    try:
        starts = evaluation_seeds(seed, episodes)
        obs = np.stack([np.asarray(env.reset(seed=s)[0], np.float32)
                        for env, s in zip(envs, starts, strict=True)]).reshape(episodes, -1)
        live = np.ones(episodes, bool)
        while live.any():
            running = np.flatnonzero(live)
            actions = agent.act(obs[running], greedy=True)[0]
            for j, action in zip(running, actions, strict=True):
                o, reward, terminated, truncated, _ = envs[j].step(agent.head.to_env(action))
                obs[j] = o
                totals[j] += float(reward)
                live[j] = not (terminated or truncated)
    finally:
        if own:
            for env in envs:
                env.close()
    return totals


@dataclass(frozen=True)
class Curve:
    """One agent's measurements along :func:`perturbation_curve`'s sizes and directions.

    Arrays are indexed [size, direction] (and [..., episode] for returns). ``policy_tv`` is
    the mean total variation of pi(.|s) over the states (NaN for an agent without a
    stochastic policy); ``policy_tv_max`` its largest value on any one state; ``flips`` the
    fraction of states whose argmax action changed, which is the mean total variation of
    the greedy policy (for a Q-network: of the policy it plays). ``returns`` are greedy
    returns after the perturbation, ``base_returns`` before it.
    """

    sizes: np.ndarray
    """(S,) the sizes eps."""
    policy_tv: np.ndarray
    """(S, D)"""
    policy_tv_max: np.ndarray
    """(S, D)"""
    flips: np.ndarray
    """(S, D)"""
    returns: np.ndarray
    """(S, D, E)"""
    base_returns: np.ndarray
    """(E,)"""
    stochastic: bool
    """True for a softmax policy (:func:`plays_a_distribution`)."""
    states: int
    seed: int
    seconds: float

    @property
    def played_tv(self) -> np.ndarray:
        """(S, D) the mean total variation of the distribution the agent acts with: pi for a
        softmax policy, the one-hot argmax for a Q-network (= ``flips``)."""
        return self.policy_tv if self.stochastic else self.flips

    @property
    def played_tv_max(self) -> np.ndarray:
        """(S, D) the largest total variation on any one state of the distribution the agent
        acts with: for a one-hot greedy policy 1 as soon as one state flips, else 0."""
        return self.policy_tv_max if self.stochastic else (self.flips > 0).astype(np.float64)

    @property
    def mean_returns(self) -> np.ndarray:
        """(S, D) the mean greedy return over the episodes of each perturbed network."""
        return self.returns.mean(axis=-1)


def perturbation_curve(agent, states: np.ndarray, sizes: Sequence[float] = DEFAULT_SIZES,
                       directions: int = DEFAULT_DIRECTIONS, seed: int = DIRECTION_SEED,
                       episodes: int = DEFAULT_EPISODES, env_id: str | None = None,
                       eval_seed: int = EVAL_SEED, on_progress=None) -> Curve:
    """Perturb ``agent`` along ``directions`` random directions (direction k drawn with
    ``default_rng([seed, k])``, the same line for every size) by each of ``sizes``, and
    measure on ``states``: the total variation of pi(.|s) (a softmax policy only), the
    fraction of states whose argmax action flips, and the returns of ``episodes`` greedy
    episodes (:func:`~pgcore.training.evaluation.evaluate_greedy` with run seed ``eval_seed``: the
    same start states for every perturbation, played side by side by
    :func:`greedy_returns`). ``episodes = 0`` skips the returns. ``on_progress(done, total)``
    is called after each perturbed network.

    Every trained parameter is perturbed (``agent.params``: for an actor-critic also the
    critic's, which does not change the action; a DQN's target network is not trained and
    not touched). The work happens on a private copy of the agent, so the agent passed in
    is never changed, even for a moment (another thread may be using it).
    """
    from ..rl.envs import make_env

    t0 = time.perf_counter()
    sizes = np.asarray(sizes, np.float64)
    if sizes.ndim != 1 or not np.all(np.isfinite(sizes)) or np.any(sizes < 0):
        raise ValueError("sizes must be a list of finite numbers >= 0")
    if directions < 1 or episodes < 0:
        raise ValueError("need at least one direction and no negative episode count")
    states = np.ascontiguousarray(states, np.float32)
    work = copy.deepcopy(agent)
    params = list(work.params)
    stochastic = plays_a_distribution(work)
    env_id = env_id or work.config.env_id
    envs = [make_env(env_id) for _ in range(episodes)]

    def returns() -> np.ndarray:
        return greedy_returns(work, env_id, episodes, eval_seed, envs=envs)

    shape = (len(sizes), directions)
    tv, tv_max, flips = np.full(shape, np.nan), np.full(shape, np.nan), np.zeros(shape)
    rets = np.zeros((*shape, episodes))
    try:
        before = outputs(work, states)
        base = returns()
        for k in range(directions):
            d = random_direction(params, np.random.default_rng([int(seed), k]))
            for i, size in enumerate(sizes):
                with perturbed(params, d, size):
                    after = outputs(work, states)
                    rets[i, k] = returns()
                flips[i, k] = argmax_flip_fraction(before, after)
                if stochastic:
                    per_state = per_state_total_variation(before, after)
                    tv[i, k], tv_max[i, k] = float(per_state.mean()), float(per_state.max())
                if on_progress is not None:
                    on_progress(k * len(sizes) + i + 1, directions * len(sizes))
    finally:
        for env in envs:
            env.close()
    return Curve(sizes, tv, tv_max, flips, rets, base, stochastic, len(states), int(seed),
                 time.perf_counter() - t0)


# ----- the trained agents ---------------------------------------------------------------------


@dataclass(frozen=True)
class Trained:
    """One trained agent as :func:`load_agents` found it."""

    agent: object
    meta: dict
    """What :func:`pgcore.training.checkpoint.load_checkpoint` reports; ``meta["extra"]`` holds what
    :func:`train_until_solved` recorded (env steps, evaluation returns, the command)."""
    path: Path


def load_agents(directory: str | Path = AGENTS_DIR) -> dict[str, Trained]:
    """The page's trained agents ``{"policy": Trained, "q": Trained}`` from
    :data:`AGENT_FILES`, through the safe checkpoint loader
    (:func:`pgcore.training.checkpoint.load_checkpoint`: plain weights and data only)."""
    from ..training.checkpoint import load_checkpoint

    out = {}
    for role, name in AGENT_FILES.items():
        path = Path(directory) / name
        agent, _, meta = load_checkpoint(path)
        out[role] = Trained(agent, meta, path)
    return out


def train_until_solved(algo: str, seed: int = 0, eval_every: int = 5_000,
                       threshold: float = 500.0, confirm_episodes: int = 20,
                       confirm_threshold: float = 495.0, **overrides) -> tuple[bytes, dict]:
    """Train ``algo``'s tuned default and return, as checkpoint bytes without the optimiser
    state, the first agent whose periodic greedy evaluation (``eval_episodes``, 10) averages
    at least ``threshold`` and that then also averages ``confirm_threshold`` on
    ``confirm_episodes`` fresh greedy episodes; also a dict of what happened. Raises
    ``RuntimeError`` if the budget ends first."""
    from ..training.checkpoint import checkpoint_bytes
    from ..training.config import default_config
    from ..training.events import Evaluation
    from ..training.trainer import RunControl, Trainer

    config = default_config(algo, seed=seed, eval_every=eval_every, **overrides)
    control = RunControl()
    trainer = Trainer(config, control=control)
    found: dict = {}

    def on_event(event) -> None:
        if found or not isinstance(event, Evaluation) or event.mean_return < threshold:
            return
        check = evaluate_greedy(trainer.agent, config.env_id, confirm_episodes,
                                seed + 1_000, gamma=config.gamma)
        if check.mean_return < confirm_threshold:
            return
        info = {"algo": algo, "seed": seed, "env_steps": event.env_steps,
                "episodes": event.episodes, "eval_mean_return": event.mean_return,
                "confirm_mean_return": check.mean_return,
                "made_by": "python -m pgcore.labs.smoothness --out assets/agents"}
        found.update(info, data=checkpoint_bytes(trainer.agent, extra=info, optimizer=False))
        control.stop()

    result = trainer.run(on_event)
    if not found:
        raise RuntimeError(f"{algo} seed {seed} never reached a greedy mean of {threshold:g} "
                           f"({result.message})")
    data = found.pop("data")
    found["seconds"] = result.wall_seconds
    return data, found


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m pgcore.labs.smoothness --out DIR [--seed S]``: train and save both agents."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m pgcore.labs.smoothness",
                                     description="Train the Smoothness page's two agents.")
    parser.add_argument("--out", default=str(AGENTS_DIR), help="directory for the checkpoints")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", choices=sorted(AGENT_FILES), help="train one of the two")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for role, name in AGENT_FILES.items():
        if args.only and role != args.only:
            continue
        data, info = train_until_solved(AGENT_ALGOS[role], seed=args.seed)
        (out / name).write_bytes(data)
        print(f"{out / name}: {len(data) / 1024:.0f} KB, {info}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
