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
