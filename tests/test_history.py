"""The run history's database layer (pgcore/store/history.py): the schema, recording and reading
back, concurrent writers (threads and processes), a restart marking cut-off runs interrupted,
validation of display names and class codes, broken databases as one line, CSV export,
leaderboards, and the recorder the app uses beside a real background run.

The behaviour tests take ``db_url`` (tests/conftest.py) and run twice: on a SQLite file and on
a real PostgreSQL server the tests start themselves. PostgreSQL's own cases (the server
restarting mid-use, down while runs end) are at the end; SQLite's (WAL, files) take
``url``, a SQLite file."""

from __future__ import annotations

import csv
import io
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from pgcore.execution import SlotPool, stop_all
from pgcore.store import history as h
from pgcore.store.history import HistoryError, RunStore

ROOT = Path(__file__).resolve().parents[1]
CFG = {"algo": "reinforce", "env_id": "CartPole-v1", "seed": 3, "baseline": "value",
       "max_episodes": 500}


@pytest.fixture
def url(tmp_path) -> str:
    """A SQLite file (for SQLite's own cases; the rest take ``db_url``: both backends)."""
    return f"sqlite:///{tmp_path / 'db' / 'runs.sqlite'}"


def damage(store: RunStore, run_id: str, **values) -> None:
    """Overwrite a row's columns behind the store's back, as another program might."""
    import sqlalchemy as sa

    with store.engine.begin() as conn:
        conn.execute(sa.update(h.RUNS).where(h.RUNS.c.run_id == run_id).values(**values))


def one_line(exc_info) -> str:
    msg = str(exc_info.value)
    assert msg and "\n" not in msg and "Traceback" not in msg and len(msg) < 300, msg
    return msg


def finish(store, run_id, returns, status="finished", **kw):
    kw.setdefault("env_steps", int(np.sum(returns)))
    store.finish_run(run_id, status, "Done.", returns, **kw)


# ----- schema, write, read back ------------------------------------------------------------


def test_opening_creates_the_folder_the_schema_and_a_wal_file(tmp_path):
    path = tmp_path / "new" / "deeper" / "runs.sqlite"
    store = RunStore(f"sqlite:///{path}")
    assert path.exists() and store.count() == 0
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"pglab_runs", "pglab_meta"} <= tables
    assert con.execute("SELECT value FROM pglab_meta WHERE key='schema'").fetchone() == ("1",)
    RunStore(f"sqlite:///{path}")  # opening again keeps it
    assert con.execute("SELECT count(*) FROM pglab_meta").fetchone() == (1,)


def test_env_var_overrides_the_default_and_off_turns_recording_off(monkeypatch, url):
    monkeypatch.delenv(h.URL_ENV, raising=False)
    assert h.resolve_url() == h.default_url()
    assert h.default_url().endswith("/data/runs.sqlite")
    monkeypatch.setenv(h.URL_ENV, url)
    assert h.resolve_url() == url
    assert h.resolve_url("sqlite:////x.sqlite") == "sqlite:////x.sqlite"
    monkeypatch.setenv(h.URL_ENV, "off")
    assert h.resolve_url() is None
    with pytest.raises(HistoryError) as e:
        RunStore()
    assert "turned off" in one_line(e)


def test_a_run_is_recorded_and_read_back(db_url):
    store = RunStore(db_url)
    rid = store.start_run(CFG, display_name="  Ada   Lovelace ", class_code="phys7",
                          preset="Our default")
    rec = store.get(rid)
    assert (rec.status, rec.display_name, rec.class_code, rec.algo, rec.seed) == (
        "running", "Ada Lovelace", "PHYS7", "reinforce", 3)
    assert rec.config == CFG and rec.baseline == "value" and rec.preset == "Our default"
    store.heartbeat({rid: (7, 120, 2.5)})
    assert store.get(rid).episodes == 7 and store.get(rid).env_steps == 120
    returns = np.r_[np.full(100, 200.0), np.linspace(300, 500, 250)]
    finish(store, rid, returns, episodes=350, seconds=12.25, best_avg100=480.5,
           final_avg100=490.25, episodes_to_475=333)
    rec = store.get(rid)
    assert rec.status == "finished" and rec.message == "Done." and rec.ended_at is not None
    assert (rec.episodes, rec.seconds, rec.best_avg100, rec.final_avg100,
            rec.episodes_to_475) == (350, 12.25, 480.5, 490.25, 333)
    np.testing.assert_allclose(rec.returns, returns, rtol=1e-6)  # float32 on disk
    assert not rec.returns.flags.writeable and not rec.damaged
    assert [r.run_id for r in store.runs("PHYS7")] == [rid]
    assert store.runs("OTHER1") == [] and store.runs(None) == []
    assert store.classes() == [("PHYS7", 1)]


def test_an_anonymous_run_is_recorded_under_no_class(db_url):
    store = RunStore(db_url)
    rid = store.start_run(CFG)
    assert [r.run_id for r in store.runs(None)] == [rid]
    assert store.get(rid).who == "anonymous" and store.classes() == []
    assert [r.run_id for r in store.runs(all_classes=True)] == [rid]


def test_returns_are_compact_and_validated_on_read(db_url):
    blob = h.encode_returns(np.full(10_000, 500.0))
    assert len(blob) < 200  # 40 kB of float32 compresses to almost nothing
    with pytest.raises(HistoryError):
        h.decode_returns(b"not zlib")
    with pytest.raises(HistoryError):
        h.decode_returns(__import__("zlib").compress(b"abc"))  # not whole float32s
    with pytest.raises(HistoryError):
        h.decode_returns(__import__("zlib").compress(np.array([np.nan], "<f4").tobytes()))
    with pytest.raises(HistoryError):  # a zip bomb stops at the cap
        h.decode_returns(__import__("zlib").compress(bytes(4 * h.MAX_RETURNS + 8)))
    store = RunStore(db_url)
    rid = store.start_run(CFG, display_name="Ada", class_code="PHYS7")
    finish(store, rid, [1.0, 2.0])
    damage(store, rid, returns=b"\x00garbage", config="[1, 2]")
    rec = store.get(rid)
    assert rec.damaged and rec.returns.size == 0 and rec.config == {}
    assert rec.episodes == 2  # the summary survives


# ----- validation ------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["", "   ", "x" * 31, "<script>alert(1)</script>",
                                 "**bold**", "[link](http://x)", "a\x00b", "tab\there",
                                 "new\nline", "Ada & Bob", "`code`", "# heading", "a|b",
                                 "zero\u200bwidth", 42, None])
def test_malformed_display_names_are_refused_with_one_line(bad):
    with pytest.raises(HistoryError) as e:
        h.validate_display_name(bad)
    one_line(e)


def test_good_display_names_are_cleaned():
    assert h.validate_display_name("  Ada   Lovelace ") == "Ada Lovelace"
    assert h.validate_display_name("José Ñúñez") == "José Ñúñez"
    assert h.validate_display_name("O'Brien-Smith_2.") == "O'Brien-Smith_2."
    assert h.validate_display_name("e\u0301") == "\u00e9"  # NFC
    assert h.validate_display_name("x" * 30) == "x" * 30


def test_class_codes_are_normalised_or_refused():
    assert h.validate_class_code(" phys7 ") == "PHYS7"
    for bad in ("ab", "a" * 17, "PHYS 7", "PHYS-7", "ÄBC", "", None):
        with pytest.raises(HistoryError) as e:
            h.validate_class_code(bad)
        assert "3 to 16" in one_line(e) or "text" in one_line(e)


def test_bad_values_never_reach_the_database(db_url):
    store = RunStore(db_url)
    with pytest.raises(HistoryError):
        store.start_run(CFG, display_name="<b>x</b>", class_code="PHYS7")
    with pytest.raises(HistoryError):
        store.start_run(CFG, display_name="Ada", class_code="no!")
    assert store.count() == 0


def test_a_name_written_by_something_else_is_never_shown_raw(db_url):
    store = RunStore(db_url)
    rid = store.start_run(CFG, display_name="Ada", class_code="PHYS7")
    damage(store, rid, display_name="<img src=x onerror=alert(1)>")
    rec = store.get(rid)
    assert rec.display_name == "(unreadable name)" and rec.damaged


# ----- concurrency ------------------------------------------------------------------------


def test_concurrent_writer_threads_lose_no_rows(db_url):
    RunStore(db_url)  # the schema exists before the threads start
    shared = RunStore(db_url)
    errors: list[BaseException] = []
    go = threading.Barrier(8)

    def writer(i: int) -> None:
        store = shared if i % 2 else RunStore(db_url)  # one shared store and several own ones
        try:
            go.wait()
            for k in range(15):
                rid = store.start_run({**CFG, "seed": k}, display_name=f"T{i}",
                                      class_code="THREADS")
                store.heartbeat({rid: (k, k * 10, 0.1)})
                finish(store, rid, [float(k)] * 3)
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    records = shared.runs("THREADS")
    assert len(records) == 120 and len({r.run_id for r in records}) == 120
    assert all(r.status == "finished" and len(r.returns) == 3 for r in records)


WRITER = textwrap.dedent("""
    import os, sys, time
    sys.path.insert(0, {root!r})
    from pgcore.store.history import RunStore
    url, who, n, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    store = RunStore(url)
    while not os.path.exists(go):
        time.sleep(0.005)
    for k in range(n):
        rid = store.start_run({{"algo": "a2c", "env_id": "CartPole-v1", "seed": k}},
                              display_name=who, class_code="PROCS")
        store.heartbeat({{rid: (1, 2, 0.5)}})
        store.finish_run(rid, "finished", "", [1.0, 2.0, 3.0], env_steps=6)
    print("ok")
""")


def test_concurrent_writer_processes_lose_no_rows(db_url, tmp_path):
    RunStore(db_url)
    go = tmp_path / "go"
    script = WRITER.format(root=str(ROOT))
    procs = [subprocess.Popen([sys.executable, "-c", script, db_url, f"P{i}", "20", str(go)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(4)]
    time.sleep(0.5)
    go.touch()  # every process writes at the same time
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in outputs]
    records = RunStore(db_url).runs("PROCS")
    assert len(records) == 80 and len({r.run_id for r in records}) == 80
    assert {r.who for r in records} == {"P0", "P1", "P2", "P3"}
    assert all(r.status == "finished" for r in records)


# ----- restart -----------------------------------------------------------------------------


CRASH = textwrap.dedent("""
    import os, sys
    sys.path.insert(0, {root!r})
    from pgcore.store.history import RunStore
    store = RunStore(sys.argv[1])
    rid = store.start_run({{"algo": "ppo", "env_id": "CartPole-v1", "seed": 1}},
                          display_name="Crash", class_code="RESTART")
    store.heartbeat({{rid: (42, 9000, 30.0)}})
    print(rid, flush=True)
    os._exit(1)  # the server dies mid-run: no end is ever written
""")


def test_a_run_cut_off_by_a_dead_server_is_marked_interrupted_not_dropped(db_url):
    out = subprocess.run([sys.executable, "-c", CRASH.format(root=str(ROOT)), db_url],
                         capture_output=True, text=True, timeout=60)
    rid = out.stdout.strip()
    assert len(rid) == 32, out.stderr
    fresh = RunStore(db_url, stale_after=3600)  # restarted at once: the row is not stale yet
    assert fresh.get(rid).status == "running"
    later = RunStore(db_url, stale_after=0.0)  # the heartbeat has gone stale
    rec = later.get(rid)
    assert rec.status == "interrupted" and "Interrupted" in rec.message
    assert (rec.episodes, rec.env_steps, rec.who) == (42, 9000, "Crash")  # last heartbeat
    assert rec.ended_at == rec.heartbeat_at
    assert [r.run_id for r in later.runs("RESTART")] == [rid]


def test_a_live_replicas_rows_are_left_alone(db_url):
    a = RunStore(db_url, stale_after=60)
    b = RunStore(db_url, stale_after=60)
    now = time.time()
    live = a.start_run(CFG, display_name="Live", class_code="REPL", now=now - 300)
    dead = b.start_run(CFG, display_name="Dead", class_code="REPL", now=now - 300)
    a.heartbeat({live: (5, 50, 1.0)}, now=now)  # replica a is alive and beating
    assert RunStore(db_url, stale_after=60).refresh(now=now) == 0  # opening marked `dead`
    assert a.get(live).status == "running" and a.get(dead).status == "interrupted"
    finish(a, live, [1.0])
    assert a.get(live).status == "finished"


def test_a_late_end_still_completes_an_interrupted_row(db_url):
    store = RunStore(db_url, stale_after=10)
    rid = store.start_run(CFG, display_name="Slow", class_code="REPL", now=time.time() - 60)
    assert store.refresh() == 1
    finish(store, rid, [3.0, 4.0])
    assert store.get(rid).status == "finished"


def test_finishing_a_row_that_was_never_started_inserts_it(db_url):
    store = RunStore(db_url)
    row = h.start_row(CFG, display_name="Ada", class_code="PHYS7", replica=store.replica)
    finish(store, row["run_id"], [5.0], start=row)
    assert store.get(row["run_id"]).status == "finished"
    with pytest.raises(HistoryError) as e:
        finish(store, "nope", [5.0])
    one_line(e)


# ----- broken databases ------------------------------------------------------------------


def test_a_folder_that_cannot_be_made_is_one_line(tmp_path):
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    with pytest.raises(HistoryError) as e:
        RunStore(f"sqlite:///{blocker / 'sub' / 'runs.sqlite'}")
    assert "cannot create the folder" in one_line(e)


def test_a_missing_file_is_created_and_one_deleted_while_open_is_made_afresh(url):
    store = RunStore(url)
    first = store.start_run(CFG, display_name="Ada", class_code="PHYS7")
    path = Path(url.removeprefix("sqlite:///"))
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    second = store.start_run(CFG, display_name="Bob", class_code="PHYS7")
    assert path.exists()
    assert [r.run_id for r in RunStore(url).runs("PHYS7")] == [second]
    assert store.get(first) is None


def test_a_corrupt_file_is_one_line(tmp_path):
    bad = tmp_path / "runs.sqlite"
    bad.write_bytes(b"this is not a database " * 200)
    with pytest.raises(HistoryError) as e:
        RunStore(f"sqlite:///{bad}")
    msg = one_line(e)
    assert "not a readable SQLite database" in msg and str(bad) in msg
    assert bad.read_bytes().startswith(b"this is not")  # left as it was, nothing lost


def test_a_read_only_database_is_one_line(url):
    RunStore(url).start_run(CFG, display_name="Ada", class_code="PHYS7")
    path = url.removeprefix("sqlite:///")
    with pytest.raises(HistoryError) as e:
        RunStore(f"sqlite:///file:{path}?mode=ro&uri=true")
    assert "read-only" in one_line(e)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="root writes to read-only files anyway")
def test_a_read_only_file_is_one_line(url):
    RunStore(url).dispose()
    path = Path(url.removeprefix("sqlite:///"))
    for p in path.parent.iterdir():
        p.chmod(0o444)
    path.parent.chmod(0o555)
    try:
        with pytest.raises(HistoryError) as e:
            RunStore(url)
        assert "read-only" in one_line(e) or "cannot open" in one_line(e)
    finally:
        path.parent.chmod(0o755)


def test_bad_urls_are_one_line():
    for bad in ("not a url", "nosuchdialect://x/y", "sqlite://", "sqlite:///:memory:"):
        with pytest.raises(HistoryError) as e:
            RunStore(bad)
        one_line(e)


def test_an_unreachable_server_is_one_line_without_the_password():
    pytest.importorskip("psycopg", reason="the PostgreSQL driver (psycopg) is not installed")
    with pytest.raises(HistoryError) as e:
        RunStore("postgresql://teacher:s3cret@127.0.0.1:9/pglab", connect_timeout=2)
    msg = one_line(e)
    assert "s3cret" not in msg and "127.0.0.1" in msg


# ----- CSV and leaderboards --------------------------------------------------------------


def test_csv_export_has_every_run_and_defuses_formulas(db_url):
    store = RunStore(db_url)
    a = store.start_run(CFG, display_name="Ada", class_code="PHYS7", preset="=HYPERLINK(x)")
    finish(store, a, [10.0, 20.5], best_avg100=None, final_avg100=15.25, episodes_to_475=None)
    store.start_run({**CFG, "algo": "a2c"}, display_name="Bob", class_code="PHYS7")
    text = h.csv_text(store.runs("PHYS7"))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == list(h.CSV_COLUMNS) and len(rows) == 2
    ada = next(r for r in rows if r["display_name"] == "Ada")
    assert ada["returns"] == "10 20.5" and ada["final_avg100"] == "15.25"
    assert ada["status"] == "finished" and ada["baseline"] == "value"
    assert ada["preset"] == "'=HYPERLINK(x)"  # a spreadsheet shows it, never runs it
    assert next(r for r in rows if r["display_name"] == "Bob")["status"] == "running"


def _rec(name, **kw):
    base = dict(run_id=kw.pop("run_id", name), replica="r", class_code="PHYS7",
                display_name=name, algo="reinforce", env_id="CartPole-v1", seed=0,
                preset=None, config={"baseline": "value"}, status="finished", message="",
                started_at=kw.pop("started_at", 0.0), heartbeat_at=0.0, ended_at=1.0,
                episodes=400, env_steps=0, seconds=1.0, best_avg100=None, final_avg100=None,
                episodes_to_475=None, first_episode=1, returns=np.zeros(0))
    base.update(kw)
    return h.RunRecord(**base)


def test_leaderboards_rank_each_learners_best_qualifying_run():
    fast = h.CHALLENGES[0]
    records = [
        _rec("Ada", run_id="a1", episodes_to_475=300),
        _rec("Ada", run_id="a2", episodes_to_475=250),  # Ada's best counts, once
        _rec("Bob", episodes_to_475=280),
        _rec("Cy", episodes_to_475=100, config={"baseline": "none"}),  # no baseline
        _rec("Di", episodes_to_475=90, algo="a2c"),  # not REINFORCE
        _rec(None, episodes_to_475=50),  # anonymous
        _rec("Ed", episodes_to_475=None),  # never reached 475
        _rec("Fay", episodes_to_475=120, env_id="Pendulum-v1"),
    ]
    board = h.leaderboard(records, fast)
    assert [(e.rank, e.display_name, e.value) for e in board] == [(1, "Ada", 250.0),
                                                                   (2, "Bob", 280.0)]
    assert board[0].record.run_id == "a2"
    stable = h.CHALLENGES[1]
    records = [_rec("Ada", final_avg100=480.0), _rec("Bob", final_avg100=500.0),
               _rec("Cy", final_avg100=499.0, episodes=stable.min_episodes - 1),
               _rec("Di", final_avg100=470.0, algo="dqn")]
    assert [e.display_name for e in h.leaderboard(records, stable)] == ["Bob", "Ada", "Di"]
    steps = h.CHALLENGES[2]
    returns = np.r_[np.full(100, 480.0), np.full(10, 500.0)]
    records = [_rec("Ada", episodes_to_475=100, returns=returns, algo="ppo")]
    assert h.leaderboard(records, steps)[0].value == 48_000.0


# ----- the recorder beside a real run ----------------------------------------------------


@pytest.fixture
def _stop_runs():
    yield
    stop_all()


def _train(recorder, max_episodes=5, **kw):
    from pgcore import default_config
    from pgcore.execution.runner import BackgroundRun

    config = default_config("reinforce", max_episodes=max_episodes, seed=1)
    rec = recorder.record(config, **kw)
    run = BackgroundRun(config, SlotPool(1), frame_every=None, on_end=rec.ended)
    rec.attach(run)
    run.start()
    return rec, run


@pytest.mark.usefixtures("_stop_runs")
def test_the_recorder_records_a_background_run_start_to_end(db_url):
    recorder = h.Recorder(db_url, heartbeat_every=0.05)
    rec, run = _train(recorder, display_name="Ada", class_code="PHYS7", preset="Ours")
    assert run.join(60)
    assert recorder.flush(10) and rec.ok
    got = recorder.store().get(rec.run_id)
    assert got.status == "finished" and got.episodes == 5 and len(got.returns) == 5
    np.testing.assert_allclose(got.returns, run.snapshot().episodes["episode_return"])
    assert got.env_steps == run.snapshot().env_steps and got.preset == "Ours"
    assert recorder.active() == [] and recorder.recording_of(run) is rec


@pytest.mark.usefixtures("_stop_runs")
def test_a_stopped_run_is_recorded_as_stopped_with_its_episodes(db_url):
    recorder = h.Recorder(db_url, heartbeat_every=0.05)
    rec, run = _train(recorder, max_episodes=100_000, display_name="Bob", class_code="PHYS7")
    deadline = time.monotonic() + 30
    while run.counts[0] < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)  # a heartbeat or two with progress
    assert recorder.store().get(rec.run_id).status == "running"
    mid = recorder.store().get(rec.run_id)  # the heartbeat saves the curve so far
    assert len(mid.returns) == mid.episodes >= 3 and mid.first_episode == 1
    run.stop()
    assert run.join(30) and recorder.flush(10)
    got = recorder.store().get(rec.run_id)
    assert got.status == "stopped" and got.episodes >= 3 and len(got.returns) == got.episodes


@pytest.mark.usefixtures("_stop_runs")
def test_a_broken_database_turns_recording_off_and_the_run_trains_on(tmp_path):
    bad = tmp_path / "runs.sqlite"
    bad.write_bytes(b"garbage" * 500)
    recorder = h.Recorder(f"sqlite:///{bad}", heartbeat_every=0.05)
    rec, run = _train(recorder, display_name="Ada", class_code="PHYS7")
    assert run.join(60)
    assert run.state == "finished" and run.snapshot().episode_count == 5
    assert recorder.flush(10)
    assert rec.note.startswith("This run is not being recorded: Run history file")
    assert "\n" not in rec.note
    with pytest.raises(HistoryError):
        recorder.store()


@pytest.mark.usefixtures("_stop_runs")
def test_a_live_servers_recorder_marks_a_dead_servers_runs_interrupted(db_url, monkeypatch):
    """Two app servers on one database: one dies mid-run (no end is ever written); the live
    one's recorder, heartbeating its own run, marks the dead one's row interrupted once its
    heartbeat is stale, and leaves its own alone."""
    monkeypatch.setenv(h.REPLICA_ENV, "app2")
    out = subprocess.run([sys.executable, "-c", CRASH.format(root=str(ROOT)), db_url],
                         capture_output=True, text=True, timeout=60)
    dead = out.stdout.strip()
    assert len(dead) == 32, out.stderr
    recorder = h.Recorder(db_url, heartbeat_every=0.1, stale_after=0.6)
    assert recorder.replica.startswith("app2-") and len(recorder.replica) == 32
    rec, run = _train(recorder, max_episodes=100_000, display_name="Live", class_code="RESTART")
    store = recorder.store()
    assert wait_until(lambda: store.get(dead).status == "interrupted", 30)
    assert store.get(rec.run_id).status == "running"  # its own row is fresh
    assert store.get(rec.run_id).replica == recorder.replica
    run.stop()
    assert run.join(30) and recorder.flush(10)
    got = {r.who: r for r in store.runs("RESTART")}
    assert (got["Crash"].status, got["Crash"].episodes) == ("interrupted", 42)
    assert got["Live"].status == "stopped"


def wait_until(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_replica_names_and_timings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv(h.REPLICA_ENV, "App Server 1!")
    assert h.replica_id().startswith("appserver1-")
    monkeypatch.setenv(h.REPLICA_ENV, "x" * 40)
    assert h.replica_id().startswith("x" * 15 + "-") and len(h.replica_id()) == 32
    monkeypatch.delenv(h.REPLICA_ENV)
    assert len(h.replica_id()) == 32 and "-" not in h.replica_id()
    monkeypatch.setenv(h.HEARTBEAT_ENV, "2")
    monkeypatch.setenv(h.STALE_ENV, "3")
    r = h.Recorder("sqlite:////nonexistent/x.sqlite")
    assert (r.heartbeat_every, r.stale_after) == (2.0, 4.0)  # never under two heartbeats
    for bad in ("soon", "-1", "nan", "0"):
        monkeypatch.setenv(h.HEARTBEAT_ENV, bad)
        assert h.Recorder(None).heartbeat_every == h.HEARTBEAT_EVERY


# ----- PostgreSQL: the database server restarts -------------------------------------------


def test_a_postgres_restart_mid_use_is_survived(postgres, pg_url):
    """The server restarts between two calls: the pool's dead connections are noticed and
    replaced, and nothing written before is lost."""
    store = RunStore(pg_url)
    rid = store.start_run(CFG, display_name="Ada", class_code="PGRES")
    store.heartbeat({rid: (3, 30, 1.0)})
    postgres.restart()
    assert store.get(rid).episodes == 3  # read through a fresh connection
    store.heartbeat({rid: (4, 40, 2.0)})
    finish(store, rid, [1.0, 2.0, 3.0, 4.0])
    assert [(r.status, r.episodes) for r in store.runs("PGRES")] == [("finished", 4)]


def test_while_postgres_is_down_each_call_is_one_line_then_it_works_again(postgres, pg_url):
    store = RunStore(pg_url)
    rid = store.start_run(CFG, display_name="Ada", class_code="PGDOWN")
    postgres.stop()
    try:
        with pytest.raises(HistoryError) as e:
            store.start_run(CFG, display_name="Bob", class_code="PGDOWN")
        assert "127.0.0.1" in one_line(e) and e.value.transient
        with pytest.raises(HistoryError) as e:
            RunStore(pg_url, connect_timeout=2)  # a replica starting meanwhile
        assert e.value.transient
        one_line(e)
    finally:
        postgres.start()
    assert store.get(rid).status == "running"
    store.start_run(CFG, display_name="Bob", class_code="PGDOWN")
    assert sorted(r.who for r in store.runs("PGDOWN")) == ["Ada", "Bob"]


def test_sqlite_errors_are_not_transient(tmp_path):
    bad = tmp_path / "runs.sqlite"
    bad.write_bytes(b"garbage" * 500)
    with pytest.raises(HistoryError) as e:
        RunStore(f"sqlite:///{bad}")
    assert not e.value.transient


@pytest.mark.usefixtures("_stop_runs")
def test_the_recorder_waits_for_a_restarting_postgres(postgres, pg_url):
    """A run starts and ends while the database server is down: the recorder keeps both
    writes, in order, and writes them once the server is back; the run is never slowed."""
    recorder = h.Recorder(pg_url, heartbeat_every=0.1, retry_every=0.1)
    recorder.store()  # the app had opened it before the outage
    postgres.stop()
    try:
        rec, run = _train(recorder, max_episodes=5, display_name="Ada", class_code="PGWAIT")
        assert run.join(60) and run.state == "finished"  # trained through the outage
        assert wait_until(lambda: recorder.waiting == 1, 10)  # its writes wait
        assert rec.ok and not recorder.flush(0.3)  # nothing written yet, nothing lost
    finally:
        postgres.start()
    assert recorder.flush(30) and rec.ok and recorder.waiting == 0
    got = recorder.store().get(rec.run_id)
    assert (got.status, got.episodes, len(got.returns)) == ("finished", 5, 5)
    assert recorder.active() == []


@pytest.mark.usefixtures("_stop_runs")
def test_the_recorder_gives_up_on_a_server_that_stays_down_with_one_line(postgres, pg_url):
    recorder = h.Recorder(pg_url, heartbeat_every=0.1, retry_every=0.1, retry_for=0.5)
    recorder.store()
    postgres.stop()
    try:
        rec, run = _train(recorder, max_episodes=3, display_name="Ada", class_code="PGGONE")
        assert run.join(60) and recorder.flush(30)
    finally:
        postgres.start()
    assert not rec.ok and rec.note.startswith("This run is not being recorded: Run history")
    assert "still so after" in rec.note and "\n" not in rec.note
    assert recorder.store().runs("PGGONE") == []


@pytest.mark.usefixtures("_stop_runs")
def test_runs_stopped_as_the_server_shuts_down_are_recorded_interrupted(db_url):
    """A learner's Stop is ``stopped``; the same stop while the server shuts down (Streamlit
    closing every session) is ``interrupted``, with its episodes."""
    stopping = threading.Event()
    recorder = h.Recorder(db_url, heartbeat_every=0.05, shutting_down=stopping.is_set)
    mine, run = _train(recorder, max_episodes=100_000, display_name="Ada", class_code="SHUT")
    assert wait_until(lambda: run.counts[0] >= 2, 30)
    run.stop()
    assert run.join(30)
    cut, run = _train(recorder, max_episodes=100_000, display_name="Bob", class_code="SHUT")
    assert wait_until(lambda: run.counts[0] >= 2, 30)
    stopping.set()  # the server is going away: its sessions stop their runs
    run.stop()
    assert run.join(30) and recorder.flush(10)
    got = {r.who: r for r in recorder.store().runs("SHUT")}
    assert got["Ada"].status == "stopped"
    assert got["Bob"].status == "interrupted" and got["Bob"].message == h.SHUTDOWN_MESSAGE
    assert got["Bob"].episodes >= 2 and len(got["Bob"].returns) == got["Bob"].episodes
