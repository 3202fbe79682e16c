"""The rollout collector on a scripted two-env vector env: autoreset steps are masked out.

Gymnasium's vector envs reset an environment on the step *after* it ended (next-step
autoreset): that step's reward is 0 and its action is ignored. The collector must mark it
``valid = False``, keep ``terminated`` and ``truncated`` apart on the ending steps, report
each episode once with the right return, and count only real steps as env steps. Every flag
below is worked out by hand from the script.
"""

from __future__ import annotations

import numpy as np
import pytest

from pgcore import default_config
from pgcore.algos import make_agent
from pgcore.rl.collect import EpisodeInfo, VecCollector
from pgcore.rl.envs import EnvSpec


class ScriptedVecEnv:
    """Two environments whose episodes have scripted lengths and endings.

    The observation is ``10 * env + t`` (``t``: steps taken in the current episode), so each
    stored state says which step it was. Every real step pays reward 1.
    """

    def __init__(self, scripts):
        self.scripts = [list(s) for s in scripts]  # per env: [(length, "term"|"trunc"), ...]
        self.num_envs = len(scripts)
        self.t = np.zeros(self.num_envs, dtype=np.int64)
        self.episode = np.zeros(self.num_envs, dtype=np.int64)
        self.pending_reset = np.zeros(self.num_envs, dtype=bool)
        self.actions_seen = []

    def _obs(self):
        return (10 * np.arange(self.num_envs) + self.t).astype(np.float32)[:, None]

    def reset(self, seed=None):
        self.t[:] = 0
        return self._obs(), {}

    def step(self, actions):
        self.actions_seen.append(np.array(actions))
        n = self.num_envs
        reward, term, trunc = np.zeros(n), np.zeros(n, bool), np.zeros(n, bool)
        for i in range(n):
            if self.pending_reset[i]:  # the autoreset step: a first state, nothing else
                self.pending_reset[i] = False
                self.t[i] = 0
                self.episode[i] += 1
                continue
            self.t[i] += 1
            reward[i] = 1.0
            length, ending = self.scripts[i][self.episode[i]]
            if self.t[i] == length:
                term[i], trunc[i] = ending == "term", ending == "trunc"
                self.pending_reset[i] = True
        return self._obs(), reward, term, trunc, {}


T, F = True, False


@pytest.fixture
def collected():
    # env 0: 2 steps then terminated, a reset step, 2 steps then truncated, a reset step
    # env 1: 3 steps then terminated, a reset step, 2 steps of the next episode (still going)
    env = ScriptedVecEnv([[(2, "term"), (2, "trunc"), (9, "term")],
                          [(3, "term"), (9, "term")]])
    agent = make_agent(default_config("a2c", n_envs=2, n_steps=6, hidden=8),
                       EnvSpec.discrete(1, 2))
    collector = VecCollector(env, agent, seed=0)
    episodes: list[EpisodeInfo] = []
    rollout, steps = collector.collect(6, episodes.append)
    return env, collector, rollout, steps, episodes


def test_reset_steps_are_masked_and_endings_kept_apart(collected):
    _, _, rollout, _, _ = collected
    assert rollout.valid.tolist() == [[T, T], [T, T], [F, T], [T, F], [T, T], [F, T]]
    assert rollout.terminated.tolist() == [[F, F], [T, F], [F, T], [F, F], [F, F], [F, F]]
    assert rollout.truncated.tolist() == [[F, F], [F, F], [F, F], [F, F], [T, F], [F, F]]
    # a masked step never counts as an ending, whatever the env said
    assert not (rollout.terminated & ~rollout.valid).any()
    assert not (rollout.truncated & ~rollout.valid).any()


def test_states_line_up_with_their_steps(collected):
    _, _, rollout, _, _ = collected
    # obs[t] is the state the action at t was taken in; row 6 is the bootstrap state
    assert rollout.obs[:, :, 0].tolist() == [[0, 10], [1, 11], [2, 12], [0, 13], [1, 10],
                                             [2, 11], [0, 12]]
    # on the truncated step (t=4, env 0) the next row holds the true final state s_2 ...
    assert rollout.obs[5, 0, 0] == 2.0
    # ... and the reward of a reset step is 0
    assert rollout.rewards[2, 0] == 0.0 and rollout.rewards[3, 1] == 0.0


def test_episodes_and_env_steps_count_only_real_steps(collected):
    _, collector, rollout, steps, episodes = collected
    assert steps == collector.env_steps == 9 == int(rollout.valid.sum())
    assert [(e.episode_return, e.length, e.truncated) for e in episodes] == [
        (2.0, 2, False), (3.0, 3, False), (2.0, 2, True)]
    gamma = 0.99
    assert episodes[1].discounted_return == pytest.approx(1 + gamma + gamma**2)
    # the critic's V(s_0) was recorded for each episode's first state
    assert all(np.isfinite(e.start_value) for e in episodes)


def test_actions_have_the_heads_dtype_and_shape(collected):
    env, _, rollout, _, _ = collected
    assert rollout.actions.dtype == np.int64 and rollout.actions.shape == (6, 2)
    assert [a.tolist() for a in env.actions_seen] == rollout.actions.tolist()


def test_a_stop_between_vector_steps_ends_the_rollout_there_and_changes_nothing_before():
    def run(should_stop):
        env = ScriptedVecEnv([[(2, "term"), (2, "trunc"), (9, "term")],
                              [(3, "term"), (9, "term")]])
        agent = make_agent(default_config("a2c", n_envs=2, n_steps=6, hidden=8),
                           EnvSpec.discrete(1, 2))
        episodes: list[EpisodeInfo] = []
        rollout, steps = VecCollector(env, agent, seed=0).collect(6, episodes.append,
                                                                   should_stop=should_stop)
        return rollout, steps, episodes

    full, full_steps, full_eps = run(None)
    never, never_steps, never_eps = run(lambda: False)  # asked, never stopping: the same
    for name in ("obs", "actions", "rewards", "terminated", "truncated", "valid"):
        np.testing.assert_array_equal(getattr(never, name), getattr(full, name))
    assert (never_steps, never_eps) == (full_steps, full_eps)

    asked = []

    def stop_before_step_3() -> bool:
        asked.append(len(asked) + 1)  # asked before steps 1, 2, 3, ... (never before step 0)
        return len(asked) == 3

    cut, cut_steps, cut_eps = run(stop_before_step_3)
    assert asked == [1, 2, 3]
    assert cut.valid.shape == (3, 2) and cut.obs.shape[0] == 4  # 3 steps and the next state
    for name in ("actions", "rewards", "terminated", "truncated", "valid"):
        np.testing.assert_array_equal(getattr(cut, name), getattr(full, name)[:3])
    np.testing.assert_array_equal(cut.obs, full.obs[:4])
    assert cut_steps == int(full.valid[:3].sum()) == 5
    assert cut_eps == full_eps[:2]  # env 0's first episode (step 1), env 1's (step 2)
