"""Smoke test of ``bench/bench_hosting.py``: its quick mode (3 runs, 3 s windows) really trains
in run hosts and prints both tables.

The bench runs as a subprocess (it spawns host processes of its own, and its process tree is
what it measures), with a timeout. What a reader relies on is checked: both tables and the
per-algorithm one are printed with their rows, every run progressed in every option, memory
was read and is larger with the runs than without, first episodes were seen, CPU was read
for each run thread, and no process was left behind. Timings are never asserted: they belong
in the printed tables. Plus the script's per-update baton itself, in-process: FIFO hand-off,
one holder at a time (pgcore's own turns are tested in tests/test_hosts.py).
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.helpers import bench_module

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "bench" / "bench_hosting.py"
NUMBER = re.compile(r"[\d,]+(?:\.\d+)?")  # no signs: "1.0-2.0" is a range


def _tables(text: str) -> list[dict[str, list[str]]]:
    """Each markdown table of ``text``: first column -> the other cells."""
    tables, rows = [], None
    for line in text.splitlines():
        if line.startswith("| ") and "---" not in line:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if rows is None:
                rows = {}
                tables.append(rows)
            rows[cells[0]] = cells[1:]
        elif not line.startswith("|"):
            rows = None
    return tables


def _numbers(cell: str) -> list[float]:
    return [float(x.replace(",", "")) for x in NUMBER.findall(cell)]


@pytest.fixture(scope="module")
def quick_output() -> str:
    proc = subprocess.run([sys.executable, str(SCRIPT), "--quick"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


@pytest.mark.slow
def test_quick_prints_both_tables_with_plausible_numbers(quick_output):
    out = quick_output
    assert "### 1. Memory: 3 runs in a pool of 2 run hosts vs a process per run" in out
    assert "### 2. Fair sharing inside one host: 3 runs" in out
    memory, sharing, by_algo = _tables(out)

    assert memory["measure"] == ["(a) pool of 2 run hosts (today)", "(b) a process per run"]
    assert memory["processes training (host processes)"] == ["2", "3"]
    assert memory["runs that progressed in the window"] == ["3 of 3", "3 of 3"]
    assert memory["processes left after shutdown"] == ["0", "0"]
    for row in ("memory, process tree: RSS peak", "... PSS peak"):
        for cell in memory[row]:
            assert cell.endswith(" MB") and _numbers(cell)[0] > 0, (row, cell)
    for cell in memory["MB per run, all in: (peak - this process alone) / N, RSS / PSS"]:
        rss, pss = _numbers(cell)
        assert rss > 0 and pss > 0, cell  # the runs (and their hosts) cost memory
    rss_peak = [_numbers(c)[0] for c in memory["memory, process tree: RSS peak"]]
    alone = [_numbers(c)[0] for c in memory["... this process alone before (RSS / PSS)"]]
    assert all(p > a for p, a in zip(rss_peak, alone, strict=True))
    assert "never" not in " ".join(memory["Start to first episode: median / max"])
    for cell in memory["episodes/s per run: median / min"]:
        assert min(_numbers(cell)) > 0, cell  # every run finished episodes in the window
    for cell in memory["env steps/s, all runs"] + memory["env steps per tree CPU second"]:
        assert _numbers(cell)[0] > 0
    assert float(memory["hosts' warm-up before the first run (once per server)"][0]
                 .split()[0]) > 0

    assert sharing["measure"] == ["(a) free time-slicing (quantum=None)",
                                  "(b) baton: one update per turn",
                                  "(c) turns of >= 20 ms (today)"]
    assert sharing["runs that progressed in the window"] == ["3 of 3"] * 3
    assert sharing["processes left after shutdown"] == ["0"] * 3
    for cell in sharing["episodes/s per run: median [min-max]"]:
        assert min(_numbers(cell)) > 0, cell
    for cell in sharing["CPU per run thread, % of a core: median [min-max]"]:
        assert cell != "–" and min(_numbers(cell)) > 0, cell  # every run thread's CPU read
    for cell in sharing["... max/min (fairness; 1 = even)"]:
        assert _numbers(cell)[0] >= 1.0
    assert "never" not in " ".join(sharing["Start to first episode: median / max"])
    for cell in sharing["host CPU in the window (cores)"] + sharing["updates/s, all runs"]:
        assert _numbers(cell)[0] > 0, cell

    assert list(by_algo)[1:] == ["a2c (1)", "reinforce (1)", "ppo (1)"]
    for cell in by_algo["a2c (1)"][:4]:  # free / baton / the hosts' turns, each measured
        assert len(_numbers(cell)) == 3 and min(_numbers(cell)) > 0, cell
    assert "nice " in out and "load average" in out


@pytest.fixture(scope="module")
def bench():
    with bench_module("bench_hosting") as module:
        yield module


def test_the_baton_is_held_by_one_thread_at_a_time_and_handed_on_in_order(bench):
    baton = bench.Baton()
    holders, turns, lock = [], [], threading.Lock()

    def worker(name: str) -> None:
        baton.acquire()
        try:
            for _ in range(5):
                with lock:
                    holders.append(name)
                    assert len(holders) == 1  # nobody else holds it
                    turns.append(name)
                time.sleep(0.002)
                with lock:
                    holders.remove(name)
                baton.pass_on()
        finally:
            baton.release()

    baton.acquire()  # hold it while the workers queue up, in order
    threads = []
    for name in "abc":
        threads.append(threading.Thread(target=worker, args=(name,)))
        threads[-1].start()
        while len(baton._waiting) < len(threads):
            time.sleep(0.001)
    baton.release()
    for t in threads:
        t.join(10)
    assert not any(t.is_alive() for t in threads)
    assert "".join(turns) == "abc" * 5  # round robin, in arrival order
    assert not baton._held and not baton._waiting


def test_bad_arguments(bench):
    with pytest.raises(SystemExit):
        bench.parse_args(["--n", "0"])
    with pytest.raises(SystemExit):
        bench.parse_args(["--quantum-ms", "0"])  # (c) is the hosts' turns: a quantum > 0
    assert bench.parse_args([]).quantum_ms == 20.0
    args = bench.parse_args(["--quick"])
    assert (args.n, args.k, args.seconds) == (3, 3, 3.0)
