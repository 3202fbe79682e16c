"""The first page draws before torch loads; torch and the run hosts load after it.

Each check runs in a fresh interpreter (a subprocess), since this test process has long
imported torch: it runs the router (``app.py``) and Home in ``AppTest`` with the background
warm-up held back, and looks at ``sys.modules`` afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "gymnasium", "pandas", "altair", "sqlalchemy", "pygame")


def _run(code: str, **env: str) -> str:
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT,
                          env=full_env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_home_and_the_router_draw_without_torch():
    out = _run(f"""
        import sys
        from streamlit.testing.v1 import AppTest
        from ui import state
        warmed, hosts = [], []
        state.warm_up_in_background = lambda: warmed.append(True)  # held back: looked at below
        state.start_hosts_in_background = lambda: hosts.append(len(warmed))
        at = AppTest.from_file("app.py", default_timeout=60).run()
        assert not at.exception, at.exception
        assert at.title[0].value == "Policy Gradient Lab"
        assert warmed == [True], "the warm-up is started after the page"
        assert hosts == [0], "the hosts are started (in the background) before the page"
        from pgcore.execution.hosts import current_run_hosts
        assert current_run_hosts() is None, "the page itself starts no host"
        print(sorted(m for m in {HEAVY!r} if m in sys.modules))
    """, PGLAB_RUNS="hosts")
    assert out.strip() == "[]", f"the first page imported {out.strip()}"


def test_the_warm_up_loads_torch_and_starts_the_hosts():
    """... the hosts first (a learner's first Start waits for them, not for this process's
    imports), and the first run's chart templates are built."""
    out = _run("""
        import sys
        from ui import state
        start_hosts = state.training_hosts
        torch_before_hosts = []
        def training_hosts():
            torch_before_hosts.append("torch" in sys.modules)
            return start_hosts()
        state.training_hosts = training_hosts
        state._warm_up()
        from pgcore.execution.hosts import current_run_hosts, shutdown_run_hosts
        from ui.charts import live
        hosts = current_run_hosts()
        try:
            print("torch" in sys.modules, "ui.charts.live" in sys.modules,
                  hosts is not None and hosts.hosts == state.memory_plan().hosts,
                  torch_before_hosts == [False],
                  live._returns_template.cache_info().currsize >= 1)
        finally:
            shutdown_run_hosts()
    """, PGLAB_RUNS="hosts", PGLAB_MEMORY_MB="2700")
    assert out.split()[-5:] == ["True"] * 5


def test_without_room_for_hosts_the_warm_up_starts_none():
    out = _run("""
        from ui import state
        state._warm_up()
        from pgcore.execution.hosts import current_run_hosts
        print(state.memory_plan().hosts, current_run_hosts() is None)
    """, PGLAB_RUNS="", PGLAB_MEMORY_MB="690")
    assert out.split()[-2:] == ["0", "True"]


def test_the_hosts_start_in_the_background_where_the_plan_has_them():
    """The router starts the run hosts' processes before the page, in a thread, held: they
    begin to warm up once the page has drawn (the warm-up releases them). Runs in threads:
    nothing to start."""
    code = """
        import threading
        from ui import state
        from pgcore.execution.hosts import current_run_hosts, shutdown_run_hosts
        state.start_hosts_in_background()
        state.start_hosts_in_background()  # once per process
        starting = [t for t in threading.enumerate() if t.name == "pglab-hosts"]
        assert len(starting) <= 1
        for t in starting:
            t.join(120)
        hosts = current_run_hosts()
        print(None if hosts is None else f"{hosts.hosts} {hosts.held}")
        if hosts is not None:
            state._warm_up()  # after the page: they begin to warm up
            print(hosts.held)
        shutdown_run_hosts()
    """
    lines = _run(code, PGLAB_RUNS="hosts").strip().splitlines()
    count, held = lines[-2].split()
    assert int(count) >= 1 and held == "True", "started held: they wait for the page to draw"
    assert lines[-1] == "False"
    assert _run(code, PGLAB_RUNS="threads").strip().splitlines()[-1] == "None"
