"""Rock-paper-scissors (pgcore/labs/rps.py): exploitability and best responses by hand,
the softmax gradients against finite differences, the learners and the opponent, seeded
determinism, and the issue's target at the defaults (seeds 0-4)."""

from __future__ import annotations

import doctest

import numpy as np
import pytest

from pgcore.labs import rps as game

ROCK, PAPER, SCISSORS = 0, 1, 2


def test_the_doctests_hold():
    result = doctest.testmod(game, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 20 and result.failed == 0


def test_payoff_matrix():
    assert game.PAYOFF[PAPER, ROCK] == 1 and game.PAYOFF[ROCK, PAPER] == -1
    assert game.PAYOFF[SCISSORS, PAPER] == 1 and game.PAYOFF[ROCK, SCISSORS] == 1
    assert np.all(np.diag(game.PAYOFF) == 0)
    assert np.array_equal(game.PAYOFF, -game.PAYOFF.T)  # zero-sum and symmetric


@pytest.mark.parametrize("policy, value", [
    (game.UNIFORM, 0.0), ([1, 0, 0], 1.0), ([0, 1, 0], 1.0), ([0, 0, 1], 1.0),
    ([0.5, 0.5, 0.0], 0.5), ([0.0, 0.5, 0.5], 0.5), ([0.5, 0.25, 0.25], 0.25)])
def test_exploitability_of_known_policies(policy, value):
    assert game.exploitability(policy) == pytest.approx(value, abs=1e-12)


def test_exploitability_is_what_the_best_response_wins():
    rng = np.random.default_rng(0)
    policies = rng.dirichlet(np.ones(3), size=200)
    values = game.exploitability(policies)  # a batch in, an array out
    assert values.shape == (200,) and np.all(values >= 0)
    for p, v in zip(policies, values, strict=True):
        b = game.best_response(p)
        # what the opponent's hand b earns against p: minus the learner's payoff
        assert v == pytest.approx(-game.expected_payoff(p, np.eye(3)[b]), abs=1e-12)
        # and no hand earns more
        assert all(-game.expected_payoff(p, np.eye(3)[c]) <= v + 1e-12 for c in range(3))
    # only the uniform mix is unexploitable
    assert values.min() > 0


def test_best_response_to_pure_and_mixed_policies():
    assert game.best_response([1, 0, 0]) == PAPER
    assert game.best_response([0, 1, 0]) == SCISSORS
    assert game.best_response([0, 0, 1]) == ROCK
    assert game.best_response([0.5, 0.5, 0.0]) == PAPER  # beats rock, ties paper
    assert game.best_response([0.1, 0.2, 0.7]) == ROCK
    assert game.best_responses([0.5, 0.0, 0.5]).tolist() == [ROCK]
    assert game.best_responses(game.UNIFORM).tolist() == [0, 1, 2]


def test_tie_breaks_are_uniform_and_seeded():
    rng = np.random.default_rng(1)
    picks = [game.best_response(game.UNIFORM, rng) for _ in range(3000)]
    counts = np.bincount(picks, minlength=3)
    assert np.all(np.abs(counts - 1000) < 120)
    again = np.random.default_rng(1)
    assert picks[:50] == [game.best_response(game.UNIFORM, again) for _ in range(50)]
    assert game.best_responses([0.25, 0.5, 0.25]).tolist() == [SCISSORS]
    # two tied values: u below 1/2 takes the first, above it the second
    assert game.pick_best([2.0, 2.0, 0.0], u=0.2) == 0
    assert game.pick_best([2.0, 2.0, 0.0], u=0.6) == 1


def _finite_difference(f, theta, eps=1e-6):
    grad = np.zeros(3)
    for i in range(3):
        d = np.zeros(3)
        d[i] = eps
        grad[i] = (f(theta + d) - f(theta - d)) / (2 * eps)
    return grad


@pytest.mark.parametrize("seed", range(5))
def test_payoff_gradient_matches_a_finite_difference(seed):
    rng = np.random.default_rng(seed)
    theta = rng.normal(size=3) * 2
    opponent = rng.dirichlet(np.ones(3))
    numeric = _finite_difference(lambda t: game.expected_payoff(game.softmax(t), opponent), theta)
    assert np.allclose(game.payoff_gradient(theta, opponent), numeric, atol=1e-8)
    assert game.payoff_gradient(theta, opponent).sum() == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_entropy_gradient_matches_a_finite_difference(seed):
    theta = np.random.default_rng(seed).normal(size=3) * 2
    numeric = _finite_difference(lambda t: game.entropy(game.softmax(t)), theta)
    assert np.allclose(game.entropy_gradient(theta), numeric, atol=1e-8)


def test_payoff_gradient_closed_form_at_the_uniform_mix():
    # pi = 1/3 each, against rock r = (0, 1, -1), pi^T r = 0: gradient = r / 3
    assert np.allclose(game.payoff_gradient(np.zeros(3), [1, 0, 0]), [0, 1 / 3, -1 / 3])
    # against the uniform mix every hand pays 0: no gradient at all
    assert np.allclose(game.payoff_gradient([1.0, -2.0, 0.5], game.UNIFORM), 0)


def test_sampling_a_hand_follows_the_policy():
    u = np.random.default_rng(0).random(30_000)
    p = np.tile([0.2, 0.5, 0.3], (len(u), 1))
    freq = np.bincount(game.sample_hand(p, u), minlength=3) / len(u)
    assert np.allclose(freq, [0.2, 0.5, 0.3], atol=0.01)


def test_policy_gradient_learner_steps_uphill_and_entropy_pulls_to_uniform():
    learner = game.PolicyGradientLearner(1, lr=0.5)
    before = game.expected_payoff(learner.policy()[0], [1, 0, 0])
    learner.learn(np.array([0]), np.array([ROCK]))
    assert game.expected_payoff(learner.policy()[0], [1, 0, 0]) > before
    skewed = game.PolicyGradientLearner(1, lr=0.5, beta=1.0)
    skewed.theta = np.array([[2.0, 0.0, -1.0]])
    skewed._pi = game.softmax(skewed.theta)
    h0 = game.entropy(skewed.policy()[0])
    skewed.learn(np.array([0]), np.array([ROCK]))  # the payoff step pushes towards paper
    plain = game.PolicyGradientLearner(1, lr=0.5)
    plain.theta = np.array([[2.0, 0.0, -1.0]])
    plain._pi = game.softmax(plain.theta)
    plain.learn(np.array([0]), np.array([ROCK]))
    assert game.entropy(skewed.policy()[0]) > game.entropy(plain.policy()[0])
    assert game.entropy(skewed.policy()[0]) > h0


def test_greedy_learner_keeps_running_averages_and_plays_argmax():
    learner = game.GreedyLearner(np.array([[2, 1, 0]]))  # ties: rock first
    assert learner.act(None).tolist() == [ROCK]
    learner.learn(np.array([ROCK]), np.array([PAPER]))  # lost: Q(rock) = -1
    assert learner.q.tolist() == [[-1.0, 0.0, 0.0]]
    assert learner.act(None).tolist() == [PAPER]  # the tie of paper and scissors: paper
    learner.learn(np.array([PAPER]), np.array([ROCK]))  # won: Q(paper) = 1
    learner.learn(np.array([PAPER]), np.array([SCISSORS]))  # lost: Q(paper) = 0
    learner.learn(np.array([PAPER]), np.array([PAPER]))  # tie: Q(paper) = 0
    assert learner.q[0, PAPER] == pytest.approx(0.0) and learner.n[0, PAPER] == 3
    assert learner.policy().tolist() == [[0.0, 1.0, 0.0]]


def test_opponent_answers_the_moving_average():
    opp = game.ExploitingOpponent(1, memory=10)
    for _ in range(5):
        opp.observe(np.array([SCISSORS]))
    # f = 1/3 (1 - 0.1)^5 + ... : scissors dominate, so rock
    assert opp.freq[0].sum() == pytest.approx(1.0)
    assert opp.freq[0, SCISSORS] == pytest.approx(1 - (2 / 3) * 0.9 ** 5)
    assert opp.act(np.array([0.0])).tolist() == [ROCK]
    with pytest.raises(ValueError, match="memory"):
        game.ExploitingOpponent(1, memory=0.5)


def test_winding_counts_laps_with_a_sign():
    forward = [[1, 0, 0], [0, 0, 1], [0, 1, 0]] * 3 + [[1, 0, 0]]
    assert game.winding(forward) == pytest.approx(3.0)
    assert game.winding(forward[::-1]) == pytest.approx(-3.0)
    assert game.winding([[0.6, 0.2, 0.2], [0.5, 0.3, 0.2], [0.6, 0.2, 0.2]]) == pytest.approx(0)


# ----- matches --------------------------------------------------------------------------------


def test_a_seed_gives_the_same_match_every_time_and_alone_or_in_a_batch():
    for kind in game.KINDS:
        a = game.simulate(kind, steps=1500, seed=3, every=7)
        b = game.simulate(kind, steps=1500, seed=3, every=7)
        batch = game.simulate_seeds(kind, steps=1500, seeds=[1, 3, 4], every=7)[1]
        for other in (b, batch):
            assert other.seed == 3
            for name in ("step", "policy", "average_policy", "average_payoff",
                         "exploitability", "average_exploitability", "laps"):
                assert np.array_equal(getattr(a, name), getattr(other, name)), (kind, name)
    c = game.simulate(game.KINDS[0], steps=1500, seed=4, every=7)
    assert not np.array_equal(a.policy, c.policy)


def test_records_are_bounded_and_end_at_the_last_round():
    r = game.simulate(game.KINDS[0], steps=4003, seed=0)
    assert len(r.step) <= 501 and r.step[-1] == 4003 and r.step[0] >= 1
    assert np.all(np.diff(r.step) > 0)
    assert np.allclose(r.policy.sum(1), 1) and np.allclose(r.average_policy.sum(1), 1)
    assert np.all(np.abs(r.average_payoff) <= 1)


def test_time_average_and_payoff_are_running_means():
    r = game.simulate(game.KINDS[0], steps=300, seed=2, every=1)
    t = r.step[:, None]
    assert np.allclose(r.average_policy, np.cumsum(r.policy, 0) / t)
    assert np.allclose(r.exploitability, game.exploitability(r.policy))


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="unknown learner"):
        game.Match("q-learning")
    with pytest.raises(ValueError, match="learning rate"):
        game.Match(game.KINDS[0], lr=0.0)
    with pytest.raises(ValueError, match="entropy"):
        game.Match(game.KINDS[0], beta=-0.1)
    with pytest.raises(ValueError, match="steps"):
        game.simulate(game.KINDS[0], steps=0)


@pytest.mark.parametrize("seed", range(3))
def test_the_greedy_learner_is_exploitable_by_one_at_every_step(seed):
    r = game.simulate(game.KINDS[1], steps=2000, seed=seed, every=1)
    assert len(r.step) == 2000
    assert np.all(r.exploitability[1:] == 1.0)  # (and at the first round too)
    assert r.exploitability[0] == 1.0
    assert set(np.unique(r.policy)) <= {0.0, 1.0}
    assert r.average_payoff[-1] < -0.2  # and the opponent does take advantage


def test_the_target_at_the_defaults_seeds_0_to_4():
    results = game.simulate_all(seeds=range(5))
    pg, greedy = (results[k] for k in game.KINDS)
    assert [r.seed for r in pg] == [0, 1, 2, 3, 4]
    for r in pg:
        f = r.final()
        assert f["steps"] == game.DEFAULT_STEPS
        # the time-averaged policy ends within 0.05 of the uniform mix ...
        assert f["average_exploitability"] <= game.TARGET_EXPLOITABILITY, f
        # ... while the current policy keeps circling it, well away from it
        assert f["late_exploitability"] > 0.1 and f["laps"] > 2, f
        assert abs(f["average_payoff"]) < 0.1
    for r in greedy:
        assert np.all(r.exploitability == 1.0)
        assert r.final()["average_payoff"] < -0.3
