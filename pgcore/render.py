"""Pictures of the policy: RGB frames of a given state, whole episodes, and GIFs.

Rendering goes through Gymnasium's ``rgb_array`` mode (pygame, drawn off-screen). On a
server there is no display, so ``SDL_VIDEODRIVER=dummy`` is set before pygame is imported.
Frames are drawn only when something will show them, never on every training step.
"""

from __future__ import annotations

import io
import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import numpy as np  # noqa: E402

from .envs import make_env  # noqa: E402


def _cartpole_state(obs: np.ndarray) -> np.ndarray:
    return np.asarray(obs, dtype=np.float64)  # CartPole's observation is its state


def _acrobot_state(obs: np.ndarray) -> np.ndarray:
    c1, s1, c2, s2, d1, d2 = np.asarray(obs, dtype=np.float64)
    return np.array([np.arctan2(s1, c1), np.arctan2(s2, c2), d1, d2])


_STATE_FROM_OBS = {"CartPole": _cartpole_state, "Acrobot": _acrobot_state}


class StateRenderer:
    """Draws the frame for an observation of a training environment (CartPole, Acrobot).

    The training environments are vectorised and not rendered; this keeps one rendering
    environment of its own and sets its state from the observation. ``render(obs)`` returns
    an (H, W, 3) uint8 image, or None for environments whose state it cannot rebuild.
    """

    def __init__(self, env_id: str):
        family = env_id.split("-")[0]
        self._state_from_obs = _STATE_FROM_OBS.get(family)
        self._env = None
        if self._state_from_obs is not None:
            self._env = make_env(env_id, render_mode="rgb_array")
            self._env.reset(seed=0)

    def render(self, obs: np.ndarray) -> np.ndarray | None:
        if self._env is None:
            return None
        self._env.unwrapped.state = self._state_from_obs(obs)
        return np.asarray(self._env.render(), dtype=np.uint8)

    def close(self) -> None:
        if self._env is not None:
            self._env.close()
            self._env = None


def play_episode(agent, env_id: str, seed: int | None = None, greedy: bool = False,
                 render: bool = False, max_frames: int = 1000):
    """Play one episode with ``agent``'s current policy.

    Returns ``(episode_return, length, frames)``; ``frames`` is a list of RGB arrays when
    ``render`` is True (at most ``max_frames``), else empty. Uses the agent's own sampler.
    """
    env = make_env(env_id, render_mode="rgb_array" if render else None)
    try:
        obs, _ = env.reset(seed=seed)
        frames = [np.asarray(env.render(), np.uint8)] if render else []
        total, length = 0.0, 0
        while True:
            action, _, _ = agent.act(np.asarray(obs, np.float32)[None], greedy=greedy)
            obs, reward, terminated, truncated, _ = env.step(agent.head.to_env(action[0]))
            total += float(reward)
            length += 1
            if render and len(frames) < max_frames:
                frames.append(np.asarray(env.render(), np.uint8))
            if terminated or truncated:
                return total, length, frames
    finally:
        env.close()


def frames_to_gif(frames, fps: int = 30, scale: float = 0.5) -> bytes:
    """Encode RGB frames as an animated GIF (bytes), downscaled by ``scale``."""
    from PIL import Image

    if not frames:
        raise ValueError("no frames to encode")
    images, palette = [], None
    for f in frames:
        img = Image.fromarray(np.asarray(f, np.uint8))
        if scale != 1.0:
            img = img.resize((max(1, int(img.width * scale)), max(1, int(img.height * scale))))
        if palette is None:  # one palette from the first frame, reused: ~10x faster encoding
            palette = img.quantize(colors=64)
        images.append(img.quantize(palette=palette, dither=Image.Dither.NONE))
    buf = io.BytesIO()
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:],
                   duration=max(1, int(1000 / fps)), loop=0, optimize=True)
    return buf.getvalue()
