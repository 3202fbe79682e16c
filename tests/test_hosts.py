"""Run hosts (pgcore.execution.hosts): runs trained in a few host processes, many per host, so
that more runs than cores all make progress; the same results as a run in a thread."""

from __future__ import annotations

import os
import signal
import time

import numpy as np
import pytest

from pgcore import default_config
from pgcore.execution.hosts import RunHosts
from pgcore.runner import BackgroundRun
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
