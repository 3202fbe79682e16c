"""The trainer: determinism, the event stream, budgets, pause/stop, the NaN guard, frames."""

from __future__ import annotations

import math
import threading
import time

import numpy as np
import pytest
import torch

from pgcore import EpisodeEnd, Frame, RunControl, RunEnd, Trainer, UpdateEnd, default_config, train
from pgcore.algos.common import HandAgent
from pgcore.training.config import TrainConfig
from pgcore.training.events import END_REASONS

ALGOS = ["reinforce", "actor-critic", "a2c"]
# Tiny budgets: an untrained CartPole episode is ~20 steps.
EPISODES = {"reinforce": 6, "actor-critic": 4, "a2c": 12}


def _cfg(algo: str, **overrides) -> TrainConfig:
    return default_config(algo, **{"max_episodes": EPISODES[algo], "seed": 0, **overrides})


def _weights(agent) -> list[torch.Tensor]:
    return [p.detach().clone() for p in agent.net.parameters()]


# ----- determinism -------------------------------------------------------------------------------


@pytest.mark.parametrize("algo", ALGOS)
def test_same_config_and_seed_give_identical_runs(algo):
    a = train(_cfg(algo))
    b = train(_cfg(algo))
    assert len(a.episode_returns) == EPISODES[algo]
    assert a.episode_returns == b.episode_returns
    assert a.episode_lengths == b.episode_lengths
    assert a.env_steps == b.env_steps and a.updates == b.updates
    for p, q in zip(_weights(a.agent), _weights(b.agent), strict=True):
        assert torch.equal(p, q)


def test_another_seed_gives_another_run():
    a = train(_cfg("reinforce", seed=0))
    b = train(_cfg("reinforce", seed=1))
    assert a.episode_returns != b.episode_returns


# ----- the event stream --------------------------------------------------------------------------


@pytest.mark.parametrize("algo", ALGOS)
def test_event_stream(algo, event_log):
    cfg = _cfg(algo)
    result = train(cfg, on_event=event_log)
    episodes, updates = event_log.of(EpisodeEnd), event_log.of(UpdateEnd)

    assert len(episodes) == len(result.episode_returns) == cfg.max_episodes
    assert [e.episode for e in episodes] == list(range(1, cfg.max_episodes + 1))
    assert [e.episode_return for e in episodes] == result.episode_returns
    assert [e.length for e in episodes] == result.episode_lengths
    steps = [e.env_steps for e in episodes]
    assert steps == sorted(steps) and steps[-1] <= result.env_steps
    assert all(e.episode_return == e.length for e in episodes)  # CartPole: +1 per step
    assert all(math.isfinite(e.start_value) for e in episodes)  # all three have a critic here
    if algo == "reinforce":  # one episode per update, env steps are the episodes' lengths
        assert sum(result.episode_lengths) == result.env_steps
        assert len(updates) == len(episodes)

    assert len(updates) == result.updates > 0
    assert [u.update for u in updates] == list(range(1, len(updates) + 1))
    for u in updates:  # every field of every update is a finite number (all have a critic)
        for name, value in [*vars(u).items(), *u.stats.items()]:
            if name != "stats":
                assert math.isfinite(value), (name, value)
        assert u.entropy <= math.log(2) + 1e-6 and u.grad_norm >= 0 and u.batch_size >= 1

    assert isinstance(event_log[-1], RunEnd)
    assert len(event_log.of(RunEnd)) == 1
    end = event_log[-1]
    assert end.reason == result.reason == "max_episodes"
    assert end.episodes == cfg.max_episodes and end.env_steps == result.env_steps
    assert end.message and "\n" not in end.message
    assert not event_log.of(Frame)  # frames only when asked for


def test_without_a_critic_the_value_fields_are_nan(event_log):
    train(_cfg("reinforce", baseline="none"), on_event=event_log)
    for u in event_log.of(UpdateEnd):
        assert math.isnan(u.value_loss) and math.isnan(u.value_mean)
        assert math.isfinite(u.policy_loss) and math.isfinite(u.grad_norm)
    assert all(math.isnan(e.start_value) for e in event_log.of(EpisodeEnd))


@pytest.mark.parametrize("algo", ALGOS)
def test_step_budget(algo, event_log):
    cfg = _cfg(algo, max_episodes=None, max_steps=150)
    result = train(cfg, on_event=event_log)
    assert result.reason == event_log[-1].reason == "max_steps"
    # The budget is checked between updates: it may overshoot by less than one update's worth.
    overshoot = max(result.episode_lengths) if algo == "reinforce" else cfg.batch_size
    assert 150 <= result.env_steps < 150 + overshoot


def test_step_budget_before_episode_budget():
    result = train(_cfg("reinforce", max_episodes=1000, max_steps=60))
    assert result.reason == "max_steps" and len(result.episode_returns) < 1000


@pytest.mark.parametrize("algo", ["reinforce", "a2c"])
def test_time_budget(algo, event_log):
    result = train(_cfg(algo, max_episodes=None, max_seconds=0.4), on_event=event_log)
    assert result.reason == event_log[-1].reason == "max_seconds"
    assert result.wall_seconds >= 0.4
    assert result.episode_returns  # it did train meanwhile


def test_a2c_episode_budget_is_exact():
    # Several envs can finish inside the last rollout; the run still reports exactly the budget.
    result = train(_cfg("a2c", max_episodes=9))
    assert len(result.episode_returns) == 9


def test_end_reasons_are_known():
    assert {"max_episodes", "max_steps", "max_seconds", "stopped", "diverged"} <= set(END_REASONS)


# ----- pause / stop from another thread ---------------------------------------------------------


def _wait_for(predicate, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


@pytest.mark.parametrize("algo", ["reinforce", "a2c"])
def test_pause_resume_stop_from_another_thread(algo):
    control = RunControl()
    episodes: list[EpisodeEnd] = []
    out = []
    cfg = _cfg(algo, max_episodes=10**6)
    worker = threading.Thread(
        target=lambda: out.append(train(cfg, on_event=lambda e: episodes.append(e)
                                        if isinstance(e, EpisodeEnd) else None,
                                        control=control)),
        daemon=True)
    t_start = time.monotonic()
    worker.start()
    assert _wait_for(lambda: len(episodes) >= 3), "the run did not start"

    control.pause()
    assert control.paused
    time.sleep(0.3)  # let the episode / rollout in flight finish and the loop block
    n_paused = len(episodes)
    time.sleep(0.5)
    assert len(episodes) == n_paused, "episodes kept arriving while paused"
    assert worker.is_alive()

    control.resume()
    assert _wait_for(lambda: len(episodes) > n_paused + 2), "the run did not resume"
    control.stop()
    worker.join(timeout=20)
    assert not worker.is_alive(), "the training thread did not end after stop()"
    elapsed = time.monotonic() - t_start

    result = out[0]
    assert result.reason == "stopped"
    assert result.message
    assert len(result.episode_returns) >= n_paused + 2
    # Training time excludes the ~0.8 s pause (with a margin for the in-flight episode).
    assert result.wall_seconds <= elapsed - 0.5


def test_stop_while_paused_ends_the_run():
    control = RunControl()
    out, episodes = [], []
    worker = threading.Thread(
        target=lambda: out.append(train(_cfg("reinforce", max_episodes=10**6),
                                        on_event=episodes.append, control=control)),
        daemon=True)
    worker.start()
    assert _wait_for(lambda: len(episodes) >= 2), "the run did not start"
    control.pause()
    time.sleep(0.2)
    control.stop()  # must wake the paused loop
    worker.join(timeout=20)
    assert not worker.is_alive()
    assert out[0].reason == "stopped"
    assert not control.paused  # pause() after stop() is ignored; stop() released the pause


def test_stop_before_start_trains_nothing(event_log):
    control = RunControl()
    control.stop()
    result = train(_cfg("a2c"), on_event=event_log, control=control)
    assert result.reason == "stopped" and result.episode_returns == []
    assert [type(e) for e in event_log] == [RunEnd]


# ----- the NaN guard -----------------------------------------------------------------------------


def _poison_after(trainer: Trainer, n_good: int, what: str = "logits", monkeypatch=None):
    """Patch the network so that, from the (n_good+1)-th update on, its output is NaN / inf.

    Only the update's forward passes are poisoned; acting stays normal. REINFORCE's update
    runs through autograd (the poisoned passes are those with autograd on); A2C's runs by
    hand (pgcore.rl.backprop), so its HandNet's forward is poisoned. The one-step actor-critic
    also updates by hand: there the gradient of its policy loss turns NaN (logits) or the
    reward infinite (values).
    """
    if trainer.config.algo == "actor-critic":
        calls = [0]
        head_class = type(trainer.agent.head)
        original_grad, original_update = head_class.one_step_grad, trainer.agent.update

        def one_step_grad(self, *args):
            grad, log_prob, entropy = original_grad(self, *args)
            calls[0] += 1
            return (grad * float("nan") if calls[0] > n_good else grad), log_prob, entropy

        def update(tr):
            if what == "values" and trainer.agent.updates >= n_good:
                tr.reward = float("inf")
            return original_update(tr)

        monkeypatch.setattr(head_class, "one_step_grad", one_step_grad)
        trainer.agent.update = update
        return
    if isinstance(trainer.agent, HandAgent):
        hand = trainer.agent.hand
        original_forward, calls = hand.forward, [0]

        def hand_forward(x):
            outputs, values, cache = original_forward(x)
            calls[0] += 1
            if calls[0] > n_good:
                if what == "logits":
                    outputs = outputs * float("nan")
                else:
                    values = values * float("inf")
            return outputs, values, cache

        hand.forward = hand_forward  # instance attribute: the agent's update calls it
        return
    net = trainer.agent.net
    original = net.forward
    calls = [0]

    def forward(obs):
        logits, values = original(obs)
        if torch.is_grad_enabled():
            calls[0] += 1
            if calls[0] > n_good:
                if what == "logits":
                    logits = logits * float("nan")
                else:
                    values = values * float("inf")
        return logits, values

    net.forward = forward  # instance attribute: nn.Module.__call__ finds it first


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy on the inf values
@pytest.mark.parametrize("algo, what", [("reinforce", "logits"), ("actor-critic", "logits"),
                                        ("actor-critic", "values"), ("a2c", "logits"),
                                        ("a2c", "values")])
def test_nan_guard_ends_the_run_cleanly(algo, what, event_log, monkeypatch):
    trainer = Trainer(_cfg(algo, max_episodes=10**6, max_steps=20_000))  # bounded if it fails
    _poison_after(trainer, n_good=2, what=what, monkeypatch=monkeypatch)
    snapshots = []  # the weights after each good update
    result = trainer.run(lambda e: (event_log(e), isinstance(e, UpdateEnd)
                                    and snapshots.append(_weights(trainer.agent))))

    assert result.reason == "diverged" and result.diverged
    assert "learning rate" in result.message
    assert "\n" not in result.message
    end = event_log[-1]
    assert isinstance(end, RunEnd) and end.reason == "diverged" and end.message == result.message
    assert result.updates == len(snapshots) == 2
    # The bad update was never applied: the weights are finite and those of the last good step.
    final = _weights(trainer.agent)
    assert all(torch.isfinite(p).all() for p in final)
    for p, q in zip(final, snapshots[-1], strict=True):
        assert torch.equal(p, q)


# ----- frames ------------------------------------------------------------------------------------


@pytest.mark.parametrize("algo", ["reinforce", "a2c"])
def test_frames(algo, event_log):
    cfg = _cfg(algo, max_episodes=3 if algo == "reinforce" else 24)
    result = train(cfg, on_event=event_log, frame_every=0)  # 0 s apart: a frame every step
    frames = event_log.of(Frame)
    assert frames
    for f in frames[:40]:
        assert f.rgb is not None and f.rgb.dtype == np.uint8
        assert f.rgb.ndim == 3 and f.rgb.shape[2] == 3 and min(f.rgb.shape[:2]) > 50
        assert f.probs.shape == (2,) and (f.probs >= 0).all()
        assert f.probs.sum() == pytest.approx(1.0, abs=1e-6)
        assert f.obs.shape == (4,)
    assert frames[0].rgb.std() > 0  # a picture, not a blank image
    assert math.isfinite(frames[0].value)  # V(s_0) from the critic
    assert frames[0].episode == 1 and frames[0].step == 0
    steps = [f.step for f in frames]
    # Frame.step counts steps within the shown episode: +1 per step, back to 0 on a new one.
    assert all(b == a + 1 or b == 0 for a, b in zip(steps, steps[1:], strict=False))
    if algo == "reinforce":  # one env: every step of every episode, in order
        assert len(frames) == result.env_steps
        for k, length in enumerate(result.episode_lengths, start=1):
            assert [f.step for f in frames if f.episode == k] == list(range(length))
    else:  # A2C shows the first of its environments
        assert steps.count(0) >= 2  # it finished at least one episode and started the next


def test_no_frames_unless_asked(event_log):
    train(_cfg("reinforce", max_episodes=2), on_event=event_log)
    assert not event_log.of(Frame)


# ----- Acrobot ----------------------------------------------------------------------------------


@pytest.mark.parametrize("algo, episodes", [("reinforce", 2), ("actor-critic", 1), ("a2c", 3)])
def test_acrobot_runs(algo, episodes, event_log):
    cfg = _cfg(algo, env_id="Acrobot-v1", max_episodes=episodes)
    result = train(cfg, on_event=event_log)
    assert result.reason == "max_episodes"
    assert len(result.episode_returns) == episodes
    for e in event_log.of(EpisodeEnd):
        assert 1 <= e.length <= 500
        assert -500 <= e.episode_return <= 0  # -1 per step until the goal
        assert e.truncated == (e.length == 500 and e.episode_return == -500)
    assert all(math.isfinite(u.policy_loss) for u in event_log.of(UpdateEnd))
    assert result.agent.obs_dim == 6 and result.agent.n_actions == 3


def test_a_stop_during_a_rollout_ends_the_run_there_without_its_update():
    """PPO on Pendulum collects 4 x 1,024 steps, then makes 640 minibatch steps: a stop (or a
    pause) is seen between two vector steps, not after all of that."""
    from pgcore.training.config import preset

    cfg = preset("ppo-pendulum", seed=0, max_episodes=100, max_steps=None)
    control, events = RunControl(), []

    def on_event(event) -> None:
        events.append(event)
        if isinstance(event, EpisodeEnd) and event.episode == 1:
            control.stop()  # the 4 envs' first episodes end together, at step 200 of 1,024

    result = Trainer(cfg, control).run(on_event)
    assert result.reason == "stopped" and result.updates == 0
    assert not [e for e in events if isinstance(e, UpdateEnd)]
    assert result.episodes == cfg.n_envs and result.env_steps == cfg.n_envs * 200
    assert isinstance(events[-1], RunEnd) and events[-1].reason == "stopped"


def test_a_stop_during_a_ppo_update_ends_it_between_two_minibatch_steps():
    """PPO's update is 10 epochs of 64 minibatches: it asks the run's check point between
    gradient steps (the agent's ``interrupted``) and ends early once the run is stopped."""
    from pgcore.training.config import preset

    cfg = preset("ppo-pendulum", seed=0, max_episodes=100, max_steps=None)

    class StopsInTheUpdate(RunControl):
        """Stops at its check number ``at``: 1 before the rollout, 1,023 between its 1,024
        vector steps, then one before each gradient step of the update after the first."""

        def __init__(self, at: int) -> None:
            super().__init__()
            self.at, self.checks = at, 0

        def wait_while_paused(self) -> float:
            self.checks += 1
            if self.checks == self.at:
                self.stop()
            return super().wait_while_paused()

    control, updates = StopsInTheUpdate(at=1 + 1023 + 5), []
    trainer = Trainer(cfg, control)
    result = trainer.run(lambda e: updates.append(e) if isinstance(e, UpdateEnd) else None)
    assert result.reason == "stopped" and len(updates) == 1  # the one update, cut short:
    assert updates[0].stats["gradient_steps"] == result.updates == 5  # 5 of 640 steps
    assert trainer.agent.interrupted is None  # only while the trainer runs
