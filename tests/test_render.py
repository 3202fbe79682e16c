"""Frames drawn from a state (pgcore.training.render): CartPole's, drawn directly with PIL for
the live panels, is Gymnasium's picture (to a few anti-aliased edge pixels)."""

from __future__ import annotations

import numpy as np
import pytest

from pgcore.rl.envs import make_env
from pgcore.training.render import StateRenderer, draw_cartpole


def _gymnasium_frame(state) -> np.ndarray:
    env = make_env("CartPole-v1", render_mode="rgb_array")
    try:
        env.reset(seed=0)
        env.unwrapped.state = np.asarray(state, dtype=np.float64)
        return np.asarray(env.render(), dtype=np.uint8)
    finally:
        env.close()


@pytest.mark.parametrize("state", [(0.0, 0.0, 0.0, 0.0), (1.2, 0.5, 0.2, -1.0),
                                   (-2.3, 0.0, -0.2, 0.0), (0.4, 0.0, 1.3, 0.0)])
def test_cartpole_is_drawn_as_gymnasium_draws_it(state):
    ours, theirs = draw_cartpole(np.array(state)), _gymnasium_frame(state)
    assert ours.shape == theirs.shape == (400, 600, 3) and ours.dtype == np.uint8
    differ = np.any(ours != theirs, axis=2)
    assert differ.mean() < 0.002  # a few hundred edge pixels of 240,000
    # and the pole is where Gymnasium puts it: its colour in the same rows and columns
    pole = (202, 152, 101)
    mask_ours, mask_theirs = (np.all(f == pole, axis=2) for f in (ours, theirs))
    assert mask_theirs.sum() > 500
    assert (mask_ours & mask_theirs).sum() / mask_theirs.sum() > 0.9


def test_a_cartpole_renderer_needs_no_pygame_environment():
    renderer = StateRenderer("CartPole-v1")
    assert renderer._env is None
    frame = renderer.render(np.array([0.5, 0.0, 0.1, 0.0], dtype=np.float32))
    np.testing.assert_array_equal(frame, draw_cartpole(np.array([0.5, 0.0, 0.1, 0.0])))
    renderer.close()
