"""``pgcore.rl.returns`` (and ``reinforce_advantages``) against values worked out by hand.

Every expected number below is derived in the comment next to it, so a reader can check the
arithmetic without running anything. Random-array tests only check identities between the
functions (lam = 0 is the TD error, lam = 1 is the n-step return minus V).
"""

from __future__ import annotations

import numpy as np
import pytest

from pgcore.algos.reinforce import reinforce_advantages
from pgcore.rl.returns import (
    discounted_returns,
    gae_advantages,
    normalize,
    nstep_returns,
    td_errors,
)

# ----- discounted_returns ---------------------------------------------------------------------


def test_discounted_returns_gamma_zero_is_the_reward():
    # gamma = 0: G_t = r_t + 0 * G_{t+1} = r_t, and the bootstrap is multiplied by 0 too.
    np.testing.assert_allclose(discounted_returns([1.0, 2.0, 3.0], gamma=0.0), [1.0, 2.0, 3.0])
    np.testing.assert_allclose(discounted_returns([1.0, 2.0, 3.0], gamma=0.0, bootstrap=10.0),
                               [1.0, 2.0, 3.0])


def test_discounted_returns_gamma_one_is_the_reward_to_go():
    # gamma = 1: plain sums of the rewards still to come.
    # G_2 = 3, G_1 = 2 + 3 = 5, G_0 = 1 + 5 = 6
    np.testing.assert_allclose(discounted_returns([1.0, 2.0, 3.0], gamma=1.0), [6.0, 5.0, 3.0])
    # with a bootstrap value 4 after the last step: G_2 = 3 + 4 = 7, G_1 = 9, G_0 = 10
    np.testing.assert_allclose(discounted_returns([1.0, 2.0, 3.0], gamma=1.0, bootstrap=4.0),
                               [10.0, 9.0, 7.0])


def test_discounted_returns_gamma_0_9():
    # rewards [1, 0, 2], gamma 0.9:
    # G_2 = 2
    # G_1 = 0 + 0.9 * 2    = 1.8
    # G_0 = 1 + 0.9 * 1.8  = 2.62
    np.testing.assert_allclose(discounted_returns([1.0, 0.0, 2.0], gamma=0.9), [2.62, 1.8, 2.0])


def test_discounted_returns_truncation_bootstraps_from_the_value():
    # A time-limit truncation: the return continues past s_T, estimated by V(s_T) = 5.
    # G_1 = 1 + 0.9 * 5    = 5.5
    # G_0 = 1 + 0.9 * 5.5  = 5.95
    np.testing.assert_allclose(discounted_returns([1.0, 1.0], gamma=0.9, bootstrap=5.0),
                               [5.95, 5.5])
    # terminated: no bootstrap. G_1 = 1, G_0 = 1 + 0.9 = 1.9
    np.testing.assert_allclose(discounted_returns([1.0, 1.0], gamma=0.9), [1.9, 1.0])


def test_discounted_returns_edge_cases():
    assert discounted_returns([], gamma=0.9).shape == (0,)
    out = discounted_returns(np.array([1, 1], dtype=np.int64), gamma=0.5)  # ints are accepted
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, [1.5, 1.0])  # G_0 = 1 + 0.5 * 1


def test_discounted_returns_matches_the_explicit_sum():
    # G_t = sum_k gamma^k r_{t+k} + gamma^(T-t) * bootstrap, written out with no recursion.
    rng = np.random.default_rng(0)
    r, gamma, b = rng.normal(size=17), 0.97, 3.3
    T = len(r)
    expected = [sum(gamma**k * r[t + k] for k in range(T - t)) + gamma ** (T - t) * b
                for t in range(T)]
    np.testing.assert_allclose(discounted_returns(r, gamma, bootstrap=b), expected, rtol=1e-12)


# ----- td_errors ------------------------------------------------------------------------------

R3 = [1.0, 1.0, 1.0]
V3 = [0.5, 1.0, 2.0]  # V(s_0), V(s_1), V(s_2)
NV3 = [1.0, 2.0, 3.0]  # V(s_1), V(s_2), V(s_3)


def test_td_errors_terminated_vs_not():
    # delta_t = r_t + gamma * (1 - terminated_t) * V(s_{t+1}) - V(s_t), gamma = 0.9
    # delta_0 = 1 + 0.9 * 1.0 - 0.5 = 1.4
    # delta_1 = 1 + 0.9 * 2.0 - 1.0 = 1.8
    # last step terminated:  delta_2 = 1 + 0         - 2.0 = -1.0
    # last step not:         delta_2 = 1 + 0.9 * 3.0 - 2.0 =  1.7
    np.testing.assert_allclose(td_errors(R3, V3, NV3, [False, False, True], 0.9), [1.4, 1.8, -1.0])
    np.testing.assert_allclose(td_errors(R3, V3, NV3, [False, False, False], 0.9), [1.4, 1.8, 1.7])


def test_td_errors_gamma_one_and_any_shape():
    # gamma = 1: delta = r + V' - V.  (2, 2) arrays, terminated only at [1, 0].
    r = np.array([[1.0, 0.0], [2.0, 1.0]])
    v = np.array([[1.0, 1.0], [1.0, 1.0]])
    nv = np.array([[3.0, 2.0], [5.0, 4.0]])
    term = np.array([[False, False], [True, False]])
    # [0,0]: 1 + 3 - 1 = 3   [0,1]: 0 + 2 - 1 = 1
    # [1,0]: 2 + 0 - 1 = 1   [1,1]: 1 + 4 - 1 = 4
    np.testing.assert_allclose(td_errors(r, v, nv, term, 1.0), [[3.0, 1.0], [1.0, 4.0]])


# ----- gae_advantages and nstep_returns, one environment --------------------------------------

NOT3 = [False, False, False]


def test_gae_lambda_zero_is_the_td_error():
    # GAE with lam = 0 keeps only delta_t: the numbers of test_td_errors_terminated_vs_not.
    np.testing.assert_allclose(gae_advantages(R3, V3, NV3, NOT3, NOT3, 0.9, lam=0.0),
                               [1.4, 1.8, 1.7])
    np.testing.assert_allclose(gae_advantages(R3, V3, NV3, [False, False, True], NOT3, 0.9, 0.0),
                               [1.4, 1.8, -1.0])


def test_gae_lambda_one_by_hand():
    # A_t = delta_t + gamma * lam * A_{t+1} with gamma = 0.9, lam = 1, deltas [1.4, 1.8, 1.7]:
    # A_2 = 1.7
    # A_1 = 1.8 + 0.9 * 1.7   = 3.33
    # A_0 = 1.4 + 0.9 * 3.33  = 4.397
    np.testing.assert_allclose(gae_advantages(R3, V3, NV3, NOT3, NOT3, 0.9, lam=1.0),
                               [4.397, 3.33, 1.7])
    # The same through n-step returns (rollout ends at t = 2, bootstrap V(s_3) = 3):
    # G_2 = 1 + 0.9 * 3     = 3.7
    # G_1 = 1 + 0.9 * 3.7   = 4.33
    # G_0 = 1 + 0.9 * 4.33  = 4.897     and G - V = [4.397, 3.33, 1.7]
    np.testing.assert_allclose(nstep_returns(R3, NV3, NOT3, NOT3, 0.9), [4.897, 4.33, 3.7])


def test_gae_intermediate_lambda_by_hand():
    # gamma = 0.9, lam = 0.5, so gamma * lam = 0.45; deltas [1.4, 1.8, 1.7]
    # A_2 = 1.7
    # A_1 = 1.8 + 0.45 * 1.7     = 2.565
    # A_0 = 1.4 + 0.45 * 2.565   = 2.55425
    np.testing.assert_allclose(gae_advantages(R3, V3, NV3, NOT3, NOT3, 0.9, lam=0.5),
                               [2.55425, 2.565, 1.7])


def test_gae_gamma_one():
    # gamma = 1, lam = 1: A_t = sum of the deltas from t on (a telescoping sum):
    # deltas: 1 + 1.0 - 0.5 = 1.5, 1 + 2.0 - 1.0 = 2.0, 1 + 3.0 - 2.0 = 2.0
    # A = [1.5 + 2 + 2, 2 + 2, 2] = [5.5, 4.0, 2.0]   (= 3 rewards to go + V(s_3) - V(s_t))
    np.testing.assert_allclose(gae_advantages(R3, V3, NV3, NOT3, NOT3, 1.0, lam=1.0),
                               [5.5, 4.0, 2.0])


def _consistent_rollout(rng, T, N):
    """Random (T, N) rollout whose next_values agree with values inside an episode.

    ``next_values[t] = values[t+1]`` unless step t ended the episode (then it is V of the
    episode's final state, any number) or t is the rollout's last step. That is what a real
    rollout gives, and it is the condition under which GAE(lam=1) = n-step return - V.
    """
    rewards = rng.normal(size=(T, N))
    values = rng.normal(size=(T, N))
    terminated = rng.random((T, N)) < 0.15
    truncated = (rng.random((T, N)) < 0.15) & ~terminated
    next_values = np.empty((T, N))
    next_values[:-1] = values[1:]
    next_values[-1] = rng.normal(size=N)
    done = terminated | truncated
    next_values[done] = rng.normal(size=int(done.sum())) * 10  # V(final state): unrelated
    return rewards, values, next_values, terminated, truncated


@pytest.mark.parametrize("shape", [(9,), (12, 5)])
def test_gae_lambda_one_equals_nstep_minus_values_random(shape):
    rng = np.random.default_rng(1)
    T, N = shape[0], (shape[1] if len(shape) > 1 else 1)
    r, v, nv, term, trunc = _consistent_rollout(rng, T, N)
    if len(shape) == 1:
        r, v, nv, term, trunc = (a[:, 0] for a in (r, v, nv, term, trunc))
    gamma = 0.95
    adv = gae_advantages(r, v, nv, term, trunc, gamma, lam=1.0)
    np.testing.assert_allclose(adv, nstep_returns(r, nv, term, trunc, gamma) - v, atol=1e-12)
    # and lam = 0 is exactly the TD error, whatever the episode ends
    np.testing.assert_allclose(gae_advantages(r, v, nv, term, trunc, gamma, lam=0.0),
                               td_errors(r, v, nv, term, gamma), atol=1e-12)


# ----- vector-env rollouts (T, N) with episode boundaries -------------------------------------
# T = 3 steps, N = 3 environments, gamma = 0.5, every reward 1.
#   env 0: no episode ends.
#   env 1: the episode TERMINATES at t = 1 (pole fell): V(s_2) = 10 must be ignored.
#   env 2: the episode is TRUNCATED at t = 1 (time limit): bootstrap from V(s_2) = 10.
# For envs 1 and 2, step t = 2 belongs to a new episode: its advantage must not leak into t = 1.
VEC_R = np.ones((3, 3))
VEC_V = np.array([[4.0, 4.0, 4.0],
                  [2.0, 2.0, 2.0],
                  [6.0, 6.0, 6.0]])
VEC_NV = np.array([[2.0, 2.0, 2.0],     # = V(s_1): same episode
                   [6.0, 10.0, 10.0],   # env 0: V(s_2); envs 1, 2: V(final state) = 10
                   [8.0, 8.0, 8.0]])    # V(s_3): bootstrap at the end of the rollout
VEC_TERM = np.array([[False, False, False],
                     [False, True, False],
                     [False, False, False]])
VEC_TRUNC = np.array([[False, False, False],
                      [False, False, True],
                      [False, False, False]])
# deltas, delta = 1 + 0.5 * (1 - term) * V' - V:
#   t = 0, all envs:  1 + 0.5 * 2 - 4 = -2
#   t = 1: env 0:     1 + 0.5 * 6 - 2 =  2
#          env 1:     1 + 0       - 2 = -1    (terminated: V' ignored)
#          env 2:     1 + 0.5 * 10 - 2 = 4    (truncated: bootstraps from V(final) = 10)
#   t = 2, all envs:  1 + 0.5 * 8 - 6 = -1
VEC_DELTAS = np.array([[-2.0, -2.0, -2.0],
                       [2.0, -1.0, 4.0],
                       [-1.0, -1.0, -1.0]])


def test_vector_td_errors():
    np.testing.assert_allclose(td_errors(VEC_R, VEC_V, VEC_NV, VEC_TERM, 0.5), VEC_DELTAS)


def test_vector_gae_lambda_one_with_episode_boundaries():
    # gamma * lam = 0.5; the sum restarts after a done step (terminated OR truncated).
    #   env 0: A_2 = -1, A_1 = 2 + 0.5 * -1 = 1.5, A_0 = -2 + 0.5 * 1.5 = -1.25
    #   env 1: A_2 = -1, A_1 = -1 (episode ended: no -0.5 leaking in), A_0 = -2 + 0.5*-1 = -2.5
    #   env 2: A_2 = -1, A_1 = 4 (no leak),                             A_0 = -2 + 0.5*4 = 0
    expected = np.array([[-1.25, -2.5, 0.0],
                         [1.5, -1.0, 4.0],
                         [-1.0, -1.0, -1.0]])
    adv = gae_advantages(VEC_R, VEC_V, VEC_NV, VEC_TERM, VEC_TRUNC, 0.5, lam=1.0)
    np.testing.assert_allclose(adv, expected)


def test_vector_nstep_returns_with_episode_boundaries():
    #   env 0: G_2 = 1 + 0.5 * 8 = 5, G_1 = 1 + 0.5 * 5 = 3.5, G_0 = 1 + 0.5 * 3.5 = 2.75
    #   env 1: G_2 = 5, G_1 = 1 (terminated: nothing after), G_0 = 1 + 0.5 * 1 = 1.5
    #   env 2: G_2 = 5, G_1 = 1 + 0.5 * 10 = 6 (truncated),   G_0 = 1 + 0.5 * 6 = 4
    expected = np.array([[2.75, 1.5, 4.0],
                         [3.5, 1.0, 6.0],
                         [5.0, 5.0, 5.0]])
    returns = nstep_returns(VEC_R, VEC_NV, VEC_TERM, VEC_TRUNC, 0.5)
    np.testing.assert_allclose(returns, expected)
    # G - V equals the lam = 1 advantages of the previous test
    np.testing.assert_allclose(returns - VEC_V,
                               gae_advantages(VEC_R, VEC_V, VEC_NV, VEC_TERM, VEC_TRUNC, 0.5, 1.0))


def test_vector_gae_intermediate_lambda_with_episode_boundaries():
    # gamma = 0.5, lam = 0.5: gamma * lam = 0.25
    #   env 0: A_2 = -1, A_1 = 2 + 0.25 * -1 = 1.75, A_0 = -2 + 0.25 * 1.75 = -1.5625
    #   env 1: A_2 = -1, A_1 = -1,                    A_0 = -2 + 0.25 * -1 = -2.25
    #   env 2: A_2 = -1, A_1 = 4,                     A_0 = -2 + 0.25 * 4 = -1
    expected = np.array([[-1.5625, -2.25, -1.0],
                         [1.75, -1.0, 4.0],
                         [-1.0, -1.0, -1.0]])
    adv = gae_advantages(VEC_R, VEC_V, VEC_NV, VEC_TERM, VEC_TRUNC, 0.5, lam=0.5)
    np.testing.assert_allclose(adv, expected)


def test_vector_columns_are_independent():
    # Each column computed alone gives the same numbers as the (T, N) call.
    full = gae_advantages(VEC_R, VEC_V, VEC_NV, VEC_TERM, VEC_TRUNC, 0.5, lam=0.7)
    for i in range(3):
        col = gae_advantages(VEC_R[:, i], VEC_V[:, i], VEC_NV[:, i], VEC_TERM[:, i],
                             VEC_TRUNC[:, i], 0.5, lam=0.7)
        np.testing.assert_allclose(full[:, i], col)


def test_terminated_and_truncated_together_is_terminal():
    # Gymnasium may set both flags on the same step; terminated wins (no bootstrap).
    # delta = 1 + 0 - 2 = -1 ; n-step return = 1
    assert gae_advantages([1.0], [2.0], [10.0], [True], [True], 0.9, 1.0)[0] == pytest.approx(-1.0)
    assert nstep_returns([1.0], [10.0], [True], [True], 0.9)[0] == pytest.approx(1.0)


# ----- normalize -------------------------------------------------------------------------------


def test_normalize_by_hand():
    # [1, 2, 3]: mean 2, sample std sqrt(((-1)^2 + 0 + 1^2) / 2) = 1 -> [-1, 0, 1]
    np.testing.assert_allclose(normalize([1.0, 2.0, 3.0]), [-1.0, 0.0, 1.0], atol=1e-7)
    # [2, 4, 6, 8]: mean 5, deviations [-3, -1, 1, 3], sample var (9 + 1 + 1 + 9) / 3 = 20/3
    s = np.sqrt(20.0 / 3.0)
    np.testing.assert_allclose(normalize([2.0, 4.0, 6.0, 8.0]),
                               [-3 / s, -1 / s, 1 / s, 3 / s], atol=1e-7)


def test_normalize_degenerate_inputs_give_zeros():
    np.testing.assert_array_equal(normalize([5.0]), [0.0])  # one element: nothing to scale
    np.testing.assert_array_equal(normalize([]), np.zeros(0))
    np.testing.assert_allclose(normalize([3.0, 3.0, 3.0]), [0.0, 0.0, 0.0])  # std 0: eps, no NaN


def test_normalize_random_has_mean_zero_std_one():
    x = np.random.default_rng(2).normal(5.0, 3.0, size=50)
    z = normalize(x)
    assert abs(z.mean()) < 1e-12
    assert z.std(ddof=1) == pytest.approx(1.0, abs=1e-6)


# ----- reinforce_advantages --------------------------------------------------------------------


def test_reinforce_advantages_three_baselines():
    G = discounted_returns([1.0, 1.0, 1.0], gamma=1.0)  # [3, 2, 1]
    np.testing.assert_allclose(reinforce_advantages(G, "none"), [3.0, 2.0, 1.0])
    # normalised: mean 2, sample std 1 -> [1, 0, -1]
    np.testing.assert_allclose(reinforce_advantages(G, "normalize"), [1.0, 0.0, -1.0], atol=1e-7)
    # value baseline: G - V = [3 - 2.5, 2 - 1, 1 - 1.5]
    np.testing.assert_allclose(reinforce_advantages(G, "value", np.array([2.5, 1.0, 1.5])),
                               [0.5, 1.0, -0.5])


def test_reinforce_advantages_unknown_baseline():
    with pytest.raises(ValueError, match="baseline"):
        reinforce_advantages(np.ones(3), "median")
