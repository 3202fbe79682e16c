"""The browser fetches the live panel's code before the first Start.

Streamlit's page loads the code of each kind of element the first time one is drawn (the
CartPole image, the progress bar, the Vega-Lite charts and Vega itself: about 25 files, 1.5
MB). A tab that had never shown a run fetched all of it at its first Start click, and the
first frame's image waited behind it (a browser opens only a few connections per server).
:func:`preload_panel_code` draws a script (``app.py``, after the page) that asks the browser
to load those files once the first page has drawn (its script run has ended, a second at
least) and the browser is idle, once per tab, so the first Start finds them loaded. It takes
no space and changes nothing on the page.

The files are found by name in Streamlit's own static folder (:func:`chunk_files`); a
Streamlit whose files are named otherwise gets no script, and its pages work as before.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import streamlit as st

PANEL_CODE = ("ImageList", "Progress", "ArrowVegaLiteChart", "embed", "DownloadButton")
"""The live panel's element kinds a Train page has not drawn before a run (Streamlit's names
for their code: the image, the progress bar, the Vega-Lite chart, Vega, the download
buttons under a run)."""


def chunk_files(names: list[str] | tuple[str, ...], files: list[str]) -> list[str]:
    """Of ``files`` (a folder's file names), the one ``<name>.<hash>.js`` for each of
    ``names``; a name with no such file, or more than one, is left out.

    >>> chunk_files(["ImageList", "embed"], ["ImageList.uI_6.js", "embed.CX5A.js",
    ...                                      "embed.Q1.js", "ImageList.uI_6.js.map"])
    ['ImageList.uI_6.js']
    """
    out = []
    for name in names:
        pattern = re.compile(rf"{re.escape(name)}\.[A-Za-z0-9_-]+\.js")
        found = [f for f in files if pattern.fullmatch(f)]
        if len(found) == 1:
            out.append(found[0])
    return out


def script(files: list[str]) -> str:
    """A ``<script>`` that, once per browser tab, once the page's script run has ended (a
    second after it first runs at the earliest, 5 s at the latest) and the browser is idle,
    imports ``files`` from the folder of Streamlit's own main script (so a
    server under a URL prefix works too); a failure is ignored (the element then loads its
    code when drawn, as it would have)."""
    return ("<script>\n(() => {\n"
            "  if (window.__pgPreload) return;\n"
            "  window.__pgPreload = true;\n"
            f"  const files = {json.dumps(files)};\n"
            "  const main = document.querySelector('script[src*=\"/static/js/index.\"]');\n"
            "  if (!main) return;\n"
            "  const load = () => files.forEach((f) => import(new URL(f, main.src).href)"
            ".catch(() => {}));\n"
            "  const idle = window.requestIdleCallback || ((f) => setTimeout(f, 0));\n"
            "  const app = () => document.querySelector('[data-testid=\"stApp\"]');\n"
            "  let waited = 0;  // the page's run has ended (5 s at most), then when idle\n"
            "  const tick = () => {\n"
            "    waited += 250;\n"
            "    const state = app() && app().getAttribute('data-test-script-state');\n"
            "    if (state === 'notRunning' || waited >= 5000) idle(load);\n"
            "    else setTimeout(tick, 250);\n"
            "  };\n"
            "  setTimeout(tick, 1000);  // the first page draws first\n"
            "})();\n</script>")


@cache
def _panel_files() -> tuple[str, ...]:
    folder = Path(st.__file__).parent / "static" / "static" / "js"
    try:
        files = [p.name for p in folder.iterdir()]
    except OSError:
        return ()
    return tuple(chunk_files(PANEL_CODE, files))


def preload_panel_code() -> None:
    """Draw the script of :func:`script` for the live panel's code (nothing if none of its
    files is found)."""
    files = _panel_files()
    if files:
        st.html(script(list(files)), unsafe_allow_javascript=True)
