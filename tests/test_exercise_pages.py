"""The exercise notebooks in the app: each of the six exercise pages offers its own notebook
for download (the file, never run here), and Home lists all six."""

from __future__ import annotations

import ast
import json

import pytest
from streamlit.testing.v1 import AppTest

from ui import exercises, navigation

TIMEOUT = 60


def test_every_exercise_names_a_page_of_the_menu_and_a_notebook_that_exists():
    titles = {e.url_path: e.title for e in navigation.entries()}
    assert [e.number for e in exercises.EXERCISES] == [1, 2, 3, 4, 5, 6]
    for e in exercises.EXERCISES:
        assert titles[e.page] == e.title
        data = exercises.notebook_bytes(e.notebook)
        assert data is not None and json.loads(data)["nbformat"] == 4
    assert [e.page for e in exercises.EXERCISES] == [  # the menu's order
        u for u in titles if u in {e.page for e in exercises.EXERCISES}]
    with pytest.raises(KeyError, match="numbered 1 to 6"):
        exercises.exercise(7)


def _download_calls(source: str) -> list[int]:
    return [node.args[0].value for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "download_button"]


def test_each_exercise_page_calls_the_helper_once_with_its_own_number():
    for e in navigation.entries():
        calls = _download_calls(e.path.read_text(encoding="utf-8"))
        want = [x.number for x in exercises.EXERCISES if x.page == e.url_path]
        assert calls == want, e.file


@pytest.mark.parametrize("number", [1, 4])
def test_the_page_shows_its_notebooks_download_button(number):
    e = exercises.exercise(number)
    at = AppTest.from_file(str(navigation.page(e.page).path), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    # the page's own download buttons (its "Take it home" exports) are not this one
    buttons = [b for b in at.get("download_button") if b.key.startswith("exercise-notebook")]
    assert len(buttons) == 1
    assert f"Exercise {number} as a notebook" in str(buttons[0].proto)
    assert e.notebook in str(buttons[0].proto) or "exercise-notebook" in str(buttons[0].proto)


def _one_button():
    from ui.exercises import download_button

    download_button(2)


def test_a_missing_notebook_is_a_caption_not_an_error(monkeypatch, tmp_path):
    monkeypatch.setattr(exercises, "NOTEBOOKS", tmp_path)
    exercises.notebook_bytes.cache_clear()
    try:
        at = AppTest.from_function(_one_button, default_timeout=TIMEOUT)
        at.run()
    finally:
        exercises.notebook_bytes.cache_clear()
    assert not at.exception
    assert not at.get("download_button")
    assert "not part of this copy" in at.caption[0].value


def test_home_lists_the_six_exercises():
    at = AppTest.from_file(str(navigation.VIEWS.parent / "app.py"), default_timeout=TIMEOUT)
    at.run()  # Home is the default page
    assert not at.exception, at.exception
    text = "\n".join(m.value for m in at.markdown)
    assert any("six exercises" in x.label for x in at.expander)
    for e in exercises.EXERCISES:
        assert e.title in text and e.notebook in text
    assert "jupyter lab exercises/" in text
