"""Class board: join a class, then see everyone's learning curves and the leaderboards; the
teacher's view (what is training right now, any class's runs, CSV) behind the teacher key."""

import streamlit as st

from ui import board, recording, state

holder = state.session_holder()

st.title("Class board", anchor=False)
st.caption("Every run you train on the **Train** page is recorded when it ends. Join your "
           "class with a display name and its code to see your class's runs together: "
           "learners see only their own class.")

me = board.identity_ui()
recording.recording_ui(holder)

rec = recording.recorder()
store, error = (None, None) if rec is None else recording.open_store(rec)
if rec is None:
    st.info("Run history is turned off on this server (PGLAB_DB_URL=off): runs are not "
            "recorded and there is no board.", icon=":material/database_off:")
elif error:
    st.error(f"{error} Training still works; runs are not recorded until this is fixed.",
             icon=":material/database_off:")
elif me is not None:
    try:
        records = store.runs(me.class_code)
    except recording.HistoryError as exc:
        st.error(str(exc), icon=":material/database_off:")
    else:
        board.class_board_ui(records, me.class_code)

st.divider()
board.teacher_ui(rec, store, me)
