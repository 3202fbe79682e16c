"""The app under Streamlit Community Cloud's smallest memory tier, 690 MB, as a host runs it.

``streamlit run app.py`` starts inside a memory cgroup of 690 MB (``bench/bench_memory.py``'s
``MemoryCgroup``; the app reads the limit itself), two emulated tabs open Train and press
Start. Each must train (an episode shown) or be told "The server is full"; the server must be
alive at the end and the cgroup must have killed nothing. Before the app read its limit, the
second Start here OOM-killed the server itself. The slow sweep over 690 MB, 1 GB and 2.7 GB
with more tabs is the benchmark's; its figures are in docs/deploy.md.

Skipped, with the reason, where no memory cgroup can be created (not root, no cgroup
controller mounted, a read-only /sys/fs/cgroup).
"""

from __future__ import annotations

import pytest

from tests.helpers import bench_module


@pytest.fixture(scope="module")
def bench():
    with bench_module("bench_memory") as module:
        yield module


@pytest.mark.slow
def test_two_tabs_under_690_mb_train_and_nothing_is_killed(bench):
    why = bench.cgroup_unavailable()
    if why:
        pytest.skip(f"cannot run the app under a memory limit here: {why}")
    result = bench.run_limit(690, tabs=2, every=2.0, hold=20.0)
    kinds = [t.kind for t in result.tabs]
    assert result.error is None, result.error
    assert result.server_exit is None, f"the server exited ({result.server_exit})"
    assert result.oom_kills == 0, f"the cgroup killed {result.oom_kills} process(es)"
    assert kinds and all(k in ("trained", "full") for k in kinds), kinds
    assert "trained" in kinds  # the first learner's Start trains on the 690 MB tier
    assert "threads of the server" in result.plan  # it chose no host: none fits
