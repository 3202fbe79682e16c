"""Pictures of the policy: RGB frames of a given state, whole episodes, GIFs, and the torque
overlay of a continuous policy on a Pendulum frame.

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

from ..rl.envs import make_env  # noqa: E402


def _cartpole_state(obs: np.ndarray) -> np.ndarray:
    return np.asarray(obs, dtype=np.float64)  # CartPole's observation is its state


def _acrobot_state(obs: np.ndarray) -> np.ndarray:
    c1, s1, c2, s2, d1, d2 = np.asarray(obs, dtype=np.float64)
    return np.array([np.arctan2(s1, c1), np.arctan2(s2, c2), d1, d2])


def _pendulum_state(obs: np.ndarray) -> np.ndarray:
    c, s, thdot = np.asarray(obs, dtype=np.float64)
    return np.array([np.arctan2(s, c), thdot])  # [theta (0: upright), theta dot]


_STATE_FROM_OBS = {"CartPole": _cartpole_state, "Acrobot": _acrobot_state,
                   "Pendulum": _pendulum_state}

CARTPOLE_SIZE = (600, 400)
"""Gymnasium's CartPole frame (width, height)."""


def draw_cartpole(state: np.ndarray) -> np.ndarray:
    """CartPole's frame for ``state`` (x, x_dot, theta, theta_dot), drawn with PIL as
    Gymnasium draws it with pygame: a 600 x 400 white frame, 125 px per metre (the track is
    +-2.4 m wide), a 50 x 30 px black cart whose top is 100 px above the bottom edge, a
    10 x 125 px pole (half length 0.5 m) turned by theta about the axle 7.5 px above the
    cart's centre line, a 5 px axle and a black track line. The same picture to a few pixels
    along the edges (Gymnasium anti-aliases them; tested), about 10 times cheaper (0.5 ms
    against 5 ms): the live panels draw one frame per refresh of every run being watched.
    Returns an (400, 600, 3) uint8 array."""
    from PIL import Image, ImageDraw

    width, height = CARTPOLE_SIZE
    x, theta = float(state[0]), float(state[2])
    scale = width / 4.8  # the world is 2 * x_threshold = 4.8 m wide
    pole_len = scale * 2 * 0.5
    cart_x, cart_y = x * scale + width / 2.0, 100.0
    axle = cart_y + 30.0 / 4.0

    def flip(px: float, py: float) -> tuple[float, float]:  # pygame's y goes up, then flipped
        return px, height - 1 - py

    img = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    draw.polygon([flip(cart_x + dx, cart_y + dy)
                  for dx, dy in ((-25, -15), (-25, 15), (25, 15), (25, -15))], fill=(0, 0, 0))
    c, s = np.cos(-theta), np.sin(-theta)  # pygame's rotate_rad(-theta)
    corners = ((-5.0, -5.0), (-5.0, pole_len - 5.0), (5.0, pole_len - 5.0), (5.0, -5.0))
    draw.polygon([flip(px * c - py * s + cart_x, px * s + py * c + axle)
                  for px, py in corners], fill=(202, 152, 101))
    cx, cy = flip(int(cart_x), int(axle))
    draw.ellipse([cx - 5, cy - 5, cx + 5, cy + 5], fill=(129, 132, 203))
    _, track = flip(0, cart_y)
    draw.line([(0, track), (width, track)], fill=(0, 0, 0))
    return np.asarray(img)


class StateRenderer:
    """Draws the frame for an observation of a training environment (CartPole, Acrobot,
    Pendulum).

    The training environments are vectorised and not rendered; this keeps one rendering
    environment of its own and sets its state from the observation (CartPole's frame is
    drawn directly, :func:`draw_cartpole`). ``render(obs)`` returns
    an (H, W, 3) uint8 image, or None for environments whose state it cannot rebuild.
    """

    def __init__(self, env_id: str):
        family = env_id.split("-")[0]
        self._state_from_obs = _STATE_FROM_OBS.get(family)
        self._env = None
        self._draw = draw_cartpole if family == "CartPole" else None  # no pygame needed
        if self._state_from_obs is not None and self._draw is None:
            self._env = make_env(env_id, render_mode="rgb_array")
            self._env.reset(seed=0)

    def render(self, obs: np.ndarray) -> np.ndarray | None:
        if self._draw is not None:
            return self._draw(self._state_from_obs(obs))
        if self._env is None:
            return None
        env = self._env.unwrapped
        env.state = self._state_from_obs(obs)
        if hasattr(env, "last_u"):  # Pendulum draws the last torque it was given: there is none
            env.last_u = None
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


# ----- the torque of a continuous policy, drawn on a Pendulum frame ----------------------------

TORQUE_SWEEP = np.pi / 2
"""How far round the pivot a torque at the action bound is drawn: a quarter turn from the rod."""
GAUGE_COLOR = (148, 163, 184, 255)
BAND_COLOR = (37, 99, 235, 95)
MEAN_COLOR = (194, 65, 12, 255)


def pendulum_angle(obs: np.ndarray) -> float:
    """theta of a Pendulum observation [cos theta, sin theta, theta dot] (0: upright; it grows
    counter-clockwise in the rendered frame, as a positive torque turns the pendulum)."""
    return float(_pendulum_state(obs)[0])


def torque_angles(theta: float, mean: float, std: float, low: float = -2.0,
                  high: float = 2.0) -> tuple[float, float, float, float]:
    """Where :func:`torque_overlay` draws a torque distribution, as angles in radians measured
    counter-clockwise from the image's +x axis: ``(rod, mean_end, band_low, band_high)``.

    The arrow for the mean starts at the rod and turns the way the torque pushes (positive:
    counter-clockwise), by :data:`TORQUE_SWEEP` times ``mean / max(|low|, |high|)``; the band is
    the same for mu - sigma .. mu + sigma, clipped to [low, high] like the torque the
    environment is given.

    >>> [round(float(np.degrees(a)), 1) for a in torque_angles(0.0, 1.0, 0.5)]
    [90.0, 135.0, 112.5, 157.5]
    """
    rod = np.pi / 2 + float(theta)  # theta = 0: the rod points up
    unit = TORQUE_SWEEP / max(abs(low), abs(high))

    def at(torque: float) -> float:
        return rod + unit * float(np.clip(torque, low, high))

    return rod, at(mean), at(mean - std), at(mean + std)


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # pragma: no cover - a Pillow without FreeType: the small bitmap font
        return ImageFont.load_default()


def torque_overlay(rgb: np.ndarray, theta: float, mean: float, std: float, low: float = -2.0,
                   high: float = 2.0, label: bool = True,
                   ticks: tuple[float, ...] = ()) -> np.ndarray:
    """A copy of a Pendulum frame with the policy's torque drawn around the pivot (the image's
    centre): a grey gauge for the action range [low, high] (a quarter turn either side of the
    rod), a translucent blue band for mu +- sigma and an orange arrow for the mean mu (angles:
    :func:`torque_angles`), and, with ``label``, the numbers in the top-left corner. ``ticks``:
    torques marked with a dot on the gauge (a discretised agent's only choices; its ``mean``
    is the one it picks and ``std`` 0). Pure: the input is not changed. A mean or std that is
    not finite leaves the frame as it is."""
    from PIL import Image, ImageDraw

    base, ticks = np.asarray(rgb, dtype=np.uint8), tuple(map(float, ticks))
    if not (np.isfinite(theta) and np.isfinite(mean) and np.isfinite(std)):
        return base.copy()
    h, w = base.shape[:2]
    cx, cy = w / 2, h / 2
    radius = 0.36 * min(w, h)  # outside the rod and its bob (0.23 and 0.25 of the width)
    band_w, arrow_w = max(4, round(0.05 * min(w, h))), max(2, round(0.016 * min(w, h)))
    rod, tip, lo, hi = torque_angles(theta, mean, max(float(std), 0.0), low, high)

    def box(r: float) -> tuple[float, float, float, float]:
        return (cx - r, cy - r, cx + r, cy + r)

    def point(angle: float, r: float) -> tuple[float, float]:
        return (cx + r * np.cos(angle), cy - r * np.sin(angle))  # image y grows downwards

    def arc(draw, a: float, b: float, r: float, width: int, fill) -> None:
        """The arc between angles a and b (either order) whose band of ``width`` is centred
        on radius r. PIL measures degrees clockwise from +x, hence the minus signs."""
        a, b = sorted((a, b))
        outer = r + width / 2
        draw.arc(box(outer), -np.degrees(b), -np.degrees(a), fill=fill, width=width)

    layer = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    arc(draw, rod - TORQUE_SWEEP, rod + TORQUE_SWEEP, radius, 2, GAUGE_COLOR)
    for end in (rod - TORQUE_SWEEP, rod, rod + TORQUE_SWEEP):  # ticks: the bounds and zero
        draw.line([point(end, radius - band_w * 0.7), point(end, radius + band_w * 0.7)],
                  fill=GAUGE_COLOR, width=2)
    if hi - lo > 1e-3:
        arc(draw, lo, hi, radius, band_w, BAND_COLOR)
    for torque in ticks:
        x, y = point(torque_angles(theta, torque, 0.0, low, high)[1], radius)
        r = band_w * 0.35
        draw.ellipse((x - r, y - r, x + r, y + r), fill=GAUGE_COLOR)
    image = Image.alpha_composite(Image.fromarray(base).convert("RGBA"), layer)

    draw = ImageDraw.Draw(image)  # the arrow goes on top, opaque
    head = 0.045 * min(w, h)
    turn = tip - rod
    if abs(turn) * radius > 1.5 * head:
        direction = np.sign(turn)
        shaft_end = tip - direction * head / radius  # the head covers the arrow's last bit
        arc(draw, rod, shaft_end, radius, arrow_w, MEAN_COLOR)
        draw.polygon([point(tip, radius), point(shaft_end, radius - head * 0.6),
                      point(shaft_end, radius + head * 0.6)], fill=MEAN_COLOR)
    else:  # almost no torque: a dot on the rod's line
        x, y = point(tip, radius)
        draw.ellipse((x - arrow_w * 1.5, y - arrow_w * 1.5, x + arrow_w * 1.5, y + arrow_w * 1.5),
                     fill=MEAN_COLOR)
    if label:
        size = max(10, round(0.036 * min(w, h)))
        font = _font(size)  # the default font has no Greek letters: words instead
        first, second = ((f"chosen torque {mean:+.2f}", f"of {len(ticks)} allowed (dots)")
                         if ticks else
                         (f"mean torque {mean:+.2f}", f"band: mean ± 1 std ({std:.2f})"))
        draw.text((0.025 * w, 0.02 * h), first, fill=MEAN_COLOR, font=font)
        draw.text((0.025 * w, 0.02 * h + 1.3 * size), second,
                  fill=(GAUGE_COLOR if ticks else BAND_COLOR)[:3], font=font)
    return np.asarray(image.convert("RGB"), dtype=np.uint8)
