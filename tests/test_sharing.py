"""Identical work done once (pgcore.execution.sharing): identical requests share one
computation in the run hosts, joining it while it trains (from its first episode) or reusing
it once finished; a different seed or another code version trains its own; what one learner
does (pause, stop) never changes what the others see. In real hosts; no timing assertions."""

from __future__ import annotations

import numpy as np
import pytest

from pgcore import default_config
from pgcore.execution import sharing
from pgcore.execution.experiments import Experiment, grid
from pgcore.execution.hosts import RunHosts
from pgcore.execution.runner import LEFT_SHARED, REUSED_NOTE, BackgroundRun
from pgcore.execution.sharing import ShareBook, identity
from tests.helpers import wait_for


@pytest.fixture(scope="module")
def hosts():
    h = RunHosts(hosts=1)
    yield h
    h.shutdown()


@pytest.fixture
def book(hosts):
    """The hosts' book of shared runs, its counters read relative to the test's start."""
    book = hosts.shared_runs
    book.clear()
    book.started = book.joined = book.reused = 0
    return book


def _wait(predicate, timeout: float = 90.0) -> bool:
    return wait_for(predicate, timeout, every=0.1)


def _endless(seed: int = 0):
    return default_config("a2c", seed=seed, max_episodes=None, max_steps=10**8)


def _run(hosts, config, **kw) -> BackgroundRun:
    return BackgroundRun(config, hosts=hosts, share=True, frame_every=None, **kw).start()


def _stop_all(*runs) -> None:
    for r in runs:
        r.stop()
    for r in runs:
        assert r.join(30)


def test_identity_is_the_config_the_extras_and_the_code_version():
    a2c = default_config("a2c", seed=0)
    assert identity(a2c, 0.25, version="v") == identity(default_config("a2c", seed=0), 0.25,
                                                        version="v")
    assert identity(a2c, 0.25, version="v") != identity(a2c, 0.25, version="w")
    assert identity(a2c, 0.25, version="v") != identity(a2c, 0.5, version="v")
    assert identity(a2c, version="v") != identity(default_config("reinforce", seed=0),
                                                  version="v")
    assert identity(a2c, version="v") != identity(a2c.replace(lr=a2c.lr * 2), version="v")
    version = sharing.code_version()
    assert version.startswith(__import__("pgcore").__version__ + "+")
    assert identity(a2c) == identity(a2c, version=version)


def test_the_code_version_follows_the_package_source(tmp_path):
    (tmp_path / "a.py").write_text("x = 1\n")
    before = sharing.source_hash(tmp_path)
    assert sharing.source_hash(tmp_path) == before
    (tmp_path / "a.py").write_text("x = 2\n")
    assert sharing.source_hash(tmp_path) != before


def test_a_share_book_keeps_only_runs_that_ended_by_themselves_and_a_bounded_number():
    book = ShareBook(keep=2)
    items = {k: [k] for k in "abcdef"}  # any object: the book compares them by identity
    for key, state in [("a", "finished"), ("b", "stopped"), ("c", "diverged"),
                       ("d", "error"), ("e", "finished")]:
        book.add(key, items[key])
        assert book.running(key) is items[key]
        book.ended(key, items[key], state)
        assert book.running(key) is None
    # a: evicted (2 kept); b and d ended otherwise than by themselves
    assert [book.finished(k) for k in "abcde"] == [None, None, ["c"], None, ["e"]]
    book.add("f", items["f"])
    book.forget("f", ["f"])  # only the item itself is forgotten
    assert book.running("f") is items["f"]
    book.forget("f", items["f"])
    assert book.running("f") is None


def test_two_identical_starts_share_one_computation_from_episode_one(hosts, book):
    first = _run(hosts, _endless())
    try:
        assert _wait(lambda: first.snapshot().episode_count >= 5)
        second = _run(hosts, _endless())  # a classmate presses Start a little later
        try:
            assert _wait(lambda: second.snapshot().episode_count >= 8)
            assert book.started == 1 and book.joined == 1
            assert hosts.runs == 1  # one computation in the hosts
            a, b = first.snapshot(), second.snapshot()
            assert b.episodes["episode"][0] == 1  # the joiner sees the run from its start
            n = min(a.n_episodes_logged, b.n_episodes_logged)
            np.testing.assert_array_equal(a.episodes["episode_return"][:n],
                                          b.episodes["episode_return"][:n])
            assert a.viewers == b.viewers == 2
            assert b.state == "running" and not b.reused
        finally:
            _stop_all(second)
    finally:
        _stop_all(first)
    assert _wait(lambda: hosts.runs == 0, timeout=30)


def test_a_different_seed_trains_its_own_run(hosts, book):
    runs = [_run(hosts, _endless(0)), _run(hosts, _endless(1))]
    try:
        assert _wait(lambda: all(r.snapshot().episode_count >= 3 for r in runs))
        assert book.started == 2 and book.joined == 0
        assert [r.snapshot().viewers for r in runs] == [1, 1]
        a, b = (r.snapshot().episodes["episode_return"][:3] for r in runs)
        assert not np.array_equal(a, b)
    finally:
        _stop_all(*runs)


def test_stop_by_one_learner_does_not_stop_the_other(hosts, book):
    a, b = _run(hosts, _endless(2)), _run(hosts, _endless(2))
    try:
        assert _wait(lambda: a.snapshot().episode_count >= 3)
        assert book.started == 1
        a.stop()
        assert a.join(30)
        assert a.state == "stopped" and a.message == LEFT_SHARED
        stopped_at = a.snapshot().episode_count
        assert b.state == "running"
        assert _wait(lambda: b.snapshot().episode_count > stopped_at + 3)
        assert a.snapshot().episode_count == stopped_at  # the stopped view stays put
        assert b.snapshot().viewers == 1
    finally:
        _stop_all(b)
    assert b.state == "stopped" and b.message != LEFT_SHARED  # the last one stopped the run
    assert _wait(lambda: hosts.runs == 0, timeout=30)


def test_pause_by_one_learner_freezes_their_view_only(hosts, book):
    a, b = _run(hosts, _endless(3)), _run(hosts, _endless(3))
    try:
        assert _wait(lambda: a.snapshot().episode_count >= 3)
        a.pause()
        assert a.state == "paused"
        paused_at = a.snapshot().episode_count
        assert _wait(lambda: b.snapshot().episode_count > paused_at + 3)  # b trains on
        assert a.snapshot().episode_count == paused_at
        a.resume()  # back to the shared run, which has moved on
        assert _wait(lambda: a.snapshot().episode_count > paused_at + 3)
        assert a.state == "running"
        # everyone paused: the computation itself pauses (and resumes for the first who asks)
        a.pause()
        b.pause()
        assert b.state == "paused"
        at = b.snapshot().episode_count
        b.resume()
        assert _wait(lambda: b.snapshot().episode_count > at)
    finally:
        _stop_all(a, b)


def test_a_finished_run_is_reused_and_identical(hosts, book):
    config = default_config("a2c", seed=4, max_episodes=20)
    first = _run(hosts, config)
    assert first.join(120) and first.state == "finished"
    again = _run(hosts, config)
    assert again.join(30)
    a, b = first.snapshot(), again.snapshot()
    assert b.state == "finished" and b.reused and not a.reused
    assert b.message.endswith(REUSED_NOTE)
    assert book.started == 1 and book.reused == 1
    np.testing.assert_array_equal(a.episodes["episode_return"], b.episodes["episode_return"])
    assert again.policy_agent() is not None  # "watch the agent" and the checkpoint work
    # a stopped run is never reused: the next identical Start trains anew
    stopped = _run(hosts, _endless(5))
    assert _wait(lambda: stopped.snapshot().episode_count >= 1)
    _stop_all(stopped)
    fresh = _run(hosts, _endless(5))
    try:
        assert not fresh.snapshot().reused
        assert _wait(lambda: book.started == 3)
    finally:
        _stop_all(fresh)


def test_another_code_version_is_not_shared(hosts, book, monkeypatch):
    first = _run(hosts, _endless(6))
    try:
        assert _wait(lambda: first.snapshot().episode_count >= 1)
        monkeypatch.setattr(sharing, "code_version", lambda: "9.9.9+changed")
        second = _run(hosts, _endless(6))
        try:
            assert _wait(lambda: second.snapshot().episode_count >= 1)
            assert book.started == 2 and book.joined == 0
        finally:
            _stop_all(second)
    finally:
        _stop_all(first)


def test_without_share_identical_runs_train_separately(hosts, book):
    runs = [BackgroundRun(_endless(7), hosts=hosts, frame_every=None).start() for _ in "ab"]
    try:
        assert _wait(lambda: hosts.runs == 2, timeout=30)
        assert book.started == 0
    finally:
        _stop_all(*runs)


def test_identical_experiment_jobs_share_and_a_stop_leaves_the_others(hosts):
    hosts.shared_jobs.clear()
    started = hosts.shared_jobs.started
    jobs = grid({"a2c": default_config("a2c", max_episodes=15)}, seeds=[0, 1])
    first = Experiment(jobs, hosts=hosts, share=True).start()
    second = Experiment(jobs, hosts=hosts, share=True).start()
    other = Experiment(grid({"a2c": default_config("a2c", max_episodes=15)}, seeds=[2]),
                       hosts=hosts, share=True).start()
    assert first.join(180) and second.join(180) and other.join(180)
    assert hosts.shared_jobs.started - started == 3  # seeds 0, 1 once each, seed 2
    a, b = first.snapshot(), second.snapshot()
    for x, y in zip(a.runs, b.runs, strict=True):
        assert x.state == y.state == "finished"
        np.testing.assert_array_equal(x.returns, y.returns)
        assert x.columns["episode"][0] == 1
    # finished jobs are reused by a later identical experiment at once
    third = Experiment(jobs, hosts=hosts, share=True).start()
    assert third.join(60)
    assert hosts.shared_jobs.started - started == 3
    for x, y in zip(a.runs, third.snapshot().runs, strict=True):
        np.testing.assert_array_equal(x.returns, y.returns)
    # a stop by one experiment ends its own jobs, not the other's
    long_jobs = grid({"a2c": default_config("a2c", max_episodes=None, max_steps=10**8)},
                     seeds=[8])
    one = Experiment(long_jobs, hosts=hosts, share=True).start()
    two = Experiment(long_jobs, hosts=hosts, share=True).start()
    try:
        assert _wait(lambda: two.snapshot().runs[0].episodes >= 3)
        one.stop()
        assert one.join(30)
        assert one.snapshot().runs[0].state == "stopped"
        seen = two.snapshot().runs[0].episodes
        assert _wait(lambda: two.snapshot().runs[0].episodes > seen + 2)
        assert two.snapshot().runs[0].state == "running"
    finally:
        two.stop()
        assert two.join(30)
    assert _wait(lambda: hosts.runs == 0, timeout=30)


def test_a_run_that_ends_while_one_learner_is_paused_shows_them_how_it_ended(hosts, book):
    config = default_config("a2c", seed=9, max_episodes=None, max_steps=100_000)
    a, b = _run(hosts, config), _run(hosts, config)
    assert _wait(lambda: a.snapshot().episode_count >= 1)  # (the run takes seconds)
    a.pause()
    assert a.state == "paused"
    assert b.join(120) and b.state == "finished"  # b's run went on to its end
    assert a.join(30) and a.state == "finished"
    assert a.snapshot().env_steps == b.snapshot().env_steps >= 100_000
    np.testing.assert_array_equal(a.snapshot().episodes["episode_return"],
                                  b.snapshot().episodes["episode_return"])


def test_a_snapshot_serves_a_shared_runs_viewers_for_a_moment(monkeypatch):
    """Several viewers: a snapshot serves them all for SHARED_SNAPSHOT_SECONDS (each new one
    costs every viewer a drawing), however many events arrive meanwhile; one viewer, a
    stopped viewer's frozen view and an ended run always get the latest."""
    from pgcore.execution import runner

    clock = [100.0]
    monkeypatch.setattr(runner.time, "monotonic", lambda: clock[0])
    comp = runner._Computation(_endless(), None, None, 1.0, (100, 100, 10))
    comp.attach(1)
    first = comp.snapshot()
    comp.log.version += 1  # events arrived
    alone = comp.snapshot()
    assert alone is not first and alone.version == comp.log.version  # one viewer: the latest
    comp.attach(2)
    comp.log.version += 1
    clock[0] += runner.SHARED_SNAPSHOT_SECONDS / 2
    assert comp.snapshot() is alone  # two viewers, a moment later: the same snapshot
    assert comp.snapshot(fresh=True).version == comp.log.version  # a frozen view: the latest
    comp.log.version += 1
    clock[0] += runner.SHARED_SNAPSHOT_SECONDS
    later = comp.snapshot()
    assert later.version == comp.log.version  # the moment has passed
    comp.log.version += 1
    comp.end = ("finished", "")
    assert comp.snapshot().version == comp.log.version  # ended: the last one, at once
