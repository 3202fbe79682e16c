"""A Stop is never lost: a hosted run stopped at each step of its start ends ``stopped``
(before it has a computation, while it is being placed on a host, once placed but before its
launch looks for a stop, while its host is still warming up), a second Stop reaches a run
whose first "stop" never arrived, the end is recorded even if drawing the last frame fails,
two Starts in a row leave one run, and a request never joins a shared run (or experiment
job) that its last viewer has just left. Each window is held open by a gate, so every order
is forced, not hoped for. In real hosts; no timing assertions."""

from __future__ import annotations

import threading

import pytest

from pgcore import default_config
from pgcore.execution import END_STATES
from pgcore.execution.experiments import Experiment, grid
from pgcore.execution.hosts import RunHosts
from pgcore.execution.runner import BackgroundRun
from tests.helpers import wait_for


@pytest.fixture(scope="module")
def hosts():
    h = RunHosts(hosts=1)
    yield h
    h.shutdown()


def _endless(seed: int = 0):
    return default_config("a2c", seed=seed, max_episodes=None, max_steps=10**8)


class Gate:
    """A point a thread stops at (``reached`` is set) until the test ``open`` s it."""

    def __init__(self) -> None:
        self.reached, self._open = threading.Event(), threading.Event()

    def wait(self) -> None:
        self.reached.set()
        assert self._open.wait(60), "the gate was never opened"

    def open(self) -> None:
        self._open.set()


class GatedHosts:
    """The real hosts, with gates a test sets: ``before_start`` / ``after_start`` hold a
    run's placement on a host; ``drop`` lists commands whose next ``send`` is lost."""

    def __init__(self, hosts: RunHosts) -> None:
        self._hosts = hosts
        self.before_start: Gate | None = None
        self.after_start: Gate | None = None
        self.drop: list[str] = []
        self.sent: list[str] = []

    def __getattr__(self, name):
        return getattr(self._hosts, name)

    def start(self, *args, **kwargs):
        if self.before_start is not None:
            self.before_start.wait()
        host = self._hosts.start(*args, **kwargs)
        if self.after_start is not None:
            self.after_start.wait()
        return host

    def send(self, run_id: int, command: str) -> None:
        self.sent.append(command)
        if command in self.drop:
            self.drop.remove(command)  # lost on the way
            return
        self._hosts.send(run_id, command)


def _gated_computation(run: BackgroundRun, gate: Gate) -> None:
    """Hold ``run``'s thread before it looks for its computation."""
    find = run._computation

    def held():
        gate.wait()
        return find()

    run._computation = held


def _assert_stops(run: BackgroundRun, hosts: RunHosts) -> None:
    assert run.join(90), f"the run did not end: {run.state}"
    assert run.state == "stopped", (run.state, run.message)
    assert wait_for(lambda: hosts.runs == 0, 60), "the host still has the run"


@pytest.mark.parametrize("stage", ["before its computation", "while being placed",
                                   "placed, before launch looks"])
def test_a_stop_at_each_step_of_a_runs_start_stops_it(hosts, stage):
    gated, gate = GatedHosts(hosts), Gate()
    run = BackgroundRun(_endless(), hosts=gated, frame_every=None)
    if stage == "before its computation":
        _gated_computation(run, gate)
    elif stage == "while being placed":
        gated.before_start = gate
    else:
        gated.after_start = gate
    run.start()
    try:
        assert gate.reached.wait(60)
        run.stop()
    finally:
        gate.open()
    _assert_stops(run, hosts)
    assert "stop" in gated.sent


def test_a_stop_right_after_the_hosts_start_stops_the_run():
    cold = RunHosts(hosts=1)
    try:
        run = BackgroundRun(_endless(), hosts=cold, frame_every=None).start()
        assert wait_for(lambda: cold.runs == 1, 60)  # placed (its host is likely warming up)
        run.stop()
        _assert_stops(run, cold)
        assert run.snapshot().state == "stopped"
    finally:
        cold.shutdown()


def test_a_second_stop_reaches_a_run_whose_first_stop_was_lost(hosts):
    gated = GatedHosts(hosts)
    run = BackgroundRun(_endless(1), hosts=gated, frame_every=None).start()
    try:
        assert wait_for(lambda: run.snapshot().episode_count >= 2, 90)
        gated.drop.append("stop")
        run.stop()  # this one never arrives: the run trains on (it has no budget to end)
        assert gated.sent == ["stop"] and not gated.drop
        assert run.state == "running"
        run.stop()  # the learner presses Stop again
        _assert_stops(run, hosts)
        assert gated.sent == ["stop", "stop"]
    finally:
        run.stop()
        run.join(30)


def test_the_end_is_recorded_even_if_drawing_the_last_frame_fails(hosts, monkeypatch):
    from pgcore.execution import runner

    run = BackgroundRun(_endless(2), hosts=hosts, frame_every=None).start()
    assert wait_for(lambda: run.snapshot().episode_count >= 1, 90)

    def broken(self, fresh=False):
        raise RuntimeError("the frame could not be drawn")

    monkeypatch.setattr(runner._Computation, "snapshot", broken)
    run.stop()
    assert run.join(90), "the end was lost"
    monkeypatch.undo()
    _assert_stops(run, hosts)


def test_two_starts_in_a_row_leave_one_run_and_its_stop_ends_everything(hosts):
    from ui.state import PageTask

    page = PageTask("pend")
    first = page.start(BackgroundRun(_endless(3), hosts=hosts, frame_every=None))
    second = page.start(BackgroundRun(_endless(3), hosts=hosts, frame_every=None))
    assert page.task is second
    assert first.join(90) and first.state == "stopped"
    assert wait_for(lambda: second.snapshot().episode_count >= 1, 90)
    page.stop()
    _assert_stops(second, hosts)


def test_a_request_never_joins_a_shared_run_its_last_viewer_has_just_left(hosts, monkeypatch):
    book = hosts.shared_runs
    a = BackgroundRun(_endless(4), hosts=hosts, frame_every=None, share=True).start()
    assert wait_for(lambda: a.snapshot().episode_count >= 2, 90)
    gate, forget = Gate(), book.forget

    def held(key, item):  # a's leave has marked the run as stopping; its entry is still there
        gate.wait()
        forget(key, item)

    monkeypatch.setattr(book, "forget", held)
    leaving = threading.Thread(target=a.stop)  # (a's stop waits at the gate)
    leaving.start()
    try:
        assert gate.reached.wait(60)
        b = BackgroundRun(_endless(4), hosts=hosts, frame_every=None, share=True).start()
        assert wait_for(lambda: b._comp is not None, 60)
    finally:
        gate.open()
        leaving.join(30)
    try:
        assert a.join(60) and a.state == "stopped"
        # b trains a run of its own (it would otherwise end "stopped" with a's)
        assert b._comp is not a._comp
        assert wait_for(lambda: b.snapshot().episode_count >= 2 or not b.snapshot().active, 90)
        assert b.state == "running", (b.state, b.message)
    finally:
        b.stop()
    _assert_stops(b, hosts)


def test_an_experiment_never_joins_a_shared_job_being_stopped(hosts, monkeypatch):
    book = hosts.shared_jobs
    jobs = grid({"a2c": _endless()}, seeds=[5])
    first = Experiment(jobs, hosts=hosts, share=True).start()
    assert wait_for(lambda: first.snapshot().runs[0].episodes >= 2, 90)
    gate, forget = Gate(), book.forget

    def held(key, item):  # (in first's thread, which leaves its job once it sees the stop)
        gate.wait()
        forget(key, item)

    monkeypatch.setattr(book, "forget", held)
    first.stop()
    second = None
    try:
        assert gate.reached.wait(60)
        second = Experiment(jobs, hosts=hosts, share=True).start()
        assert wait_for(lambda: len(second._subs) == 1, 60)
    finally:
        gate.open()
    try:
        assert first.join(60) and first.state == "stopped"
        assert second._subs[0][0] is not first._subs[0][0]  # a job of its own
        # it trains (it would otherwise end "stopped" with first's)
        job = lambda: second.snapshot().runs[0]  # noqa: E731
        assert wait_for(lambda: job().state in END_STATES or job().episodes >= 2, 90)
        assert job().state not in END_STATES, (job().state, job().message)
    finally:
        second.stop()
    assert second.join(60) and second.state == "stopped"
    assert wait_for(lambda: hosts.runs == 0, 60)


def test_an_experiment_stopped_while_its_job_is_being_placed_stops_it(hosts, monkeypatch):
    gate, submit = Gate(), hosts.submit_job

    def held(*args):  # the pool knows the job; the host does not have it yet
        gate.wait()
        return submit(*args)

    monkeypatch.setattr(hosts, "submit_job", held)
    experiment = Experiment(grid({"a2c": _endless()}, seeds=[6]), hosts=hosts).start()
    try:
        assert gate.reached.wait(60)
        experiment.stop()  # its "stop" finds no host for the job: the host would never hear it
    finally:
        gate.open()
    assert experiment.join(90), "the experiment did not stop"
    assert experiment.state == "stopped"
    assert experiment.snapshot().runs[0].state == "stopped"
    assert wait_for(lambda: hosts.runs == 0, 60)
