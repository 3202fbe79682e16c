"""The training loop: collect -> update -> emit typed events, until a budget or a stop.

``train(config, on_event)`` is all most callers need. ``RunControl`` lets another thread
pause, resume and stop a run; the loop checks it between updates (at least once per episode
for REINFORCE, every vector step of a rollout for A2C and PPO, every step for DQN and
one-step actor-critic), and an update of many gradient steps (PPO's) between those
(``Agent.interrupted``).
Which loop a config runs is its algorithm's ``loop`` (:mod:`pgcore.algos`).
A diverging run (NaN or infinite loss) ends with ``RunEnd(reason="diverged")`` and a message
saying what to change, never with a traceback.

With ``eval_every`` (env steps) or ``eval_every_episodes`` set, the loop pauses at those
points to play ``eval_episodes`` greedy episodes on a separate environment
(:func:`pgcore.training.evaluation.evaluate_greedy`) and emits an :class:`Evaluation`. Evaluating
draws no random numbers from the agent and its time is not training time, so a run learns exactly
the same with or without evaluations.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..algos import Agent, DivergedError, make_agent
from ..algos.common import check_action_space
from ..rl.backprop import one_blas_thread
from ..rl.collect import EpisodeInfo, VecCollector, collect_episode
from ..rl.envs import make_env, make_vec_env, spec_for
from .config import TrainConfig
from .evaluation import evaluate_greedy
from .events import EpisodeEnd, Evaluation, Event, Frame, RunEnd, UpdateEnd
from .metrics import EpisodeHistory


class RunControl:
    """Thread-safe stop / pause / resume for one run."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._running = threading.Event()  # set = not paused
        self._running.set()

    def stop(self) -> None:
        self._stop.set()
        self._running.set()  # wake a paused loop so it can see the stop

    def pause(self) -> None:
        if not self._stop.is_set():
            self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def wait_while_paused(self) -> float:
        """Block while paused; returns the seconds spent waiting."""
        if self._running.is_set():
            return 0.0
        t0 = time.perf_counter()
        self._running.wait()
        return time.perf_counter() - t0


@dataclass
class RunResult:
    """What a finished run leaves behind (the agent included, for saving or playing).

    ``history`` holds every episode (:class:`~pgcore.training.metrics.EpisodeHistory`);
    ``episode_returns``, ``episode_lengths``, ``episode_env_steps`` and ``episode_seconds``
    are plain-list copies of its columns. ``env_steps`` and ``wall_seconds`` are the whole
    run's totals (a run may step on after its last episode).
    """

    config: TrainConfig
    reason: str
    message: str
    history: EpisodeHistory = field(default_factory=EpisodeHistory)
    env_steps: int = 0
    wall_seconds: float = 0.0
    updates: int = 0
    evaluations: list[Evaluation] = field(default_factory=list)
    """Every greedy :class:`Evaluation` of the run (configs with ``eval_every`` or
    ``eval_every_episodes``), in order."""
    agent: Agent | None = field(default=None, repr=False)

    @property
    def diverged(self) -> bool:
        return self.reason == "diverged"

    @property
    def episodes(self) -> int:
        return len(self.history)

    @property
    def episode_returns(self) -> list[float]:
        return self.history.returns.tolist()

    @property
    def episode_lengths(self) -> list[int]:
        return self.history.lengths.astype(np.int64).tolist()

    @property
    def episode_env_steps(self) -> list[int]:
        """The run's env steps when each episode ended."""
        return self.history.env_steps.astype(np.int64).tolist()

    @property
    def episode_seconds(self) -> list[float]:
        """The run's training seconds when each episode ended."""
        return self.history.wall_seconds.tolist()


class Trainer:
    """Runs one config to the end of its budget, emitting events to a callback.

    ``frame_every`` (seconds) turns on :class:`Frame` events of the first environment, with
    an RGB image when the environment can be drawn and ``render_frames`` is True (a run in a
    host process sends its frames without one: the reader draws the state it needs). The
    loop is the one the algorithm's registry entry names (:data:`pgcore.algos.LOOPS`).

    ``agent``, when given, is trained instead of the registry's agent for ``config``: it must
    have been built for ``config`` (the exercise notebooks, :mod:`pgcore.exercises`, pass an
    algorithm's agent whose maths is the learner's own).
    """

    def __init__(self, config: TrainConfig, control: RunControl | None = None,
                 frame_every: float | None = None, render_frames: bool = True,
                 agent: Agent | None = None):
        self.config = config
        self.control = control or RunControl()
        self.frame_every = frame_every
        self.render_frames = render_frames
        self.spec = spec_for(config)
        check_action_space(config, self.spec)  # e.g. DQN on Box actions: one-line ConfigError
        one_blas_thread()  # numpy's matrix products on one thread, like torch's
        if agent is not None and agent.config != config:
            raise ValueError("the agent was built for another config than the one to train")
        self.agent = make_agent(config, self.spec) if agent is None else agent
        self._loops = {"episode": self._run_episodes, "rollout": self._run_rollouts,
                       "transition": self._run_transitions}

    # ----- the loop ------------------------------------------------------------------------
    def run(self, on_event: Callable[[Event], None] | None = None) -> RunResult:
        cfg = self.config
        emit = on_event if on_event is not None else (lambda event: None)
        result = RunResult(cfg, reason="", message="", agent=self.agent)
        self._result, self._emit = result, emit
        self._t0 = time.perf_counter()
        self._paused = 0.0
        self._next_frame = 0.0
        self._renderer = None
        self._eval_env = None
        self._next_eval_step = cfg.eval_every
        self._next_eval_episode = cfg.eval_every_episodes
        if self.frame_every is not None and self.render_frames:
            from .render import StateRenderer

            self._renderer = StateRenderer(cfg.env_id)
        self.agent.interrupted = self._stop_asked  # (only while it runs: see finally)
        try:
            self._loops[cfg.algorithm.loop]()
        except DivergedError as exc:
            result.reason = "diverged"
            result.message = f"Training diverged: {exc}. {cfg.algorithm.diverged_hint}"
        finally:
            self.agent.interrupted = None
            if self._renderer is not None:
                self._renderer.close()
            if self._eval_env is not None:
                self._eval_env.close()
        result.wall_seconds = self._elapsed()
        result.updates = self.agent.updates
        if not result.message:
            result.message = _END_MESSAGES[result.reason]
        emit(RunEnd(result.reason, result.message, result.episodes, result.env_steps,
                    result.wall_seconds))
        return result

    def _run_episodes(self) -> None:
        """Play a whole episode, then learn from it (REINFORCE)."""
        env = make_env(self.config.env_id)
        try:
            seed = self.config.seed
            on_step = self._frame_hook() if self.frame_every is not None else None
            while not self._should_end():
                episode, info = collect_episode(env, self.agent, seed=seed, on_step=on_step)
                seed = None  # only the first reset is seeded; the env's RNG carries on
                self._result.env_steps += info.length
                self._episode_done(info)
                self._updated(self.agent.update(episode))
        finally:
            env.close()

    def _run_rollouts(self) -> None:
        """``n_steps`` from each of ``n_envs`` vector envs, then learn from them (A2C)."""
        cfg = self.config
        env = make_vec_env(cfg.env_id, cfg.n_envs)
        try:
            collector = VecCollector(env, self.agent, seed=cfg.seed)
            on_step = self._frame_hook() if self.frame_every is not None else None

            def on_episode(info: EpisodeInfo) -> None:
                self._result.env_steps = collector.env_steps  # exact, mid-rollout
                self._episode_done(info)

            while not self._should_end():
                rollout, steps = collector.collect(cfg.n_steps, on_episode, on_step,
                                                   self._stop_asked)
                self._result.env_steps = collector.env_steps
                if self.control.stopped:  # (mid-rollout: no update; _should_end says why)
                    continue
                if steps:  # a rollout of only reset steps has nothing to learn from
                    self._updated(self.agent.update(rollout))
        finally:
            env.close()

    def _run_transitions(self) -> None:
        """One env step at a time into the agent's memory (``agent.remember``), then
        ``update(agent.buffer)`` whenever ``agent.update_due(env_steps)`` says so: DQN every
        ``train_freq`` steps once ``learning_starts`` are stored, the one-step actor-critic
        after every step."""
        cfg, agent = self.config, self.agent
        env = make_env(cfg.env_id)
        try:
            on_step = self._frame_hook() if self.frame_every is not None else None
            head, gamma, nan = agent.head, cfg.gamma, float("nan")
            has_critic = cfg.has_critic
            obs, _ = env.reset(seed=cfg.seed)  # only the first reset is seeded
            obs = np.asarray(obs, dtype=np.float32)
            ep_return, ep_length, discounted, discount = 0.0, 0, 0.0, 1.0
            start_value = nan
            while not self._should_end():
                if has_critic and ep_length == 0:  # V(s_0), charted against the return
                    start_value = float(agent.value(obs[None])[0])
                action, dist, _ = agent.act(obs[None])  # (1,), (1, A)
                if on_step is not None:
                    on_step(obs, dist[0], start_value if ep_length == 0 else nan, ep_length)
                next_obs, reward, terminated, truncated, _ = env.step(head.to_env(action[0]))
                next_obs = np.asarray(next_obs, dtype=np.float32)
                agent.remember(obs, action[0], reward, next_obs, terminated, truncated)
                self._result.env_steps += 1
                reward = float(reward)
                ep_return += reward
                ep_length += 1
                discounted += discount * reward
                discount *= gamma
                if terminated or truncated:
                    self._episode_done(EpisodeInfo(ep_return, ep_length, discounted,
                                                   start_value, bool(truncated and not terminated)))
                    ep_return, ep_length, discounted, discount = 0.0, 0, 0.0, 1.0
                    obs, _ = env.reset()
                    obs = np.asarray(obs, dtype=np.float32)
                else:
                    obs = next_obs
                if agent.update_due(self._result.env_steps):
                    self._updated(agent.update(agent.buffer))
        finally:
            env.close()

    # ----- bookkeeping ---------------------------------------------------------------------
    def _elapsed(self) -> float:
        return time.perf_counter() - self._t0 - self._paused

    def _stop_asked(self) -> bool:
        """A check point (between updates, and inside a rollout or a long update): wait while
        paused (and, in a host, offer the turn on), then whether the run was stopped."""
        self._paused += self.control.wait_while_paused()
        return self.control.stopped

    def _should_end(self) -> bool:
        """Honour pause (blocking), then stop and the three budgets. Sets the end reason."""
        cfg, r = self.config, self._result
        if self._stop_asked():
            r.reason = "stopped"
        elif cfg.max_episodes is not None and r.episodes >= cfg.max_episodes:
            r.reason = "max_episodes"
        elif cfg.max_steps is not None and r.env_steps >= cfg.max_steps:
            r.reason = "max_steps"
        elif cfg.max_seconds is not None and self._elapsed() >= cfg.max_seconds:
            r.reason = "max_seconds"
        return bool(r.reason)

    def _episode_done(self, info: EpisodeInfo) -> None:
        r, cap = self._result, self.config.max_episodes
        if cap is not None and r.episodes >= cap:
            return  # A2C can finish a few more inside the last rollout: the budget is exact
        now = self._elapsed()
        r.history.append(info.episode_return, info.length, r.env_steps, now,
                         info.discounted_return, info.start_value)
        self._emit(EpisodeEnd(r.episodes, info.episode_return, info.length, r.env_steps, now,
                              info.discounted_return, info.start_value, info.truncated))
        self._maybe_evaluate()

    def _updated(self, stats: dict[str, float]) -> None:
        r = self._result
        self._emit(UpdateEnd(self.agent.updates, r.env_steps, r.episodes,
                             self._elapsed(), stats))
        self._maybe_evaluate()

    def _maybe_evaluate(self) -> None:
        """Evaluate greedily when the run has crossed its next evaluation point (in env steps
        or in episodes); the time it takes counts as a pause."""
        cfg, r = self.config, self._result
        due = False
        if self._next_eval_step is not None and r.env_steps >= self._next_eval_step:
            due = True
            self._next_eval_step = (r.env_steps // cfg.eval_every + 1) * cfg.eval_every
        if self._next_eval_episode is not None and r.episodes >= self._next_eval_episode:
            due = True
            self._next_eval_episode = ((r.episodes // cfg.eval_every_episodes + 1)
                                       * cfg.eval_every_episodes)
        if not due:
            return
        t0 = time.perf_counter()
        if self._eval_env is None:
            self._eval_env = make_env(cfg.env_id)
        ev = evaluate_greedy(self.agent, cfg.env_id, cfg.eval_episodes, cfg.seed, cfg.gamma,
                             env=self._eval_env)
        self._paused += time.perf_counter() - t0
        event = Evaluation(r.env_steps, r.episodes, ev.returns, ev.discounted_returns,
                           ev.start_values)
        r.evaluations.append(event)
        self._emit(event)

    def _frame_hook(self):
        """A per-step hook that emits a Frame at most every ``frame_every`` seconds."""

        def on_step(obs: np.ndarray, probs: np.ndarray, value: float, step: int) -> None:
            now = time.perf_counter()
            if now < self._next_frame:
                return
            self._next_frame = now + self.frame_every
            rgb = self._renderer.render(obs) if self._renderer is not None else None
            self._emit(Frame(self._result.episodes + 1, step, obs.copy(),
                             np.asarray(probs, np.float64).copy(), float(value), rgb,
                             self.agent.head))

        return on_step


_END_MESSAGES = {
    "max_episodes": "Reached the episode budget.",
    "max_steps": "Reached the environment-step budget.",
    "max_seconds": "Reached the time budget.",
    "stopped": "Stopped.",
}


def train(config: TrainConfig, on_event: Callable[[Event], None] | None = None,
          control: RunControl | None = None, frame_every: float | None = None,
          agent: Agent | None = None) -> RunResult:
    """Train ``config`` to the end of its budget (``agent``: one built for ``config`` to train
    instead of the registry's); see :class:`Trainer`."""
    return Trainer(config, control=control, frame_every=frame_every,
                   agent=agent).run(on_event)
