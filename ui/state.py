"""Who owns what: one slot pool per server process, one run holder per browser session.

``slot_pool()`` is a process-wide ``st.cache_resource``: every session shares it, so at most
``PGLAB_MAX_RUNS`` (default: the number of CPU cores) runs train at once and the rest wait.

``session_holder()`` is a *session-scoped* ``st.cache_resource``: it survives page switches
and reruns, and when the browser tab goes away Streamlit drops it and calls ``on_release``,
which stops the session's run. A run also has its own caps (a time budget, a limit on how
long it may stay paused, and an idle timeout when nobody reads its snapshots), so a run whose
session vanished without notice still ends.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

import streamlit as st

from pgcore import TrainConfig
from pgcore.runner import ACTIVE_STATES, BackgroundRun, RunSnapshot, SlotPool

FRAME_EVERY = 0.25
"""Seconds between CartPole frames drawn by the trainer (the page shows ~2 per second)."""
MAX_PAUSE_SECONDS = 1800.0
IDLE_TIMEOUT = 1800.0


@dataclass(frozen=True)
class WatchResult:
    """One played episode of the policy, as a GIF."""

    gif: bytes
    episode_return: float
    length: int
    weights_update: int | None
    greedy: bool


class RunHolder:
    """What one browser session owns: at most one run, and the last 'watch the agent' GIF."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.run: BackgroundRun | None = None
        self.watch: WatchResult | None = None
        self.reached: dict[float, int] = {}  # threshold -> first episode (never changes once set)
        self.last_state: str | None = None  # what the page last drew (to notice transitions)
        self.preset: str | None = None  # the preset the settings started from (a label)

    def start(self, config: TrainConfig, pool: SlotPool,
              preset: str | None = None) -> BackgroundRun:
        """Stop any current run and start a new one with ``config``."""
        with self._lock:
            self.preset = preset
            old = self.run
            self.run = BackgroundRun(config, pool, frame_every=FRAME_EVERY,
                                     max_pause_seconds=MAX_PAUSE_SECONDS,
                                     idle_timeout=IDLE_TIMEOUT)
            self.watch = None
            self.reached = {}
            self.last_state = None
            run = self.run
        if old is not None:
            old.stop()
        return run.start()

    def snapshot(self) -> RunSnapshot | None:
        run = self.run
        return None if run is None else run.snapshot()

    @property
    def active(self) -> bool:
        run = self.run
        return run is not None and run.state in ACTIVE_STATES

    def pause(self) -> None:
        if self.run is not None:
            self.run.pause()

    def resume(self) -> None:
        if self.run is not None:
            self.run.resume()

    def stop(self) -> None:
        if self.run is not None:
            self.run.stop()

    def reset(self) -> None:
        """Stop the run and forget it (its charts and downloads go too)."""
        with self._lock:
            run, self.run = self.run, None
            self.watch = None
            self.reached = {}
            self.last_state = None
        if run is not None:
            run.stop()

    def release(self) -> None:
        """The session ended: stop its run (called by Streamlit's ``on_release``)."""
        self.stop()


def _max_runs() -> int:
    raw = os.environ.get("PGLAB_MAX_RUNS", "")
    try:
        n = int(raw)
    except ValueError:
        n = 0
    return n if n >= 1 else (os.cpu_count() or 1)


@st.cache_resource(show_spinner=False)
def slot_pool() -> SlotPool:
    """The process-wide training pool (shared by every session)."""
    return SlotPool(max_concurrent=_max_runs())


def _release(holder: RunHolder) -> None:
    holder.release()


@st.cache_resource(scope="session", on_release=_release, show_spinner=False)
def session_holder() -> RunHolder:
    """This browser session's run holder (survives page switches; released with the tab)."""
    return RunHolder()
