"""The training loop: collect -> update -> emit typed events, until a budget or a stop.

``train(config, on_event)`` is all most callers need. ``RunControl`` lets another thread
pause, resume and stop a run; the loop checks it between updates (at least once per episode
for REINFORCE, once per rollout for A2C, every step for one-step actor-critic).
A diverging run (NaN or infinite loss) ends with ``RunEnd(reason="diverged")`` and a message
saying what to change, never with a traceback.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .agents import Agent, DivergedError, make_agent
from .config import TrainConfig
from .envs import env_spec, make_env, make_vec_env
from .events import EpisodeEnd, Event, Frame, RunEnd, UpdateEnd
from .rollout import EpisodeInfo, VecCollector, collect_episode


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
    """What a finished run leaves behind (the agent included, for saving or playing)."""

    config: TrainConfig
    reason: str
    message: str
    episode_returns: list[float] = field(default_factory=list)
    episode_lengths: list[int] = field(default_factory=list)
    episode_env_steps: list[int] = field(default_factory=list)
    episode_seconds: list[float] = field(default_factory=list)
    env_steps: int = 0
    wall_seconds: float = 0.0
    updates: int = 0
    agent: Agent | None = field(default=None, repr=False)

    @property
    def diverged(self) -> bool:
        return self.reason == "diverged"


class Trainer:
    """Runs one config to the end of its budget, emitting events to a callback.

    ``frame_every`` (seconds) turns on :class:`Frame` events of the first environment, with
    an RGB image when ``render_frames`` is True and the environment can be drawn.
    """

    def __init__(self, config: TrainConfig, control: RunControl | None = None,
                 frame_every: float | None = None, render_frames: bool = True):
        self.config = config
        self.control = control or RunControl()
        self.frame_every = frame_every
        self.render_frames = render_frames
        self.spec = env_spec(config.env_id)
        self.agent = make_agent(config, self.spec.obs_dim, self.spec.n_actions)

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
        if self.frame_every is not None and self.render_frames:
            from .render import StateRenderer

            self._renderer = StateRenderer(cfg.env_id)
        try:
            if cfg.algo == "reinforce":
                self._run_reinforce()
            else:
                self._run_actor_critic()
        except DivergedError as exc:
            result.reason = "diverged"
            result.message = (f"Training diverged: {exc}. Try a smaller learning rate, "
                              "gradient clipping, or a smaller entropy bonus.")
        finally:
            if self._renderer is not None:
                self._renderer.close()
        result.wall_seconds = self._elapsed()
        result.updates = self.agent.updates
        if not result.message:
            result.message = _END_MESSAGES[result.reason]
        emit(RunEnd(result.reason, result.message, len(result.episode_returns),
                    result.env_steps, result.wall_seconds))
        return result

    def _run_reinforce(self) -> None:
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

    def _run_actor_critic(self) -> None:
        cfg = self.config
        env = make_vec_env(cfg.env_id, cfg.n_envs)
        try:
            collector = VecCollector(env, self.agent, seed=cfg.seed)
            on_step = self._frame_hook() if self.frame_every is not None else None

            def on_episode(info: EpisodeInfo) -> None:
                self._result.env_steps = collector.env_steps  # exact, mid-rollout
                self._episode_done(info)

            while not self._should_end():
                rollout, steps = collector.collect(cfg.n_steps, on_episode, on_step)
                self._result.env_steps = collector.env_steps
                if steps:  # a rollout of only reset steps has nothing to learn from
                    self._updated(self.agent.update(rollout))
        finally:
            env.close()

    # ----- bookkeeping ---------------------------------------------------------------------
    def _elapsed(self) -> float:
        return time.perf_counter() - self._t0 - self._paused

    def _should_end(self) -> bool:
        """Honour pause (blocking), then stop and the three budgets. Sets the end reason."""
        self._paused += self.control.wait_while_paused()
        cfg, r = self.config, self._result
        if self.control.stopped:
            r.reason = "stopped"
        elif cfg.max_episodes is not None and len(r.episode_returns) >= cfg.max_episodes:
            r.reason = "max_episodes"
        elif cfg.max_steps is not None and r.env_steps >= cfg.max_steps:
            r.reason = "max_steps"
        elif cfg.max_seconds is not None and self._elapsed() >= cfg.max_seconds:
            r.reason = "max_seconds"
        return bool(r.reason)

    def _episode_done(self, info: EpisodeInfo) -> None:
        r, cap = self._result, self.config.max_episodes
        if cap is not None and len(r.episode_returns) >= cap:
            return  # A2C can finish a few more inside the last rollout: the budget is exact
        now = self._elapsed()
        r.episode_returns.append(info.episode_return)
        r.episode_lengths.append(info.length)
        r.episode_env_steps.append(r.env_steps)
        r.episode_seconds.append(now)
        self._emit(EpisodeEnd(len(r.episode_returns), info.episode_return, info.length,
                              r.env_steps, now, info.discounted_return, info.start_value,
                              info.truncated))

    def _updated(self, stats) -> None:
        r = self._result
        self._emit(UpdateEnd(update=self.agent.updates, env_steps=r.env_steps,
                             episodes=len(r.episode_returns), wall_seconds=self._elapsed(),
                             **vars(stats)))

    def _frame_hook(self):
        """A per-step hook that emits a Frame at most every ``frame_every`` seconds."""

        def on_step(obs: np.ndarray, probs: np.ndarray, value: float, step: int) -> None:
            now = time.perf_counter()
            if now < self._next_frame:
                return
            self._next_frame = now + self.frame_every
            rgb = self._renderer.render(obs) if self._renderer is not None else None
            self._emit(Frame(len(self._result.episode_returns) + 1, step, obs.copy(),
                             np.asarray(probs, np.float64).copy(), float(value), rgb))

        return on_step


_END_MESSAGES = {
    "max_episodes": "Reached the episode budget.",
    "max_steps": "Reached the environment-step budget.",
    "max_seconds": "Reached the time budget.",
    "stopped": "Stopped.",
}


def train(config: TrainConfig, on_event: Callable[[Event], None] | None = None,
          control: RunControl | None = None, frame_every: float | None = None) -> RunResult:
    """Train ``config`` to the end of its budget; see :class:`Trainer`."""
    return Trainer(config, control=control, frame_every=frame_every).run(on_event)
