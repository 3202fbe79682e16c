"""pgcore/labs/smoothness.py: the two measures on hand-built numbers, random directions and
perturbations on a hand-built tiny network with known weights, the perturbation curve on
tiny agents, and the two trained agents shipped in assets/agents/."""

from __future__ import annotations

import doctest
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch import nn

from pgcore.algos import make_agent
from pgcore.labs import smoothness as sm
from pgcore.rl.envs import env_spec
from pgcore.training.config import default_config
from pgcore.training.evaluation import evaluate_greedy
from pgcore.training.metrics import CARTPOLE_V1_SOLVED

ENV = "CartPole-v1"


def test_the_doctests_hold():
    from ui import smoothness

    for module in (sm, smoothness):
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0 and result.attempted > 0, module.__name__


def test_the_module_never_imports_streamlit():
    code = "import sys, pgcore.labs.smoothness; sys.exit('streamlit' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=sm.AGENTS_DIR.parents[1]
                          ).returncode == 0


# ----- the measures by hand -------------------------------------------------------------------


def test_total_variation_by_hand():
    p = [[0.5, 0.5], [1.0, 0.0], [0.2, 0.8]]
    assert sm.total_variation(p, p) == 0.0
    assert sm.total_variation([[1.0, 0.0]], [[0.0, 1.0]]) == 1.0  # all mass moved
    # per state 0.5 * (|0.5-0.6| + |0.5-0.4|) = 0.1, then 1.0, then 0.5 * (0.1 + 0.1) = 0.1
    q = [[0.6, 0.4], [0.0, 1.0], [0.3, 0.7]]
    np.testing.assert_allclose(sm.per_state_total_variation(p, q), [0.1, 1.0, 0.1])
    assert sm.total_variation(p, q) == pytest.approx(0.4)
    assert sm.total_variation(q, p) == sm.total_variation(p, q)  # symmetric
    # three actions: 0.5 * (0.2 + 0.1 + 0.1) = 0.2; one distribution counts as one state
    assert sm.total_variation([0.5, 0.3, 0.2], [0.3, 0.4, 0.3]) == pytest.approx(0.2)
    with pytest.raises(ValueError, match="do not match"):
        sm.total_variation([[0.5, 0.5]], [[0.5, 0.5], [1.0, 0.0]])


def test_argmax_flip_fraction_by_hand():
    before = [[1.0, 2.0], [3.0, 0.0], [5.0, 5.1], [0.0, -1.0]]
    after = [[1.0, 0.5], [2.9, 0.1], [5.1, 5.0], [0.0, -1.0]]  # states 0 and 2 flip
    assert sm.argmax_flip_fraction(before, after) == 0.5
    assert sm.argmax_flip_fraction(before, before) == 0.0
    assert sm.argmax_flip_fraction([[2.0, 2.0]], [[2.0, 1.0]]) == 0.0  # a tie goes to action 0
    assert np.isnan(sm.argmax_flip_fraction(np.zeros((0, 2)), np.zeros((0, 2))))
    # scores on any scale: only the order matters
    assert sm.argmax_flip_fraction(np.array(before) * 100 + 7, after) == 0.5


def test_a_greedy_policys_total_variation_is_its_flip_fraction():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(200, 3)), rng.normal(size=(200, 3))
    tv = sm.total_variation(sm.one_hot_argmax(a), sm.one_hot_argmax(b))
    assert tv == pytest.approx(sm.argmax_flip_fraction(a, b))
    assert set(sm.per_state_total_variation(sm.one_hot_argmax(a), sm.one_hot_argmax(b))) \
        <= {0.0, 1.0}


def test_action_gaps_by_hand():
    np.testing.assert_allclose(sm.action_gaps([[64.0, 64.05], [0.8, 0.2]]), [0.05, 0.6])
    np.testing.assert_allclose(sm.action_gaps([[1.0, 3.0, 2.5], [4.0, 4.0, 0.0]]), [0.5, 0.0])


# ----- a hand-built network with known weights ------------------------------------------------


def tiny_net() -> nn.Sequential:
    """2 inputs -> 2 logits; weights [[1, 2], [3, -4]] (norm sqrt 30), a zero bias, then a
    second layer [[1, 0], [0, 1]] with bias [0.5, -0.5]."""
    net = nn.Sequential(nn.Linear(2, 2), nn.Tanh(), nn.Linear(2, 2))
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[1.0, 2.0], [3.0, -4.0]]))
        net[0].bias.zero_()
        net[2].weight.copy_(torch.eye(2))
        net[2].bias.copy_(torch.tensor([0.5, -0.5]))
    return net


X = torch.tensor([[0.1, 0.2], [-0.3, 0.4], [1.0, -1.0], [0.0, 0.0]])


def probs(net: nn.Module) -> np.ndarray:
    with torch.no_grad():
        return torch.softmax(net(X), -1).double().numpy()


def test_the_direction_is_normalised_per_layer_as_documented():
    net = tiny_net()
    d = sm.random_direction(net, np.random.default_rng(0))
    assert [t.shape for t in d] == [p.shape for p in net.parameters()]
    norms = [float(p.detach().norm()) for p in net.parameters()]
    assert norms[0] == pytest.approx(30 ** 0.5) and norms[1] == 0.0
    assert float(d[0].norm()) == pytest.approx(30 ** 0.5, rel=1e-6)  # the layer's own norm
    assert torch.equal(d[1], torch.zeros(2))  # a zero bias gets no change
    assert float(d[2].norm()) == pytest.approx(2 ** 0.5, rel=1e-6)
    assert float(d[3].norm()) == pytest.approx(0.5 ** 0.5, rel=1e-6)
    # so a size eps changes every layer by eps of its own norm: a relative change
    before = [p.detach().clone() for p in net.parameters()]
    with sm.perturbed(net, d, 0.01):
        for p, b, n in zip(net.parameters(), before, norms, strict=True):
            assert float((p.detach() - b).norm()) == pytest.approx(0.01 * n, rel=1e-4, abs=1e-9)


def test_a_direction_is_deterministic_for_a_seed():
    net = tiny_net()
    a = sm.random_direction(net, np.random.default_rng(5))
    b = sm.random_direction(net, np.random.default_rng(5))
    c = sm.random_direction(net, np.random.default_rng(6))
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert not torch.equal(a[0], c[0])


def test_a_perturbation_of_size_zero_changes_nothing():
    net = tiny_net()
    before = probs(net)
    d = sm.random_direction(net, np.random.default_rng(1))
    with sm.perturbed(net, d, 0.0):
        assert np.array_equal(probs(net), before)
    assert sm.total_variation(probs(net), before) == 0.0


def test_the_trained_weights_are_restored_bit_for_bit_even_after_an_error():
    net = tiny_net()
    saved = {k: v.clone() for k, v in net.state_dict().items()}
    d = sm.random_direction(net, np.random.default_rng(2))
    with sm.perturbed(net, d, 0.37):
        assert not torch.equal(net[0].weight, saved["0.weight"])
        assert sm.total_variation(probs(net), probs(tiny_net())) > 0
    assert all(torch.equal(v, saved[k]) for k, v in net.state_dict().items())
    with pytest.raises(RuntimeError, match="boom"), sm.perturbed(net, d, 3.0):
        raise RuntimeError("boom")
    assert all(torch.equal(v, saved[k]) for k, v in net.state_dict().items())
    with pytest.raises(ValueError, match="direction"), sm.perturbed(net, d[:2], 0.1):
        pass
    with pytest.raises(ValueError, match="shape"), sm.perturbed(net, d[::-1], 0.1):
        pass


def test_a_larger_size_moves_the_tiny_policy_more_on_average():
    net = tiny_net()
    before = probs(net)
    sizes = (0.001, 0.01, 0.1, 1.0)
    tv = np.zeros((len(sizes), 20))
    for k in range(20):
        d = sm.random_direction(net, np.random.default_rng([0, k]))
        for i, size in enumerate(sizes):
            with sm.perturbed(net, d, size):
                tv[i, k] = sm.total_variation(before, probs(net))
    mean = tv.mean(axis=1)
    assert np.all(np.diff(mean) > 0), mean
    assert mean[0] < 1e-3 and mean[1] / mean[0] == pytest.approx(10, rel=0.2)  # proportional


# ----- the curve on tiny agents ---------------------------------------------------------------


def tiny_agent(algo: str, **overrides):
    """A CartPole agent with a few units and hand-set weights (no training)."""
    config = default_config(algo, seed=0, hidden=4, **overrides)
    agent = make_agent(config, env_spec(ENV))
    with torch.no_grad():
        for i, p in enumerate(agent.params):
            values = np.sin(np.arange(p.numel()) * 0.7 + i) * 0.8
            p.copy_(torch.from_numpy(values.reshape(tuple(p.shape))).float())
    return agent


@pytest.fixture(scope="module")
def tiny_agents():
    return {"policy": tiny_agent("a2c"), "q": tiny_agent("dqn", buffer_size=1_000)}


@pytest.fixture(scope="module")
def tiny_states(tiny_agents):
    return sm.visited_states(list(tiny_agents.values()), ENV, n=40, seed=3)


def test_visited_states_are_fixed_by_the_seed_and_shared_between_the_agents(tiny_agents):
    agents = list(tiny_agents.values())
    a = sm.visited_states(agents, ENV, n=41, seed=3)
    assert a.shape == (41, 4) and a.dtype == np.float32
    assert np.array_equal(a, sm.visited_states(agents, ENV, n=41, seed=3))
    assert not np.array_equal(a, sm.visited_states(agents, ENV, n=41, seed=4))
    assert np.array_equal(a[:21], sm.visited_states(agents[:1], ENV, n=21, seed=3))
    with pytest.raises(ValueError):
        sm.visited_states([], ENV, n=10)


def test_greedy_returns_are_the_episodes_of_evaluate_greedy(tiny_agents):
    for agent in tiny_agents.values():
        side_by_side = sm.greedy_returns(agent, ENV, 4, seed=11)
        one_by_one = evaluate_greedy(agent, ENV, 4, 11, gamma=1.0).returns
        assert side_by_side.tolist() == list(one_by_one)
    assert sm.greedy_returns(tiny_agents["q"], ENV, 0, seed=11).size == 0


def test_the_curve_is_deterministic_and_leaves_the_agent_alone(tiny_agents, tiny_states):
    agent = tiny_agents["policy"]
    saved = {k: v.clone() for k, v in agent.net.state_dict().items()}
    sizes = (0.0, 0.01, 0.1, 1.0)
    seen = []
    a = sm.perturbation_curve(agent, tiny_states, sizes, directions=3, seed=4, episodes=2,
                              on_progress=lambda done, total: seen.append((done, total)))
    b = sm.perturbation_curve(agent, tiny_states, sizes, directions=3, seed=4, episodes=2)
    assert all(torch.equal(v, saved[k]) for k, v in agent.net.state_dict().items())
    assert seen[-1] == (12, 12) and len(seen) == 12
    for field in ("policy_tv", "policy_tv_max", "flips", "returns", "base_returns"):
        assert np.array_equal(getattr(a, field), getattr(b, field)), field
    assert a.stochastic and a.states == 40 and a.returns.shape == (4, 3, 2)
    assert np.all(a.policy_tv[0] == 0) and np.all(a.flips[0] == 0)  # size 0: nothing moves
    assert np.array_equal(a.returns[0], np.tile(a.base_returns, (3, 1)))
    assert np.all(np.diff(a.policy_tv.mean(axis=1)) > 0)  # larger sizes move pi more
    assert np.all(a.policy_tv_max >= a.policy_tv)
    assert np.array_equal(a.played_tv, a.policy_tv)
    c = sm.perturbation_curve(agent, tiny_states, sizes, directions=3, seed=5, episodes=0)
    assert not np.array_equal(c.policy_tv[1:], a.policy_tv[1:]) and c.returns.shape == (4, 3, 0)


def test_a_q_network_has_no_policy_tv_and_plays_its_argmax(tiny_agents, tiny_states):
    agent = tiny_agents["q"]
    target = [p.clone() for p in agent.target_params]
    curve = sm.perturbation_curve(agent, tiny_states, (0.0, 0.1, 1.0), directions=2,
                                  episodes=1)
    assert not curve.stochastic and np.isnan(curve.policy_tv).all()
    assert np.array_equal(curve.played_tv, curve.flips)
    assert set(np.unique(curve.played_tv_max)) <= {0.0, 1.0}
    assert np.array_equal(curve.played_tv_max, (curve.flips > 0).astype(float))
    assert all(torch.equal(p, t) for p, t in zip(agent.target_params, target, strict=True))
    with pytest.raises(ValueError):
        sm.perturbation_curve(agent, tiny_states, (-0.1,), directions=1)


# ----- the trained agents ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained():
    return sm.load_agents()


def test_the_trained_agents_are_small_and_say_what_they_are(trained):
    assert set(trained) == set(sm.AGENT_FILES)
    for role, t in trained.items():
        assert t.path.stat().st_size < 200 * 1024
        assert not t.meta["has_optimizer"]
        assert t.meta["extra"]["algo"] == sm.AGENT_ALGOS[role]
        assert "python -m pgcore.labs.smoothness" in t.meta["extra"]["made_by"]
        assert t.agent.config.env_id == ENV
    assert sm.plays_a_distribution(trained["policy"].agent)
    assert not sm.plays_a_distribution(trained["q"].agent)


def test_the_trained_agents_are_still_good(trained):
    for role, t in trained.items():
        ev = evaluate_greedy(t.agent, ENV, 5, sm.EVAL_SEED, gamma=1.0)
        assert ev.mean_return >= CARTPOLE_V1_SOLVED, (role, ev.returns)
