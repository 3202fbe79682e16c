"""The one-step actor-critic's by-hand update (pgcore.rl.backprop) against autograd and Adam."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pgcore.algos import make_agent
from pgcore.algos.a2c import loss as a2c_loss
from pgcore.rl.backprop import FlatAdam
from pgcore.rl.buffers import Transition
from pgcore.rl.envs import EnvSpec
from pgcore.rl.heads import LOG_STD_BOUNDS, CategoricalHead, GaussianHead
from pgcore.training.config import TrainConfig, preset

CARTPOLE = EnvSpec.discrete(4, 2)
PENDULUM = EnvSpec.box(3, (-2.0,), (2.0,))


def _transition(spec, seed=0, terminated=False, truncated=False, reward=1.0) -> Transition:
    rng = np.random.default_rng(seed)
    obs, next_obs = rng.standard_normal((2, spec.obs_dim)).astype(np.float32)
    if spec.n_actions:
        action = np.int64(rng.integers(spec.n_actions))
    else:
        action = rng.standard_normal(spec.head.dim).astype(np.float32) * 3.0  # may be outside
    return Transition(obs, action, reward, next_obs, terminated, truncated)


def _autograd_gradients(agent, tr: Transition) -> tuple[dict[str, torch.Tensor], float]:
    """Autograd's gradient of :func:`pgcore.algos.a2c.loss` on the one transition, on the
    agent's torch network: by parameter name (before any clipping), and its global norm."""
    cfg, net = agent.config, agent.net
    obs = torch.as_tensor(np.stack((tr.obs, tr.next_obs)))
    outputs, values = net.module_forward(obs)  # the nn.Sequential modules themselves
    ends = tr.terminated or (tr.truncated and not cfg.bootstrap_truncated)
    target = tr.reward + (0.0 if ends else cfg.gamma * float(values[1].detach()))
    delta = target - float(values[0].detach())
    log_prob, entropy = agent.head.log_prob_entropy(outputs[:1], np.asarray([tr.action]))
    terms = a2c_loss(log_prob, entropy, torch.tensor([delta]), values[:1],
                     torch.tensor([target]), beta=cfg.entropy_beta, value_coef=cfg.value_coef,
                     reduction=cfg.reduction)  # A2C's loss on a batch of one, as written
    net.zero_grad()
    terms.total.backward()
    grads = {name: p.grad.clone() for name, p in net.named_parameters()}
    norm = float(torch.sqrt(sum((g * g).sum() for g in grads.values())))
    return grads, norm


def _by_hand_gradients(agent) -> dict[str, np.ndarray]:
    return {name: agent.optimizer.grads[id(p)].copy() for name, p in agent.net.named_parameters()}


CASES = {
    "default (separate tanh networks)": (CARTPOLE, preset("actor-critic"), {}),
    "lesson (shared relu trunk, clip 0.5)": (CARTPOLE, preset("actor-critic-lesson"), {}),
    "entropy bonus, relu, no trunk": (CARTPOLE, preset("actor-critic"),
                                      dict(entropy_beta=0.3, activation="relu")),
    "gaussian head": (PENDULUM, preset("actor-critic"), dict(entropy_beta=0.1, hidden=32)),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("ending", ["none", "terminated", "truncated"])
def test_by_hand_gradient_equals_autograd(case, ending):
    spec, base, overrides = CASES[case]
    cfg = base.replace(**overrides, seed=3)
    agent = make_agent(cfg, spec)
    tr = _transition(spec, seed=1, terminated=ending == "terminated",
                     truncated=ending == "truncated")
    expected, norm = _autograd_gradients(agent, tr)
    stats = agent.update(tr)
    got = _by_hand_gradients(agent)
    assert stats.grad_norm == pytest.approx(norm, rel=1e-4)
    if cfg.max_grad_norm is not None and norm > cfg.max_grad_norm:  # clipped in place
        scale = cfg.max_grad_norm / (norm + 1e-6)
        expected = {k: g * scale for k, g in expected.items()}
    assert set(got) == set(expected)
    for name, g in expected.items():
        np.testing.assert_allclose(got[name], g.numpy(), rtol=2e-4, atol=1e-6, err_msg=name)


def test_by_hand_forward_equals_the_network():
    for spec, base, overrides in CASES.values():
        agent = make_agent(base.replace(**overrides, seed=5), spec)
        obs = np.random.default_rng(0).standard_normal((7, spec.obs_dim)).astype(np.float32)
        dist, values = agent.policy(obs, with_value=True)
        outputs, v = agent.net.module_forward(torch.as_tensor(obs))
        np.testing.assert_allclose(dist, agent.head.distribution(outputs.detach()), rtol=1e-5,
                                   atol=1e-7)
        np.testing.assert_allclose(values, v.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_categorical_grad_worked_example_and_autograd():
    # pi = softmax(0, 0) = (1/2, 1/2); a = 1, A = 2: dL/dz = -2 (onehot - pi) = (1, -1)
    categorical_grad = CategoricalHead(3).one_step_grad
    g, log_p, h = categorical_grad(np.zeros(2, np.float32), 1, advantage=2.0, beta=0.0)
    np.testing.assert_allclose(g, [1.0, -1.0])
    assert log_p == pytest.approx(-np.log(2)) and h == pytest.approx(np.log(2))
    z = torch.tensor([0.3, -1.2, 2.0], requires_grad=True)
    log_pi = torch.log_softmax(z, -1)
    loss = -log_pi[2] * 0.7 - 0.25 * -(log_pi.exp() * log_pi).sum()
    loss.backward()
    g, _, _ = categorical_grad(z.detach().numpy(), 2, advantage=0.7, beta=0.25)
    np.testing.assert_allclose(g, z.grad.numpy(), rtol=1e-5)


@pytest.mark.parametrize("log_std", [-0.5, LOG_STD_BOUNDS[0] - 1.0, LOG_STD_BOUNDS[1] + 1.0])
def test_gaussian_grad_against_autograd_including_the_clamped_log_std(log_std):
    head = GaussianHead((-2.0, 0.0), (2.0, 1.0))
    out = torch.tensor([0.4, -0.8, log_std, 0.1], dtype=torch.float64, requires_grad=True)
    action = np.array([1.5, 2.5])  # the second one outside its bounds: sampled, not clipped
    mean, ls = head.mean_and_log_std(out[None].float())
    log_prob, entropy = head.log_prob_entropy(out[None], action[None])
    loss = -log_prob[0] * 1.3 - 0.2 * entropy[0]
    loss.backward()
    g, lp, h = head.one_step_grad(out.detach().numpy(), action, advantage=1.3, beta=0.2)
    np.testing.assert_allclose(g, out.grad.numpy(), rtol=1e-6, atol=1e-9)
    assert lp == pytest.approx(float(log_prob[0].detach()))
    assert h == pytest.approx(float(entropy[0].detach()))
    if log_std != -0.5:
        assert g[2] == 0.0  # the clamp holds it at a bound: no gradient, as in torch


def _twin_params(seed=0):
    torch.manual_seed(seed)
    shapes = [(5, 3), (5,), (2, 5)]
    a = [torch.nn.Parameter(torch.randn(*s)) for s in shapes]
    b = [torch.nn.Parameter(p.detach().clone()) for p in a]
    return a, b


def test_flat_adam_matches_torch_adam_step_by_step():
    ours, theirs = _twin_params()
    groups = lambda ps: [{"params": ps[:2], "lr": 1e-2, "eps": 1e-3},  # noqa: E731
                         {"params": ps[2:], "lr": 3e-3}]
    flat = FlatAdam(groups(ours))
    ref = torch.optim.Adam(groups(theirs))
    rng = np.random.default_rng(0)
    for _ in range(6):
        for p, q in zip(ours, theirs, strict=True):
            g = rng.standard_normal(p.shape).astype(np.float32)
            flat.grads[id(p)][...] = g
            q.grad = torch.from_numpy(g.copy())
        flat.step()
        ref.step()
        for p, q in zip(ours, theirs, strict=True):
            np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-5,
                                       atol=1e-6)


def test_flat_adam_keeps_values_and_moves_the_parameters_in_place():
    ours, _ = _twin_params()
    before = [p.detach().clone() for p in ours]
    flat = FlatAdam([{"params": ours, "lr": 0.1}])
    for p, b in zip(ours, before, strict=True):
        assert torch.equal(p.detach(), b)  # flattening keeps every value
        flat.grads[id(p)][...] = 1.0
    flat.step()
    for p, b in zip(ours, before, strict=True):  # the first Adam step moves each weight by lr
        np.testing.assert_allclose((b - p.detach()).numpy(), 0.1, rtol=1e-4)


def test_flat_adam_state_moves_to_and_from_torch_adam():
    ours, theirs = _twin_params()
    flat = FlatAdam([{"params": ours, "lr": 1e-2}])
    rng = np.random.default_rng(1)
    for _ in range(3):
        for p in ours:
            flat.grads[id(p)][...] = rng.standard_normal(p.shape)
        flat.step()
    ref = torch.optim.Adam([{"params": theirs, "lr": 1e-2}])
    with torch.no_grad():
        for p, q in zip(ours, theirs, strict=True):
            q.copy_(p)
    ref.load_state_dict(flat.state_dict())
    again = FlatAdam([{"params": [torch.nn.Parameter(p.detach().clone()) for p in ours],
                       "lr": 1e-2}])
    again.load_state_dict(ref.state_dict())
    assert again.steps == 3
    g = [rng.standard_normal(p.shape).astype(np.float32) for p in ours]
    for p, q, r, gi in zip(ours, theirs, again.param_groups[0]["params"], g, strict=True):
        flat.grads[id(p)][...] = gi
        again.grads[id(r)][...] = gi
        q.grad = torch.from_numpy(gi.copy())
    flat.step(), ref.step(), again.step()
    for p, q, r in zip(ours, theirs, again.param_groups[0]["params"], strict=True):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(r.detach().numpy(), p.detach().numpy(), rtol=1e-6)
    with pytest.raises(ValueError):
        again.load_state_dict({"state": {}, "param_groups": []})


def test_one_step_agent_uses_policy_adam_eps_for_the_actor_only():
    agent = make_agent(TrainConfig(algo="actor-critic", policy_adam_eps=1e-3), CARTPOLE)
    assert [g["eps"] for g in agent.optimizer.param_groups] == [1e-3, 1e-8]


def test_one_step_runs_are_reproducible_from_the_seed():
    from pgcore.training.trainer import train

    cfg = preset("actor-critic", seed=4, max_episodes=15)
    a, b = train(cfg), train(cfg)
    assert a.episode_returns == b.episode_returns
    for p, q in zip(a.agent.net.parameters(), b.agent.net.parameters(), strict=True):
        assert torch.equal(p, q)


@pytest.mark.parametrize("rows", [1, 8, 16, 64, 65])
def test_numpy_acting_path_equals_the_torch_forward(rows):
    # Agent.policy runs up to NUMPY_ACTING_ROWS states in numpy (PolicyValueNet.numpy_forward):
    # one state (REINFORCE, the one-step actor-critic), a vector env's 8 or 16 (A2C, PPO)
    from pgcore.algos.common import NUMPY_ACTING_ROWS

    assert NUMPY_ACTING_ROWS == 64  # 65 rows: the torch path, the same numbers
    for algo, spec in (("reinforce", CARTPOLE), ("a2c", CARTPOLE), ("a2c", PENDULUM),
                       ("actor-critic", CARTPOLE), ("ppo", CARTPOLE), ("ppo", PENDULUM)):
        extra = {"baseline": "value"} if algo == "reinforce" else {}
        agent = make_agent(TrainConfig(algo=algo, seed=2, **extra), spec)
        obs = np.random.default_rng(3).standard_normal((rows, spec.obs_dim)).astype(np.float32)
        dist, values = agent.policy(obs, with_value=True)
        outputs, v = agent.net.act_forward(torch.as_tensor(obs), with_value=True)
        np.testing.assert_allclose(dist, agent.head.distribution(outputs), rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(values, v.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shared", [0, 1])
@pytest.mark.parametrize("spec", [CARTPOLE, PENDULUM], ids=["categorical", "gaussian"])
def test_hand_net_forward_equals_the_modules(shared, spec):
    agent = make_agent(TrainConfig(algo="a2c", seed=1, hidden=32, shared_layers=shared,
                                   head_layers=2 - shared), spec)
    obs = np.random.default_rng(0).standard_normal((50, spec.obs_dim)).astype(np.float32)
    outputs, values, _ = agent.hand.forward(obs)
    with torch.no_grad():
        out, v = agent.net.module_forward(torch.as_tensor(obs))
    np.testing.assert_allclose(outputs, out.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(values, v.numpy(), rtol=1e-5, atol=1e-6)


def test_a_copied_one_step_agent_learns_on_its_own_memory():
    import copy

    agent = make_agent(preset("actor-critic", seed=0), CARTPOLE)
    tr = _transition(CARTPOLE, seed=2)
    agent.update(tr)
    twin = copy.deepcopy(agent)
    obs = tr.obs[None]
    before = agent.policy(obs)[0].copy()
    for _ in range(20):
        twin.update(tr)
    assert np.array_equal(agent.policy(obs)[0], before)  # the original is untouched
    moved = twin.policy(obs)[0]
    assert not np.allclose(moved, before, rtol=0, atol=1e-7)
    torch_dist = twin.head.distribution(twin.net.act_forward(torch.as_tensor(obs))[0])
    np.testing.assert_allclose(moved, torch_dist, rtol=1e-5)  # the copy's views are its own
    for p in twin.net.parameters():  # and its optimiser moved the copy's parameters
        assert twin.optimizer.grads[id(p)].shape == p.shape


def _actor_drift(policy_adam_eps: float, updates: int = 300) -> tuple[float, float]:
    """Feed a fresh default agent transitions whose TD errors are pure noise of size 1e-3
    (what a solved CartPole looks like to the actor); returns how far the actor's and the
    critic's weights moved, as mean |change| per weight in units of each one's lr."""
    cfg = preset("actor-critic", seed=0, policy_adam_eps=policy_adam_eps)
    agent = make_agent(cfg, CARTPOLE)
    actor = [p for p in agent.optimizer.param_groups[0]["params"]]
    critic = [p for p in agent.optimizer.param_groups[1]["params"]]
    before = [p.detach().clone() for p in actor + critic]
    rng = np.random.default_rng(0)
    for _ in range(updates):
        obs, next_obs = rng.standard_normal((2, 4)).astype(np.float32) * 0.05
        v, v_next = agent.value(np.stack((obs, next_obs)))
        reward = v - cfg.gamma * v_next + 1e-3 * rng.standard_normal()  # delta ~ N(0, 1e-6)
        agent.update(Transition(obs, np.int64(rng.integers(2)), reward, next_obs, False, False))
    moved = [float((p.detach() - b).abs().mean())
             for p, b in zip(actor + critic, before, strict=True)]
    n = len(actor)
    return (float(np.mean(moved[:n])) / cfg.lr, float(np.mean(moved[n:])) / cfg.critic_lr)


def test_a_larger_actor_adam_eps_stops_noise_from_moving_a_solved_policy():
    # The fix for the one-step actor-critic falling back after it has learned (issue 11):
    # with Adam's usual eps = 1e-8 a gradient that is pure noise still moves every actor
    # weight by a sizeable fraction of lr per step; with the default's 1e-3 those steps
    # shrink with the gradient. The critic (eps 1e-8 in both) is not affected.
    old_actor, old_critic = _actor_drift(1e-8)
    new_actor, new_critic = _actor_drift(1e-3)
    assert preset("actor-critic").policy_adam_eps == 1e-3
    assert old_actor > 1.0  # a random walk of lr-sized steps
    assert new_actor < old_actor / 10  # measured: 9.4 lr against 0.54 lr
    assert new_critic == pytest.approx(old_critic, rel=0.2)


def test_gaussian_grad_with_a_raw_mean_against_autograd():
    head = GaussianHead((-2.0,), (2.0,), squash=False)
    out = torch.tensor([2.7, -0.3], dtype=torch.float64, requires_grad=True)  # mean outside
    action = np.array([1.1])
    log_prob, entropy = head.log_prob_entropy(out[None], action[None])
    (-log_prob[0] * 0.6 - 0.1 * entropy[0]).backward()
    g, lp, _ = head.one_step_grad(out.detach().numpy(), action, advantage=0.6, beta=0.1)
    np.testing.assert_allclose(g, out.grad.numpy(), rtol=1e-6, atol=1e-9)
    assert lp == pytest.approx(float(log_prob[0].detach()))
    assert head.distribution(np.array([[2.7, -0.3]]))[0, 0] == pytest.approx(2.7)  # not squashed


# ----- A2C and PPO: batch updates by hand against autograd -------------------------------------


def _vec_rollout(spec, T=5, N=3, seed=0):
    """Random states and actions with a terminated step, a truncated step and the reset steps
    after them (invalid), so every branch of the masking is used."""
    from pgcore.rl.collect import Rollout

    rng = np.random.default_rng(seed)
    terminated, truncated = np.zeros((T, N), bool), np.zeros((T, N), bool)
    valid = np.ones((T, N), bool)
    terminated[1, 0], valid[2, 0] = True, False
    truncated[0, 1], valid[1, 1] = True, False
    if spec.n_actions:
        actions = rng.integers(0, spec.n_actions, size=(T, N)).astype(np.int64)
    else:
        actions = (rng.standard_normal((T, N, spec.head.dim)) * 2.5).astype(np.float32)
    return Rollout(rng.standard_normal((T + 1, N, spec.obs_dim)).astype(np.float32), actions,
                   rng.normal(1.0, 0.5, (T, N)), terminated, truncated, valid)


def _autograd_a2c(agent, rollout) -> dict[str, torch.Tensor]:
    """Autograd's gradient of :func:`pgcore.algos.a2c.loss` (the loss as the module writes
    it), on the nn.Sequential modules themselves."""
    from pgcore.algos.a2c import rollout_targets
    from pgcore.rl.returns import normalize

    cfg, net = agent.config, agent.net
    T, N = rollout.actions.shape[:2]
    outputs, values = net.module_forward(torch.as_tensor(rollout.obs).reshape((T + 1) * N, -1))
    values = values.reshape(T + 1, N)
    v_np = values.detach().double().numpy()
    adv, target = rollout_targets(cfg, rollout, v_np[:T], v_np[1:])
    valid = rollout.valid.reshape(-1)
    adv = adv.reshape(-1)[valid]
    if cfg.normalize_advantages:
        adv = normalize(adv)
    adv = torch.as_tensor(adv, dtype=torch.float32)
    actions = rollout.actions.reshape(T * N, *agent.head.action_shape)[valid]
    log_probs, entropy = agent.head.log_prob_entropy(outputs[: T * N][valid], actions)
    v = values[:T].reshape(-1)[torch.as_tensor(valid)]
    target = torch.as_tensor(target.reshape(-1)[valid], dtype=torch.float32)
    terms = a2c_loss(log_probs, entropy, adv, v, target, beta=cfg.entropy_beta,
                     value_coef=cfg.value_coef, reduction=cfg.reduction)  # as written
    net.zero_grad()
    terms.total.backward()
    return {name: p.grad.clone() for name, p in net.named_parameters()}


A2C_CASES = {
    "default (shared tanh trunk)": (CARTPOLE, dict()),
    "separate relu networks, entropy, normalised, summed": (
        CARTPOLE, dict(shared_layers=0, head_layers=2, activation="relu", entropy_beta=0.05,
                       normalize_advantages=True, reduction="sum")),
    "gaussian head, squashed": (PENDULUM, dict(shared_layers=0, head_layers=2, entropy_beta=0.1)),
    "gaussian head, raw mean, shared trunk": (PENDULUM, dict(squash_mean=False,
                                                             entropy_beta=0.02)),
}


@pytest.mark.parametrize("case", list(A2C_CASES))
def test_a2c_by_hand_gradient_equals_autograd(case):
    import copy

    spec, overrides = A2C_CASES[case]
    if spec is PENDULUM:
        spec = EnvSpec("toy", 3, GaussianHead((-2.0,), (2.0,),
                                               squash=overrides.get("squash_mean", True)))
    cfg = preset("a2c").replace(hidden=16, max_grad_norm=None, n_envs=3, n_steps=5,
                                **overrides)
    agent = make_agent(cfg, spec)
    reference = copy.deepcopy(agent)
    rollout = _vec_rollout(spec)
    agent.update(rollout)
    expected = _autograd_a2c(reference, rollout)
    for name, grad in _by_hand_gradients(agent).items():
        np.testing.assert_allclose(grad, expected[name].numpy(), rtol=2e-4, atol=2e-6,
                                   err_msg=name)


def test_a_trainer_runs_numpy_on_one_blas_thread():
    from threadpoolctl import threadpool_info

    from pgcore import Trainer, default_config

    Trainer(default_config("a2c", seed=0, max_episodes=1))
    blas = [i for i in threadpool_info() if i["user_api"] == "blas"]
    assert blas and all(i["num_threads"] == 1 for i in blas)
