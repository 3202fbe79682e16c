"""pgcore.exercises: every check passes pgcore's own maths and names each usual mistake in
plain words; the agents built with a learner's functions learn exactly as pgcore's own."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from pgcore import default_config, preset, train
from pgcore.exercises import agents
from pgcore.exercises.checks import (
    CHECKS,
    CheckFailed,
    check,
    check_actor_critic_loss,
    check_discounted_returns,
    check_double_dqn_target,
    check_policy_entropy,
    check_polyak_update,
    check_reinforce_loss,
    check_td_target,
    check_value_baseline_loss,
)

# ----- right answers, written as a learner would ----------------------------------------------


def discounted_returns(rewards, gamma):
    out, running = np.zeros(len(rewards)), 0.0
    for t in reversed(range(len(rewards))):
        running = rewards[t] + gamma * running
        out[t] = running
    return out


def reinforce_loss(log_probs, returns):
    return -(log_probs * returns).mean()


def value_baseline_loss(log_probs, returns, values):
    return -(log_probs * (returns - values.detach())).mean(), ((values - returns) ** 2).mean()


def policy_entropy(logits):
    return -(F.softmax(logits, -1) * F.log_softmax(logits, -1)).sum(-1)


def actor_critic_loss(log_probs, advantages, values, targets, entropy, beta):
    return (-(log_probs * advantages).mean() + 0.5 * ((values - targets) ** 2).mean()
            - beta * entropy.mean())


def td_target(rewards, next_q, terminated, truncated, gamma):
    return rewards + gamma * (1 - terminated) * next_q.max(axis=1)


def polyak_update(target_params, online_params, tau):
    for t, o in zip(target_params, online_params, strict=True):
        t.copy_(tau * o + (1 - tau) * t)


def double_dqn_target(rewards, next_q_online, next_q_target, terminated, gamma):
    best = next_q_online.argmax(axis=1)
    return rewards + gamma * (1 - terminated) * next_q_target[np.arange(len(rewards)), best]


RIGHT = [discounted_returns, reinforce_loss, value_baseline_loss, policy_entropy,
         actor_critic_loss, td_target, polyak_update, double_dqn_target]


@pytest.mark.parametrize("fn", RIGHT, ids=lambda f: f.__name__)
def test_a_right_answer_passes(fn, capsys):
    message = CHECKS[fn.__name__](fn)
    assert message.startswith(fn.__name__) and "right" in message
    check(fn)
    assert capsys.readouterr().out == f"✓ {message}\n"


# ----- each usual mistake, and what the check says --------------------------------------------


def _undiscounted(rewards, gamma):
    return np.cumsum(np.asarray(rewards)[::-1])[::-1]


def _reversed(rewards, gamma):
    return discounted_returns(rewards, gamma)[::-1]


def _off_by_one(rewards, gamma):
    return np.append(discounted_returns(rewards, gamma)[1:], 0.0)


def _total_everywhere(rewards, gamma):
    return np.full(len(rewards), discounted_returns(rewards, gamma)[0])


def _from_start(rewards, gamma):
    r = np.asarray(rewards, float)
    k = np.arange(len(r))
    return np.array([np.sum(gamma ** k[t:] * r[t:]) for t in range(len(r))])


def _discounts_itself(rewards, gamma):
    return gamma * discounted_returns(rewards, gamma)


MISTAKES = [
    (check_discounted_returns, _undiscounted,
     "your returns are not discounted: G_0 should be 2.71 for rewards [1, 1, 1] and γ = 0.9, "
     "you gave 3."),
    (check_discounted_returns, _reversed, "reverse order"),
    (check_discounted_returns, _off_by_one, "off by one"),
    (check_discounted_returns, _total_everywhere, "whole episode's return"),
    (check_discounted_returns, _from_start, "from the start of the episode"),
    (check_discounted_returns, _discounts_itself, "you discounted r_t itself"),
    (check_discounted_returns, lambda r, g: np.zeros(len(r) + 1), "shape (3,)"),
    (check_discounted_returns, lambda r, g: [1.0, 2.0, 3.0], "should be [2.71, 1.9, 1]"),
    (check_reinforce_loss, lambda lp, g: (lp * g).mean(), "sign of your loss is flipped"),
    (check_reinforce_loss, lambda lp, g: -(lp * g).sum(), "you summed"),
    (check_reinforce_loss, lambda lp, g: -(lp.exp() * g).mean(), "probability π(a|s)"),
    (check_reinforce_loss, lambda lp, g: -(lp * g), "one number (a 0-d tensor)"),
    (check_reinforce_loss, lambda lp, g: float(-(lp.detach() * g).mean()), "torch tensor"),
    (check_reinforce_loss, lambda lp, g: -(lp.detach() * g).mean(), "without a gradient"),
    (check_value_baseline_loss,
     lambda lp, g, v: (-(lp * (g - v)).mean(), ((v - g) ** 2).mean()), "not detached"),
    (check_value_baseline_loss,
     lambda lp, g, v: (-(lp * g).mean(), ((v - g) ** 2).mean()), "ignores the baseline"),
    (check_value_baseline_loss,
     lambda lp, g, v: (-(lp * (v.detach() - g)).mean(), ((v - g) ** 2).mean()),
     "not V(s_t) − G_t"),
    (check_value_baseline_loss,
     lambda lp, g, v: (-(lp * (g - v.detach())).mean(), (v - g).mean()), "not its square"),
    (check_value_baseline_loss,
     lambda lp, g, v: (-(lp * (g - v.detach())).mean(), ((v.detach() - g) ** 2).mean()),
     "carries no gradient"),
    (check_value_baseline_loss, lambda lp, g, v: -(lp * g).mean(), "two losses"),
    (check_policy_entropy, lambda z: (F.softmax(z, -1) * F.log_softmax(z, -1)).sum(-1),
     "your entropy is negative"),
    (check_policy_entropy, lambda z: policy_entropy(z).sum(), "one entropy per state"),
    (check_policy_entropy, lambda z: policy_entropy(z) / np.log(2), "log base 2"),
    (check_policy_entropy, lambda z: policy_entropy(z).detach(), "no gradient"),
    (check_actor_critic_loss,
     lambda lp, a, v, r, h, b: -(lp * a).mean() + 0.5 * ((v - r) ** 2).mean() + b * h.mean(),
     "your entropy term has the wrong sign (with β = 0.1)"),
    (check_actor_critic_loss,
     lambda lp, a, v, r, h, b: -(lp * a).mean() + 0.5 * ((v - r) ** 2).mean(),
     "no entropy term"),
    (check_actor_critic_loss,
     lambda lp, a, v, r, h, b: -(lp * a).mean() + ((v - r) ** 2).mean() - b * h.mean(),
     "needs its weight"),
    (check_actor_critic_loss,
     lambda lp, a, v, r, h, b: -(lp * a).mean() + 0.5 * ((v - r.detach()) ** 2).mean()
     - h.mean(), "you forgot β"),
    (check_td_target,
     lambda r, q, term, trunc, g: r + g * (1 - np.maximum(term, trunc)) * q.max(axis=1),
     "a step cut by the time limit must still bootstrap"),
    (check_td_target, lambda r, q, term, trunc, g: r + g * q.max(axis=1),
     "a terminated step must not bootstrap"),
    (check_td_target, lambda r, q, term, trunc, g: r + g * (1 - trunc) * q.max(axis=1),
     "`truncated` where `terminated` belongs"),
    (check_td_target, lambda r, q, term, trunc, g: r + g * (1 - term) * q.mean(axis=1),
     "averaged"),
    (check_td_target, lambda r, q, term, trunc, g: r + g * (1 - term) * q.argmax(axis=1),
     "index of the best action"),
    (check_td_target, lambda r, q, term, trunc, g: r + (1 - term) * q.max(axis=1),
     "not discounted"),
    (check_polyak_update,
     lambda t, o, tau: [tau * b + (1 - tau) * a for a, b in zip(t, o, strict=True)],
     "did not change"),
    (check_polyak_update,
     lambda t, o, tau: [a.copy_((1 - tau) * b + tau * a) for a, b in zip(t, o, strict=True)],
     "τ is swapped: with τ = 0.1 the target should move 10% of the way"),
    (check_polyak_update, lambda t, o, tau: [a.copy_(b) for a, b in zip(t, o, strict=True)],
     "hard copy"),
    (check_polyak_update,
     lambda t, o, tau: [b.mul_(0.5) for b in o], "changed the online network's weights"),
    (check_double_dqn_target,
     lambda r, qo, qt, term, g: r + g * (1 - term) * qt.max(axis=1),
     "the target network both chose a' and valued it"),
    (check_double_dqn_target,
     lambda r, qo, qt, term, g: r + g * (1 - term) * qo.max(axis=1),
     "valued a' with the online network"),
    (check_double_dqn_target,
     lambda r, qo, qt, term, g: r + g * (1 - term) * qo[np.arange(4), qt.argmax(axis=1)],
     "roles are swapped"),
    (check_double_dqn_target,
     lambda r, qo, qt, term, g: r + g * qt[np.arange(4), qo.argmax(axis=1)],
     "a terminated step must not bootstrap"),
]


@pytest.mark.parametrize("check_fn,wrong,message", MISTAKES,
                         ids=[f"{c.__name__}-{i}" for i, (c, _, _) in enumerate(MISTAKES)])
def test_a_mistake_is_named_in_plain_words(check_fn, wrong, message):
    with pytest.raises(CheckFailed) as info:
        check_fn(wrong)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_unwritten_and_crashing_functions_get_a_message_not_a_traceback():
    def discounted_returns(rewards, gamma):
        raise NotImplementedError

    with pytest.raises(CheckFailed, match="`discounted_returns` is not written yet"):
        check_discounted_returns(discounted_returns)

    def crashing(rewards, gamma):
        return rewards / gamma  # a list divided by a number

    with pytest.raises(CheckFailed) as info:
        check_discounted_returns(crashing)
    assert "raised TypeError" in str(info.value) and "return rewards / gamma" in str(info.value)
    assert info.value._render_traceback_() == [f"CheckFailed: {info.value}"]
    with pytest.raises(CheckFailed, match="should be a function"):
        check_td_target(3)

    def my_returns(rewards, gamma):
        return discounted_returns(rewards, gamma)

    with pytest.raises(CheckFailed, match="no check for a function named `my_returns`"):
        check(my_returns)


# ----- training with the learner's functions --------------------------------------------------


def test_reinforce_with_the_learners_maths_learns_exactly_as_pgcore():
    for baseline, kwargs in (("none", dict(reinforce_loss=reinforce_loss)),
                             ("value", dict(value_baseline_loss=value_baseline_loss))):
        config = default_config("reinforce", baseline, seed=3, max_episodes=8, hidden=16)
        agent = agents.reinforce_agent(config, discounted_returns=discounted_returns, **kwargs)
        assert train(config, agent=agent).episode_returns == train(config).episode_returns


def test_a_truncated_episode_bootstraps_through_the_learners_returns():
    config = default_config("reinforce", "value", seed=0, max_episodes=1)
    agent = agents.reinforce_agent(config, discounted_returns=discounted_returns)
    from pgcore.rl.returns import discounted_returns as reference

    got = agent.discounted_returns([1.0, 2.0, 0.5], 0.9, bootstrap=4.0)
    assert np.allclose(got, reference([1.0, 2.0, 0.5], 0.9, bootstrap=4.0))


def test_dqn_with_the_learners_targets_and_update_learns_exactly_as_pgcore():
    for name, kwargs in (("dqn-lesson-c1000", dict(td_target=td_target)),
                         ("dqn-lesson-polyak", dict(td_target=td_target,
                                                    polyak_update=polyak_update)),
                         ("dqn-lesson-c1-double", dict(double_dqn_target=double_dqn_target))):
        config = preset(name).replace(seed=1, max_episodes=None, max_steps=400, hidden=16,
                                      learning_starts=64)
        agent = agents.dqn_agent(config, **kwargs)
        mine, theirs = train(config, agent=agent), train(config)
        assert mine.episode_returns == theirs.episode_returns, name
        for a, b in zip(mine.agent.target_params, theirs.agent.target_params, strict=True):
            assert torch.allclose(a, b, atol=1e-6), name


def test_a2c_through_autograd_of_the_learners_loss_learns():
    config = default_config("a2c", seed=0, max_episodes=6, entropy_beta=0.01, hidden=16)
    agent = agents.a2c_agent(config, policy_entropy=policy_entropy,
                             actor_critic_loss=actor_critic_loss)
    result = train(config, agent=agent)
    assert result.reason == "max_episodes" and result.updates > 0
    reference = train(config, agent=agents.a2c_agent(config))  # pgcore's a2c.loss, autograd
    assert np.allclose(result.episode_returns, reference.episode_returns)
    with pytest.raises(ValueError, match="value_coef 0.5"):
        agents.a2c_agent(config.replace(value_coef=1.0), actor_critic_loss=actor_critic_loss)


def test_the_trainer_refuses_an_agent_built_for_another_config():
    config = default_config("reinforce", "none", max_episodes=1, hidden=16)
    agent = agents.reinforce_agent(config.replace(seed=9))
    with pytest.raises(ValueError, match="another config"):
        train(config, agent=agent)
