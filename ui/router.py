"""Make sure every page runs inside ``app.py``'s router.

Streamlit treats a ``pages/`` folder next to the main script as a "version 1" multipage app
until the first ``st.navigation`` call of the process. So the first visitor after a server
start who opens a page URL directly (``/train``) would run ``pages/train.py`` on its own,
without ``app.py``: no page config, no sidebar, no theme width. Each page calls
:func:`require_router` first; in that one situation it switches Streamlit to ``st.navigation``
mode and reruns, so ``app.py`` runs and routes to the same URL.
"""

from __future__ import annotations

import streamlit as st


def require_router() -> None:
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # pragma: no cover - internal API moved: nothing to fix then
        return
    if getattr(PagesManager, "uses_pages_directory", False):
        PagesManager.uses_pages_directory = False  # what st.navigation itself sets
        st.rerun()
