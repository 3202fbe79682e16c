"""pgcore is the engine; the app is a thin layer on top. pgcore must never import streamlit.

Checked in a fresh interpreter, because this test process may already have streamlit loaded
(app tests), which would hide an import.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

SCRIPT = r"""
import importlib, json, pkgutil, sys
import pgcore
names = ["pgcore"]
for info in pkgutil.walk_packages(pgcore.__path__, prefix="pgcore."):
    names.append(info.name)
for name in names:
    importlib.import_module(name)  # __main__ is guarded by `if __name__ == "__main__"`
print(json.dumps({
    "modules": names,
    "streamlit": sorted(m for m in sys.modules if m == "streamlit" or m.startswith("streamlit.")),
}))
"""


def test_pgcore_never_imports_streamlit(repo_root):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(repo_root), *filter(None, [os.environ.get("PYTHONPATH")])]),
        "SDL_VIDEODRIVER": "dummy"}
    proc = subprocess.run([sys.executable, "-c", SCRIPT], cwd=repo_root, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    # the walk really covered the package
    for name in ("pgcore.training.config", "pgcore.rl.returns", "pgcore.algos",
                 "pgcore.algos.reinforce", "pgcore.training.trainer", "pgcore.training.render",
                 "pgcore.rl.envs", "pgcore.training.events"):
        assert name in report["modules"], name
    assert report["streamlit"] == [], f"pgcore imported {report['streamlit']}"


def test_the_distribution_lists_every_subpackage():
    """``pip install .`` ships exactly the folders pgcore has (pyproject's package list)."""
    from pathlib import Path

    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    root = Path(__file__).resolve().parents[1]
    listed = set(tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
                 ["packages"])
    found = {".".join(p.parent.relative_to(root).parts)
             for p in (root / "pgcore").rglob("__init__.py")}
    assert listed == found
