"""The gradient-variance lab: how noisy is each REINFORCE gradient estimator, and is it biased?

Freeze a policy. Play many batches of episodes with it. For every batch, estimate the policy
gradient three ways, each the gradient of ``(1/K) sum_episodes sum_t A_t log pi(a_t|s_t)``
over the batch's K episodes, with a different advantage ``A_t``:

* ``none``: the return itself, ``A_t = G_t`` (the policy gradient theorem as stated);
* ``normalize``: returns standardised within each episode (the lesson's fix);
* ``value``: ``A_t = G_t - V(s_t)`` with a learned, frozen value function ``V``.

Then compare each estimator's batch gradients with a reference gradient ``g*`` (known
analytically, or estimated from many independent episodes):

* **bias**: the cosine between the estimator's mean gradient and ``g*``, and the relative
  error ``|mean - g*| / |g*|`` next to the error that noise alone would give
  (``noise_floor``), and ``bias_p``: the probability that noise alone gives an error that
  large (not small for an unbiased estimator, tiny for a biased one);
* **noise**: the trace of the covariance of the batch gradients (total variance), the same
  divided by ``|mean|^2`` (scale-free: normalised returns change the gradient's scale), and
  the fraction of batch gradients that point the wrong way (negative dot product with ``g*``).

A state-only baseline leaves the expectation unchanged (E[grad log pi(a|s) b(s)] = 0), so
``value`` is unbiased and, with a good ``V``, less noisy. ``normalize`` is *not* exactly
unbiased (its mean depends on the actions, and the per-episode scale is random); it points
roughly the right way.

The target all estimators share is E[sum_t G_t grad log pi(a_t|s_t)] (time-limit truncation
treated as the end of the episode, no bootstrapping), as in pgcore's REINFORCE. Sampling and
log pi(a|s) go through the agent's policy head, so a Gaussian policy over Box actions is
measured like a categorical one; an agent without a policy (DQN's Q-values) is refused in one
line (:func:`check_policy`).

:class:`TimedBandit` is a small environment whose gradient is known in closed form
(:func:`bandit_gradient`): the test checks the estimators against it. :class:`GradVarLab`
trains a policy to a stage in the background and then measures it, for the app.
This module never imports streamlit.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import gymnasium as gym
import numpy as np
import torch

from ..algos import make_agent
from ..algos.reinforce import reinforce_advantages
from ..execution import TaskOwner, TaskThread
from ..rl.returns import discounted_returns
from ..training.config import TrainConfig

ESTIMATORS = ("none", "normalize", "value")
ESTIMATOR_LABELS = {"none": "no baseline (G_t)", "normalize": "normalised returns",
                    "value": "learned value baseline (G_t − V(s_t))"}

EpisodeData = tuple[np.ndarray, np.ndarray, np.ndarray]
"""(observations (T, obs_dim) float32, actions (T, *action_shape) in the head's dtype (discrete:
(T,) int64), rewards (T,) float64)."""


class Stopped(Exception):
    """The measurement was stopped from another thread."""


# ----- a problem with a known answer ---------------------------------------------------------


class TimedBandit(gym.Env):
    """A two-armed bandit played ``horizon`` times in a row; the state is the step number.

    Observation: one-hot of the step ``t`` (length ``horizon``). Action ``a`` pays
    ``means[a] + noise * N(0, 1)``. The episode ends after ``horizon`` steps. The state does
    not depend on the actions, so the policy gradient has a closed form
    (:func:`bandit_gradient`).
    """

    metadata = {"render_modes": []}

    def __init__(self, means: Sequence[float] = (5.0, 6.0), horizon: int = 4,
                 noise: float = 1.0):
        self.means = np.asarray(means, dtype=np.float64)
        self.horizon, self.noise = int(horizon), float(noise)
        self.observation_space = gym.spaces.Box(0.0, 1.0, (self.horizon,), np.float32)
        self.action_space = gym.spaces.Discrete(len(self.means))
        self.t = 0

    def _obs(self) -> np.ndarray:
        obs = np.zeros(self.horizon, np.float32)
        obs[min(self.t, self.horizon - 1)] = 1.0
        return obs

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self._obs(), {}

    def step(self, action):
        reward = float(self.means[int(action)] + self.noise * self.np_random.standard_normal())
        self.t += 1
        return self._obs(), reward, self.t >= self.horizon, False, {}


def bandit_gradient(agent, env: TimedBandit) -> np.ndarray:
    """The exact gradient of E[sum_t G_t grad log pi(a_t|s_t)] for :class:`TimedBandit`.

    The state at step t is fixed (one-hot t), and later rewards do not depend on a_t, so
    E[G_t grad log pi(a_t|s_t)] = grad sum_a pi(a|s_t) mu_a, and the total is the gradient of
    ``sum_t sum_a pi(a|s_t) mu_a`` with respect to the policy's parameters.
    """
    params = policy_parameters(agent.net)
    obs = torch.eye(env.horizon)
    logits, _ = agent.net(obs)
    objective = (torch.softmax(logits, -1) * torch.as_tensor(env.means, dtype=torch.float32)).sum()
    grads = torch.autograd.grad(objective, params)
    return torch.cat([g.reshape(-1) for g in grads]).double().numpy()


# ----- sampling, the critic, the gradients ---------------------------------------------------


def check_policy(agent) -> None:
    """A one-line ValueError unless ``agent`` has a policy pi(a|s) to differentiate (its head
    gives log-probabilities): DQN's Q-values have none."""
    if not hasattr(agent.head, "log_prob_entropy") or agent.head.kind == "q-values":
        raise ValueError(f"the gradient-variance lab measures policy gradients; "
                         f"{agent.config.algo} learns Q-values and has no policy to measure")


def policy_parameters(net) -> list[torch.Tensor]:
    """The parameters pi(a|s) depends on: the shared trunk, the policy head and, for a Gaussian
    policy, its learned log-stds (``state_independent``)."""
    extra = [] if getattr(net, "state_independent", None) is None else [net.state_independent]
    return list(net.trunk.parameters()) + list(net.policy_head.parameters()) + extra


def sample_episodes(agent, env_fn: Callable[[], gym.Env], n: int, seed: int, n_envs: int = 16,
                    should_stop: Callable[[], bool] | None = None) -> list[EpisodeData]:
    """``n`` episodes of the agent's (frozen) policy, ``n_envs`` environments acting in batch.

    Deterministic for a given ``seed``: environment i is first reset with ``seed * 1000 + i``
    and actions are sampled with ``numpy.random.default_rng(seed)``. Episodes are returned in
    the order they finish.
    """
    check_policy(agent)
    head = agent.head
    rng = np.random.default_rng(seed)
    n_envs = max(1, min(n_envs, n))
    envs = [env_fn() for _ in range(n_envs)]
    try:
        todo = [n // n_envs + (i < n % n_envs) for i in range(n_envs)]
        obs = [np.asarray(env.reset(seed=seed * 1000 + i)[0], np.float32)
               for i, env in enumerate(envs)]
        trajs: list[tuple[list, list, list]] = [([], [], []) for _ in envs]
        episodes: list[EpisodeData] = []
        active = [i for i in range(n_envs) if todo[i] > 0]
        steps = 0
        while active:
            steps += 1
            if should_stop is not None and steps % 64 == 0 and should_stop():
                raise Stopped()
            batch = np.stack([obs[i] for i in active])
            dist, _ = agent.policy(batch)
            actions = head.sample(dist, rng)  # (B, *action_shape), as sampled (unclipped)
            still = []
            for i, o, a in zip(active, batch, actions, strict=True):
                next_obs, r, term, trunc, _ = envs[i].step(head.to_env(a))
                trajs[i][0].append(o)
                trajs[i][1].append(a)
                trajs[i][2].append(float(r))
                obs[i] = np.asarray(next_obs, np.float32)
                if term or trunc:
                    o_, a_, r_ = trajs[i]
                    episodes.append((np.stack(o_), np.asarray(a_, head.action_dtype),
                                     np.asarray(r_, np.float64)))
                    trajs[i] = ([], [], [])
                    todo[i] -= 1
                    if todo[i] == 0:
                        continue
                    obs[i] = np.asarray(envs[i].reset()[0], np.float32)
                still.append(i)
            active = still
        return episodes
    finally:
        for env in envs:
            env.close()


class FittedCritic:
    """V(s) regressed on Monte Carlo returns of the frozen policy (a fresh small MLP)."""

    def __init__(self, episodes: Sequence[EpisodeData], gamma: float, hidden: int = 64,
                 steps: int = 300, seed: int = 0, max_states: int = 20_000):
        obs = np.concatenate([o for o, _, _ in episodes]).astype(np.float32)
        y = np.concatenate([discounted_returns(r, gamma) for _, _, r in episodes])
        if len(obs) > max_states:  # keep the fit cheap on long episodes
            pick = np.random.default_rng(seed).choice(len(obs), max_states, replace=False)
            obs, y = obs[pick], y[pick]
        self.mean, self.scale = float(y.mean()), float(y.std()) or 1.0
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.net = torch.nn.Sequential(torch.nn.Linear(obs.shape[1], hidden), torch.nn.Tanh(),
                                           torch.nn.Linear(hidden, hidden), torch.nn.Tanh(),
                                           torch.nn.Linear(hidden, 1))
        x = torch.as_tensor(obs)
        target = torch.as_tensor((y - self.mean) / self.scale, dtype=torch.float32)
        opt = torch.optim.Adam(self.net.parameters(), lr=1e-2)
        for _ in range(steps):
            loss = (self.net(x).squeeze(-1) - target).pow(2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            resid = (self.net(x).squeeze(-1) - target).pow(2).mean().item()
        self.r2 = 1.0 - resid  # the standardised targets have variance 1

    @torch.no_grad()
    def __call__(self, obs: np.ndarray) -> np.ndarray:
        v = self.net(torch.as_tensor(np.asarray(obs, np.float32))).squeeze(-1)
        return v.double().numpy() * self.scale + self.mean


def batch_gradients(agent, episodes: Sequence[EpisodeData], batch_size: int, gamma: float,
                    value_fn: Callable[[np.ndarray], np.ndarray] | None,
                    estimators: Sequence[str] = ESTIMATORS,
                    should_stop: Callable[[], bool] | None = None) -> dict[str, np.ndarray]:
    """Per estimator, a (n_batches, n_params) array: each batch's gradient estimate.

    Batch b holds episodes ``b * batch_size`` to ``(b + 1) * batch_size - 1``; its estimate is
    the gradient of ``(1 / batch_size) * sum_episodes sum_t A_t log pi(a_t|s_t)``.
    """
    check_policy(agent)
    net = agent.net
    params = policy_parameters(net)
    n_batches = len(episodes) // batch_size
    if n_batches < 1:
        raise ValueError(f"need at least {batch_size} episodes for one batch")
    out = {e: np.empty((n_batches, sum(p.numel() for p in params))) for e in estimators}
    for b in range(n_batches):
        if should_stop is not None and should_stop():
            raise Stopped()
        chunk = episodes[b * batch_size:(b + 1) * batch_size]
        obs = torch.as_tensor(np.concatenate([o for o, _, _ in chunk]))
        actions = np.concatenate([a for _, a, _ in chunk])  # (T, *action_shape)
        outputs, _ = net(obs)
        log_pi = agent.head.log_prob_entropy(outputs, actions)[0]  # (T,)
        returns = [discounted_returns(r, gamma) for _, _, r in chunk]
        values = value_fn(obs.numpy()) if value_fn is not None else None
        starts = np.cumsum([0] + [len(g) for g in returns])
        for k, name in enumerate(estimators):
            if name == "value" and values is None:
                raise ValueError("the value estimator needs a value function")
            adv = np.concatenate([
                reinforce_advantages(g, name, None if values is None
                                     else values[starts[i]:starts[i + 1]])
                for i, g in enumerate(returns)])
            surrogate = (log_pi * torch.as_tensor(adv, dtype=torch.float32)).sum() / len(chunk)
            grads = torch.autograd.grad(surrogate, params, retain_graph=k < len(estimators) - 1)
            out[name][b] = torch.cat([g.reshape(-1) for g in grads]).double().numpy()
    return out


# ----- statistics ----------------------------------------------------------------------------


@dataclass(frozen=True)
class EstimatorStats:
    """How one estimator's batch gradients compare with the reference gradient."""

    name: str
    label: str
    cosine: float
    """cos(mean batch gradient, reference): 1 = same direction."""
    relative_error: float
    """|mean - reference| / |reference|."""
    noise_floor: float
    """The relative error expected from noise alone (unbiased estimator, this many batches)."""
    bias_p: float
    """P(noise alone gives an error this large): not small for an unbiased estimator, tiny
    (e.g. < 0.001) when the mean is really off (see :func:`noise_only_p`)."""
    trace_cov: float
    """Total variance of a batch gradient: the trace of its covariance matrix."""
    relative_variance: float
    """``trace_cov / |mean|^2``: scale-free noise-to-signal of one batch gradient."""
    wrong_way: float
    """Fraction of batch gradients with a negative dot product with the reference."""
    batch_cosines: np.ndarray = field(repr=False)
    """cos(batch gradient, reference) for every batch (for a strip plot)."""

    def as_row(self) -> dict:
        return {"estimator": self.label, "cosine": self.cosine,
                "relative_error": self.relative_error, "noise_floor": self.noise_floor,
                "bias_p": self.bias_p, "trace_cov": self.trace_cov,
                "relative_variance": self.relative_variance, "wrong_way": self.wrong_way}


def _spectrum(g: np.ndarray) -> np.ndarray:
    """Nonzero eigenvalues of the sample covariance S of the rows of ``g`` (n >= 2 rows)."""
    n = len(g)
    c = g - g.mean(0)
    lam = np.linalg.eigvalsh(c @ c.T / (n - 1))  # same nonzero spectrum as S, n x n only
    return np.clip(lam, 0.0, None)


def noise_only_p(err2: float, lam: np.ndarray, draws: int = 20_000, seed: int = 0) -> float:
    """P(noise alone gives a squared error >= ``err2``).

    For an unbiased estimator the error of a mean of many batch gradients is (CLT) Gaussian
    with covariance ``C``, so its squared length is distributed as ``sum_i lam_i z_i^2``
    (``lam`` the eigenvalues of ``C``, ``z_i`` standard normal). Estimated by Monte Carlo
    with a fixed seed, so the same data always give the same p.
    """
    lam = np.asarray(lam, dtype=np.float64)
    lam = lam[lam > 0]
    if not len(lam):
        return 1.0 if err2 <= 0 else 0.0
    rng = np.random.default_rng(seed)
    total = np.zeros(draws)
    for start in range(0, len(lam), 64):  # bounded memory for long spectra
        block = lam[start:start + 64]
        total += (rng.standard_normal((draws, len(block))) ** 2) @ block
    return float((np.count_nonzero(total >= err2) + 1) / (draws + 1))


def estimator_stats(name: str, grads: np.ndarray, reference: np.ndarray,
                    reference_spectrum: np.ndarray | None = None) -> EstimatorStats:
    """Statistics of batch gradients ``grads`` (n_batches, n_params) against ``reference``.

    ``reference_spectrum``: eigenvalues of the covariance of the reference itself when it is
    a sample mean (S_ref / n_ref); None for an exact reference.
    """
    n = len(grads)
    if n < 2:
        raise ValueError("need at least two batches")
    mean = grads.mean(0)
    ref_norm = float(np.linalg.norm(reference))
    mean_norm = float(np.linalg.norm(mean))
    lam = _spectrum(grads)
    tr = float(lam.sum())
    noise = lam / n
    if reference_spectrum is not None:
        noise = np.concatenate([noise, reference_spectrum])
    expected = float(noise.sum())
    err2 = float(((mean - reference) ** 2).sum())
    norms = np.linalg.norm(grads, axis=1) * ref_norm
    dots = grads @ reference
    with np.errstate(invalid="ignore", divide="ignore"):
        cosines = np.where(norms > 0, dots / norms, 0.0)
    return EstimatorStats(
        name=name, label=ESTIMATOR_LABELS.get(name, name),
        cosine=float(mean @ reference / (mean_norm * ref_norm)) if mean_norm and ref_norm
        else 0.0,
        relative_error=math.sqrt(err2) / ref_norm if ref_norm else math.inf,
        noise_floor=math.sqrt(expected) / ref_norm if ref_norm else math.inf,
        bias_p=noise_only_p(err2, noise),
        trace_cov=tr, relative_variance=tr / mean_norm ** 2 if mean_norm else math.inf,
        wrong_way=float((dots < 0).mean()), batch_cosines=cosines)


@dataclass(frozen=True)
class GradVarResult:
    """Everything one measurement found."""

    stats: dict[str, EstimatorStats]
    reference: np.ndarray = field(repr=False)
    reference_source: str
    """``exact`` (given, e.g. analytic) or ``sampled`` (value-baseline mean over its own
    episodes)."""
    n_batches: int
    batch_size: int
    n_params: int
    mean_return: float
    """Mean undiscounted return of the measured episodes (how good the frozen policy is)."""
    mean_length: float
    critic_r2: float | None
    """Fraction of the return's variance the value function explains (fitted critic only)."""
    seconds: float

    def rows(self) -> list[dict]:
        return [s.as_row() for s in self.stats.values()]


def measure(agent, env_fn: Callable[[], gym.Env], *, n_batches: int = 30, batch_size: int = 10,
            reference: np.ndarray | None = None, reference_batches: int = 30,
            critic: str = "fit", critic_episodes: int = 100, seed: int = 0,
            gamma: float | None = None, estimators: Sequence[str] = ESTIMATORS,
            should_stop: Callable[[], bool] | None = None,
            on_progress: Callable[[str, float], None] | None = None) -> GradVarResult:
    """Measure bias and variance of the estimators at ``agent``'s frozen policy.

    ``critic="fit"`` regresses a fresh V(s) on ``critic_episodes`` episodes of the policy
    (its own episodes, independent of the measured ones); ``critic="agent"`` uses the agent's
    own critic. Without ``reference``, the reference is the value-baseline gradient averaged
    over ``reference_batches`` further batches (independent of the measured ones).
    Everything is seeded by ``seed``.
    """
    t0 = time.perf_counter()
    check_policy(agent)  # DQN: one line, before any sampling
    gamma = agent.config.gamma if gamma is None else gamma
    progress = on_progress or (lambda stage, fraction: None)
    if n_batches < 2 or batch_size < 1:
        raise ValueError("need n_batches >= 2 and batch_size >= 1")
    if critic not in ("fit", "agent"):
        raise ValueError(f"critic must be 'fit' or 'agent', got {critic!r}")
    value_fn, r2 = None, None
    if "value" in estimators or reference is None:
        if critic == "agent":
            if not agent.config.has_critic:
                raise ValueError("this agent has no critic; use critic='fit'")
            value_fn = agent.value
        else:
            progress("fitting the critic", 0.0)
            fit_eps = sample_episodes(agent, env_fn, critic_episodes, seed * 7919 + 1,
                                      should_stop=should_stop)
            fitted = FittedCritic(fit_eps, gamma, seed=seed)
            value_fn, r2 = fitted, fitted.r2
    reference_spectrum = None
    source = "exact"
    if reference is None:
        progress("sampling the reference", 0.15)
        ref_eps = sample_episodes(agent, env_fn, reference_batches * batch_size,
                                  seed * 7919 + 2, should_stop=should_stop)
        ref_grads = batch_gradients(agent, ref_eps, batch_size, gamma, value_fn, ("value",),
                                    should_stop)["value"]
        reference = ref_grads.mean(0)
        reference_spectrum = _spectrum(ref_grads) / len(ref_grads)
        source = "sampled"
    reference = np.asarray(reference, dtype=np.float64)
    progress("sampling batches", 0.5)
    eps = sample_episodes(agent, env_fn, n_batches * batch_size, seed * 7919 + 3,
                          should_stop=should_stop)
    progress("computing gradients", 0.85)
    grads = batch_gradients(agent, eps, batch_size, gamma, value_fn, estimators, should_stop)
    stats = {name: estimator_stats(name, grads[name], reference, reference_spectrum)
             for name in estimators}
    progress("done", 1.0)
    return GradVarResult(stats=stats, reference=reference, reference_source=source,
                         n_batches=n_batches, batch_size=batch_size, n_params=len(reference),
                         mean_return=float(np.mean([r.sum() for _, _, r in eps])),
                         mean_length=float(np.mean([len(r) for _, _, r in eps])),
                         critic_r2=r2, seconds=time.perf_counter() - t0)


# ----- the lab: train to a stage, then measure, in the background ----------------------------

STAGES = {"init": "at initialisation", "part": "part-trained", "trained": "trained"}


class GradVarLab(TaskOwner):
    """Train ``config`` for ``train_episodes`` (0 = the initial policy), then :func:`measure`.

    A background task like a run or an experiment (:class:`pgcore.execution.TaskThread`: its
    thread in this process, its state in :data:`pgcore.execution.STATES`); ``snapshot()``
    gives ``{state, stage, fraction, result, message, train_returns}``; ``stop()`` ends it
    soon. An optional :class:`pgcore.execution.SlotPool` slot is held while it works.
    """

    def __init__(self, config: TrainConfig, train_episodes: int, *, pool=None,
                 n_batches: int = 30, batch_size: int = 10, critic_episodes: int = 100,
                 reference_batches: int = 30, seed: int = 0):
        from ..training.trainer import RunControl

        if not isinstance(train_episodes, int) or train_episodes < 0:
            raise ValueError("train_episodes must be a whole number >= 0")
        self.config = config.replace(max_episodes=max(1, train_episodes), max_steps=None)
        self.train_episodes = train_episodes
        self.pool = pool
        self.kwargs = dict(n_batches=n_batches, batch_size=batch_size,
                           critic_episodes=critic_episodes, reference_batches=reference_batches,
                           seed=seed)
        self.control = RunControl()
        self._lock = threading.RLock()  # shared with the lifecycle: state and result together
        self._stage, self._fraction = "", 0.0
        self._result: GradVarResult | None = None
        self._returns: list[float] = []
        self._task = TaskThread(self, self._work, kind="measurement", slots=pool,
                                control=self.control, lock=self._lock, name="pgcore-gradvar")

    def start(self) -> GradVarLab:
        self._task.start()
        return self

    def stop(self) -> None:
        self._task.stop()

    def snapshot(self) -> dict:
        with self._lock:
            return {"state": self._task.state, "stage": self._stage,
                    "fraction": self._fraction, "result": self._result,
                    "message": self._task.message, "train_returns": list(self._returns)}

    def _set(self, **kw) -> None:
        with self._lock:
            for k, v in kw.items():
                setattr(self, f"_{k}", v)

    def _work(self) -> tuple[str, str] | None:
        try:
            torch.set_num_threads(1)
            from ..rl.envs import make_env, spec_for
            from ..training.events import EpisodeEnd
            from ..training.trainer import Trainer

            spec = spec_for(self.config)
            if self.train_episodes > 0:
                def on_event(e) -> None:
                    if type(e) is EpisodeEnd:
                        with self._lock:
                            self._returns.append(e.episode_return)
                            self._fraction = 0.5 * e.episode / self.train_episodes
                            self._stage = f"training: episode {e.episode:,}"

                self._set(stage="training")
                trainer = Trainer(self.config, control=self.control)
                result = trainer.run(on_event)
                if result.reason in ("stopped", "diverged"):  # a diverged one shows as an error
                    return ("stopped" if result.reason == "stopped" else "error"), result.message
                agent = trainer.agent
            else:
                agent = make_agent(self.config, spec)
            agent.net.eval()
            base = 0.5 if self.train_episodes > 0 else 0.0

            def on_progress(stage: str, fraction: float) -> None:
                self._set(stage=stage, fraction=base + (1 - base) * fraction)

            result = measure(agent, lambda: make_env(self.config.env_id),
                             should_stop=self._task.cancel.is_set, on_progress=on_progress,
                             **self.kwargs)
        except Stopped:
            return "stopped", "Stopped."
        with self._lock:  # the result and the end together
            self._set(result=result, fraction=1.0, stage="done")
            self._task.finish("finished", f"Measured in {result.seconds:.1f} s.")
        return None
