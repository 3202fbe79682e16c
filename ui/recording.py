"""The link from the Train page's runs to the run history (:mod:`pgcore.store.history`),
shared by the Train page (which records every run) and the Class board (which shows them).

* Where the history lives: ``st.secrets["db_url"]`` if the app has secrets, else
  ``PGLAB_DB_URL``, else the SQLite file next to the app; ``off`` turns recording off. One
  :class:`~pgcore.store.history.Recorder` per URL and server process (``st.cache_resource``).
* Who the learner is: the display name and class code they joined with on the board, kept in
  the session (:func:`identity`). :func:`recording_for` is what ``RunHolder.start`` calls:
  every Train run is recorded, under the learner's name and class, or as anonymous under no
  class before they joined one (those show on no board; the teacher's export has them).

Display names are validated (no markup characters) and, besides, escaped wherever they go
into markdown (:func:`escape_md`).
"""

from __future__ import annotations

import re
import signal
import threading
from dataclasses import dataclass

import streamlit as st

from pgcore.store import history
from pgcore.store.history import HistoryError, Recorder, RunStore

IDENTITY = "board.identity"
"""Session-state key of the joined :class:`Identity` (set by the board's Join button)."""

_MD_SPECIAL = set("\\`*_{}[]()#+-.!|<>&~$:\"'=")


def escape_md(text: str) -> str:
    """``text`` safe inside st.markdown: every markdown or HTML character backslash-escaped.

    >>> escape_md("a_b*c <i>")
    'a\\\\_b\\\\*c \\\\<i\\\\>'
    """
    return "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in str(text))


# ----- where the history lives ----------------------------------------------------------------


def secret(name: str) -> str | None:
    """``st.secrets[name]`` as text, or None (no secrets file, no such key)."""
    try:
        value = st.secrets.get(name)
    except Exception:  # noqa: BLE001 - no secrets.toml at all: Streamlit raises
        return None
    return None if value is None else str(value)


def db_url() -> str | None:
    """The history's URL (secrets, then the environment, then the default); None = off."""
    return history.resolve_url(secret("db_url"))


_SHUTDOWN = threading.Event()
"""Set when this server process got SIGTERM or SIGINT (see :func:`_note_shutdown_signals`)."""


def _note_shutdown_signals() -> None:
    """In the server's main thread: wrap the SIGTERM and SIGINT handlers (Streamlit's, which
    stop the server) so that they first note the shutdown. Streamlit closes the websockets,
    and so the sessions and their runs, before its runtime says it is stopping: this is how a
    run stopped then can be told from one whose learner closed the tab."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        previous = signal.getsignal(sig)
        if not callable(previous) or getattr(previous, "pglab_notes_shutdown", False):
            continue

        def handler(signum, frame, previous=previous):
            _SHUTDOWN.set()
            previous(signum, frame)

        handler.pglab_notes_shutdown = True
        try:
            signal.signal(sig, handler)
        except ValueError:  # not the main thread after all: the runtime's state still says
            return


def _watch_shutdown() -> None:
    """Have the main thread (the server's event loop) run :func:`_note_shutdown_signals`."""
    try:
        from streamlit.runtime import Runtime

        loop = Runtime.instance()._get_async_objs().eventloop  # Streamlit's own loop
        loop.call_soon_threadsafe(_note_shutdown_signals)
    except Exception:  # noqa: BLE001 - no runtime (AppTest) or other internals: skip it
        pass


def server_stopping() -> bool:
    """Whether this Streamlit server is shutting down (SIGTERM, Ctrl-C): the runs its sessions
    stop now are cut off by the server, not stopped by their learners."""
    if _SHUTDOWN.is_set():
        return True
    try:
        from streamlit.runtime import Runtime
        from streamlit.runtime.runtime import RuntimeState

        return Runtime.exists() and Runtime.instance().state in (RuntimeState.STOPPING,
                                                                 RuntimeState.STOPPED)
    except Exception:  # noqa: BLE001 - another Streamlit's internals: assume not
        return False


@st.cache_resource(show_spinner=False)
def _recorder(url: str) -> Recorder:
    _watch_shutdown()
    return Recorder(url, shutting_down=server_stopping)


def recorder() -> Recorder | None:
    """This server process's recorder for the configured database (None: recording off)."""
    url = db_url()
    return None if url is None else _recorder(url)


def open_store(rec: Recorder) -> tuple[RunStore | None, str | None]:
    """The store, or None and the one-line reason it cannot be opened."""
    try:
        store = rec.store()
        store.refresh_due()
        return store, None
    except HistoryError as exc:
        return None, str(exc)


# ----- who the learner is ---------------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    display_name: str
    class_code: str


def identity() -> Identity | None:
    """The learner this session joined as (None before they join)."""
    value = st.session_state.get(IDENTITY)
    return value if isinstance(value, Identity) else None


# ----- recording a Train run ------------------------------------------------------------------


def recording_for(config, preset: str | None = None):
    """A :class:`~pgcore.store.history.Recording` for a Train run about to start, under this
    session's identity; None when recording is off or cannot start. Never raises: recording
    must never stop a learner from training."""
    try:
        rec = recorder()
        if rec is None:
            return None
        me = identity()
        return rec.record(config, display_name=None if me is None else me.display_name,
                          class_code=None if me is None else me.class_code, preset=preset)
    except Exception:  # noqa: BLE001 - e.g. no script context (a test calling start())
        return None


def recording_note(holder) -> str | None:
    """One line about the session's current Train run and the history (None: no run)."""
    rec = getattr(holder, "recording", None)
    if holder.task is None:
        return None
    if rec is None:
        return "Your current Train run is not recorded (run history is off)."
    if not rec.ok:
        return rec.note
    where = (f"class {rec.class_code} as {rec.display_name}" if rec.class_code
             else "no class (anonymous)")
    return f"Your current Train run is recorded under {where}."


def recording_ui(holder) -> None:
    """The note of :func:`recording_note` (a warning when recording failed)."""
    note = recording_note(holder)
    if note is None:
        return
    rec = getattr(holder, "recording", None)
    if rec is not None and not rec.ok:
        st.warning(note, icon=":material/database_off:")
    else:
        st.caption(escape_md(note))


# ----- a tab moved to another app server --------------------------------------------------------

LOST = "recording.lost"
"""Session-state key: (the note about a run this tab lost on another app server or None, the
session's run id when it was written)."""
_CHECKED = "recording.checked"
_RUN_ID = re.compile(r"[0-9a-f]{32}")


def lost_run_note(run_id: str, rec: Recorder | None, store: RunStore | None) -> str | None:
    """What became of run ``run_id``, which this tab held on another app server (None: nothing
    to say: not a run id, not recorded, or recorded by this server, i.e. the page was reloaded
    here and its old session stopped the run as a closed tab).

    Several app servers behind a load balancer: a tab stays on one of them, and a Train run
    lives in that server's memory. When the server stops, the tab reconnects through the load
    balancer to another one, as a new session, with its URL (the settings and ``run=``, the
    marker :func:`run_marker_ui` keeps there). The run is gone: this says so, and what the
    class board will show (the live servers mark it interrupted once its heartbeat is stale)."""
    if rec is None or store is None or not _RUN_ID.fullmatch(run_id):
        return None
    try:
        row = store.get(run_id)
    except HistoryError:
        return None
    if row is None or row.replica == rec.replica:
        return None
    what = f"{row.algo}, seed {row.seed}"
    again = ("Your settings are kept: press **Start** to train again" +
             (f". You were in class {escape_md(row.class_code)} as "
              f"{escape_md(row.display_name or '')}: join it again on the **Class board** so "
              "your next run goes on its board too." if row.class_code and identity() is None
              else "."))
    if row.status == "interrupted":
        return (f"Your run ({what}) was interrupted: the app server it was training on "
                f"stopped, after {row.episodes:,} episodes. The class board keeps it, marked "
                f"*interrupted*. {again}")
    if row.status == "running":
        return (f"Your run ({what}) was cut off: the app server it was training on stopped "
                f"answering, so this tab moved to another server, and a run cannot move with "
                f"it. It had {row.episodes:,} episodes when last heard from; the class board "
                f"will mark it *interrupted*. {again}")
    return (f"This tab moved to another app server (the one it was on stopped answering). "
            f"Your last run ({what}) had already ended ({row.status}, {row.episodes:,} "
            f"episodes) and is on the class board. {again}")


def run_marker_ui(holder) -> None:
    """Keep ``?run=<id>`` in the tab's URL while the session holds a recorded Train run, and
    say what became of a run the URL names that this session does not hold (a tab moved here
    from another app server, :func:`lost_run_note`). The note stays until the learner starts
    a run here. Call it near the top of the Train page."""
    from .links import RUN

    ss = st.session_state
    mine = getattr(getattr(holder, "recording", None), "run_id", None)
    if holder.task is None:
        mine = None
    marker = st.query_params.get(RUN)
    if marker and marker != mine and marker != ss.get(_CHECKED):
        ss[_CHECKED] = marker
        rec = recorder()
        store, _ = (None, None) if rec is None else open_store(rec)
        ss[LOST] = (lost_run_note(marker, rec, store), mine)
    lost = ss.get(LOST)
    if lost and mine is not None and mine != lost[1]:  # a run started here since
        ss[LOST] = lost = None
    if mine is not None:
        if marker != mine:
            st.query_params[RUN] = mine
    elif marker:
        del st.query_params[RUN]
    if lost and lost[0]:
        st.warning(lost[0], icon=":material/cloud_off:")
