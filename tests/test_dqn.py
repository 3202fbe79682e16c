"""DQN: the TD targets by hand, the target network (hard copies, Polyak, C = 1), the replay
buffer, the epsilon schedule, determinism, checkpoints with both networks, and learning."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from pgcore import EpisodeEnd, RunControl, preset, train
from pgcore.algos import DivergedError
from pgcore.algos.dqn import DQNAgent, linear_schedule, polyak_update, weight_distance
from pgcore.rl.buffers import ReplayBuffer
from pgcore.rl.envs import EnvSpec, env_spec
from pgcore.rl.heads import CategoricalHead
from pgcore.rl.returns import double_td_targets, td_targets
from pgcore.training.config import ConfigError

SPEC = EnvSpec("toy", 4, CategoricalHead(2))


def _agent(**overrides) -> DQNAgent:
    base = dict(hidden=16, learning_starts=8, minibatch_size=8, buffer_size=100)
    return DQNAgent(preset("dqn", **{**base, **overrides}), SPEC)


def _fill(agent: DQNAgent, n: int = 50, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    for i in range(n):
        agent.remember(rng.normal(size=4).astype(np.float32), i % 2, 1.0,
                       rng.normal(size=4).astype(np.float32), i % 7 == 6, False)


# ----- the TD targets -------------------------------------------------------------------------

# rows: alive, terminated, truncated (stored as not terminated, so it bootstraps)
REWARDS = [1.0, 1.0, 1.0]
TERMINATED = [False, True, False]
NEXT_Q_TARGET = [[2.0, 3.0], [10.0, 20.0], [6.0, 4.0]]
NEXT_Q_ONLINE = [[5.0, 1.0], [0.0, 1.0], [1.0, 9.0]]


def test_td_target_by_hand():
    y = td_targets(REWARDS, NEXT_Q_TARGET, TERMINATED, gamma=0.5)
    # 1 + 0.5 * max(2, 3) = 2.5; terminated: 1; truncated bootstraps: 1 + 0.5 * max(6, 4) = 4
    np.testing.assert_allclose(y, [2.5, 1.0, 4.0])


def test_double_td_target_by_hand():
    y = double_td_targets(REWARDS, NEXT_Q_ONLINE, NEXT_Q_TARGET, TERMINATED, gamma=0.5)
    # online picks a'=0 -> Q_target 2: 1 + 1 = 2; terminated: 1; online picks a'=1 -> 4: 3
    np.testing.assert_allclose(y, [2.0, 1.0, 3.0])
    # gamma 1, nothing terminated: the online argmax selects, the target values
    y = double_td_targets([0.0], [[0.0, 1.0]], [[7.0, -2.0]], [False], gamma=1.0)
    np.testing.assert_allclose(y, [-2.0])


@pytest.mark.parametrize("bootstrap_truncated, stored", [(True, False), (False, True)])
def test_truncated_steps_bootstrap_unless_switched_off(bootstrap_truncated, stored):
    agent = _agent(bootstrap_truncated=bootstrap_truncated)
    obs = np.zeros(4, np.float32)
    agent.remember(obs, 0, 1.0, obs, terminated=False, truncated=True)
    agent.remember(obs, 1, 1.0, obs, terminated=True, truncated=False)
    agent.remember(obs, 1, 1.0, obs, terminated=True, truncated=True)
    assert agent.buffer.terminated[:3].tolist() == [stored, True, True]


def test_agent_targets_use_the_target_network():
    agent = _agent(double=False, target_update=1000, tau=1.0)
    _fill(agent)
    for _ in range(5):
        agent.update(agent.buffer)  # the online network moves; the target stays put
    batch = agent.buffer.sample(8, np.random.default_rng(1))
    next_obs = torch.from_numpy(batch.next_obs)
    with torch.no_grad():
        q_t = agent.net.target(next_obs)[0].double().numpy()
        q_o = agent.net.online(next_obs)[0].double().numpy()
    want = td_targets(batch.rewards, q_t, batch.terminated, agent.config.gamma)
    np.testing.assert_allclose(agent.td_target(batch.rewards, next_obs, batch.terminated), want,
                               rtol=1e-6)
    assert not np.allclose(want, td_targets(batch.rewards, q_o, batch.terminated, 0.99))
    double = agent.config.replace(double=True)
    agent.config = double
    want = double_td_targets(batch.rewards, q_o, q_t, batch.terminated, double.gamma)
    np.testing.assert_allclose(agent.td_target(batch.rewards, next_obs, batch.terminated), want,
                               rtol=1e-6)


# ----- the target network ---------------------------------------------------------------------


def test_polyak_update_is_exact():
    torch.manual_seed(0)
    target = [torch.randn(3, 4, dtype=torch.float64), torch.randn(4, dtype=torch.float64)]
    online = [torch.randn(3, 4, dtype=torch.float64), torch.randn(4, dtype=torch.float64)]
    want = [0.25 * o + 0.75 * t for t, o in zip(target, online, strict=True)]
    polyak_update(target, online, 0.25)
    for got, w in zip(target, want, strict=True):
        torch.testing.assert_close(got, w, rtol=1e-15, atol=1e-15)
    polyak_update(target, online, 1.0)  # tau = 1: an exact copy
    assert all(torch.equal(t, o) for t, o in zip(target, online, strict=True))
    assert weight_distance(target, online) == 0.0


def test_polyak_in_the_agent_moves_the_target_by_tau_each_step():
    agent = _agent(target_update=1, tau=0.1)
    _fill(agent)
    agent.update(agent.buffer)
    before_t = [p.detach().clone() for p in agent.target_params]
    agent.update(agent.buffer)  # one gradient step, then theta_t <- 0.1 theta + 0.9 theta_t
    for t, b, o in zip(agent.target_params, before_t, agent.params, strict=True):
        torch.testing.assert_close(t, 0.1 * o + 0.9 * b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("double, td_loss", [(True, "huber"), (False, "huber"),
                                             (True, "mse"), (False, "mse")])
def test_the_by_hand_gradient_step_is_autograd_of_the_td_loss(double, td_loss):
    """DQNAgent.gradient_step's gradient (written out: numpy forwards, dL/dQ at the taken
    actions, the backward pass) against autograd of the loss as written, on a minibatch with
    terminated rows and TD errors beyond the Huber loss's linear point."""
    import copy

    from pgcore.algos.dqn import loss as dqn_loss

    agent = _agent(double=double, td_loss=td_loss, target_update=10**6, max_grad_norm=None)
    _fill(agent)
    for _ in range(5):  # move the online network away from the target
        agent.update(agent.buffer)
    ref = copy.deepcopy(agent)
    b = agent.buffer.sample(32, np.random.default_rng(5))
    rewards = b.rewards * 3.0  # large TD errors: the Huber loss's linear part
    with torch.no_grad():
        nxt = torch.from_numpy(b.next_obs)
        target_q = ref.net.target(nxt)[0].double()
        online_q = ref.net.online(nxt)[0] if double else None
        y = (double_td_targets(rewards, online_q.numpy(), target_q.numpy(), b.terminated,
                               ref.config.gamma) if double else
             td_targets(rewards, target_q.numpy(), b.terminated, ref.config.gamma))
    q_all = ref.net.online(torch.from_numpy(b.obs))[0]  # (B, A), with the gradient
    loss = dqn_loss(q_all, torch.from_numpy(b.actions), torch.from_numpy(rewards), target_q,
                    torch.from_numpy(b.terminated), gamma=ref.config.gamma,
                    next_q_online=online_q, td_loss=td_loss)  # the module's loss, as written
    expected = torch.autograd.grad(loss, ref.params)
    q = q_all.gather(1, torch.from_numpy(b.actions)[:, None]).squeeze(1)
    y = torch.from_numpy(y.astype(np.float32))
    assert b.terminated.any() and (~b.terminated).any()
    assert td_loss == "mse" or float((q.detach() - y).abs().max()) > 1.0

    got_loss, got_q, norm = agent.gradient_step(b.obs, b.actions, rewards, b.next_obs,
                                                b.terminated)
    assert got_loss == pytest.approx(float(loss.detach()), rel=1e-5)
    np.testing.assert_allclose(got_q, q.detach().numpy(), rtol=1e-5, atol=1e-6)
    for g, p in zip(expected, agent.gradients(), strict=True):
        np.testing.assert_allclose(p, g.numpy(), rtol=1e-4, atol=1e-6)
    assert norm == pytest.approx(float(torch.linalg.vector_norm(
        torch.cat([g.reshape(-1) for g in expected]))), rel=1e-5)


def test_hard_copies_at_exactly_every_c_gradient_steps():
    agent = _agent(target_update=3, tau=1.0, gradient_steps=1)
    _fill(agent)
    distances = [agent.update(agent.buffer).target_distance for _ in range(9)]
    for step, d in enumerate(distances, start=1):
        assert (d == 0.0) == (step % 3 == 0), (step, d)
    agent = _agent(target_update=4, tau=1.0, gradient_steps=2)  # counts gradient steps
    _fill(agent)
    distances = [agent.update(agent.buffer).target_distance for _ in range(4)]
    assert [d == 0.0 for d in distances] == [False, True, False, True]


def test_c1_makes_the_target_the_online_network():
    agent = _agent(target_update=1, tau=1.0, double=False)
    _fill(agent)
    obs = torch.from_numpy(np.random.default_rng(2).normal(size=(8, 4)).astype(np.float32))
    for _ in range(3):
        stats = agent.update(agent.buffer)
        assert stats.target_distance == 0.0
        with torch.no_grad():
            assert torch.equal(agent.net.target(obs)[0], agent.net.online(obs)[0])
    batch = agent.buffer.sample(8, np.random.default_rng(3))
    online_q = agent.net.online.numpy_forward(batch.next_obs)[0].astype(np.float64)
    np.testing.assert_array_equal(
        agent.td_target(batch.rewards, batch.next_obs, batch.terminated),
        td_targets(batch.rewards, online_q, batch.terminated, agent.config.gamma))


# ----- replay buffer, exploration, acting -----------------------------------------------------


def test_replay_buffer_wraps_around_and_keeps_the_newest():
    buf = ReplayBuffer(capacity=4, obs_dim=2)
    for t in range(6):
        buf.add([t, -t], t % 2, float(t), [t + 1, 0], t == 5)
    assert len(buf) == 4 and buf.added == 6 and buf.pos == 2
    state = buf.state()  # oldest first
    assert state["rewards"].tolist() == [2.0, 3.0, 4.0, 5.0]
    assert state["obs"][:, 0].tolist() == [2.0, 3.0, 4.0, 5.0]
    assert state["next_obs"][:, 0].tolist() == [3.0, 4.0, 5.0, 6.0]
    assert state["terminated"].tolist() == [False, False, False, True]
    assert state["actions"].tolist() == [0, 1, 0, 1]


def test_replay_sampling_is_uniform_and_seeded():
    buf = ReplayBuffer(capacity=10, obs_dim=1)
    for t in range(25):
        buf.add([t], 0, float(t), [t], False)
    a = buf.sample(64, np.random.default_rng(5))
    b = buf.sample(64, np.random.default_rng(5))
    assert np.array_equal(a.obs, b.obs) and np.array_equal(a.rewards, b.rewards)
    assert set(a.rewards.tolist()) <= set(range(15, 25))  # only what the ring still holds
    big = buf.sample(20_000, np.random.default_rng(6)).rewards
    counts = np.bincount(big.astype(int) - 15, minlength=10)
    assert counts.min() > 1700 and counts.max() < 2300  # ~2000 each
    assert np.array_equal(a.obs[:, 0], a.rewards)  # rows stay together
    with pytest.raises(ValueError):
        ReplayBuffer(3, 1).sample(1, np.random.default_rng(0))


def test_epsilon_schedule_is_linear_then_flat():
    assert linear_schedule(0, 1.0, 0.05, 100) == 1.0
    assert linear_schedule(50, 1.0, 0.05, 100) == pytest.approx(0.525)
    assert linear_schedule(100, 1.0, 0.05, 100) == 0.05
    assert linear_schedule(10**6, 1.0, 0.05, 100) == 0.05
    assert linear_schedule(0, 1.0, 0.05, 0) == 0.05
    agent = _agent(epsilon_start=1.0, epsilon_end=0.1, exploration_steps=10)
    seen = []
    for _ in range(12):
        seen.append(agent.epsilon)
        agent.remember(np.zeros(4, np.float32), 0, 1.0, np.zeros(4, np.float32), False, False)
    np.testing.assert_allclose(seen, [1.0 - 0.09 * t for t in range(10)] + [0.1, 0.1])


def test_acting_is_epsilon_greedy_and_the_overlay_shows_q():
    agent = _agent(epsilon_start=0.0, epsilon_end=0.0)
    obs = np.random.default_rng(0).normal(size=(200, 4)).astype(np.float32)
    q, values = agent.policy(obs)
    assert q.shape == (200, 2) and values is None
    greedy = q.argmax(1)
    assert np.array_equal(agent.act(obs)[0], greedy)  # epsilon 0: always greedy
    assert np.array_equal(agent.act(obs, greedy=True)[0], greedy)
    random = _agent(epsilon_start=1.0, epsilon_end=1.0)
    actions = random.act(obs)[0]
    assert 0.35 < np.mean(actions != random.act(obs, greedy=True)[0]) < 0.65
    rows = agent.head.overlay(q[0], ("left", "right"))
    assert [r[0] for r in rows] == ["Q(s, left)", "Q(s, right)"]
    assert all(0.0 <= r[1] <= 1.0 for r in rows)


def test_a_nan_loss_raises_diverged():
    agent = _agent()
    _fill(agent)
    agent.buffer.rewards[:] = np.nan
    with pytest.raises(DivergedError, match="loss"):
        agent.update(agent.buffer)


@pytest.mark.parametrize("overrides, words", [
    (dict(epsilon_start=0.1, epsilon_end=0.5), "epsilon_end"),
    (dict(buffer_size=100, minibatch_size=256), "minibatch_size"),
    (dict(tau=0.0), "tau"),
    (dict(target_update=0), "target_update"),
    (dict(td_loss="l1"), "td_loss"),
])
def test_bad_settings_are_one_line(overrides, words):
    with pytest.raises(ConfigError) as info:
        preset("dqn", **overrides)
    msg = str(info.value)
    assert words in msg and "\n" not in msg


def test_dqn_fields_do_not_apply_to_other_algorithms():
    with pytest.raises(ConfigError, match="applies to dqn only"):
        preset("reinforce", buffer_size=5000)


# ----- the trainer: determinism, checkpoints, events ------------------------------------------


def _short(seed=0, **overrides):
    base = dict(hidden=32, learning_starts=200, max_steps=1500, max_episodes=None)
    return preset("dqn", seed=seed, **{**base, **overrides})


def test_same_seed_same_run():
    a, b = train(_short(seed=3)), train(_short(seed=3))
    assert a.episode_returns == b.episode_returns and a.updates == b.updates > 0
    for (k, v), (k2, v2) in zip(a.agent.net.state_dict().items(),
                                b.agent.net.state_dict().items(), strict=True):
        assert k == k2 and torch.equal(v, v2)
    c = train(_short(seed=4))
    assert c.episode_returns != a.episode_returns


def test_trainer_reports_the_statistics_and_honours_budgets():
    from pgcore.training.events import UpdateEnd

    events = []
    result = train(_short(train_freq=4, gradient_steps=2), on_event=events.append)
    assert result.reason == "max_steps" and result.env_steps == 1500
    updates = [e for e in events if isinstance(e, UpdateEnd)]
    # updates every 4 env steps from step 200 on, 2 gradient steps each
    assert len(updates) == (1500 - 200) // 4 + 1 and result.updates == 2 * len(updates)
    assert {"td_loss", "q_mean", "epsilon", "target_distance", "grad_norm"} <= set(
        updates[-1].stats)
    assert updates[0].stats["epsilon"] > updates[-1].stats["epsilon"]


def test_checkpoint_carries_both_networks(tmp_path):
    from pgcore.training.checkpoint import load_checkpoint, save_checkpoint

    result = train(_short(target_update=1, tau=0.01))
    agent = result.agent
    state = agent.net.state_dict()
    assert any(k.startswith("online.") for k in state) and any(k.startswith("target.")
                                                                for k in state)
    assert weight_distance(agent.target_params, agent.params) > 0  # they differ
    path = save_checkpoint(tmp_path / "dqn.pt", agent)
    loaded, config, _ = load_checkpoint(path)
    assert config == agent.config and isinstance(loaded, DQNAgent)
    for k, v in loaded.net.state_dict().items():
        assert torch.equal(v, state[k]), k
    obs = np.random.default_rng(0).normal(size=(16, 4)).astype(np.float32)
    assert np.array_equal(loaded.act(obs, greedy=True)[0], agent.act(obs, greedy=True)[0])
    assert loaded.steps == agent.steps == 1500  # the epsilon schedule resumes where it was
    assert loaded.epsilon == agent.epsilon < agent.config.epsilon_start


def test_pause_resume_and_stop_work():
    import threading

    control = RunControl()
    episodes = []

    def on_event(e):
        if isinstance(e, EpisodeEnd):
            episodes.append(e)
            if len(episodes) == 1:
                control.pause()
                threading.Timer(0.3, control.resume).start()
            if len(episodes) == 3:
                control.stop()

    t0 = time.perf_counter()
    result = train(_short(), on_event=on_event, control=control)
    real = time.perf_counter() - t0
    assert result.reason == "stopped" and result.episodes == 3
    assert real - result.wall_seconds >= 0.25  # it paused, and the pause is not counted


def test_greedy_play_and_frames_render():
    from pgcore.training.render import play_episode
    from pgcore.training.trainer import Trainer

    agent = DQNAgent(preset("dqn", hidden=16), env_spec("CartPole-v1"))
    assert agent.head.describe() == {"type": "Discrete", "n": 2}
    before = agent.rng.bit_generator.state
    total, length, frames = play_episode(agent, "CartPole-v1", seed=0, greedy=True, render=True,
                                         max_frames=3)
    assert total == length > 0 and len(frames) == 3
    assert agent.rng.bit_generator.state == before  # greedy play draws no random numbers
    events = []
    Trainer(_short(max_steps=300), frame_every=0.0).run(events.append)
    frames = [e for e in events if type(e).__name__ == "Frame"]
    assert frames and frames[0].probs.shape == (2,) and np.isnan(frames[0].value)
    assert frames[0].rgb is not None


# ----- learning -------------------------------------------------------------------------------


@pytest.mark.slow
def test_default_reaches_195_within_budget():
    """Seed 0 of the default preset reaches a 100-episode average of 195: measured at
    episode 320, 40,685 env steps (seeds 1-4: 22k-41k); BOUND leaves some headroom."""
    control, returns = RunControl(), []

    def on_event(event):
        if isinstance(event, EpisodeEnd):
            returns.append(event.episode_return)
            if len(returns) >= 100 and np.mean(returns[-100:]) >= 195:
                control.stop()

    result = train(preset("dqn", seed=0, max_steps=BOUND), on_event=on_event, control=control)
    assert result.reason == "stopped", (
        f"no 100-episode average of 195 within {BOUND} env steps "
        f"(final average {np.mean(returns[-100:]):.1f})")


BOUND = 60_000


def test_lesson_presets_carry_the_measured_note_and_the_default_does_not():
    from pgcore import algos, default_config

    dqn = algos.get("dqn")
    for name in ("dqn-lesson-c1000", "dqn-lesson-c1", "dqn-lesson-polyak",
                 "dqn-lesson-c1000-double"):
        note = dqn.notes(preset(name))
        assert note and "135-144" in note and "18,000-54,000" in note, name
    assert dqn.notes(default_config("dqn")) is None
    assert dqn.notes(preset("dqn-lesson-c1", lr=5e-4)) is None  # no longer the lesson's
