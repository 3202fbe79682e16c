"""Showing the code that runs: the Theory page puts each formula next to the real pgcore
function, read with ``inspect.getsource`` so the explanation and the code cannot drift apart."""

from __future__ import annotations

import inspect
import textwrap

import streamlit as st


def qualified_name(obj) -> str:
    module = getattr(obj, "__module__", "") or ""
    return f"{module}.{getattr(obj, '__qualname__', getattr(obj, '__name__', repr(obj)))}"


def source(obj) -> str:
    """The source of a function, method or class, dedented."""
    return textwrap.dedent(inspect.getsource(obj))


def code_block(obj, note: str | None = None, max_height: int = 420) -> None:
    """The live source of ``obj`` with its qualified name (and an optional one-line note)."""
    src = source(obj)
    st.caption(f"`{qualified_name(obj)}`" + (f": {note}" if note else ""))
    lines = src.count("\n") + 1
    st.code(src, language="python", line_numbers=False, wrap_lines=True,
            height=max_height if lines > 22 else "content")
