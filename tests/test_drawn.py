"""ui.drawn.Drawn: what the live views draw is made once for every session, even when many
ask for it at the same moment."""

from __future__ import annotations

import gc
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ui.drawn import Drawn  # noqa: E402


def waiting_for(drawn: Drawn, key, n: int) -> None:
    """Until ``n`` sessions wait on the build of ``key`` (the build's event's waiters)."""
    pending = drawn._making[key]
    while len(pending._cond._waiters) < n:
        threading.Event().wait(0.01)


class Source:
    """Something a value is made from (weakly referenced)."""


def test_identical_requests_at_once_make_one_value():
    drawn = Drawn(8)
    n = 20
    asked = threading.Barrier(n)
    building = threading.Event()
    release = threading.Event()
    calls = []

    def build():
        calls.append(1)
        building.set()
        assert release.wait(30)
        return "spec"

    results = []

    def ask():
        asked.wait()
        results.append(drawn.make("snapshot 7", None, build))

    threads = [threading.Thread(target=ask) for _ in range(n)]
    for t in threads:
        t.start()
    assert building.wait(30)
    waiting_for(drawn, "snapshot 7", n - 1)  # one builds, every other session waits for it
    release.set()
    for t in threads:
        t.join(30)
    assert results == ["spec"] * n
    assert len(calls) == 1 and drawn.made == 1


def test_a_failed_build_raises_once_and_a_waiting_session_builds_again():
    drawn = Drawn(4)
    first_in = threading.Event()
    second_waits = threading.Event()
    outcome = {}

    def failing():
        first_in.set()
        assert second_waits.wait(30)
        raise RuntimeError("drawing failed")

    def first():
        try:
            drawn.make("k", None, failing)
        except RuntimeError as exc:
            outcome["first"] = str(exc)

    t = threading.Thread(target=first)
    t.start()
    assert first_in.wait(30)

    def second():
        outcome["second"] = drawn.make("k", None, lambda: "drawn again")

    u = threading.Thread(target=second)
    u.start()
    waiting_for(drawn, "k", 1)  # the second session waits on the first one's build
    second_waits.set()
    t.join(30)
    u.join(30)
    assert outcome == {"first": "drawing failed", "second": "drawn again"}
    assert drawn.get("k") == "drawn again" and drawn.made == 1


def test_an_entry_goes_with_what_it_was_made_from():
    drawn = Drawn(4)
    source = Source()
    key = (id(source), "frame")
    assert drawn.make(key, source, lambda: b"jpeg") == b"jpeg"
    assert drawn.get(key) == b"jpeg"
    del source
    gc.collect()
    assert drawn.get(key) is None  # the id may now be reused: the entry is gone


def test_the_least_recently_used_go_first():
    drawn = Drawn(2)
    for k in "abc":
        drawn.make(k, None, lambda k=k: k.upper())
    assert len(drawn) == 2 and drawn.get("a") is None and drawn.get("c") == "C"
    with pytest.raises(ValueError):
        Drawn(0)
