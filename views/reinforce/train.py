"""Train: pick settings, start a run, and watch it learn (or fail to) train."""

import streamlit as st

from ui import recording, state, takehome, train, widgets

holder = state.session_holder()
pool = state.slot_pool()

st.title("Train an agent", anchor=False)
st.caption("CartPole-v1: push the cart left or right to keep the pole up; +1 per step, at most "
           "500 steps. Training runs in the background, so you can change pages and come back.")
notices = st.empty()  # what a link got wrong, at the top where it is seen
recording.run_marker_ui(holder)  # a tab moved here from a server that stopped: say so

# The settings column is wide enough for the longest preset name in its select box.
settings, main = st.columns([1.25, 2.25], gap="medium")
with settings:
    with st.container(border=True):
        st.subheader("Settings", anchor=False)
        config, error = widgets.config_ui(notices=notices)
    takehome.take_home_ui(config)
with main:
    train.controls_ui(holder, config, error, pool)
    train.panel_ui(holder, pool, settings_algo=st.session_state.get(widgets.K + "algo"))
    train.watch_ui(holder)
