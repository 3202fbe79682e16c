"""The Class board page (views/classroom/board.py, ui/board.py) inside the app's router under
AppTest: joining a class (names validated, escaped), a Train run recorded and shown on its
class's board and not on another's, the teacher view behind its key, and a broken database
shown as one line while the Train page keeps training. Every test uses its own tmp_path database."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import pytest
from streamlit.testing.v1 import AppTest

from pgcore.execution import stop_all
from ui import board, recording

APP = str(ROOT / "app.py")
PAGE = "views/classroom/board.py"
TIMEOUT = 60


@pytest.fixture(autouse=True)
def _stop_runs():
    yield
    stop_all()


@pytest.fixture
def db(tmp_path, monkeypatch) -> str:
    url = f"sqlite:///{tmp_path / 'runs.sqlite'}"
    monkeypatch.setenv("PGLAB_DB_URL", url)
    monkeypatch.delenv(board.TEACHER_KEY_ENV, raising=False)
    return url


def app(page: str = PAGE) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    at.switch_page(page)
    at.run()
    assert not at.exception, at.exception
    return at


def go(at: AppTest, page: str) -> None:
    at.switch_page(page)
    at.run()
    assert not at.exception, at.exception


def join(at: AppTest, name: str, code: str) -> None:
    at.text_input(key=board.NAME_KEY).input(name).run()
    at.text_input(key=board.CLASS_KEY).input(code).run()
    at.button(key="board.join").click().run()
    assert not at.exception, at.exception


def train(at: AppTest, budget: int) -> None:
    go(at, "views/reinforce/train.py")
    at.radio(key="cfg.algo").set_value("reinforce").run()
    at.number_input(key="cfg.max_episodes").set_value(budget).run()
    at.button(key="ctl.start").click().run()
    assert not at.exception, at.exception


def wait_for(predicate, at: AppTest | None = None, timeout: float = 90.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if at is not None:
            at.run()
        if predicate():
            return True
        time.sleep(0.3)
    return False


def texts(at: AppTest, kind: str) -> list[str]:
    return [e.value for e in getattr(at, kind)]


def tables(at: AppTest) -> list:
    return [d.value for d in at.dataframe]


def test_the_router_lists_the_board_after_train():
    from ui import navigation

    files = [e.file for e in navigation.entries()]  # the router's pages, in its order
    assert files.index("reinforce/train.py") < files.index("classroom/board.py")
    assert "navigation.SECTIONS" in (ROOT / "app.py").read_text()


def test_joining_validates_and_escapes_the_name(db):
    at = app()
    assert at.title[0].value == "Class board" and not at.error
    assert any("recorded anonymously" in c for c in texts(at, "caption"))
    join(at, "<b>Eve</b>", "phys7")
    assert texts(at, "error") == ["Display name may not contain '<': use letters, digits, "
                                  "spaces and . - _ ' only."]
    join(at, "O'Brien_x", "ab")
    assert len(at.error) == 1 and "Class code must be 3 to 16" in at.error[0].value
    join(at, "  O'Brien_x ", " phys7 ")
    assert not at.error
    you = next(c for c in texts(at, "caption") if c.startswith("You are"))
    assert "**O\\'Brien\\_x**" in you and "**PHYS7**" in you  # escaped for markdown
    assert at.text_input(key=board.CLASS_KEY).value == "PHYS7"
    assert any("No runs in class PHYS7 yet" in i for i in texts(at, "info"))


def test_a_train_run_is_recorded_and_shown_to_its_class_only(db):
    at = app()
    join(at, "Ada", "PHYS7")
    train(at, budget=12)
    store = recording.recorder().store()
    assert wait_for(lambda: [r.status for r in store.runs("PHYS7")] == ["finished"], at)
    rec = store.runs("PHYS7")[0]
    assert (rec.who, rec.algo, rec.episodes, len(rec.returns)) == ("Ada", "reinforce", 12, 12)
    go(at, PAGE)
    assert not at.error, texts(at, "error")
    assert any("recorded under class PHYS7 as Ada" in c for c in texts(at, "caption"))
    assert len(at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")) == 1
    everyone = tables(at)[-1]  # the expander's table of all the class's runs
    assert list(everyone["learner"]) == ["Ada"] and list(everyone["episodes"]) == [12]
    assert "Teacher view" in [s.value for s in at.subheader]
    assert not any("Training on the server" in m.value for m in at.markdown)  # no key set
    join(at, "Bob", "OTHER1")  # another class sees none of it
    assert any("No runs in class OTHER1 yet" in i for i in texts(at, "info"))
    assert not at.get("arrow_vega_lite_chart") and not at.get("vega_lite_chart")
    assert not any("Ada" in str(t.to_dict()) for t in tables(at))


def test_an_anonymous_run_is_recorded_under_no_class(db):
    at = app("views/reinforce/train.py")
    train(at, budget=10)
    store = recording.recorder().store()
    assert wait_for(lambda: [r.status for r in store.runs(None)] == ["finished"], at)
    assert store.runs(None)[0].who == "anonymous" and store.classes() == []


def test_the_teacher_view_needs_the_key_and_shows_whats_training(db, monkeypatch):
    at = app()
    assert any("PGLAB_TEACHER_KEY" in i for i in texts(at, "info"))  # how to set one
    monkeypatch.setenv(board.TEACHER_KEY_ENV, "sesame")
    join(at, "Ada", "PHYS7")
    train(at, budget=20_000)
    assert wait_for(lambda: recording.recorder().active(), at, timeout=30)
    go(at, PAGE)
    at.text_input(key="board.teacher_input").input("wrong").run()
    at.button(key="board.unlock").click().run()
    assert "That is not the teacher key." in texts(at, "error")
    assert not any("Training on the server" in m.value for m in at.markdown)
    at.text_input(key="board.teacher_input").input("sesame").run()
    at.button(key="board.unlock").click().run()
    assert not at.error, texts(at, "error")
    assert any("Training on the server right now" in m.value for m in at.markdown)
    live = next(t for t in tables(at) if "task" in t.columns)
    row = live[live["task"] == "Train run"].iloc[0]
    assert (row["learner"], row["class"], row["algorithm"]) == ("Ada", "PHYS7", "reinforce")
    assert row["state"] in ("running", "waiting") and row["where"] == "this server"
    assert at.selectbox(key="board.teacher_class").value == "PHYS7"
    assert any(b.proto.label == "Runs of PHYS7 (CSV)" for b in at.get("download_button"))
    teacher_runs = tables(at)[-1]
    assert list(teacher_runs["learner"]) == ["Ada"] and list(teacher_runs["class"]) == ["PHYS7"]
    at.button(key="board.lock").click().run()
    assert not any("Training on the server" in m.value for m in at.markdown)


def test_closing_the_tab_records_the_run_as_stopped(db):
    """Streamlit calls on_release (SessionTasks.release) when a tab goes away; AppTest cannot
    fire it, so this drives the session's tasks directly, as the app's cache does."""
    from pgcore import default_config
    from pgcore.execution import SlotPool
    from ui import state

    tasks = state.SessionTasks()
    run = tasks.train.start(default_config("reinforce", max_episodes=20_000), SlotPool(1))
    assert tasks.train.recording is not None  # outside a session: recorded anonymously
    assert wait_for(lambda: run.counts[0] >= 2, timeout=60)
    tasks.release()
    assert run.join(30) and recording.recorder().flush(10)
    (rec,) = recording.recorder().store().runs(None)
    assert rec.status == "stopped" and rec.episodes >= 2 and len(rec.returns) == rec.episodes


@pytest.mark.parametrize("broken", ["corrupt", "unmakeable folder"])
def test_a_broken_database_is_one_line_and_training_goes_on(tmp_path, monkeypatch, broken):
    if broken == "corrupt":
        bad = tmp_path / "runs.sqlite"
        bad.write_bytes(b"not a database " * 300)
        expect = "not a readable SQLite database"
    else:
        (tmp_path / "afile").write_text("x")
        bad = tmp_path / "afile" / "sub" / "runs.sqlite"
        expect = "cannot create the folder"
    monkeypatch.setenv("PGLAB_DB_URL", f"sqlite:///{bad}")
    at = app()
    errors = texts(at, "error")
    assert len(errors) == 1 and expect in errors[0] and "\n" not in errors[0]
    assert "Training still works" in errors[0]
    join(at, "Ada", "PHYS7")
    train(at, budget=10)
    assert wait_for(lambda: any("episode budget" in s.value for s in at.success), at)
    assert not at.exception
    go(at, PAGE)
    warnings = texts(at, "warning")
    assert any(w.startswith("This run is not being recorded:") and expect in w
               for w in warnings), warnings
    # forget the run, as a learner would with Reset: AppTests in one process share the
    # session-scoped holder, so a kept run (its recording failed) would show on later pages
    go(at, "views/reinforce/train.py")
    at.button(key="ctl.reset").click().run()
    assert not at.exception


def test_recording_off_says_so(monkeypatch):
    monkeypatch.setenv("PGLAB_DB_URL", "off")
    at = app()
    assert any("Run history is turned off" in i for i in texts(at, "info"))
    assert not at.error


def test_curves_are_bounded_per_learner_and_latest_first():
    import numpy as np

    from pgcore.store.history import RunRecord

    def rec(name, n, t):
        return RunRecord(run_id=f"{name}{t}".ljust(32, "0"), replica="r", class_code="C1X",
                         display_name=name, algo="reinforce", env_id="CartPole-v1", seed=0,
                         preset=None, config={}, status="finished", message="",
                         started_at=t, heartbeat_at=t, ended_at=t, episodes=n, env_steps=0,
                         seconds=0.0, best_avg100=None, final_avg100=None,
                         episodes_to_475=None, first_episode=1,
                         returns=np.arange(n, dtype=float))

    records = [rec("Ada", 5000, 3.0), rec("Ada", 50, 2.0), rec("Bob", 80, 1.0)]
    frame = board.curve_frame(records)
    assert sorted(frame["learner"].unique()) == ["Ada", "Bob"]
    ada = frame[frame["learner"] == "Ada"]
    assert len(ada) <= board.CURVE_POINTS and ada["episode"].max() == 5000  # the latest run
    assert ada["average"].iloc[-1] == pytest.approx(np.arange(4900, 5000).mean())
    assert len(board.curve_frame(records, latest_only=False)["learner"].unique()) == 3


# ----- several app servers on one database ----------------------------------------------------

CRASHED = """
import os, sys
sys.path.insert(0, {root!r})
os.environ["PGLAB_REPLICA"] = "app1"
from pgcore.store.history import RunStore
store = RunStore(sys.argv[1])
rid = store.start_run({{"algo": "a2c", "env_id": "CartPole-v1", "seed": 4}},
                      display_name="Ada", class_code="MULTI")
store.heartbeat({{rid: (37, 5000, 12.0, [float(20 + i) for i in range(37)], 1)}})
print(rid, flush=True)
os._exit(9)  # the app server is killed mid-run: no end is ever written
"""


def crashed_run(url: str) -> str:
    """A run recorded by another app server (``app1``) that died mid-run: its id."""
    import subprocess

    out = subprocess.run([sys.executable, "-c", CRASHED.format(root=str(ROOT)), url],
                         capture_output=True, text=True, timeout=60)
    assert len(out.stdout.strip()) == 32, out.stderr
    return out.stdout.strip()


def test_the_board_shows_another_servers_runs_and_its_interrupted_ones(db_url, monkeypatch):
    """The class board on one app server reads every server's runs from the shared database
    (SQLite and PostgreSQL): a finished run of this server, and a run of a server that was
    killed, marked interrupted by this one once its heartbeat went stale."""
    from pgcore.store import history

    monkeypatch.setenv("PGLAB_DB_URL", db_url)
    monkeypatch.setenv(history.STALE_ENV, "0.5")
    monkeypatch.setenv(history.HEARTBEAT_ENV, "0.25")
    monkeypatch.setenv(board.TEACHER_KEY_ENV, "sesame")
    dead = crashed_run(db_url)
    at = app()
    join(at, "Bob", "MULTI")
    train(at, budget=10)
    store = recording.recorder().store()
    assert wait_for(lambda: {r.who: r.status for r in store.runs("MULTI")} ==
                    {"Ada": "interrupted", "Bob": "finished"}, at)
    assert store.get(dead).episodes == 37 and store.get(dead).replica.startswith("app1-")
    go(at, PAGE)
    everyone = tables(at)[-1]
    rows = dict(zip(everyone["learner"], zip(everyone["status"], everyone["episodes"],
                                             strict=True), strict=True))
    assert rows == {"Ada": ("interrupted", 37), "Bob": ("finished", 10)}
    curves = board.curve_frame(store.runs("MULTI"))  # the interrupted run keeps its curve
    assert set(curves["learner"]) == {"Ada", "Bob"}
    assert curves[curves["learner"] == "Ada"]["episode"].max() == 37
    at.text_input(key="board.teacher_input").input("sesame").run()
    at.button(key="board.unlock").click().run()
    teacher = tables(at)[-1]
    ada = teacher[teacher["learner"] == "Ada"].iloc[0]
    assert ada["status"] == "interrupted" and "Interrupted" in ada["message"]
    go(at, "views/reinforce/train.py")
    at.button(key="ctl.reset").click().run()  # leave no run in the shared session holder


def _train_page(query: dict) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    at.switch_page("views/reinforce/train.py")
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, at.exception
    return at


def test_a_tab_moved_from_a_stopped_server_is_told_its_run_is_gone(db, monkeypatch):
    """A tab whose server stopped reconnects through the load balancer to another server, as
    a new session, with its URL: its ``run=`` marker names the run it held. The Train page
    says the run was cut off (or interrupted, once marked), keeps the settings, and asks the
    learner to join their class again; starting a run clears the note."""
    dead = crashed_run(db)
    at = _train_page({"run": dead, "algo": "a2c"})
    (note,) = [w for w in texts(at, "warning") if "app server" in w]
    assert "was cut off" in note and "37 episodes" in note and "Start" in note
    assert "class MULTI as Ada: join it again" in note
    assert at.radio(key="cfg.algo").value == "a2c"  # the settings came with the URL
    recording.recorder().store().refresh(now=time.time() + 3600)  # its heartbeat went stale
    at = _train_page({"run": dead})
    (note,) = [w for w in texts(at, "warning") if "app server" in w]
    assert note.startswith("Your run (a2c, seed 4) was interrupted") and "*interrupted*" in note
    # a run that lasts the test (the Start run itself waits for the first frame)
    at.number_input(key="cfg.max_episodes").set_value(2000).run()
    at.button(key="ctl.start").click().run()
    assert not any("app server" in w for w in texts(at, "warning"))
    (mine,) = recording.recorder().active()
    assert at.query_params["run"] == mine.run_id  # the tab's new marker
    at.button(key="ctl.stop").click().run()
    at.button(key="ctl.reset").click().run()
    assert "run" not in at.query_params


def test_a_marker_of_this_server_or_a_bad_one_says_nothing(db):
    own = recording.recorder().store().start_run({"algo": "a2c", "seed": 1})  # a reload here
    for marker in (own, "not-a-run", "f" * 32):
        at = _train_page({"run": marker})
        assert not any("app server" in w for w in texts(at, "warning")), marker
        assert "run" not in at.query_params and not at.exception
