"""The Class board's widgets and charts: joining a class, everyone's learning curves, the
leaderboards of :data:`pgcore.store.history.CHALLENGES`, and the teacher's view (runs on the
server right now, any class, CSV export) behind ``PGLAB_TEACHER_KEY`` /
``st.secrets["teacher_key"]``. Where the run history lives and who the learner is:
:mod:`ui.recording` (the Train page records through it too).

Display names are validated (no markup characters) and, besides, escaped wherever they go
into markdown; tables and charts show them as plain text.
"""

from __future__ import annotations

import hmac
import os
import time

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from pgcore.execution import live_tasks
from pgcore.store import history
from pgcore.store.history import CHALLENGES, HistoryError, Recorder, RunRecord, RunStore
from pgcore.training.metrics import moving_average

from . import style
from .charts import palette
from .charts.curves import sample_index
from .charts.thresholds import SOLVED, rules
from .recording import IDENTITY, Identity, escape_md, identity, secret

NAME_KEY = "board.name"
CLASS_KEY = "board.class"
TEACHER = "board.teacher"
"""Session-state key: True once this session entered the right teacher key."""
TEACHER_KEY_ENV = "PGLAB_TEACHER_KEY"
CURVE_POINTS = 300
"""Points per learner's curve on the board (sampled after averaging over the full run)."""
WINDOW = 100


# ----- joining a class ---------------------------------------------------------------------------


def _join() -> None:
    """The Join button: validate both fields; on success remember them, else say why."""
    ss = st.session_state
    errors = []
    try:
        name = history.validate_display_name(ss.get(NAME_KEY, ""))
    except HistoryError as exc:
        errors.append(str(exc))
    try:
        code = history.validate_class_code(ss.get(CLASS_KEY, ""))
    except HistoryError as exc:
        errors.append(str(exc))
    ss["board.join_errors"] = errors
    if not errors:
        ss[IDENTITY] = Identity(name, code)
        ss[NAME_KEY], ss[CLASS_KEY] = name, code


def _leave() -> None:
    st.session_state.pop(IDENTITY, None)


def identity_ui() -> Identity | None:
    """Display name and class code inputs (with Join / Leave); returns the joined identity."""
    ss = st.session_state
    me = identity()
    if me is not None:  # the inputs show what was joined, even after a page switch
        ss.setdefault(NAME_KEY, me.display_name)
        ss.setdefault(CLASS_KEY, me.class_code)
    with st.container(border=True):
        cols = st.columns([2, 1.3, 0.8, 0.8], vertical_alignment="bottom")
        cols[0].text_input("Your display name", key=NAME_KEY, max_chars=history.NAME_MAX,
                           placeholder="e.g. Ada L.",
                           help="What your class sees next to your runs: 1 to 30 letters, "
                                "digits, spaces and . - _ '.")
        cols[1].text_input("Class code", key=CLASS_KEY, max_chars=16,
                           placeholder="e.g. PHYS7",
                           help="Your teacher gives it out; 3 to 16 letters and digits.")
        cols[2].button("Join", type="primary", key="board.join", on_click=_join,
                       width="stretch")
        cols[3].button("Leave", key="board.leave", on_click=_leave, disabled=me is None,
                       width="stretch")
        for error in ss.get("board.join_errors", []):
            st.error(error, icon=":material/error:")
        me = identity()
        if me is None:
            st.caption("Join a class to put your Train runs on its board. Until then your "
                       "runs are recorded anonymously, under no class, and show on no board.")
        else:
            st.caption(f"You are **{escape_md(me.display_name)}** in class "
                       f"**{escape_md(me.class_code)}**: every run you start on the Train "
                       "page from now on goes on this board when it ends.")
    return me


# ----- the class's runs ------------------------------------------------------------------------


def curve_frame(records: list[RunRecord], latest_only: bool = True,
                points: int = CURVE_POINTS) -> pd.DataFrame:
    """One learning curve per learner (their latest ended run with episodes; with
    ``latest_only`` off, every ended run): the 100-episode moving average over the full run,
    sampled to at most ``points`` points. Columns: learner, run, algo, episode, average.
    A run still training is left out (its row holds its curve as of its last heartbeat, which
    an interrupted run keeps)."""
    frames = []
    seen: set[str] = set()
    for r in records:  # newest first
        if r.status == "running" or not len(r.returns) or (latest_only and r.who in seen):
            continue
        seen.add(r.who)
        avg = moving_average(r.returns, WINDOW)
        idx = sample_index(len(avg), points)
        label = r.who if latest_only else f"{r.who} · {r.algo} seed {r.seed} ({r.run_id[:6]})"
        frames.append(pd.DataFrame({"learner": label, "run": r.run_id[:8], "algo": r.algo,
                                    "episode": idx + r.first_episode,
                                    "average": np.round(avg[idx], 2)}))
    if not frames:
        return pd.DataFrame(columns=["learner", "run", "algo", "episode", "average"])
    return pd.concat(frames, ignore_index=True)


def curves_chart(frame: pd.DataFrame) -> alt.LayerChart:
    """Everyone's 100-episode averages on one chart, with the 475 rule. Learners are names the
    palette does not know: ``ui.charts.palette`` spreads them over its colours and dashes by name,
    so a learner keeps its look when others join."""
    learners = list(dict.fromkeys(frame["learner"])) if len(frame) else []
    legend = palette.legend(learners, orient="right")
    line = alt.Chart(frame).mark_line(strokeWidth=1.8).encode(
        x=alt.X("episode:Q", title="episode", axis=palette.axis()),
        y=alt.Y("average:Q", title="100-episode average return", axis=palette.axis()),
        color=palette.color("learner", learners, legend_=legend),
        strokeDash=palette.stroke_dash("learner", learners, legend_=legend),
        tooltip=[alt.Tooltip("learner:N"), alt.Tooltip("algo:N"), alt.Tooltip("episode:Q"),
                 alt.Tooltip("average:Q", format=".1f")])
    return alt.layer(line, *rules([SOLVED[1]], font_size=11)).properties(height=380)


def runs_table(records: list[RunRecord], teacher: bool = False) -> pd.DataFrame:
    """The runs as a table of plain values (names stay text: a dataframe never renders
    markup)."""
    rows = []
    for r in records:
        row = {"learner": r.who, "algorithm": r.algo, "baseline": r.baseline or "",
               "seed": r.seed, "status": r.status, "episodes": r.episodes,
               "to 475": r.episodes_to_475, "final 100 avg": _round(r.final_avg100),
               "best 100 avg": _round(r.best_avg100),
               "started": time.strftime("%d %b %H:%M", time.localtime(r.started_at))}
        if teacher:
            row = {"class": r.class_code or "(none)", **row, "env": r.env_id,
                   "env steps": r.env_steps, "message": r.message}
        rows.append(row)
    return pd.DataFrame(rows)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def leaderboard_table(records: list[RunRecord], challenge) -> pd.DataFrame:
    entries = history.leaderboard(records, challenge)
    return pd.DataFrame([{"rank": e.rank, "learner": e.display_name,
                          challenge.unit: round(e.value, 1), "algorithm": e.record.algo,
                          "baseline": e.record.baseline or "", "seed": e.record.seed}
                         for e in entries])


def class_board_ui(records: list[RunRecord], class_code: str) -> None:
    """The board of one class: the curves, then the leaderboards, then the runs."""
    named = [r for r in records if r.display_name is not None]
    head, button = st.columns([5, 1], vertical_alignment="bottom")
    head.subheader(f"Learning curves: class {class_code}", anchor=False)
    button.button("Refresh", key="board.refresh", icon=":material/refresh:", width="stretch",
                  help="Read the class's runs again (a run shows here once it has ended).")
    if not named:
        st.info(f"No runs in class {class_code} yet. Start one on the **Train** page: it "
                "appears here when it ends.", icon=":material/hourglass_empty:")
        return
    every = st.toggle("Every run (not just each learner's latest)", key="board.every")
    frame = curve_frame(named, latest_only=not every)
    if frame.empty:
        st.caption("None of these runs finished an episode yet.")
    else:
        style.chart(st, curves_chart(frame), width="stretch")
        st.caption("Each line is the average return over the last 100 episodes (fewer at the "
                   "start) of one learner's most recent run, or of every run. The dashed "
                   "green line is CartPole-v1's 'solved' level, 475.")
    st.subheader("Leaderboards", anchor=False)
    tabs = st.tabs([challenge.title for challenge in CHALLENGES])
    for tab, challenge in zip(tabs, CHALLENGES, strict=True):
        with tab:
            st.caption(challenge.rule + " Each learner's best run counts once.")
            table = leaderboard_table(named, challenge)
            if table.empty:
                st.caption("Nobody yet.")
            else:
                st.dataframe(table, hide_index=True, width="stretch")
    with st.expander(f"All runs of class {class_code} ({len(named)})"):
        st.dataframe(runs_table(named), hide_index=True, width="stretch")


# ----- the teacher -------------------------------------------------------------------------------


def teacher_key() -> str | None:
    """The configured teacher key (secrets first, then the environment); None if unset."""
    key = secret("teacher_key") or os.environ.get(TEACHER_KEY_ENV, "")
    return key.strip() or None


def _unlock() -> None:
    ss = st.session_state
    key = teacher_key()
    given = str(ss.get("board.teacher_input", ""))
    ok = key is not None and hmac.compare_digest(given.encode(), key.encode())
    ss[TEACHER] = ok
    ss["board.teacher_error"] = not ok
    ss["board.teacher_input"] = ""  # never kept in the session


def _lock() -> None:
    st.session_state[TEACHER] = False


def _progress(task) -> tuple[int | None, float | None]:
    """(episodes, fraction of the budget) of a live task, without counting as a viewer."""
    counts = getattr(task, "counts", None)
    config = getattr(task, "config", None)
    if counts is None or config is None:
        try:
            return int(task.snapshot().episode_count), None
        except Exception:  # noqa: BLE001 - a task kind without episodes
            return None, None
    episodes, steps, seconds = counts
    parts = [done / budget for done, budget in ((episodes, config.max_episodes),
                                                 (steps, config.max_steps),
                                                 (seconds, config.max_seconds)) if budget]
    return int(episodes), (min(1.0, max(parts)) if parts else None)


def live_rows(tasks, rec: Recorder | None, store: RunStore | None = None) -> pd.DataFrame:
    """Every task training on this server right now (and, from the database, runs other app
    replicas are training): who, what, its state and how far it is."""
    rows = []
    for task in tasks:
        recording = None if rec is None else rec.recording_of(task)
        episodes, fraction = _progress(task)
        config = getattr(task, "config", None)
        rows.append({
            "learner": "(no recording)" if recording is None else
            (recording.display_name or "anonymous"),
            "class": "" if recording is None else (recording.class_code or "(none)"),
            "task": type(task).__name__.replace("BackgroundRun", "Train run"),
            "algorithm": "" if config is None else config.algo,
            "state": task.state, "episodes": episodes,
            "progress": None if fraction is None else round(100 * fraction),
            "where": "this server"})
    if store is not None and rec is not None:
        try:
            others = [r for r in store.runs(all_classes=True, status=("running",), limit=500)
                      if r.replica != rec.replica]
        except HistoryError:
            others = []
        for r in others:
            budget = r.config.get("max_episodes")
            rows.append({"learner": r.who, "class": r.class_code or "(none)",
                         "task": "Train run", "algorithm": r.algo, "state": "running",
                         "episodes": r.episodes,
                         "progress": round(100 * min(1.0, r.episodes / budget))
                         if isinstance(budget, int) and budget > 0 else None,
                         "where": "another app replica"})
    return pd.DataFrame(rows, columns=["learner", "class", "task", "algorithm", "state",
                                       "episodes", "progress", "where"])


def teacher_ui(rec: Recorder | None, store: RunStore | None, me: Identity | None) -> None:
    """The teacher's view behind the teacher key: the server's live runs, any class's runs and
    their CSV."""
    ss = st.session_state
    st.subheader("Teacher view", anchor=False)
    if teacher_key() is None:
        st.info("The teacher view is locked until a teacher key is set: start the app with "
                f"`{TEACHER_KEY_ENV}=<a key of your choice>` in its environment, or put "
                "`teacher_key = \"...\"` in `.streamlit/secrets.toml` (on Streamlit Community "
                "Cloud: the app's Secrets). Then enter the key here.",
                icon=":material/lock:")
        return
    if not ss.get(TEACHER):
        cols = st.columns([2, 1], vertical_alignment="bottom")
        cols[0].text_input("Teacher key", type="password", key="board.teacher_input")
        cols[1].button("Unlock", key="board.unlock", on_click=_unlock)
        if ss.get("board.teacher_error"):
            st.error("That is not the teacher key.", icon=":material/key_off:")
        return
    st.button("Lock the teacher view", key="board.lock", on_click=_lock)
    st.markdown("**Training on the server right now**")
    live = live_rows(live_tasks(), rec, store)
    if live.empty:
        st.caption("Nothing is training right now.")
    else:
        st.dataframe(live, hide_index=True, width="stretch", column_config={
            "progress": st.column_config.ProgressColumn("progress", min_value=0,
                                                        max_value=100, format="%d%%")})
    if store is None:
        return
    try:
        classes = store.classes()
    except HistoryError as exc:
        st.error(str(exc), icon=":material/database_off:")
        return
    codes = [c for c, _ in classes]
    options = [*codes, ""]
    default = me.class_code if me is not None and me.class_code in codes else None
    if default is not None and ss.get("board.teacher_class") not in options:
        ss["board.teacher_class"] = default
    choice = st.selectbox("Class", options, key="board.teacher_class",
                          format_func=lambda c: "(no class: anonymous runs)" if c == "" else
                          f"{c} ({dict(classes).get(c, 0)} runs)")
    try:
        records = store.runs(choice or None)
    except HistoryError as exc:
        st.error(str(exc), icon=":material/database_off:")
        return
    name = choice or "no-class"
    st.download_button(f"Runs of {name} (CSV)", data=history.csv_text(records),
                       file_name=f"pglab-runs-{name}.csv", mime="text/csv",
                       key="board.csv", icon=":material/download:",
                       disabled=not records)
    if records:
        st.dataframe(runs_table(records, teacher=True), hide_index=True, width="stretch")
    else:
        st.caption("No runs recorded for this class yet.")
