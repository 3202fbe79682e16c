"""The browser loads the live panel's code before the first Start (ui/preload.py): which of
Streamlit's files the script asks for, and that every page draws it."""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ui import preload  # noqa: E402


def test_each_name_takes_its_one_javascript_file_and_nothing_else():
    files = ["ImageList.uI_663gL.js", "ImageList.uI_663gL.js.map", "Progress.P06l9H7a.js",
             "ProgressBar.CEZsuZxt.js", "embed.A.js", "embed.B.js", "index.Dorm.js"]
    assert preload.chunk_files(["ImageList", "Progress", "embed", "Missing"], files) == \
        ["ImageList.uI_663gL.js", "Progress.P06l9H7a.js"]  # embed: two candidates, none taken


def test_the_script_loads_the_files_once_per_tab_from_streamlits_own_folder():
    text = preload.script(["ImageList.x.js", "embed.y.js"])
    assert '["ImageList.x.js", "embed.y.js"]' in text
    assert "window.__pgPreload" in text and "new URL(f, main.src)" in text


def test_this_streamlit_has_every_file_the_panel_needs():
    """If Streamlit renames its files, the script loads fewer (the app still works): this
    says so, so that PANEL_CODE can follow."""
    folder = Path(st.__file__).parent / "static" / "static" / "js"
    files = [p.name for p in folder.iterdir()]
    assert len(preload.chunk_files(preload.PANEL_CODE, files)) == len(preload.PANEL_CODE)


def test_every_page_draws_the_preload_script():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception, at.exception
    assert any("__pgPreload" in h.proto.body for h in at.get("html"))
