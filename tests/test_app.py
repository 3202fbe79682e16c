"""The Streamlit app through ``streamlit.testing.v1.AppTest``: every page renders, Train trains.

AppTest runs the scripts in this process without a browser. It cannot fire ``run_every`` or
``on_release``, so the tests call ``at.run()`` in a loop and stop every run in teardown.
"""

from __future__ import annotations

import html
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from pgcore.execution import stop_all

APP = str(ROOT / "app.py")
TIMEOUT = 60  # seconds per script run (the first one imports torch)
WAIT = 90.0


@pytest.fixture(autouse=True)
def _stop_runs():
    yield
    stop_all()


def app(page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    if page:
        at.switch_page(page)
        at.run()
        assert not at.exception, at.exception
    return at


def metric(at: AppTest, label: str) -> str | None:
    """A headline number of the live panel (one HTML element holds all five)."""
    pattern = re.compile(rf'data-label="{re.escape(label)}".*?class="pg-value">([^<]*)<', re.S)
    for h in at.get("html"):
        m = pattern.search(h.proto.body)
        if m:
            return html.unescape(m.group(1))
    return None


def episodes(at: AppTest) -> int:
    v = metric(at, "Episodes")
    return 0 if v in (None, "–") else int(v.replace(",", ""))


def run_until(at: AppTest, predicate, timeout: float = WAIT) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        at.run()
        assert not at.exception, at.exception
        if predicate(at):
            return True
        time.sleep(0.3)
    return False


def start_short_run(at: AppTest, algo: str = "a2c", budget: int = 60) -> None:
    at.radio(key="cfg.algo").set_value(algo).run()
    at.number_input(key="cfg.max_episodes").set_value(budget).run()
    assert not at.error, [e.value for e in at.error]
    at.button(key="ctl.start").click().run()
    assert not at.exception, at.exception


def test_home_renders_with_sidebar():
    at = app()
    assert at.title[0].value == "Policy Gradient Lab"
    sidebar_text = " ".join(m.value for m in at.sidebar.markdown)
    assert "Your run" in sidebar_text and "Policy Gradient Lab" in sidebar_text
    for name in ("REINFORCE", "actor-critic", "A2C", "PPO", "DQN"):
        assert name in sidebar_text, name
    home = " ".join(m.value for m in at.main.markdown)
    for name in ("REINFORCE", "actor-critic", "A2C", "PPO", "DQN"):
        assert name in home, name
    assert "slot" not in home  # Train runs start at once and take turns: no waiting for slots
    assert "take turns" in home


ARC = ["Home",  # the lesson's order: why a policy, the theorem, REINFORCE and its variance,
       "Stochastic optimum (RPS)", "Smoothness", "Continuous actions",  # baselines, entropy,
       "Theory", "Train", "Seeds & variance", "Gradient variance",  # actor-critic and A2C,
       "Baseline vs none", "Entropy bonus", "Algorithm race",  # then DQN set against it
       "Value vs policy", "Target network", "Hard copy or Polyak", "Overestimation",
       "Class board"]
URL_PATHS = {"Home": "", "Stochastic optimum (RPS)": "rps", "Smoothness": "smoothness",
             "Continuous actions": "pendulum", "Theory": "theory", "Train": "train",
             "Seeds & variance": "seeds_variance", "Gradient variance": "gradient_variance",
             "Baseline vs none": "baseline", "Entropy bonus": "entropy",
             "Algorithm race": "race", "Value vs policy": "value_vs_policy",
             "Target network": "dqn_target", "Hard copy or Polyak": "dqn_polyak",
             "Overestimation": "dqn_overestimation", "Class board": "board"}
"""Every page's URL path as links, bookmarks and tests know it: moving a page keeps it."""
PAGE_FILES = sorted(p.relative_to(ROOT / "views").as_posix()
                    for p in (ROOT / "views").rglob("*.py"))
"""Every page file, relative to ``views/`` (``why/rps.py``)."""


def test_navigation_follows_the_lessons_arc_and_keeps_every_url():
    from ui import navigation

    entries = navigation.entries()
    assert [e.title for e in entries] == ARC
    assert {e.title: e.url_path for e in entries} == URL_PATHS
    assert sorted(e.file for e in entries) == PAGE_FILES
    # the page files are grouped as the menu groups them: one folder per section
    folders = {section: {str(Path(e.file).parent) for e in pages}
               for section, pages in navigation.SECTIONS.items()}
    assert all(len(f) == 1 for f in folders.values()), folders
    assert len({f for fs in folders.values() for f in fs}) == len(folders), folders
    assert folders[""] == {"."}  # Home, on its own at views/home.py
    # a page file is named after its URL path, whatever its folder: AppTest, switching pages
    # before its first run, infers a page's URL path from its file's name
    assert all(Path(e.file).stem == (e.url_path or "home") for e in entries)
    sections = list(navigation.SECTIONS)
    assert sections[0] == "" and navigation.SECTIONS[""] == (navigation.HOME,)
    assert sections[1].endswith("Why a policy?") and sections[-1] == "Class"
    # Home walks through the same steps, in the same order, linking to those URLs
    at = app()
    links = [p.proto.page for p in at.get("page_link")]
    assert links[:len(entries) - 1] == [e.url_path for e in entries[1:]]
    text = [m.value for m in at.main.markdown]
    where = [next(i for i, t in enumerate(text) if t.startswith(f"**{s}"))
             for s in sections[1:]]
    assert where == sorted(where)  # each section's paragraph, in the menu's order


@pytest.mark.parametrize("page", PAGE_FILES)
def test_every_page_renders_inside_the_router(page, monkeypatch):
    monkeypatch.setenv("PGLAB_EXPERIMENT_MODE", "inline")
    at = app(f"views/{page}")
    assert at.title, "every page has a title"
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("Your run" in m.value for m in at.sidebar.markdown)  # the shared sidebar


def test_theory_shows_formulas_next_to_the_real_code():
    at = app("views/reinforce/theory.py")
    assert at.title[0].value == "Theory"
    assert len(at.latex) >= 12
    code = "\n".join(c.value for c in at.code)
    for name in ("def discounted_returns", "def td_errors", "def gae_advantages", "def normalize",
                 "def reinforce_advantages", "def policy_terms", "def optimize", "def update"):
        assert name in code, name
    import inspect

    from pgcore.rl import returns
    assert inspect.getsource(returns.gae_advantages).strip() in code  # the live source
    # each algorithm's loss as written, before the section that makes it fast by hand
    from pgcore.algos import a2c, actor_critic, dqn, ppo, reinforce
    from ui.docs import source

    by_hand = code.index(source(ppo.PPOAgent.update).strip())
    for module in (reinforce, actor_critic, a2c, dqn, ppo):
        assert code.index(source(module.loss).strip()) < by_hand, module.__name__


def test_train_page_renders_with_controls():
    at = app("views/reinforce/train.py")
    assert at.title[0].value == "Train an agent"
    buttons = {b.key: b for b in at.button if b.key}
    assert not buttons["ctl.start"].disabled
    assert buttons["ctl.pause"].disabled and buttons["ctl.stop"].disabled
    assert at.radio(key="cfg.algo").value == "reinforce"
    assert not at.error


def next_start(at: AppTest) -> str:
    """The Train page's header: what the next Start runs."""
    return next(m.value for m in at.markdown if m.value.startswith("**Next Start:**"))


def test_train_starts_at_plain_reinforce_the_first_preset_listed():
    """The lesson starts with REINFORCE and no baseline: so does the page, and that preset
    is the reference band's "reinforce/none" config exactly."""
    from pgcore import PRESETS, default_config
    from ui.widgets import presets_for

    at = app("views/reinforce/train.py")
    preset = at.selectbox(key="cfg.preset")
    assert preset.value == "reinforce-plain" == presets_for("reinforce")[0]
    assert preset.options[0].startswith("Plain REINFORCE")
    assert at.radio(key="cfg.baseline").value == "none"
    assert "cfg.value_lr" not in [w.key for w in at.select_slider]  # no critic: no critic lr
    assert PRESETS["reinforce-plain"].config() == default_config("reinforce", "none")
    assert default_config("reinforce").baseline == "value"  # the tuned default is unchanged
    assert "preset" not in at.query_params and "algo" not in at.query_params


def test_the_header_names_what_the_next_start_runs_and_follows_the_widgets():
    at = app("views/reinforce/train.py")
    header = next_start(at)
    assert "REINFORCE, baseline: none (raw returns), seed 0, 1,000 episodes" in header
    assert "the preset “Plain REINFORCE" in header and "custom" not in header
    at.selectbox(key="cfg.preset").set_value("reinforce").run()
    assert "baseline: learned value V(s)" in next_start(at)
    assert "· the preset “Our default: learned value baseline”" in next_start(at)
    at.radio(key="cfg.baseline").set_value("none").run()
    header = next_start(at)
    assert "REINFORCE, baseline: none (raw returns)" in header
    assert ("custom settings based on the preset “Our default: learned value baseline” "
            "(changed: baseline)") in header
    at.number_input(key="cfg.seed").set_value(4).run()  # seed and budget: still that preset
    at.radio(key="cfg.baseline").set_value("value").run()
    assert "seed 4" in next_start(at) and "custom" not in next_start(at)
    at.radio(key="cfg.algo").set_value("a2c").run()
    assert next_start(at).startswith("**Next Start:** A2C, seed 4")


def _status(at: AppTest) -> str:
    return next(m.value for m in at.markdown if "Charts of the run:" in m.value)


def test_settings_changed_during_a_run_say_they_apply_at_the_next_start():
    at = app("views/reinforce/train.py")
    at.number_input(key="cfg.max_episodes").set_value(20_000).run()
    at.button(key="ctl.start").click().run()
    assert run_until(at, lambda a: episodes(a) > 0)
    assert not [i for i in at.info if "next Start" in i.value]  # nothing changed yet
    at.radio(key="cfg.baseline").set_value("value").run()
    at.button(key="ctl.pause").click().run()
    notes = [i.value for i in at.info if "Applies at the next Start" in i.value]
    assert len(notes) == 1, [i.value for i in at.info]
    assert "baseline: none (raw returns) → learned value V(s)" in notes[0]
    assert "the run below keeps its own settings" in notes[0]
    assert "baseline: none (raw returns)" in _status(at)  # the charts are still that run's
    assert "baseline: learned value V(s)" in next_start(at)
    at.radio(key="cfg.baseline").set_value("none").run()  # back as it was: no note
    assert not [i for i in at.info if "next Start" in i.value]
    at.button(key="ctl.stop").click().run()


def test_train_starts_a_run_and_episodes_appear():
    at = app("views/reinforce/train.py")
    start_short_run(at, "a2c", budget=40)
    assert run_until(at, lambda a: episodes(a) > 0), "no episodes appeared"
    assert len(at.get("arrow_vega_lite_chart")) >= 4 or len(at.get("vega_lite_chart")) >= 4
    assert run_until(at, lambda a: metric(a, "Episodes") == "40")  # the budget is exact
    # the 40th episode can show a moment before the run's end is recorded (the last rollout
    # and update finish first): wait for the end, then check what it says
    run_until(at, lambda a: any("episode budget" in s.value for s in a.success), timeout=10)
    assert metric(at, "Episodes") == "40"
    assert any("episode budget" in s.value for s in at.success)
    buttons = {b.key: b for b in at.button if b.key}
    assert not buttons["ctl.start"].disabled and buttons["ctl.stop"].disabled


def test_the_start_click_draws_the_runs_first_frame_in_its_own_rerun(monkeypatch):
    """The rerun of a Start click waits (at most ``ui.train.FIRST_FRAME_WAIT``) for the new
    run's first CartPole frame and draws it, instead of a placeholder until the panel's next
    refresh. (The wait is made long here, so that a slow machine cannot make it miss.)"""
    from ui import train

    monkeypatch.setattr(train, "FIRST_FRAME_WAIT", WAIT)
    at = app("views/reinforce/train.py")
    start_short_run(at, "reinforce", budget=200)  # one rerun: the Start click's
    images = at.get("image")
    assert len(images) == 1, "no frame in the Start click's rerun"
    assert "the policy playing: episode" in images[0].proto.imgs[0].caption
    assert not any("appears once training" in c.value for c in at.caption)


class _Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _snap(state: str = "running", frame=None):
    from types import SimpleNamespace

    return SimpleNamespace(state=state, frame=frame)


def test_wait_for_frame_returns_the_first_snapshot_with_a_frame():
    from ui.train import wait_for_frame

    clock = _Clock()
    snaps = iter([_snap(), _snap(), _snap(frame="f1"), _snap(frame="f2")])
    got = wait_for_frame(lambda: next(snaps), 0.5, poll=0.02, clock=clock, sleep=clock.sleep)
    assert got.frame == "f1" and clock.now == pytest.approx(0.04)


def test_wait_for_frame_gives_up_after_its_timeout_or_when_the_run_is_not_active():
    from ui.train import wait_for_frame

    clock = _Clock()
    got = wait_for_frame(_snap, 0.5, poll=0.02, clock=clock, sleep=clock.sleep)
    assert got.frame is None and clock.now == pytest.approx(0.5)  # never past the timeout
    clock = _Clock()
    states = iter(["waiting", "error"])
    got = wait_for_frame(lambda: _snap(next(states)), 0.5, poll=0.02, clock=clock,
                         sleep=clock.sleep)
    assert got.state == "error" and clock.now == pytest.approx(0.02)  # ended: no more wait
    assert wait_for_frame(lambda: None, 0.5, clock=clock, sleep=clock.sleep) is None


def _returns_datasets(at: AppTest) -> list[str]:
    """The named datasets of the Train page's returns chart (the first chart)."""
    chart = at.get("vega_lite_chart")[0].proto
    return sorted(d.name for d in chart.datasets)


def test_train_draws_a_typical_run_band_behind_the_run():
    at = app("views/reinforce/train.py")
    start_short_run(at, "a2c", budget=30)
    assert run_until(at, lambda a: episodes(a) > 0)
    assert at.toggle(key="train.reference").value is True
    text = " ".join(c.value for c in at.caption)
    assert "Grey band" in text and "of these settings" in text
    assert _returns_datasets(at) == ["reference", "returns"]
    assert "typical runs (reference)" in at.get("vega_lite_chart")[0].proto.spec
    at.toggle(key="train.reference").set_value(False).run()
    assert _returns_datasets(at) == ["returns"]
    assert "Grey band" not in " ".join(c.value for c in at.caption)


def test_pause_resume_stop_and_reset():
    at = app("views/reinforce/train.py")
    start_short_run(at, "a2c", budget=20_000)
    assert run_until(at, lambda a: episodes(a) > 5)
    at.button(key="ctl.pause").click().run()
    n = episodes(at)
    time.sleep(0.5)
    at.run()
    time.sleep(0.5)
    at.run()
    assert episodes(at) - n <= 20  # at most the rollout in flight when paused finished
    m = episodes(at)
    time.sleep(0.6)
    at.run()
    assert episodes(at) == m  # paused: nothing moves
    at.button(key="ctl.resume").click().run()
    assert run_until(at, lambda a: episodes(a) > m)
    at.button(key="ctl.stop").click().run()
    assert run_until(at, lambda a: any("Stopped" in i.value for i in a.info))
    at.button(key="ctl.reset").click().run()
    assert episodes(at) == 0 and metric(at, "Episodes") is None


def test_invalid_settings_give_a_message_not_a_traceback():
    at = app("views/reinforce/train.py")
    at.number_input(key="cfg.shared_layers").set_value(0).run()
    at.number_input(key="cfg.head_layers").set_value(0).run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert errors and "hidden layer" in errors[0]
    assert "Traceback" not in errors[0]
    assert {b.key: b for b in at.button if b.key}["ctl.start"].disabled


def test_presets_and_reset_to_defaults():
    at = app("views/reinforce/train.py")
    at.radio(key="cfg.algo").set_value("actor-critic").run()
    assert at.selectbox(key="cfg.preset").value == "actor-critic"
    at.selectbox(key="cfg.preset").set_value("actor-critic-lesson").run()
    assert at.select_slider(key="cfg.lr").value == pytest.approx(3e-4)
    assert at.number_input(key="cfg.shared_layers").value == 1
    at.select_slider(key="cfg.lr").set_value(1e-2).run()
    at.number_input(key="cfg.seed").set_value(5).run()
    at.button(key="cfg_reset").click().run()
    assert at.select_slider(key="cfg.lr").value == pytest.approx(3e-4)
    assert at.number_input(key="cfg.seed").value == 0
    assert not at.error and not at.exception


def test_lesson_actor_critic_shows_the_collapse_note():
    at = app("views/reinforce/train.py")
    at.radio(key="cfg.algo").set_value("actor-critic").run()
    at.selectbox(key="cfg.preset").set_value("actor-critic-lesson").run()
    at.number_input(key="cfg.max_episodes").set_value(30).run()
    at.button(key="ctl.start").click().run()
    assert run_until(at, lambda a: episodes(a) > 0)
    notes = " ".join(w.value for w in at.warning)
    assert "entropy" in notes and "V(s₀)" in notes
    # the typical-run band behind it is our default's, and says so
    assert "this algorithm's default settings (yours differ)" in " ".join(
        c.value for c in at.caption)
    assert _returns_datasets(at) == ["reference", "returns"]
    # switching algorithm: the explainer goes, the charts stay and say whose they are
    at.radio(key="cfg.algo").set_value("a2c").run()
    assert not any("V(s₀)" in w.value for w in at.warning)
    assert "One-step actor-critic" in _status(at) and "watch it collapse" in _status(at)
    assert any("algorithm: One-step actor-critic → A2C" in i.value for i in at.info)
    at.radio(key="cfg.algo").set_value("actor-critic").run()
    at.selectbox(key="cfg.preset").set_value("actor-critic-lesson").run()
    assert any("V(s₀)" in w.value for w in at.warning)  # its own algorithm again


def test_the_frame_caption_never_counts_past_the_budget():
    from ui.train import frame_caption

    assert frame_caption(1_000, 17, 1_000) == "the policy playing: episode 1,000, step 17"
    assert frame_caption(1_001, 3, 1_000) == "the policy playing: finished after 1,000 episodes"
    assert frame_caption(20_001, 3, None) == "the policy playing: episode 20,001, step 3"


def test_dqn_on_the_train_page_shows_q_values_and_epsilon():
    at = app("views/reinforce/train.py")
    start_short_run(at, "dqn", budget=30)
    assert run_until(at, lambda a: episodes(a) > 3), "no DQN episodes appeared"
    assert run_until(at, lambda a: any("ε = " in c.value for c in a.caption), timeout=30)
    overlay = " ".join(h.proto.body for h in at.get("html"))
    assert "Q(s, left)" in overlay and "Q(s, right)" in overlay and "π(" not in overlay
    assert any("mean predicted Q" in c.value for c in at.caption)  # where V(s) would be
    run_until(at, lambda a: any("episode budget" in s.value for s in a.success), timeout=60)
    assert at.toggle(key="watch.greedy").label == "Always take the action with the largest Q"


def test_settings_and_run_survive_a_page_switch():
    at = app("views/reinforce/train.py")
    at.number_input(key="cfg.seed").set_value(7).run()
    start_short_run(at, "a2c", budget=30)
    assert run_until(at, lambda a: metric(a, "Episodes") == "30")
    at.switch_page("views/reinforce/theory.py").run()
    assert not at.exception and at.title[0].value == "Theory"
    sidebar = " ".join(c.value for c in at.sidebar.caption)
    assert "30 episodes" in sidebar
    at.switch_page("views/reinforce/train.py").run()
    assert not at.exception
    assert metric(at, "Episodes") == "30"  # the same run, still there
    assert at.number_input(key="cfg.seed").value == 7  # and the settings


def test_a_run_waits_for_a_free_slot_and_starts_by_itself(monkeypatch):
    # Every AppTest shares one session id, so "another session" is a run started directly
    # in the app's process-wide pool, which has a single slot here.
    from pgcore import preset
    from pgcore.execution.runner import BackgroundRun
    from ui import state

    monkeypatch.setenv("PGLAB_MAX_RUNS", "1")
    state.slot_pool.clear()  # a fresh process-wide pool with a single slot
    try:
        at = app("views/reinforce/train.py")
        pool = state.slot_pool()
        assert pool.max_concurrent == 1
        other = BackgroundRun(preset("a2c", max_episodes=20_000), pool, frame_every=None)
        other.start()
        deadline = time.monotonic() + WAIT
        while other.state != "running" and time.monotonic() < deadline:
            time.sleep(0.05)
        start_short_run(at, "a2c", budget=20)
        assert any("Waiting for a free training slot" in i.value for i in at.info)
        sidebar = " ".join(c.value for c in at.sidebar.caption)
        assert "1 of 1 busy" in sidebar and "1 waiting" in sidebar
        time.sleep(0.5)
        at.run()
        assert episodes(at) == 0  # still waiting
        other.stop()
        assert run_until(at, lambda a: metric(a, "Episodes") == "20")  # started by itself
    finally:
        stop_all()
        state.slot_pool.clear()


def _snapshot_with(n_episodes: int, updates_per_episode: int = 3):
    from pgcore import EpisodeEnd, UpdateEnd, preset
    from pgcore.execution import SlotPool
    from pgcore.execution.runner import BackgroundRun

    rng = np.random.default_rng(0)
    run = BackgroundRun(preset("a2c", max_episodes=n_episodes), SlotPool(1))
    update = 0
    for i in range(1, n_episodes + 1):
        for _ in range(updates_per_episode):
            update += 1
            run._on_event(UpdateEnd(update, i * 20, i - 1, i * 0.01, {
                "policy_loss": float(rng.normal()), "value_loss": float(rng.random()),
                "entropy": 0.5, "grad_norm": 1.0, "advantage_mean": 0.0, "advantage_std": 1.0,
                "advantage_rms": 1.0, "value_mean": 3.0, "target_mean": 3.0, "batch_size": 8}))
        length = int(rng.integers(8, 500))
        run._on_event(EpisodeEnd(i, float(length), length, i * 20, i * 0.01, 9.0, 50.0))
    return run.snapshot()


def test_chart_rolling_stats_match_pgcore_metrics():
    from pgcore.training import metrics
    from ui.charts import curves

    x = np.random.default_rng(1).integers(8, 500, size=777).astype(float)
    mean, std = curves.rolling_mean_std(x, 100)
    assert np.allclose(mean, metrics.moving_average(x, 100))
    assert np.allclose(std, metrics.rolling_std(x, 100), atol=1e-6)


def test_charts_send_a_bounded_number_of_points():
    from ui.charts import curves, live
    from ui.charts.specs import spec_points

    snap = _snapshot_with(20_000)
    returns = live.returns_spec(snap)
    assert spec_points(returns) <= live.MAX_POINTS
    table = returns["datasets"]["returns"]
    assert table.column("x").to_pylist()[-1] == 20_000  # the last episode is always there
    for spec in live.diagnostics_specs(snap):
        assert spec_points(spec) <= live.SMALL_POINTS
    assert spec_points(live.value_spec(snap)) <= 2 * live.SMALL_POINTS
    # the moving average is computed on the full history, then sampled
    full = curves.rolling_mean_std(snap.episodes["episode_return"], 100)[0]
    assert np.isclose(table.column("avg").to_pylist()[-1], full[-1], rtol=1e-5)


def _env_steps(at: AppTest) -> int:
    """Env steps of the run, from the progress bar's text ("... · 1,234 env steps · ...")."""
    for p in at.get("progress"):
        m = re.search(r"([\d,]+) env steps", p.proto.text)
        if m:
            return int(m.group(1).replace(",", ""))
    return 0


def _greedy_caption(at: AppTest) -> str | None:
    return next((c.value for c in at.caption if c.value.startswith("Greedy evaluation at")),
                None)


def _start_dqn(at: AppTest, budget: int, eval_every=None) -> None:
    at.radio(key="cfg.algo").set_value("dqn").run()  # loads the DQN defaults: evaluation off
    slider = at.select_slider(key="cfg.eval_every")
    assert slider.value is None and slider.options[0] == "off"
    assert slider.label == "Greedy evaluation every" and "greedy" in slider.help
    if eval_every is not None:
        slider.set_value(eval_every).run()
        assert at.select_slider(key="cfg.eval_every").value == eval_every
    at.number_input(key="cfg.max_episodes").set_value(budget).run()
    assert not at.error, [e.value for e in at.error]
    at.button(key="ctl.start").click().run()
    assert not at.exception, at.exception


def test_train_greedy_evaluations_show_on_the_returns_chart():
    at = app("views/reinforce/train.py")
    _start_dqn(at, budget=2_000, eval_every=1_000)
    assert run_until(at, lambda a: _greedy_caption(a) is not None), "no greedy evaluation"
    assert _env_steps(at) >= 1_000
    assert "evaluations" in _returns_datasets(at)
    assert _returns_datasets(at) == ["evaluations", "reference", "returns"]
    chart = at.get("vega_lite_chart")[0].proto
    assert "greedy evaluation (mean of 10 episodes)" in chart.spec
    table = next(d for d in chart.datasets if d.name == "evaluations")
    assert table.data.data  # the evaluations' rows travel with the chart
    caption = _greedy_caption(at)
    m = re.fullmatch(r"Greedy evaluation at episode ([\d,]+): ([\d.]+) \(10 episodes\); the "
                     r"training average of the last (\d+) episodes, with exploration, is "
                     r"([\d.]+)\.", caption)
    assert m, caption
    assert 1 <= int(m.group(1).replace(",", "")) <= episodes(at)
    assert 1.0 <= float(m.group(2)) <= 500.0


def test_train_without_greedy_evaluations_draws_the_chart_as_before():
    at = app("views/reinforce/train.py")
    _start_dqn(at, budget=2_000)  # the default: off
    assert run_until(at, lambda a: _env_steps(a) >= 2_500), "the run did not get far enough"
    assert _returns_datasets(at) == ["reference", "returns"]
    assert "greedy evaluation" not in at.get("vega_lite_chart")[0].proto.spec
    assert _greedy_caption(at) is None


def test_returns_chart_keeps_its_threshold_rules():
    """The 195 / 475 rules are constant data inside the template: they must survive the live
    datasets being put in (they used to be dropped with the template's own datasets)."""
    import json

    from ui.charts import live
    from ui.charts.specs import with_data

    spec = with_data(live._returns_template(100, 500.0, 100, False), returns=[])
    assert list(spec["datasets"]) == ["returns"]
    text = json.dumps(spec)
    assert "475: CartPole-v1 solved" in text and "195: CartPole-v0 solved" in text
    assert '"name": "data-' not in text  # nothing points at a dataset that is not there


def test_train_page_offers_only_presets_for_its_environment():
    """The Train page trains CartPole-v1: a preset for another env (a2c-pendulum) is not in its
    picker, where it would silently have run on CartPole."""
    from pgcore import PRESETS
    from ui.widgets import presets_for

    assert PRESETS["a2c-pendulum"].values["env_id"] == "Pendulum-v1"
    assert presets_for("a2c")[0] == "a2c" and "a2c-pendulum" not in presets_for("a2c")
