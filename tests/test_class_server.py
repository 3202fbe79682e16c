"""One server for a class: Train runs in host processes through the real page, the refresh
interval that follows the server's load, and the memory budget's "server is full" page."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pgcore.execution import stop_all  # noqa: E402
from pgcore.execution.hosts import shutdown_run_hosts  # noqa: E402
from tests.test_app import app, episodes, run_until, start_short_run  # noqa: E402


@pytest.fixture(autouse=True)
def _stop_runs():
    yield
    stop_all()


def test_a_train_page_run_trains_in_a_host_process(monkeypatch):
    monkeypatch.setenv("PGLAB_RUNS", "hosts")
    from ui import state

    try:
        at = app("views/reinforce/train.py")
        hosts = state.training_hosts()
        assert hosts is not None and hosts.alive  # started with the first page
        started = []  # the runs the hosts were given
        start = hosts.start
        monkeypatch.setattr(hosts, "start", lambda run_id, *a, **k: (
            started.append(run_id), start(run_id, *a, **k))[1])
        start_short_run(at, "a2c", budget=30)
        assert run_until(at, lambda a: episodes(a) > 0, timeout=120), "no episodes appeared"
        assert len(started) == 1  # it runs there
        assert run_until(at, lambda a: episodes(a) == 30, timeout=120)
        sidebar = " ".join(c.value for c in at.sidebar.caption)
        assert "sharing" in sidebar and "core" in sidebar
        # the frame came from the host without an image and was drawn here
        assert at.get("imgs") or at.image, "no CartPole frame"
    finally:
        stop_all()
        shutdown_run_hosts()


def test_the_refresh_interval_follows_the_load(monkeypatch):
    from ui import train

    monkeypatch.setattr("ui.state.server_cores", lambda: 2)
    for n, expected in ((0, 0.5), (2, 0.5), (4, 1.0), (8, 2.0), (30, 3.0)):
        monkeypatch.setattr("pgcore.execution.live_tasks", lambda n=n: [object()] * n)
        assert train.refresh_seconds() == pytest.approx(expected), n


def test_a_view_is_never_asked_to_refresh_faster_than_it_draws(monkeypatch):
    from ui import experiment_controls, sidebar, train
    from ui.state import MAX_SLOW_SECONDS, SLOW_DRAW, paced

    monkeypatch.setattr("ui.state.server_cores", lambda: 2)
    monkeypatch.setattr("pgcore.execution.live_tasks", lambda: [object()] * 30)
    assert sidebar.status_seconds() == pytest.approx(sidebar.MAX_STATUS_SECONDS)
    assert paced(experiment_controls.REFRESH_SECONDS,
                 experiment_controls.MAX_REFRESH_SECONDS) == pytest.approx(5.0)
    # a draw of 2 s (a busy server): refreshes come no faster than every 2.5 x 2 s
    assert train.refresh_seconds(took=0.01) == pytest.approx(3.0)
    assert train.refresh_seconds(took=2.0) == pytest.approx(SLOW_DRAW * 2.0)
    assert train.refresh_seconds(took=600.0) == pytest.approx(MAX_SLOW_SECONDS)
    monkeypatch.setattr("pgcore.execution.live_tasks", lambda: [])
    assert sidebar.status_seconds() == pytest.approx(sidebar.STATUS_SECONDS)
    assert paced(1.0, 5.0, took=1.0) == pytest.approx(2.5)


def test_a_view_registers_again_only_for_a_real_change_of_interval():
    """Each change of a live view's interval costs its page a whole run: a class of 60 whose
    intervals followed every swing of the load spent the server on re-registering (8-16
    page runs cut short per tab in 60 s). Slow down at 1.5 times, speed up at half."""
    from ui.state import FASTER, SLOWER, repace

    assert (SLOWER, FASTER) == (1.5, 2.0)
    assert not repace(None, 3.0)  # not registered yet: the page registers it anyway
    assert not repace(0.5, 0.5) and not repace(0.5, 0.74)
    assert repace(0.5, 0.75) and repace(2.0, 3.0)
    assert not repace(3.0, 1.6) and not repace(3.0, 4.4)  # swings within the band: stay
    assert repace(3.0, 1.5) and repace(3.0, 0.5)


def test_a_first_slow_draw_alone_keeps_the_interval(monkeypatch):
    """A view's first draw carries one-time costs (templates, imports): on its own it does not
    move the interval (a whole page run); slow draws that go on do."""
    from ui import train
    from ui.state import repace, smoothed_draw

    monkeypatch.setattr("ui.state.server_cores", lambda: 2)
    monkeypatch.setattr("pgcore.execution.live_tasks", lambda: [])
    every = train.refresh_seconds()
    took = smoothed_draw(None, 0.5)  # 0.5 s of CPU: 2.5 x 0.5 = 1.25 s if taken alone
    assert not repace(every, train.refresh_seconds(took))
    for _ in range(3):
        took = smoothed_draw(took, 0.5)
    assert repace(every, train.refresh_seconds(took))


def test_a_drawing_is_timed_on_the_threads_cpu_clock():
    """Waiting for the interpreter (other tabs' refreshes) is not drawing time."""
    import threading
    import time

    from ui.state import draw_clock

    busy = threading.Event()

    def hold_the_interpreter():
        while not busy.is_set():
            pass

    other = threading.Thread(target=hold_the_interpreter)
    other.start()
    try:
        began, wall = draw_clock(), time.perf_counter()
        time.sleep(0.2)  # waiting: no CPU time of this thread
        assert time.perf_counter() - wall >= 0.2
        assert draw_clock() - began < 0.1
    finally:
        busy.set()
        other.join()


def test_sessions_fit_the_memory_budget(monkeypatch):
    from ui import state

    monkeypatch.setattr(state, "server_cores", lambda: 2)
    monkeypatch.setenv("PGLAB_RUNS", "hosts")
    monkeypatch.setenv("PGLAB_MEMORY_MB", "2700")
    expected = int((2700 - state.RESERVE_MB - state.SERVER_MB - 2 * state.HOST_MB)
                   // state.SESSION_MB)
    assert state.max_sessions() == expected >= 30  # a class of 30 fits the default
    monkeypatch.setattr(state, "_detected_memory", lambda: (2700.0, "cgroup limit"))
    monkeypatch.setenv("PGLAB_MEMORY_MB", "not a number")
    assert state.max_sessions() == expected  # a bad value: the detected memory, not a crash
    monkeypatch.setenv("PGLAB_MEMORY_MB", "10")
    assert state.max_sessions() == 1


def test_the_budget_is_the_memory_the_server_may_use(monkeypatch):
    """No PGLAB_MEMORY_MB: the cgroup's limit (a Community Cloud tier), read by
    usable_memory_mb(); PGLAB_MEMORY_MB overrides it."""
    from ui import state

    monkeypatch.delenv("PGLAB_MEMORY_MB", raising=False)
    monkeypatch.setattr(state, "_detected_memory", lambda: (690.0, "cgroup limit"))
    assert state.memory_budget_mb() == 690.0
    assert state.memory_plan().source == "cgroup limit"
    monkeypatch.setenv("PGLAB_MEMORY_MB", "1024")
    assert state.memory_budget_mb() == 1024.0
    monkeypatch.undo()
    assert 0 < state.memory_budget_mb()  # this machine's own figure


@pytest.mark.parametrize(("budget", "cores", "hosts", "at_least", "at_most"), [
    (690, 2, 0, 2, 4),      # Community Cloud's smallest tier: runs in threads of the server
    (1024, 2, 1, 10, 15),   # one host fits with room for ten learners; two would not
    (2700, 2, 2, 60, 80),   # the largest tier: a host per core, a class of 30 and more
    (2700, 1, 1, 60, 90),
    (16000, 8, 8, 300, 1000),
])
def test_the_memory_plan(budget, cores, hosts, at_least, at_most):
    from ui import state

    plan = state.plan_memory(budget, cores)
    assert plan.hosts == hosts
    assert at_least <= plan.max_sessions <= at_most
    # what the plan admits fits the budget, by the measured costs
    per = state.THREAD_SESSION_MB if plan.in_threads else state.SESSION_MB
    assert (state.SERVER_MB + plan.hosts * state.HOST_MB + plan.max_sessions * per
            <= budget - state.RESERVE_MB)


def test_the_runs_setting_bends_the_plan():
    from ui import state

    assert state.plan_memory(690, 2, "hosts").hosts == 1  # asked for: one, tight as it is
    assert state.plan_memory(690, 2, "hosts").workers_fit is False
    threads = state.plan_memory(2700, 2, "threads")
    assert threads.hosts == 0 and threads.workers_fit  # chosen: memory caps the sessions
    assert threads.max_sessions > state.plan_memory(690, 2).max_sessions
    assert state.plan_memory(50, 2).max_sessions == 1  # never less than one
    assert "threads of the server" in state.plan_memory(690, 2, source="cgroup limit").text()


def test_a_session_is_admitted_while_its_memory_fits():
    from ui import state

    plan = state.plan_memory(690, 2)
    assert state.room_for_a_session(plan, 0, 60.0, False)  # first visitor, torch not loaded
    assert not state.room_for_a_session(plan, plan.max_sessions, 300.0, False)  # the cap
    assert not state.room_for_a_session(plan, 1, 600.0, False)  # the real charge
    hosts = state.plan_memory(2700, 2)
    assert state.room_for_a_session(hosts, 10, 900.0, True)
    assert not state.room_for_a_session(hosts, 10, 2540.0, True)  # within 25 MB


def test_without_room_for_hosts_runs_and_experiments_stay_in_the_server(monkeypatch):
    """690 MB: no host and no worker process fits, so Train runs train in threads of the
    server (every admitted session at once) and experiment jobs inline."""
    from ui import experiment_session, state

    monkeypatch.delenv("PGLAB_RUNS", raising=False)
    monkeypatch.delenv("PGLAB_MAX_RUNS", raising=False)
    monkeypatch.delenv("PGLAB_EXECUTOR", raising=False)
    monkeypatch.delenv("PGLAB_EXPERIMENT_MODE", raising=False)
    monkeypatch.setattr(state, "server_cores", lambda: 2)
    monkeypatch.setenv("PGLAB_MEMORY_MB", "690")
    assert not state.runs_in_hosts() and state.training_hosts() is None
    assert state._max_runs() == state.max_sessions() >= 2
    assert experiment_session.experiment_mode() == "inline"
    monkeypatch.setenv("PGLAB_MEMORY_MB", "2700")
    assert state.runs_in_hosts() and state._max_runs() == 2
    assert experiment_session.experiment_mode() == "process"


def test_past_the_budget_a_new_session_sees_the_server_is_full(monkeypatch):
    monkeypatch.setenv("PGLAB_MEMORY_MB", "50")  # less than this process already uses
    at = app()
    assert at.title[0].value == "The server is full"
    assert "Try again in a minute" in at.info[0].value
    assert not at.exception
    monkeypatch.setenv("PGLAB_MEMORY_MB", "2700")
    at.button[0].click().run()  # "Try again": now there is room
    assert at.title[0].value == "Policy Gradient Lab"


def test_an_admitted_session_stays_admitted(monkeypatch):
    at = app()
    assert at.title[0].value == "Policy Gradient Lab"
    monkeypatch.setenv("PGLAB_MEMORY_MB", "50")
    at.run()
    assert at.title[0].value == "Policy Gradient Lab" and not at.exception


def test_the_community_cloud_entry_point_runs_the_same_app():
    """cloud/streamlit_app.py is the hosted app's entry point (its folder's requirements.txt
    is the one Community Cloud installs): every page, and the links between them, work from
    there as from app.py."""
    from streamlit.testing.v1 import AppTest

    from ui import navigation

    at = AppTest.from_file(str(ROOT / "cloud" / "streamlit_app.py"), default_timeout=60)
    at.run()
    assert not at.exception and at.title[0].value == "Policy Gradient Lab"
    for page, title in (("theory", "Theory"), ("train", "Train an agent"),
                        ("board", "Class board")):
        at.switch_page(f"../views/{navigation.page(page).file}")
        at.run()
        assert not at.exception, page
        assert at.title[0].value == title
    lines = (ROOT / "cloud" / "requirements.txt").read_text().split("\n")
    assert "-r ../requirements.txt" in lines  # the app's requirements, not a copy
    assert "torch==2.13.0+cpu" in lines and any("download.pytorch.org/whl/cpu" in x
                                                 for x in lines)


def test_tabs_watching_one_run_share_its_frame_jpeg_and_it_goes_with_the_frame():
    import gc

    import numpy as np

    from pgcore.training.events import Frame
    from ui import train
    from ui.state import RunHolder

    frame = Frame(1, 2, np.zeros(4), np.array([0.5, 0.5]), 0.0,
                  rgb=np.full((400, 600, 3), 200, np.uint8))
    first = train.frame_jpeg(RunHolder(), frame)
    assert first[:2] == b"\xff\xd8"
    assert train.frame_jpeg(RunHolder(), frame) is first  # another tab: encoded once
    key = (id(frame), True)
    del frame
    gc.collect()
    assert train._FRAMES.get(key) is None  # the cache held no image alive
