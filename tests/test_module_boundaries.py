"""The app's modules keep to their lanes (docs/architecture.md, "Layout"): a page's own helpers
(``ui/<page>.py``, or a feature's that spans pages) import the chart kit (``ui/charts/``), the
shared modules and pgcore, never another page's; the shared modules and the kit import no
page's; a page file imports its own helpers and no other page's; and the kit never imports
Streamlit. Read from the source with ``ast`` (lazy imports inside functions count too)."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
UI = ROOT / "ui"

SHARED = {"navigation", "drawn", "state", "links", "widgets", "style", "sidebar", "docs",
          "verdicts", "reference", "recording", "experiment_controls", "experiment_session",
          "experiment_summary", "experiment_reference", "exercises", "takehome", "a11y",
          "preload"}
"""The ui modules any page may use, besides the chart kit (``ui/charts/``)."""
FEATURES = {"dqn_exercises": {"dqn_target", "dqn_polyak", "dqn_overestimation"},
            "value_policy": {"value_vs_policy"}}
"""Page modules named after a feature rather than after their one page: module -> the URL
paths of its pages. Any other page module is named after its page (``ui/rps.py``: ``/rps``)."""


def _urls() -> set[str]:
    from ui import navigation

    return {e.url_path for e in navigation.entries()} - {""}


def page_modules() -> dict[str, set[str]]:
    """ui module -> the URL paths of the pages it is the helper of."""
    urls = _urls()
    out = {}
    for path in UI.glob("*.py"):
        name = path.stem
        if name in FEATURES:
            out[name] = FEATURES[name]
        elif name in urls:
            out[name] = {name}
    return out


def ui_imports(source: str, package: str) -> set[str]:
    """The top-level ui modules (``rps``, ``state``, ``charts``) that ``source`` imports, at
    any depth; ``package``: the dotted package the source sits in (``ui``, ``ui.charts``; any
    other for a page file or a test). ``from ui import a`` and ``from . import a`` name
    module ``a``; ``from ui.charts import b`` names the kit."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            dotted = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            dotted = [module] + [f"{module}.{a.name}" for a in node.names] \
                if module == "ui" else [module]
        else:
            continue
        for name in dotted:
            parts = name.split(".")
            if parts[0] == "ui" and len(parts) > 1:
                found.add(parts[1])
    return found


def offences() -> list[str]:
    """Every import across the lanes, one line each ("" when there is none)."""
    pages = page_modules()
    out = []
    for path in sorted(UI.rglob("*.py")):
        rel = path.relative_to(ROOT)
        package = ".".join(rel.parent.parts)
        imported = ui_imports(path.read_text(), package) & set(pages)
        own = {path.stem} if path.parent == UI and path.stem in pages else set()
        for other in sorted(imported - own):
            lane = f"page module {path.stem}" if own else "a shared or kit module"
            out.append(f"{rel}: {lane} imports ui.{other}, a page's own module")
    for e in _entries():
        path = ROOT / "views" / e.file
        mine = {m for m, urls in pages.items() if e.url_path in urls}
        imported = ui_imports(path.read_text(), "views") & set(pages)
        for other in sorted(imported - mine):
            out.append(f"views/{e.file}: imports ui.{other}, the module of "
                       f"{sorted(pages[other])}")
    return out


def _entries():
    from ui import navigation

    return navigation.entries()


def test_every_ui_module_is_shared_or_one_pages_own():
    pages = page_modules()
    loose = [p.name for p in UI.glob("*.py")
             if p.stem not in SHARED | set(pages) | {"__init__"}]
    assert not loose, (f"ui/{loose}: add it to SHARED (any page may use it) or name it after "
                       "its page (or add it to FEATURES)")
    assert not SHARED & set(pages)
    urls = _urls()
    for module, its in FEATURES.items():
        assert (UI / f"{module}.py").is_file() and its <= urls, module


def test_no_page_module_imports_another_pages():
    assert not offences(), "\n".join(offences())


def test_the_check_sees_a_page_module_reaching_into_another(tmp_path, monkeypatch):
    """The checks above can fail: an import of another page's module, in any of the forms
    the app uses, is seen."""
    for source in ("from . import rps\n", "from .rps import label\n",
                   "def f():\n    from ui import rps as rc\n", "import ui.rps\n",
                   "from ui.rps import label\n"):
        assert "rps" in ui_imports(source, "ui"), source
    assert ui_imports("from . import palette\n", "ui.charts") == {"charts"}
    assert ui_imports("from .charts import palette\nfrom .state import x\n", "ui") == \
        {"charts", "state"}
    fake = tmp_path / "ui"
    fake.mkdir()
    (fake / "smoothness.py").write_text("from .rps import label\n")
    (fake / "rps.py").write_text("from .charts import palette\n")
    (fake / "state.py").write_text("from . import smoothness\n")
    monkeypatch.setitem(globals(), "UI", fake)
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    monkeypatch.setitem(globals(), "_entries", lambda: [])
    found = offences()
    assert any("smoothness" in line and "ui.rps" in line for line in found), found
    assert any("a shared or kit module imports ui.smoothness" in line for line in found), found


SCRIPT = r"""
import importlib, json, pkgutil, sys
import ui.charts
names = ["ui.charts", "ui.verdicts"] + [
    info.name for info in pkgutil.iter_modules(ui.charts.__path__, prefix="ui.charts.")]
for name in names:
    importlib.import_module(name)
print(json.dumps({"modules": names, "streamlit": sorted(
    m for m in sys.modules if m == "streamlit" or m.startswith("streamlit."))}))
"""


def test_the_chart_kit_never_imports_streamlit():
    """The kit is pure (the benchmark times its functions without a Streamlit run): checked in
    a fresh interpreter, as this one may have Streamlit loaded already."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    proc = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert {"ui.charts.palette", "ui.charts.numbers", "ui.charts.bands"} <= \
        set(report["modules"])
    assert report["streamlit"] == [], f"the chart kit imported {report['streamlit']}"
