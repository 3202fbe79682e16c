"""Policy Gradient Lab: `streamlit run app.py`.

The router: page setup, navigation, and the sidebar every page shares. The pages live in
``views/``, one folder per section of the menu (``ui.navigation``), and stay thin; ``ui/`` holds
the Streamlit-side helpers and ``pgcore`` does the work.
(Not ``pages/``: Streamlit would treat that folder as an old-style multipage app of its own.)

The first page draws before torch loads: nothing this file imports, and nothing Home imports,
loads torch (``tests/test_first_page.py``). Once a page has drawn, torch, the Train page's
helpers and the run hosts load in a background thread (``state.warm_up_in_background``).
"""

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # pygame draws CartPole off-screen
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

from pathlib import Path

import streamlit as st

from ui import a11y, links, navigation, preload, sidebar, state
from ui.style import CSS, PRESENTER_CSS

HERE = Path(__file__).resolve().parent
ICON = str(HERE / "assets" / "icon.png")

st.set_page_config(page_title="Policy Gradient Lab", page_icon=ICON, layout="wide",
                   initial_sidebar_state="expanded")
st.logo(ICON, size="large")
st.html(CSS)
st.html(a11y.SCRIPT, unsafe_allow_javascript=True)  # scrolling regions a keyboard can reach
links.keep_widget_values()  # settings survive a visit to another page
present = links.presenter_mode()  # ?present=1: big text and charts, no sidebar (a projector)
if present:
    st.html(PRESENTER_CSS)

if not state.admit_session():  # past the memory budget: say so, start nothing
    st.title("The server is full", anchor=False)
    st.info("Every place on this server is taken right now (it keeps its memory within "
            f"{state.memory_budget_mb():,.0f} MB, about {state.max_sessions()} learners at "
            "once). Try again in a minute: a place frees as soon as someone closes their tab.",
            icon=":material/hourglass_top:")
    st.button("Try again", icon=":material/refresh:")
    st.stop()
state.start_hosts_in_background()  # the run hosts warm up while the first page draws
holder = state.session_holder()
pool = state.slot_pool()

pages = {section: [st.Page(e.path, title=e.title, icon=e.icon, url_path=e.url_path,
                         default=e.default) for e in entries]
         for section, entries in navigation.SECTIONS.items()}  # the lesson's order
# In the normal view the sidebar lists the pages with our own links (sidebar.page_links):
# Streamlit's own sidebar menu puts its section headers inside its list, which screen readers
# and axe-core reject (docs/accessibility.md). The presenter view keeps the menu on top.
page = st.navigation(pages, expanded=True,  # every page listed: no "View more" fold
                     position="top" if present else "hidden")

if present:
    sidebar.presenter_bar()
else:
    with st.sidebar:
        sidebar.page_links(pages)
        st.divider()
        sidebar.about()
        st.divider()
        sidebar.run_status(holder, pool)
        sidebar.presenter_button()

page.run()
state.warm_up_in_background()  # after the first page: torch and the run hosts, once
preload.preload_panel_code()  # ... and, in the browser, the live panel's code
