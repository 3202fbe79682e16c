"""The multi-server deployment (deploy/): one PostgreSQL, two app servers sharing it and HAProxy
in front with sticky sessions, all started by ``deploy/run.py``'s :class:`Deployment`. Four
emulated tabs (``bench/bench_deploy.py``'s client, the websocket client of ``bench_class.py``
behind a cookie) train across both servers; then ``app1`` is killed mid-lesson.

Checked: HAProxy keeps each tab on one server (its run is recorded by the server its cookie
names, and the frame images, which live in that server's memory, load); every tab trains;
after the kill, app1's tabs reconnect through HAProxy to app2, where the Train page says their
run was cut off, and they train again; app1's runs are recorded interrupted (app2 marks them
once their heartbeat is stale); app2's tabs never notice; and the class board's teacher view,
on any server, lists every run with its status. Runs train in threads here (two run hosts per
server would cost 1.2 GB); the benchmark runs the deployed default. About 40-60 s. Skipped
without PostgreSQL or HAProxy, except in CI, where that fails.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.helpers import bench_module  # noqa: E402


@pytest.fixture(scope="module")
def bench():
    with bench_module("bench_deploy") as module:
        yield module


@pytest.fixture(scope="module")
def deployment(bench):
    from deploy.run import Deployment, unavailable_reason

    reason = unavailable_reason()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run this test: {reason}", pytrace=False)
        pytest.skip(reason)
    # runs in threads, as many at once as the tabs start (threads default to a slot per core)
    with Deployment(env={"PGLAB_RUNS": "threads", "PGLAB_MAX_RUNS": "8",
                         "PGLAB_TEACHER_KEY": "sesame"},
                    heartbeat=0.5, stale=3.0) as d:
        yield d


@pytest.mark.slow
def test_two_servers_behind_haproxy_survive_one_stopping(bench, deployment, monkeypatch):
    from pgcore.store.history import RunStore

    out = asyncio.run(bench.lesson_with_a_stop(deployment, 4, ramp=1.0, before=1.0,
                                               after=0.5, timeout=90,
                                               path="train?max_episodes=50000"))
    assert out.all_trained, "not every tab's run progressed"
    assert out.all_recovered, [lr.attempts for lr in out.learners]
    assert out.others_grew, "app2's runs stopped adding episodes"
    store = RunStore(deployment.db_url, stale_after=3600)
    marked = bench.wait_marked(store, out, timeout=30)
    s = bench.summarize(out, store, marked)
    for name in ("app1", "app2"):  # round-robin: two tabs each, each kept on its server
        ps = s["per_server"][name]
        assert ps["tabs"] == 2 and ps["sticky"] == 2 and ps["trained"] == 2, (name, ps)
        assert ps["media"][0] > 0, (name, ps)  # its frames' images, fetched with its cookie
    assert (s["victim_dropped"], s["victim_noted"], s["victim_trained_again"]) == (2, 2, 2), s
    assert s["victim_moved_to"] == ["app2"]
    assert "was cut off" in s["victim_note_example"] or "interrupted" in s["victim_note_example"]
    assert "press **Start** to train again" in s["victim_note_example"]
    assert s["others_dropped"] == 0 and s["exceptions"] == 0
    assert marked is not None and s["interrupted"] == 2
    assert s["statuses"].get("interrupted") == 2 and sum(s["statuses"].values()) == 6

    # the class board's teacher view, on a third server on the same database, sees it all
    from tests.test_board_page import app, tables

    monkeypatch.setenv("PGLAB_DB_URL", deployment.db_url)
    monkeypatch.setenv("PGLAB_TEACHER_KEY", "sesame")
    at = app()
    at.text_input(key="board.teacher_input").input("sesame").run()
    at.button(key="board.unlock").click().run()
    assert not at.exception and not at.error
    runs = tables(at)[-1]  # the anonymous runs (the tabs joined no class): all six
    assert len(runs) == 6 and list(runs["status"]).count("interrupted") == 2
    interrupted = runs[runs["status"] == "interrupted"]
    assert all("Interrupted: the server stopped" in m for m in interrupted["message"])
    store.dispose()
