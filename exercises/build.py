"""Write the exercise notebooks (``exercises/*.ipynb``) from their sources (``exercises/src/``).

The sources are plain Python in the "percent" format (which jupytext also reads), so they diff
and review like code: ``# %%`` starts a code cell, ``# %% [markdown]`` a Markdown cell whose
lines start with ``# ``, and ``# %% tags=["solution"]`` marks a cell the learner fills in (the
tests put the reference solution, ``exercises/solutions/``, or a wrong one there).

    python exercises/build.py           # write every notebook
    python exercises/build.py --check   # exit 1 if a committed notebook differs from its source

Standard library only; the notebooks are written without outputs, the same bytes every time.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "src"
SOLUTION_TAG = "solution"
_HEADER = re.compile(r"^# %%(?P<markdown> \[markdown\])?(?: tags=(?P<tags>\[.*\]))?\s*$")


def parse(text: str) -> list[dict]:
    """The cells of a percent-format source: dicts with ``kind`` (``code`` or ``markdown``),
    ``source`` (text without trailing blank lines) and ``tags``.

    >>> [(c["kind"], c["source"], c["tags"]) for c in parse(
    ...     '# %% [markdown]\\n# # Title\\n#\\n# Text\\n\\n# %% tags=["solution"]\\nx = 1\\n')]
    [('markdown', '# Title\\n\\nText', []), ('code', 'x = 1', ['solution'])]
    """
    cells: list[dict] = []
    for line in text.splitlines():
        m = _HEADER.match(line)
        if m:
            cells.append({"kind": "markdown" if m["markdown"] else "code", "lines": [],
                          "tags": json.loads(m["tags"]) if m["tags"] else []})
            continue
        if not cells:
            if line.strip():
                raise ValueError(f"text before the first '# %%' cell marker: {line!r}")
            continue
        if cells[-1]["kind"] == "markdown":
            if line and not (line == "#" or line.startswith("# ")):
                raise ValueError(f"a Markdown cell's line must start with '# ': {line!r}")
            line = line[2:]
        cells[-1]["lines"].append(line)
    for cell in cells:
        lines = cell.pop("lines")
        while lines and not lines[-1].strip():
            lines.pop()
        cell["source"] = "\n".join(lines)
    return cells


def notebook(cells: list[dict], stem: str) -> dict:
    """An nbformat 4.5 notebook of ``cells`` (no outputs), cell ids from ``stem``."""
    out = []
    for i, cell in enumerate(cells):
        lines = cell["source"].splitlines(keepends=True)
        nb_cell = {"cell_type": cell["kind"], "id": f"{stem}-{i}", "metadata": {},
                   "source": lines}
        if cell["tags"]:
            nb_cell["metadata"] = {"tags": list(cell["tags"])}
        if cell["kind"] == "code":
            nb_cell.update(execution_count=None, outputs=[])
        out.append(nb_cell)
    return {"cells": out,
            "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                        "name": "python3"},
                         "language_info": {"name": "python"}},
            "nbformat": 4, "nbformat_minor": 5}


def render(source: Path) -> str:
    """The notebook JSON text of one source file."""
    nb = notebook(parse(source.read_text(encoding="utf-8")), source.stem)
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def sources() -> list[Path]:
    return sorted(SOURCES.glob("*.py"))


def target(source: Path) -> Path:
    return HERE / f"{source.stem}.ipynb"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for src in sources():
        text, dest = render(src), target(src)
        if check:
            if not dest.exists() or dest.read_text(encoding="utf-8") != text:
                stale.append(dest.name)
        else:
            dest.write_text(text, encoding="utf-8")
            print(f"wrote {dest.relative_to(HERE.parent)}")
    if stale:
        print(f"out of date with exercises/src/: {', '.join(stale)}; run "
              "python exercises/build.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
