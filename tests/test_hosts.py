"""Run hosts (pgcore.execution.hosts): runs trained in a few host processes, many per host, so
that more runs than cores all make progress; the same results as a run in a thread. The runs
of a host take turns (:class:`~pgcore.execution.hosts.Turns`): the primitive is tested here
in-process with a fake clock and threads driven step by step (no timing assertions), then in
real hosts: a paused run never holds up the others of its host, stop and pause still act."""

from __future__ import annotations

import itertools
import os
import queue
import signal
import sys
import threading
import time

import numpy as np
import pytest

from pgcore import default_config
from pgcore.execution import cores
from pgcore.execution import hosts as hosts_mod
from pgcore.execution.hosts import TURN_QUANTUM, RunHosts, Turns
from pgcore.execution.runner import BackgroundRun
from tests.helpers import wait_for


@pytest.fixture(scope="module")
def hosts():
    h = RunHosts(hosts=2)
    yield h
    h.shutdown()


def _wait(predicate, timeout: float = 90.0) -> bool:
    return wait_for(predicate, timeout, every=0.2)


def test_more_runs_than_hosts_all_make_progress_at_once(hosts):
    configs = [default_config(algo, seed=s, max_episodes=None, max_steps=10**7)
               for s, algo in enumerate(["a2c", "reinforce", "ppo", "actor-critic", "a2c",
                                         "reinforce"])]
    runs = [BackgroundRun(c, hosts=hosts, frame_every=None).start() for c in configs]
    try:
        # each run registers with the hosts from its own thread: wait for all six, then look
        assert _wait(lambda: hosts.runs == 6, timeout=30)
        assert sorted(hosts.load()) == [3, 3]  # spread over the hosts
        # every run finishes episodes while all six are training (no run waits for another)
        assert _wait(lambda: all(r.snapshot().episode_count >= 3 for r in runs))
        assert all(r.state == "running" for r in runs)
        before = [r.snapshot().episode_count for r in runs]
        assert _wait(lambda: all(r.snapshot().episode_count > b
                                 for r, b in zip(runs, before, strict=True)), timeout=60)
    finally:
        for r in runs:
            r.stop()
        for r in runs:
            assert r.join(30)
    assert [r.state for r in runs] == ["stopped"] * 6
    assert _wait(lambda: hosts.runs == 0, timeout=10)


@pytest.mark.parametrize("algo", ["a2c", "reinforce", "dqn"])
def test_a_hosted_run_is_the_same_run_as_one_in_a_thread(hosts, algo):
    config = default_config(algo, seed=3, max_episodes=25)
    here = BackgroundRun(config, frame_every=None).start()
    there = BackgroundRun(config, hosts=hosts, frame_every=None).start()
    assert here.join(120) and there.join(120)
    a, b = here.snapshot(), there.snapshot()
    assert a.state == b.state == "finished"
    np.testing.assert_array_equal(a.episodes["episode_return"], b.episodes["episode_return"])
    assert a.update_count == b.update_count and a.env_steps == b.env_steps
    # the final weights came back too: the same network
    pa, pb = here.policy_agent(), there.policy_agent()
    for (name, x), (_, y) in zip(pa.net.state_dict().items(), pb.net.state_dict().items(),
                                 strict=True):
        assert np.array_equal(x.numpy(), y.numpy()), name


def test_pause_resume_stop_frames_and_weights(hosts):
    run = BackgroundRun(default_config("a2c", seed=0, max_episodes=10**6), hosts=hosts,
                        frame_every=0.05, weights_every=0.2).start()
    try:
        assert _wait(lambda: run.snapshot().episode_count >= 5)
        snap = run.snapshot()
        assert snap.frame is not None and snap.frame.rgb is not None  # drawn here, from obs
        assert snap.frame.rgb.ndim == 3
        assert _wait(lambda: run.policy_agent() is not None)
        run.pause()
        assert _wait(lambda: run.state == "paused", timeout=10)
        time.sleep(1.0)  # let the last update in flight arrive
        paused_at = run.snapshot().episode_count
        time.sleep(1.5)
        assert run.snapshot().episode_count == paused_at  # the host really paused
        run.resume()
        assert _wait(lambda: run.snapshot().episode_count > paused_at, timeout=30)
    finally:
        run.stop("Stopped by the test.")
    assert run.join(30)
    assert run.state == "stopped" and run.message == "Stopped by the test."


def test_a_bad_config_ends_in_error_with_one_line(hosts):
    config = default_config("a2c", seed=0, max_episodes=5).replace(env_id="NoSuchEnv-v0")
    run = BackgroundRun(config, hosts=hosts, frame_every=None).start()
    assert run.join(60)
    assert run.state == "error"
    assert run.message.startswith("The run failed:") and "\n" not in run.message


def test_a_host_that_dies_ends_its_runs_in_error():
    lonely = RunHosts(hosts=1)
    try:
        run = BackgroundRun(default_config("a2c", seed=0, max_episodes=10**6), hosts=lonely,
                            frame_every=None).start()
        assert _wait(lambda: run.snapshot().episode_count >= 1)
        os.kill(lonely.pids()[0], signal.SIGKILL)
        assert run.join(30)
        assert run.state == "error" and "training process ended" in run.message
        assert not lonely.alive
    finally:
        lonely.shutdown()


def test_a_host_with_free_time_slicing_still_trains():
    free = RunHosts(hosts=1, quantum=None)
    try:
        assert free.quantum is None
        run = BackgroundRun(default_config("reinforce", seed=1, max_episodes=5), hosts=free,
                            frame_every=None).start()
        assert run.join(120)
        assert run.state == "finished" and run.snapshot().episode_count == 5
    finally:
        free.shutdown()


@pytest.mark.parametrize("bad", [-0.01, "20ms", True, float("nan")])
def test_run_hosts_refuse_a_bad_quantum(bad):
    with pytest.raises(ValueError, match="quantum"):
        RunHosts(hosts=1, quantum=bad)


# ----- the turn-taking primitive, in-process --------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.reads = 0

    def __call__(self) -> float:
        self.reads += 1
        return self.now


class Actor:
    """A thread that runs the calls it is given, one after the other, so that a test can
    make one run block (in a take or a pass_on) and see when it comes back."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._calls: queue.Queue = queue.Queue()
        self.thread = threading.Thread(target=self._loop, daemon=True, name=f"actor-{name}")
        self.thread.start()

    def _loop(self) -> None:
        while True:
            fn, done = self._calls.get()
            if fn is None:
                return
            done.result = fn()
            done.set()

    def call(self, fn) -> threading.Event:
        done = threading.Event()
        self._calls.put((fn, done))
        return done

    def close(self) -> None:
        self._calls.put((None, None))
        self.thread.join(10)


def _done(event: threading.Event) -> bool:
    return event.wait(10)


def _queued(turns: Turns, keys: list) -> bool:
    return wait_for(lambda: turns.waiting == keys, 10, every=0.001)


@pytest.fixture
def actors():
    made: list[Actor] = []

    def make(*names: str) -> list[Actor]:
        made.extend(Actor(n) for n in names)
        return made[-len(names):]

    yield make
    for a in made:
        a.close()


def test_turns_default_to_the_quantum_and_refuse_a_non_positive_one():
    assert Turns().quantum == TURN_QUANTUM == 0.02
    for bad in (0, -1.0, float("nan")):
        with pytest.raises(ValueError):
            Turns(bad)


def test_turns_are_handed_on_first_come_first_served(actors):
    clock = FakeClock()
    turns = Turns(0.02, clock=clock)
    a, b, c = actors("a", "b", "c")
    assert _done(a.call(lambda: turns.take("a")))
    assert turns.holder == "a"
    b_in = b.call(lambda: turns.take("b"))
    assert _queued(turns, ["b"])
    c_in = c.call(lambda: turns.take("c"))
    assert _queued(turns, ["b", "c"])
    assert not b_in.is_set() and not c_in.is_set()  # blocked while a holds the turn

    clock.now = 0.02
    a_back = a.call(lambda: turns.pass_on("a"))  # a's quantum is over: b's turn, a queues
    assert _done(b_in) and turns.holder == "b"
    assert _queued(turns, ["c", "a"])
    assert not a_back.is_set() and not c_in.is_set()

    clock.now = 0.04
    b_back = b.call(lambda: turns.pass_on("b"))
    assert _done(c_in) and turns.holder == "c"
    assert _queued(turns, ["a", "b"])
    c.call(lambda: turns.give_up("c"))  # c ends: a has waited longest
    assert _done(a_back) and a_back.result is True and turns.holder == "a"
    assert _queued(turns, ["b"])
    a.call(lambda: turns.give_up("a"))
    assert _done(b_back) and turns.holder == "b" and turns.waiting == []
    assert _done(b.call(lambda: turns.give_up("b")))
    assert turns.holder is None and turns.handoffs == 4


def test_a_turn_lasts_at_least_the_quantum(actors):
    clock = FakeClock()
    clock.now = 10.0
    turns = Turns(0.25, clock=clock)  # (binary-exact times: no rounding at the boundary)
    a, b = actors("a", "b")
    assert _done(a.call(lambda: turns.take("a")))  # a's turn began at 10.0
    b_in = b.call(lambda: turns.take("b"))
    assert _queued(turns, ["b"])
    for now in (10.0, 10.125, 10.2499):
        clock.now = now
        passed = a.call(lambda: turns.pass_on("a"))
        assert _done(passed) and passed.result is False  # not yet: a keeps its turn
        assert turns.holder == "a" and not b_in.is_set()
    clock.now = 10.25
    a.call(lambda: turns.pass_on("a"))
    assert _done(b_in) and turns.holder == "b"  # b's turn starts now, at 10.25
    clock.now = 10.4
    kept = b.call(lambda: turns.pass_on("b"))
    assert _done(kept) and kept.result is False and turns.holder == "b"
    clock.now = 10.5
    b_back = b.call(lambda: turns.pass_on("b"))
    assert wait_for(lambda: turns.holder == "a", 10, every=0.001)
    assert turns.handoffs == 2
    a.call(lambda: turns.give_up("a"))
    assert _done(b_back) and b_back.result is True
    assert _done(b.call(lambda: turns.give_up("b")))


def test_a_run_alone_never_hands_on_nor_reads_the_clock():
    clock = FakeClock()
    turns = Turns(0.02, clock=clock)
    assert turns.take("solo")
    reads = clock.reads
    for i in range(10_000):
        clock.now = float(i)  # its quantum is long over, but nobody waits
        assert turns.pass_on("solo") is False
    assert turns.holder == "solo" and turns.handoffs == 0
    assert clock.reads == reads  # the uncontended check is one look at the queue
    turns.give_up("solo")
    assert turns.holder is None
    assert turns.take("next")  # free again: taken at once
    assert turns.holder == "next"


def test_only_the_holder_hands_on_or_gives_up(actors):
    clock = FakeClock()
    turns = Turns(0.02, clock=clock)
    a, b = actors("a", "b")
    assert _done(a.call(lambda: turns.take("a")))
    b_in = b.call(lambda: turns.take("b"))
    assert _queued(turns, ["b"])
    clock.now = 1.0
    assert turns.pass_on("stranger") is False  # a key that does not hold the turn
    turns.give_up("stranger")
    assert turns.holder == "a" and turns.waiting == ["b"] and not b_in.is_set()
    assert _done(a.call(lambda: turns.take("a")))  # taking it again while holding: a no-op
    assert turns.holder == "a"
    a.call(lambda: turns.give_up("a"))
    assert _done(b_in) and turns.holder == "b"


def test_unless_keeps_the_turn_and_skips_the_queue(actors):
    clock = FakeClock()
    turns = Turns(0.02, clock=clock)
    a, b = actors("a", "b")
    assert _done(a.call(lambda: turns.take("a")))
    b_in = b.call(lambda: turns.take("b"))
    assert _queued(turns, ["b"])
    clock.now = 1.0
    kept = a.call(lambda: turns.pass_on("a", unless=lambda: True))  # e.g. a is stopping
    assert _done(kept) and kept.result is False and turns.holder == "a"
    assert turns.take("c", unless=lambda: True) is False  # a stopped run does not queue
    assert turns.waiting == ["b"]
    a.call(lambda: turns.give_up("a"))
    assert _done(b_in)


def test_hurry_sends_a_waiting_run_to_the_front(actors):
    turns = Turns(0.02, clock=FakeClock())
    a, b, c, d = actors("a", "b", "c", "d")
    assert _done(a.call(lambda: turns.take("a")))
    entered = {}
    for actor in (b, c, d):
        entered[actor.name] = actor.call(lambda n=actor.name: turns.take(n))
        assert wait_for(lambda n=actor.name: n in turns.waiting, 10, every=0.001)
    assert turns.waiting == ["b", "c", "d"]
    assert turns.hurry("d") is True  # e.g. d was stopped: it should see that soon
    assert turns.waiting == ["d", "b", "c"]
    assert turns.hurry("a") is False and turns.hurry("nobody") is False  # not waiting
    a.call(lambda: turns.give_up("a"))
    assert _done(entered["d"]) and turns.holder == "d"
    assert not entered["b"].is_set() and not entered["c"].is_set()
    for name, nxt in (("d", "b"), ("b", "c")):
        actor = {"b": b, "d": d}[name]
        actor.call(lambda n=name: turns.give_up(n))
        assert _done(entered[nxt]) and turns.holder == nxt
    c.call(lambda: turns.give_up("c"))
    assert wait_for(lambda: turns.holder is None, 10, every=0.001)


def test_many_threads_one_holder_at_a_time_round_robin():
    ticks = itertools.count()
    turns = Turns(0.5, clock=lambda: float(next(ticks)))  # every turn is over at its next check
    inside, order, lock = [], [], threading.Lock()

    def run(name: str) -> None:
        turns.take(name)
        try:
            for _ in range(50):
                with lock:
                    inside.append(name)
                    assert len(inside) == 1, inside  # nobody else trains now
                    order.append(name)
                with lock:
                    inside.remove(name)
                turns.pass_on(name)
        finally:
            turns.give_up(name)

    turns.take("main")  # hold it while the runs queue up, in order
    threads = []
    for name in "abcd":
        threads.append(threading.Thread(target=run, args=(name,)))
        threads[-1].start()
        assert wait_for(lambda n=name: n in turns.waiting, 10, every=0.001)
    turns.give_up("main")
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads)
    assert "".join(order) == "abcd" * 50  # round robin, in arrival order
    assert turns.holder is None and turns.waiting == []
    assert turns.handoffs == 1 + 4 * 50 + 3  # main to a, every check, the last three ends


class FakeControlTurns(Turns):
    """Turns that note what a host's control asked of them."""

    def __init__(self) -> None:
        super().__init__(0.02, clock=FakeClock())
        self.calls: list[str] = []

    def pass_on(self, key, unless=None):
        self.calls.append(f"pass_on:{bool(unless and unless())}")
        return super().pass_on(key, unless)

    def give_up(self, key):
        self.calls.append("give_up")
        super().give_up(key)

    def take(self, key, unless=None):
        self.calls.append("take")
        return super().take(key, unless)


def test_a_host_control_gives_the_turn_up_while_paused_and_takes_it_back():
    turns = FakeControlTurns()
    paused_calls = []
    control = hosts_mod._host_control(lambda: paused_calls.append(turns.holder), turns, 7)
    assert turns.take(7)
    assert control.wait_while_paused() == 0.0  # running: only offers the turn on
    assert turns.calls == ["take", "pass_on:False"]
    control.pause()
    waiter = threading.Thread(target=control.wait_while_paused)
    waiter.start()
    assert wait_for(lambda: turns.holder is None, 10, every=0.001)  # given up while paused
    assert paused_calls == [7]  # on_pause ran while it still held the turn
    assert turns.calls[2:] == ["pass_on:True", "give_up"]  # paused: no hand-off, then give up
    control.resume()
    waiter.join(10)
    assert not waiter.is_alive() and turns.holder == 7  # resumed: its turn back
    # paused, then stopped: it wakes and ends without queueing for a turn
    control.pause()
    waiter = threading.Thread(target=control.wait_while_paused)
    waiter.start()
    assert wait_for(lambda: turns.holder is None, 10, every=0.001)
    turns.calls.clear()
    control.stop()
    waiter.join(10)
    assert not waiter.is_alive()
    assert turns.holder is None and turns.calls == ["take"]  # take(unless=stopped): not taken


def test_warm_up_imports_what_the_first_optimiser_step_needs():
    hosts_mod._warm_up()
    assert "torch._dynamo" in sys.modules and "pgcore.training.trainer" in sys.modules


# ----- turns in a real host -------------------------------------------------------------------


@pytest.fixture(scope="module")
def one_host():
    h = RunHosts(hosts=1)
    yield h
    h.shutdown()


def test_a_paused_run_does_not_hold_up_the_others_in_its_host(one_host):
    algos = ["a2c", "reinforce", "actor-critic"]
    runs = [BackgroundRun(default_config(a, seed=s, max_episodes=10**6), hosts=one_host,
                          frame_every=None).start() for s, a in enumerate(algos)]
    try:
        assert _wait(lambda: all(r.snapshot().episode_count >= 2 for r in runs))
        paused = runs[0]
        paused.pause()
        assert _wait(lambda: paused.state == "paused", timeout=30)
        # "paused" came after every event the run emitted before its pause point
        at = paused.snapshot().episode_count
        before = [r.snapshot().episode_count for r in runs[1:]]
        assert _wait(lambda: all(r.snapshot().episode_count >= b + 3
                                 for r, b in zip(runs[1:], before, strict=True)), timeout=60)
        assert paused.snapshot().episode_count == at and paused.state == "paused"
        assert all(r.state == "running" for r in runs[1:])
        paused.resume()  # back in the queue, and training again
        assert _wait(lambda: paused.snapshot().episode_count > at, timeout=60)
        runs[1].pause()  # a second pause, then a stop while paused
        assert _wait(lambda: runs[1].state == "paused", timeout=30)
        runs[1].stop("Stopped while paused.")
        assert runs[1].join(30) and runs[1].state == "stopped"
        assert runs[1].message == "Stopped while paused."
        after = runs[2].snapshot().episode_count
        assert _wait(lambda: runs[2].snapshot().episode_count > after, timeout=60)
    finally:
        for r in runs:
            r.stop()
        for r in runs:
            assert r.join(30)
    assert [r.state for r in runs] == ["stopped"] * 3
    assert _wait(lambda: one_host.runs == 0, timeout=10)


def test_stop_and_pause_reach_runs_waiting_for_their_turn(one_host):
    runs = [BackgroundRun(default_config(a, seed=s, max_episodes=10**6), hosts=one_host,
                          frame_every=None).start()
            for s, a in enumerate(["ppo", "a2c", "dqn", "reinforce", "actor-critic", "a2c"])]
    try:
        assert _wait(lambda: all(r.snapshot().episode_count >= 1 for r in runs))
        for r in runs[::2]:  # most of them wait for a turn when told
            r.pause()
        assert _wait(lambda: all(r.state == "paused" for r in runs[::2]), timeout=30)
        for r in runs[1::2]:
            r.stop()
        assert all(r.join(30) for r in runs[1::2])
        assert [r.state for r in runs[1::2]] == ["stopped"] * 3
        assert [r.state for r in runs[::2]] == ["paused"] * 3
    finally:
        for r in runs:
            r.stop()
        for r in runs:
            assert r.join(30)
    assert [r.state for r in runs] == ["stopped"] * 6


def test_a_host_is_killed_before_the_server_when_memory_runs_out(tmp_path):
    """Past the memory limit the kernel kills the process with the highest score: a host
    raises its own, so the server (every learner's page) survives a host's death."""
    score = tmp_path / "oom_score_adj"
    score.write_text("100\n")
    assert hosts_mod._kill_me_first(path=str(score))
    assert score.read_text() == str(100 + hosts_mod.OOM_SCORE_ADJ)
    score.write_text("900\n")
    assert hosts_mod._kill_me_first(path=str(score)) and score.read_text() == "1000"  # capped
    assert not hosts_mod._kill_me_first(path=str(tmp_path / "missing"))


def test_a_real_host_raises_its_out_of_memory_score():
    if not os.path.exists("/proc/self/oom_score_adj"):
        pytest.skip("no /proc/<pid>/oom_score_adj on this system")
    with open("/proc/self/oom_score_adj") as f:
        mine = int(f.read())
    hosts = RunHosts(1)
    try:
        pid = hosts.pids()[0]

        def score() -> int | None:
            try:
                with open(f"/proc/{pid}/oom_score_adj") as f:
                    return int(f.read())
            except (OSError, ValueError):
                return None

        assert wait_for(lambda: score() == min(1000, mine + hosts_mod.OOM_SCORE_ADJ), 120)
    finally:
        hosts.shutdown()


# ----- warming up: one host after another -------------------------------------------------------


def test_a_new_run_goes_to_the_least_busy_host_a_warming_one_counting_one_more():
    pick = hosts_mod.pick_host
    assert pick([0, 0], [False, False]) == 0  # none warm yet: the least busy, first of equals
    assert pick([1, 0], [False, False]) == 1
    assert pick([0, 0], [False, True]) == 1  # a warm host takes it at once
    assert pick([1, 0], [True, False]) == 0  # ... and one more: even, the warm one first
    assert pick([2, 0], [True, False]) == 1  # busier than that: the one about to be warm
    assert pick([3, 1], [True, True]) == 1  # all warm: the least busy


def test_runs_started_together_while_one_host_warms_do_not_all_go_to_the_warm_one():
    """Six runs (an experiment page's grid) started while only the first host is warm: they
    used to share the first host's core for good, the second idle once warm."""
    h = RunHosts(hosts=2)
    runs = []
    try:
        assert wait_for(lambda: h.warm()[0], 120)
        runs = [BackgroundRun(default_config("dqn", seed=s, max_episodes=50), hosts=h).start()
                for s in range(6)]
        assert wait_for(lambda: sum(h.load()) == 6, 60)
        assert min(h.load()) >= 2 and max(h.load()) <= 4, h.load()  # 4 and 2 (3 and 3 if
        # the second host is warm before the last runs are placed); it was 6 and 0
    finally:
        for run in runs:
            run.stop()
        h.shutdown()


def _maps_torch(pid: int) -> bool:
    with open(f"/proc/{pid}/maps") as f:
        return "libtorch" in f.read()


@pytest.mark.skipif(not os.path.exists("/proc/self/maps"), reason="reads /proc/<pid>/maps")
def test_hosts_warm_up_one_after_another():
    """The second host loads torch only once the first is warm (so the first is ready in the
    time one warm-up takes alone), and both end up warm."""
    h = RunHosts(hosts=2)
    try:
        first, second = h.pids()
        seen_second_early = False
        while not h.warm()[0]:
            assert h.alive
            if _maps_torch(second):
                seen_second_early = True
                break
            time.sleep(0.02)
        assert not seen_second_early, "the second host loaded torch before the first was warm"
        assert _maps_torch(first)
        assert wait_for(lambda: all(h.warm()), 120)
    finally:
        h.shutdown()


def test_a_run_started_on_a_fresh_host_trains_and_the_host_ends_warm():
    """A run sent to a host still warming up (its first optimiser step's import runs in a
    thread beside the run) trains to its end with its frames, and the host ends warm."""
    h = RunHosts(hosts=1)
    try:
        run = BackgroundRun(default_config("reinforce", seed=0, max_episodes=3), hosts=h,
                            frame_every=0.0).start()
        assert run.join(120) and run.state == "finished", run.message
        snap = run.snapshot()
        assert snap.episode_count == 3 and snap.frame is not None
        assert wait_for(lambda: all(h.warm()), 60)
    finally:
        h.shutdown()


@pytest.mark.skipif(not hasattr(os, "setpriority"), reason="no thread priorities here")
def test_a_warming_thread_lowers_only_its_own_priority():
    mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    seen = []

    def warming():
        lowered = cores.lower_thread_priority(5)
        seen.append((lowered, os.getpriority(os.PRIO_PROCESS, threading.get_native_id())))

    t = threading.Thread(target=warming)
    t.start()
    t.join()
    assert seen == [(True, min(19, mine + 5))]
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == mine


def test_a_runs_first_frame_goes_out_at_once_later_events_wait_for_the_flush():
    """A learner who pressed Start waits for the run's first frame: the host sends it as it
    comes, not at the next flush (:data:`~pgcore.execution.hosts.FLUSH_SECONDS`); the
    events after it go in the flusher's batches."""
    from pgcore.training.events import Frame

    sent = []

    class Results:
        def put(self, item):
            sent.append(item)

    run = hosts_mod._HostedRun(1, default_config("reinforce").to_dict(), 0.25, 1.0, Results())
    frame = Frame(episode=1, step=0, obs=np.zeros(4), probs=np.full(2, 0.5), value=0.0)
    run._on_event(frame)
    assert sent == [(1, "events", [frame])]
    later = Frame(episode=1, step=5, obs=np.ones(4), probs=np.full(2, 0.5), value=0.0)
    run._on_event(later)
    assert len(sent) == 1 and run.outbox == [later]
    run.flush()
    assert sent[-1] == (1, "events", [later])


def _nices(pid: int) -> list[int]:
    """The nice value of each thread of process ``pid`` now (threads may come and go)."""
    out = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            out.append(int(fields[16]))  # field 19 of stat: the nice value
        except (OSError, IndexError, ValueError):
            continue  # the thread ended meanwhile
    return out


@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="reads /proc/<pid>/task")
def test_the_first_host_warms_at_the_servers_priority_the_others_lower():
    """No priority inversion on a learner's first Start: a run sent to the first host while it
    warms up builds its optimiser, which waits for the import the warm-up is doing; that
    import runs at the server's own priority, not below it. The hosts after it, which warm
    while the first one already trains, warm up lower (:data:`~pgcore.execution.cores.
    WARM_NICE`)."""
    base = os.getpriority(os.PRIO_PROCESS, 0)
    h = RunHosts(hosts=2)
    try:
        first, second = h.pids()
        seen = {first: set(), second: set()}
        while not all(h.warm()):
            assert h.alive
            for pid in seen:
                seen[pid].update(_nices(pid))
            time.sleep(0.01)
        assert seen[first] == {base}, "the first host warmed up below the server's priority"
        assert min(19, base + cores.WARM_NICE) in seen[second], \
            "the second host warmed up at full priority beside the first one's runs"
    finally:
        h.shutdown()


@pytest.mark.skipif(not os.path.exists("/proc/self/maps"), reason="reads /proc/<pid>/maps")
def test_held_hosts_warm_up_only_once_released_or_sent_a_run():
    """The app starts its hosts as the first page starts, held: their processes exist, but
    the first one loads torch only once the page has drawn (``release``), so it does not slow
    that page down. Started beside hosts that are not held, held ones have loaded nothing by
    the time those are warm; released, they warm up; a run sent to held hosts releases them."""
    free = RunHosts(hosts=1)
    held = RunHosts(hosts=1, held=True)
    sent = RunHosts(hosts=1, held=True)
    try:
        assert wait_for(lambda: free.warm()[0], 120)
        assert not _maps_torch(held.pids()[0]) and not held.warm()[0]
        held.release()
        held.release()  # (again: nothing more)
        assert wait_for(lambda: held.warm()[0], 120)
        run = BackgroundRun(default_config("reinforce", seed=0, max_episodes=2), hosts=sent,
                            frame_every=0.0).start()
        assert run.join(120) and run.state == "finished", run.message
        assert wait_for(lambda: sent.warm()[0], 120)
    finally:
        for h in (free, held, sent):
            h.shutdown()
