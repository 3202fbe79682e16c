"""Learning tests: with fixed seeds, each default preset reaches its CartPole-v1 target.

Runs are deterministic on CPU, so these are exact reproductions, not flaky statistics: the
bounds leave headroom over the episodes each run actually takes (noted per case), so that a
harmless change in numerics does not fail them while a real regression does. Each run stops
as soon as its target is reached, which keeps the suite short.
"""

from __future__ import annotations

import numpy as np
import pytest

from pgcore import EpisodeEnd, RunControl, preset, train
from pgcore.training.metrics import CARTPOLE_V0_SOLVED, CARTPOLE_V1_SOLVED, episodes_to_threshold


def _train_until(name: str, threshold: float, max_episodes: int, seed: int = 0):
    control, returns = RunControl(), []

    def on_event(event):
        if isinstance(event, EpisodeEnd):
            returns.append(event.episode_return)
            if len(returns) >= 100 and np.mean(returns[-100:]) >= threshold:
                control.stop()

    result = train(preset(name, seed=seed, max_episodes=max_episodes), on_event=on_event,
                   control=control)
    return result, episodes_to_threshold(result.episode_returns, threshold)


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, threshold, bound",
    [
        ("a2c", CARTPOLE_V1_SOLVED, 700),  # seed 0 takes 516 episodes (~89k env steps)
        ("reinforce", CARTPOLE_V1_SOLVED, 300),  # value baseline: 193 episodes
        ("reinforce-normalize", CARTPOLE_V0_SOLVED, 250),  # 138 episodes
        ("actor-critic", CARTPOLE_V0_SOLVED, 220),  # 131 episodes (~21k one-step updates)
    ],
)
def test_default_preset_reaches_target(name, threshold, bound):
    result, reached = _train_until(name, threshold, max_episodes=bound)
    final = np.mean(result.episode_returns[-100:])
    assert reached is not None, (
        f"{name} did not reach a 100-episode average of {threshold} within {bound} episodes "
        f"(final 100-episode average {final:.1f})")
    assert reached <= bound
    assert result.reason == "stopped"


def test_lesson_actor_critic_collapses():
    """The lesson's settings, as the app shows them: near-deterministic, ~9-step episodes."""
    events = []
    result = train(preset("actor-critic-lesson", seed=0, max_episodes=80), on_event=events.append)
    assert np.mean(result.episode_returns[-20:]) < 15
    updates = [e for e in events if type(e).__name__ == "UpdateEnd"]
    assert np.mean([u.entropy for u in updates[-50:]]) < 0.2  # ln 2 = 0.69 at the start
    episodes = [e for e in events if isinstance(e, EpisodeEnd)]
    # the critic's V(s_0) ends far above the discounted return the episodes collect
    assert np.mean([e.start_value for e in episodes[-10:]]) > 2 * np.mean(
        [e.discounted_return for e in episodes[-10:]])
