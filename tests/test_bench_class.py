"""Smoke test of ``bench/bench_class.py``: its emulated tabs drive a real ``streamlit run``.

The test starts the app server (the bench's own ``Server``), runs the bench with ``--quick``
(3 tabs, 25 s) against it through ``--url``, and checks what a reader relies on: both tables
are printed, the tabs really trained (a run progressed, episodes counted up in the deltas),
live refreshes were timed, and the server's memory and CPU were read from /proc. About
40-60 s, hence ``slow``. Timings are never asserted: they belong in the printed tables.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import bench_module

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def bench():
    with bench_module("bench_class") as module:
        yield module


def _rows(text: str) -> dict[str, str]:
    """A markdown table's first column -> the rest of the row."""
    rows = {}
    for line in text.splitlines():
        if line.startswith("| ") and "---" not in line:
            cells = [c.strip() for c in line.strip("|").split("|")]
            rows[cells[0]] = " | ".join(cells[1:])
    return rows


@pytest.mark.slow
def test_quick_class_against_a_server_the_test_started(bench, tmp_path, capsys):
    server = bench.Server()
    try:
        out_json = tmp_path / "class.json"
        assert bench.main(["--quick", "--url", server.url, "--json", str(out_json)]) == 0
    finally:
        server.close()
    out = capsys.readouterr().out
    assert "### A class on one server: 3 tabs" in out
    assert "### Targets (issue 12, at N = 30 on 2 cores)" in out
    rows = _rows(out)
    for target in ("refresh p95 < 1 s", "zero exceptions", "total memory < 2.7 GB (peak RSS, "
                   "tree)", "CPU idle within 30 s of the tabs closing"):
        assert rows[target].split(" | ")[-1] in ("met", "**not met**"), rows[target]

    data = json.loads(out_json.read_text())
    s = data["summary"]
    assert s["sessions"] == s["connected"] == s["pressed"] == 3
    assert s["progressed"] >= 1
    tabs = [t for t in data["tabs"] if t["start_to_first_episode_s"] is not None]
    # what "progressed" means: the live panel's episode counter really counted up
    assert any(t["timeline"][-1][1] > t["timeline"][0][1] and t["episodes"] > 1 for t in tabs)
    assert s["refresh_count"] > 0 and s["refresh_p50_s"] is not None
    assert s["exceptions"] == 0 and s["errors"] == 0
    assert s["cache_misses"] == 0  # the client keeps the frontend's message cache faithfully
    # the server tree was found by its port and measured: it grew while the tabs trained
    assert s["mem_peak_mb"] > s["mem_idle_mb"] > 0
    assert rows["sessions whose runs progressed"] == f"{s['progressed']} of 3"


def test_bad_arguments_are_one_line(bench, capsys):
    assert bench.main(["--url", "http://127.0.0.1:9", "--sessions", "1", "--hold", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("no Streamlit server answers at http://127.0.0.1:9")
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    with pytest.raises(SystemExit):
        bench.parse_args(["--sessions", "0"])
    assert "--sessions must be >= 1" in capsys.readouterr().err


def test_the_suites_cases_and_their_tabs(bench):
    assert bench.suite_cases(["scale"], 1.0) == [("defaults", "train", 30),
                                                 ("defaults", "train", 60),
                                                 ("defaults", "train", 100)]
    cases = bench.suite_cases(["all"], 0.1)  # the 30-tab defaults case is listed once
    assert cases == [("defaults", "train", 3), ("defaults", "train", 6),
                     ("defaults", "train", 10), ("distinct seeds", "train", 3),
                     ("experiment page", "seeds_variance", 3)]
    assert all(page in bench.START_KEYS for _, page, _ in cases)
    # distinct seeds: each tab its own seed, kept apart from the page's default (0)
    paths = [bench.tab_path("train", i) for i in range(3)]
    assert paths == ["train?seed=1000", "train?seed=1001", "train?seed=1002"]
    assert bench.tab_path("train?algo=a2c", 5) == "train?algo=a2c&seed=1005"


@pytest.mark.parametrize("argv", [["--suite", "all", "--url", "http://127.0.0.1:1"],
                                  ["--suite", "sharing", "--scale", "0"],
                                  ["--suite", "sharing", "--before", "/nonexistent"]])
def test_the_suite_refuses_bad_flags(bench, argv):
    with pytest.raises(SystemExit) as exc:
        bench.parse_args(argv)
    assert exc.value.code == 2
