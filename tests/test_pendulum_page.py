"""The Continuous actions page (views/why/pendulum.py) inside the app's router under AppTest: it
renders with bounded widgets and only Pendulum policy-gradient presets, Start trains in the
background and draws episodes, the pendulum with the policy's torque and sigma, bad session
values give one-line messages; and the pure helpers behind it: the Pendulum frame and torque
overlay (pgcore/training/render.py) and the page's numbers and charts (ui/pendulum.py)."""

from __future__ import annotations

import json
import math
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from pgcore import PRESETS, algos
from pgcore.execution import stop_all
from pgcore.execution.runner import RunSnapshot
from pgcore.rl.heads import LOG_STD_INIT, GaussianHead, gaussian_terms
from pgcore.training.events import Frame
from pgcore.training.render import (
    GAUGE_COLOR,
    MEAN_COLOR,
    StateRenderer,
    pendulum_angle,
    torque_angles,
    torque_overlay,
)
from ui import pendulum as pc
from ui.charts import numbers

APP = str(ROOT / "app.py")
PAGE = "views/why/pendulum.py"
TIMEOUT = 60
KEY = "pend"


@pytest.fixture(autouse=True)
def _stop_runs():
    yield
    stop_all()


def page(**session) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    for k, v in session.items():
        at.session_state[k] = v
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, at.exception
    return at


def captions(at: AppTest) -> str:
    return "\n".join(c.value for c in at.caption)


def metric(at: AppTest, label: str) -> str | None:
    import html
    import re

    pattern = re.compile(rf'data-label="{re.escape(label)}".*?class="pg-value">([^<]*)<', re.S)
    for h in at.get("html"):
        m = pattern.search(h.proto.body)
        if m:
            return html.unescape(m.group(1))
    return None


def run_until(at: AppTest, predicate, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        at.run()
        assert not at.exception, at.exception
        if predicate(at):
            return True
        time.sleep(0.3)
    return False


# ----- the page -------------------------------------------------------------------------------


def test_page_renders_with_pendulum_presets_and_bounded_widgets():
    at = page()
    assert at.title[0].value == "Continuous actions"
    assert not at.error, [e.value for e in at.error]
    picker = at.selectbox(key=f"{KEY}.preset")
    assert picker.value == "ppo-pendulum"
    assert picker.options[0].startswith("PPO") and any(o.startswith("A2C") for o in picker.options)
    assert not any("DQN" in o for o in picker.options)  # the value-based one has its own place
    seed = at.number_input(key=f"{KEY}.seed")
    assert seed.value == 0 and seed.min == 0 and seed.max == 10_000
    assert at.select_slider(key=f"{KEY}.episodes").value == 1000
    buttons = {b.key: b for b in at.button if b.key}
    assert not buttons[f"{KEY}.ctl.start"].disabled and buttons[f"{KEY}.ctl.stop"].disabled
    assert "Press **Start**" in " ".join(i.value for i in at.info)
    intro = " ".join(m.value for m in at.markdown)
    assert "bell curve" in intro and "list of actions" in intro
    assert not at.get("vega_lite_chart") and not at.get("image")
    # the lesson's two claims before any run: each verdict says what it rests on
    assert intro.count("**The lesson:**") == 2
    assert "*(measured once on a shared 2-core machine: DQN one run (seed 0)" in intro
    assert "not your runs)*" in intro and "*(by construction:" in intro


def test_the_router_lists_the_page_under_why_a_policy():
    from ui import navigation

    why = next(pages for section, pages in navigation.SECTIONS.items()
               if section.endswith("Why a policy?"))
    assert ("why/pendulum.py", "Continuous actions") in [(e.file, e.title) for e in why]


def test_start_trains_live_with_frame_torque_overlay_and_sigma():
    at = page()
    at.select_slider(key=f"{KEY}.episodes").set_value(100).run()
    at.button(key=f"{KEY}.ctl.start").click().run()
    assert not at.exception, at.exception

    def shown(a: AppTest) -> bool:
        n = metric(a, "Episodes")
        return (n not in (None, "0") and len(a.get("image")) >= 1
                and "Orange arrow" in captions(a) and "σ during the latest update" in captions(a))

    assert run_until(at, shown), captions(at)
    text = captions(at)
    assert "policy's torque is N(μ = " in text
    assert "the policy acting: episode" in at.get("image")[0].proto.imgs[0].caption
    sigma = float(text.split("σ during the latest update: ")[1].split(" ")[0])
    assert 0.05 < sigma < 1.0  # starts at exp(-0.5) = 0.61
    charts = at.get("vega_lite_chart")
    assert len(charts) == 2  # returns with the 100-episode average; sigma
    specs = [json.loads(c.proto.spec) for c in charts]
    assert "100-episode average" in json.dumps(specs[0], ensure_ascii=False)
    assert '"name": "std"' in json.dumps(specs[1]) and "σ" in json.dumps(specs[1],
                                                                         ensure_ascii=False)
    assert metric(at, "Env steps") not in (None, "0")
    assert metric(at, "Best 100 avg") == "–"  # fewer than 100 episodes yet
    at.button(key=f"{KEY}.ctl.stop").click().run()
    assert run_until(at, lambda a: any("Stopped" in i.value for i in a.info), timeout=15)
    buttons = {b.key: b for b in at.button if b.key}
    assert not buttons[f"{KEY}.ctl.start"].disabled and buttons[f"{KEY}.ctl.stop"].disabled


def test_bad_session_values_give_one_line_messages_and_the_defaults():
    at = page(**{f"{KEY}.preset": "trpo-pendulum", f"{KEY}.seed": -3,
                 f"{KEY}.episodes": 123})
    errors = [e.value for e in at.error]
    assert len(errors) == 3, errors
    assert all("\n" not in e and "Traceback" not in e for e in errors)
    assert "'trpo-pendulum' is not a valid value here" in errors[0]
    assert at.selectbox(key=f"{KEY}.preset").value == "ppo-pendulum"
    assert at.number_input(key=f"{KEY}.seed").value == 0
    buttons = {b.key: b for b in at.button if b.key}
    assert not buttons[f"{KEY}.ctl.start"].disabled  # the defaults can run


def test_a_config_the_page_cannot_run_is_one_line():
    cfg, error = pc.pendulum_config("ppo", 0, 10, 60.0)  # a CartPole preset
    assert cfg is None and error == "preset ppo trains CartPole-v1, not Pendulum-v1"
    cfg, error = pc.pendulum_config("nope", 0, 10, 60.0)
    assert cfg is None and error.startswith("unknown preset 'nope'") and "\n" not in error
    cfg, error = pc.pendulum_config("ppo-pendulum", 0, 0, 60.0)
    assert cfg is None and "\n" not in error
    cfg, error = pc.pendulum_config("ppo-pendulum", 3, 100, 60.0)
    assert error is None and (cfg.seed, cfg.max_episodes, cfg.max_steps) == (3, 100, None)


HAS_DQN = bool(pc.value_presets()) and pc.discretisation_rows() is not None
needs_dqn = pytest.mark.skipif(not HAS_DQN, reason="this pgcore has no DQN on a discretised "
                                                   "torque (dqn-pendulum)")


@needs_dqn
def test_dqn_section_runs_on_the_same_seed_and_budget_beside_the_policy_gradient():
    at = page()
    table = at.dataframe[0].value
    assert list(table["action dimensions d"])[:1] == [1]
    assert list(table.columns[-3:]) == ["k=3", "k=5", "k=11"]
    for _, row in table.iterrows():  # k^d Q outputs
        d = int(row["action dimensions d"])
        assert [row[f"k={k}"] for k in (3, 5, 11)] == [numbers.count_text(k ** d)
                                                       for k in (3, 5, 11)]
    assert numbers.count_text(11 ** 3) == "1,331"
    assert numbers.count_text(11 ** 17) == "≈ 5.1 × 10^17"
    assert at.selectbox(key=f"{KEY}.dqn.bins").options == ["3", "5", "11"]
    at.number_input(key=f"{KEY}.seed").set_value(2).run()
    at.select_slider(key=f"{KEY}.episodes").set_value(100).run()
    at.selectbox(key=f"{KEY}.dqn.bins").set_value(3).run()
    assert "The torques it may play: −2, 0, +2. Same seed (2)" in captions(at)
    at.button(key=f"{KEY}.ctl.start").click().run()
    at.button(key=f"{KEY}.dqn.ctl.start").click().run()
    assert not at.exception, at.exception

    def both(a: AppTest) -> bool:
        text = captions(a)
        return "grey dots: the 3 torques" in text and "Orange arrow" in text and len(
            a.get("vega_lite_chart")) == 3

    assert run_until(at, both), captions(at)
    status = " ".join(m.value for m in at.markdown)
    assert "DQN on Pendulum-v1, seed 2 · 3 torque values" in status
    assert "PPO on Pendulum-v1, seed 2" in status
    compare = json.loads(at.get("vega_lite_chart")[-1].proto.spec)
    legend = json.dumps(compare, ensure_ascii=False)
    assert "DQN, 3 torque values" in legend and "PPO, Gaussian policy" in legend
    assert compare["layer"][1]["encoding"]["x"]["scale"]["domain"] == [0, 20_000]


def _a_run_that_ends_as_the_panel_looks(key: str) -> None:
    """(Run by AppTest: sessions in one process share the session-scoped tasks.) Page
    ``key``'s task: a run reported "running" until its snapshot is first read, then
    "stopped": it ends between the page's buttons and its panel, as a stopping run can."""
    from pgcore.execution.runner import RunLog, RunSnapshot
    from pgcore.training.config import preset
    from ui import state

    class EndsWhenLookedAt:
        def __init__(self) -> None:
            self.config = preset("ppo-pendulum", seed=0, max_episodes=1000, max_steps=None)
            self.ended = False
            log = RunLog()
            self._snap = RunSnapshot("stopped", "Stopped.", self.config, 1,
                                     log.episodes.copy(), log.updates.copy())

        @property
        def state(self) -> str:
            return "stopped" if self.ended else "running"

        def snapshot(self):
            self.ended = True
            return self._snap

        def stop(self, note: str = "") -> None:
            self.ended = True

    page = state.session_tasks().page(key)
    page.reset()
    page.task = EndsWhenLookedAt()


def test_a_run_that_ends_while_the_page_draws_leaves_no_stop_enabled():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    AppTest.from_function(_a_run_that_ends_as_the_panel_looks, args=(KEY,),
                          default_timeout=TIMEOUT).run()
    try:
        at.switch_page(PAGE)
        at.run()
        assert not at.exception, at.exception
        # the buttons were drawn for a running run; the panel found it stopped: the page
        # draws again at once, so the buttons say what the panel says
        assert any("Stopped." in i.value for i in at.info)
        buttons = {b.key: b for b in at.button if b.key}
        assert buttons[f"{KEY}.ctl.stop"].disabled, "Stop is still enabled for a stopped run"
        assert not buttons[f"{KEY}.ctl.start"].disabled
    finally:
        AppTest.from_function(_reset_page, args=(KEY,), default_timeout=TIMEOUT).run()


def _reset_page(key: str) -> None:
    from ui import state

    state.session_tasks().page(key).reset()


@needs_dqn
def test_a_bad_bin_count_is_one_line():
    at = page(**{f"{KEY}.dqn.bins": 4})
    errors = [e.value for e in at.error]
    assert errors == ["4 is not a valid value here; back to 5."]
    assert at.selectbox(key=f"{KEY}.dqn.bins").value == 5


# ----- pgcore/training/render.py: the Pendulum frame and the torque overlay
# ------------------------------


def _red_centroid(rgb: np.ndarray) -> tuple[float, float]:
    r, g, b = (rgb[..., i].astype(int) for i in range(3))
    ys, xs = np.nonzero((r > 180) & (g < 110) & (b < 110))  # the rod's (204, 77, 77)
    return float(xs.mean()), float(ys.mean())


def test_state_renderer_rebuilds_the_pendulum_from_its_observation():
    renderer = StateRenderer("Pendulum-v1")
    try:
        frames = {}
        for theta in (0.0, math.pi / 2, math.pi):
            obs = np.array([math.cos(theta), math.sin(theta), 0.7], np.float32)
            assert pendulum_angle(obs) == pytest.approx(theta, abs=1e-6)
            frames[theta] = renderer.render(obs)
    finally:
        renderer.close()
    h, w, _ = frames[0.0].shape
    assert (h, w) == (500, 500)
    x, y = _red_centroid(frames[0.0])
    assert y < h / 2 - 20 and abs(x - w / 2) < 5  # theta = 0: upright
    x, y = _red_centroid(frames[math.pi / 2])
    assert x < w / 2 - 20 and abs(y - h / 2) < 5  # theta grows counter-clockwise: left
    x, y = _red_centroid(frames[math.pi])
    assert y > h / 2 + 20  # hanging down


def test_torque_angles_turn_the_way_the_torque_pushes_and_clip_at_the_bounds():
    rod, tip, lo, hi = torque_angles(0.0, 2.0, 1.0)
    assert rod == pytest.approx(math.pi / 2) and tip == pytest.approx(math.pi)
    assert lo == pytest.approx(math.pi * 3 / 4) and hi == pytest.approx(math.pi)  # clipped at +2
    rod, tip, lo, hi = torque_angles(1.0, -1.0, 0.25)
    assert rod == pytest.approx(math.pi / 2 + 1) and tip == pytest.approx(rod - math.pi / 4)
    assert lo < tip < hi and hi - lo == pytest.approx(math.pi / 8)


def _mean_pixels(rgb: np.ndarray) -> np.ndarray:
    return np.all(np.abs(rgb.astype(int) - np.array(MEAN_COLOR[:3])) < 12, axis=-1)


def _band_pixels(rgb: np.ndarray) -> np.ndarray:
    r, g, b = (rgb[..., i].astype(int) for i in range(3))
    return (b > 200) & (r < 200) & (b - r > 40)  # the translucent blue band over white


def test_torque_overlay_draws_mean_and_band_without_changing_its_input():
    blank = np.full((500, 500, 3), 255, np.uint8)
    before = blank.copy()
    ccw = torque_overlay(blank, 0.0, 1.5, 0.2, label=False)  # rod up, torque counter-clockwise
    assert np.array_equal(blank, before) and ccw.shape == blank.shape and ccw.dtype == np.uint8
    xs = np.nonzero(_mean_pixels(ccw))[1]
    assert len(xs) > 200 and (xs < 250).mean() > 0.95  # from the top towards the left
    cw = torque_overlay(blank, 0.0, -1.5, 0.2, label=False)
    xs = np.nonzero(_mean_pixels(cw))[1]
    assert (xs > 250).mean() > 0.95
    narrow = _band_pixels(torque_overlay(blank, 0.0, 0.0, 0.1, label=False)).sum()
    wide = _band_pixels(torque_overlay(blank, 0.0, 0.0, 0.8, label=False)).sum()
    assert wide > 4 * narrow > 0  # the band is mu +- sigma
    clipped = _band_pixels(torque_overlay(blank, 0.0, 0.0, 50.0, label=False)).sum()
    assert clipped < 1.4 * _band_pixels(torque_overlay(blank, 0.0, 0.0, 2.0, label=False)).sum()
    assert np.array_equal(torque_overlay(blank, 0.0, float("nan"), 0.3), blank)


def test_frame_image_overlays_a_gaussian_frame_and_leaves_others_plain():
    head = GaussianHead((-2.0,), (2.0,))
    rgb = np.full((500, 500, 3), 255, np.uint8)
    obs = np.array([1.0, 0.0, 0.0], np.float32)
    frame = Frame(3, 10, obs, np.array([1.2, 0.3]), -5.0, rgb, head)
    assert pc.frame_torque(frame) == (1.2, 0.3)
    drawn = pc.frame_image(frame)
    assert _mean_pixels(drawn).sum() > 200
    jpeg = pc.frame_jpeg(frame, cache := {})
    assert jpeg[:2] == b"\xff\xd8" and pc.frame_jpeg(frame, cache) is jpeg
    plain = Frame(3, 10, obs, np.array([0.4, 0.6]), 0.0, rgb, None)
    assert pc.frame_torque(plain) is None and np.array_equal(pc.frame_image(plain), rgb)
    assert pc.frame_image(None) is None and pc.frame_jpeg(None, {}) is None


def test_torque_overlay_marks_a_discretised_agents_choices():
    blank = np.full((500, 500, 3), 255, np.uint8)
    plain = torque_overlay(blank, 0.0, -1.0, 0.0, label=False)
    dots = torque_overlay(blank, 0.0, -1.0, 0.0, label=False, ticks=np.linspace(-2, 2, 5))

    def grey(im: np.ndarray) -> int:
        return int(np.all(np.abs(im.astype(int) - np.array(GAUGE_COLOR[:3])) < 8, -1).sum())

    assert grey(dots) > grey(plain) + 5 * 50  # five dots of about 12 px across
    assert _band_pixels(dots).sum() == 0  # no spread: the argmax is one torque
    xs = np.nonzero(_mean_pixels(dots))[1]
    assert (xs > 250).mean() > 0.95  # -1: clockwise from the top


@needs_dqn
def test_frame_choice_reads_the_argmax_torque_of_a_binned_q_head():
    from pgcore.rl.heads import BinnedHead

    head = BinnedHead((-2.0,), (2.0,), 5, q_values=True)
    rgb = np.full((500, 500, 3), 255, np.uint8)
    frame = Frame(1, 0, np.array([1.0, 0.0, 0.0], np.float32),
                  np.array([-3.0, -1.0, -2.0, -5.0, -4.0]), float("nan"), rgb, head)
    torque, allowed = pc.frame_choice(frame)
    assert torque == -1.0 and allowed.tolist() == [-2.0, -1.0, 0.0, 1.0, 2.0]
    assert pc.frame_torque(frame) is None and _mean_pixels(pc.frame_image(frame)).sum() > 100


# ----- ui/pendulum.py ------------------------------------------------------------------


def test_presets_are_the_registrys_pendulum_ones_ppo_first():
    names = pc.policy_presets()
    assert names[0] == "ppo-pendulum" and "a2c-pendulum" in names
    assert all(PRESETS[n].values["env_id"] == "Pendulum-v1" for n in names)
    for n in pc.value_presets():
        assert n not in names and PRESETS[n].values["env_id"] == "Pendulum-v1"
    assert pc.preset_label("ppo-pendulum") == "PPO: Pendulum (continuous actions)"


def test_std_from_entropy_inverts_the_gaussian_entropy():
    for log_std in (LOG_STD_INIT, -2.0, 0.3):
        mean = torch.zeros(4, 1)
        _, entropy = gaussian_terms(mean, torch.full((4, 1), log_std), torch.zeros(4, 1))
        assert pc.std_from_entropy(entropy.numpy())[0] == pytest.approx(math.exp(log_std))
    two = gaussian_terms(torch.zeros(1, 2), torch.tensor([[-1.0, -2.0]]), torch.zeros(1, 2))[1]
    assert pc.std_from_entropy(two.numpy(), dim=2)[0] == pytest.approx(math.exp(-1.5))


def _snapshot(returns, entropy=None, std=None) -> RunSnapshot:
    from pgcore.training.config import preset

    n = len(returns)
    ep = np.arange(1, n + 1)
    episodes = {"episode": ep, "episode_return": np.asarray(returns, float), "length":
                np.full(n, 200), "env_steps": ep * 200, "wall_seconds": ep * 0.1,
                "discounted_return": np.zeros(n), "start_value": np.zeros(n)}
    k = 5
    updates = {"update": np.arange(1, k + 1), "env_steps": np.arange(1, k + 1) * 4096,
               "episodes": np.linspace(20, n, k), "wall_seconds": np.arange(k) * 1.0,
               "count": np.ones(k)}
    if entropy is not None:
        updates["entropy"] = np.asarray(entropy, float)
    if std is not None:
        updates["policy_std"] = np.asarray(std, float)
    return RunSnapshot(state="running", message="", config=preset("ppo-pendulum"), version=1,
                       episodes=episodes, updates=updates, episode_count=n, env_steps=n * 200,
                       wall_seconds=n * 0.1)


def test_numbers_and_charts_from_a_snapshot():
    returns = np.linspace(-1400, -200, 250)
    h = 0.5 * math.log(2 * math.pi * math.e)
    snap = _snapshot(returns, entropy=[h + math.log(s) for s in (0.6, 0.5, 0.4, 0.3, 0.2)])
    current, best = pc.averages(snap.episodes["episode_return"])
    assert current == pytest.approx(returns[-100:].mean()) and best == pytest.approx(current)
    x, sigma = pc.std_history(snap)
    assert np.allclose(sigma, [0.6, 0.5, 0.4, 0.3, 0.2]) and x[-1] == 250
    assert np.allclose(pc.std_history(_snapshot(returns, std=[1, 1, 1, 1, 0.5]))[1][-1], 0.5)
    html = pc.metrics_html(snap)
    for label in ("Episodes", "Last 100 avg", "Best 100 avg", "Env steps", "Seconds"):
        assert f'data-label="{label}"' in html
    spec = pc.returns_spec(snap)
    assert len(spec["datasets"]["returns"]) == 250 and "-200" in str(spec)
    assert "195" not in str(spec["layer"])  # no CartPole thresholds
    assert len(pc.std_spec(snap)["datasets"]["std"]) == 5
    other = _snapshot(np.linspace(-1500, -150, 250))
    table = pc.compare_spec({"PPO": snap, "DQN": other}, 50_000)["datasets"]["compare"]
    assert len(table) == 500 and set(table.column("run").to_pylist()) == {"PPO", "DQN"}


def test_averages_need_a_full_window_for_the_best():
    assert pc.averages(np.zeros(0)) == (None, None)
    assert pc.averages(np.full(99, -5.0)) == (-5.0, None)
    r = np.r_[np.full(100, -1000.0), np.full(100, -100.0), np.full(50, -500.0)]
    current, best = pc.averages(r)
    assert best == -100.0 and current == pytest.approx(-300.0)


def test_algorithms_offered_act_on_a_box():
    for n in pc.policy_presets():
        make = algos.get(PRESETS[n].values["algo"]).make_agent
        assert "Box" in make.action_spaces
