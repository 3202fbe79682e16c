"""The exercise notebooks (exercises/): each is built from its source, runs from top to bottom
in a real Jupyter kernel with the reference solution (on a tiny training budget), and with a
wrong or unwritten solution stops at its check with a plain message."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import pytest

from pgcore.exercises import QUICK
from pgcore.exercises.checks import CheckFailed

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = ROOT / "exercises"
STEMS = ("01_seeds_variance", "02_baseline", "03_entropy", "04_dqn_target", "05_dqn_polyak",
         "06_dqn_overestimation")
CHECK_MARK = "✓"


def _build_module():
    spec = importlib.util.spec_from_file_location("exercises_build", EXERCISES / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build = _build_module()


def _solution(stem: str) -> str:
    return (EXERCISES / "solutions" / f"{stem}.py").read_text(encoding="utf-8")


def _cells(stem: str, solution: str | None) -> list[dict]:
    """The notebook's cells (dicts: cell_type, source, metadata); with ``solution``, its first
    solution cell holds that code and any later solution cell is emptied."""
    nb = json.loads((EXERCISES / f"{stem}.ipynb").read_text(encoding="utf-8"))
    first = True
    for cell in nb["cells"]:
        if build.SOLUTION_TAG in cell["metadata"].get("tags", []) and solution is not None:
            cell["source"] = solution if first else ""
            first = False
    return nb["cells"]


def _source(cell: dict) -> str:
    src = cell["source"]
    return src if isinstance(src, str) else "".join(src)


def _run_in_process(stem: str, solution: str | None, capsys) -> tuple[Exception | None, str]:
    """Execute the notebook's code cells in order in a fresh namespace here, up to the first
    exception (without training: the checks come first, so a failing one stops the run before
    any training cell). Returns (that exception or None, what the cells printed)."""
    ns: dict = {"__name__": "__main__"}
    for i, cell in enumerate(_cells(stem, solution)):
        if cell["cell_type"] != "code":
            continue
        src = _source(cell)
        if "train(" in src:
            break  # the checks are all before the first training cell
        try:
            exec(compile(src, f"<{stem} cell {i}>", "exec"), ns)
        except Exception as exc:  # noqa: BLE001 - returned for the test to judge
            return exc, capsys.readouterr().out
    return None, capsys.readouterr().out


# ----- the notebooks are their sources --------------------------------------------------------


def test_every_notebook_is_built_from_its_source_and_has_a_solution():
    sources = build.sources()
    assert [s.stem for s in sources] == list(STEMS)
    for src in sources:
        committed = build.target(src).read_text(encoding="utf-8")
        assert committed == build.render(src), (
            f"{build.target(src).name} differs from exercises/src/{src.name}: run "
            "python exercises/build.py")
        cells = build.parse(src.read_text(encoding="utf-8"))
        tagged = [c for c in cells if build.SOLUTION_TAG in c["tags"]]
        assert tagged and all("raise NotImplementedError" in c["source"] for c in tagged)
        assert (EXERCISES / "solutions" / src.name).exists()
    assert build.main(["--check"]) == 0


def test_parse_reads_the_percent_format_and_refuses_stray_text():
    cells = build.parse('# %% [markdown]\n# # Title\n#\n# Text\n\n# %%\nx = 1\n\n\n'
                        '# %% tags=["solution"]\ndef f():\n    raise NotImplementedError\n')
    assert [(c["kind"], c["tags"]) for c in cells] == [
        ("markdown", []), ("code", []), ("code", ["solution"])]
    assert cells[0]["source"] == "# Title\n\nText" and cells[1]["source"] == "x = 1"
    nb = build.notebook(cells, "t")
    assert nb["nbformat"] == 4 and [c["id"] for c in nb["cells"]] == ["t-0", "t-1", "t-2"]
    assert nb["cells"][2]["metadata"] == {"tags": ["solution"]}
    with pytest.raises(ValueError, match="before the first"):
        build.parse("x = 1\n# %%\n")
    with pytest.raises(ValueError, match="must start with"):
        build.parse("# %% [markdown]\nnot a comment\n")


# ----- wrong and unwritten solutions stop at the check, with a plain message ------------------

WRONG = {
    "01_seeds_variance": [
        ("def discounted_returns(rewards, gamma):\n    return np.cumsum(rewards[::-1])[::-1]\n",
         "your returns are not discounted: G_0 should be 2.71 for rewards [1, 1, 1] and "
         "γ = 0.9"),
        ("def reinforce_loss(log_probs, returns):\n    return (log_probs * returns).mean()\n",
         "the sign of your loss is flipped"),
    ],
    "02_baseline": [
        ("def value_baseline_loss(log_probs, returns, values):\n"
         "    return -(log_probs * (returns - values)).mean(), ((values - returns) ** 2).mean()\n",
         "V(s) is not detached"),
    ],
    "03_entropy": [
        ("def actor_critic_loss(log_probs, advantages, values, targets, entropy, beta):\n"
         "    return (-(log_probs * advantages).mean() + 0.5 * ((values - targets) ** 2).mean()\n"
         "            + beta * entropy.mean())\n",
         "your entropy term has the wrong sign"),
    ],
    "04_dqn_target": [
        ("def td_target(rewards, next_q, terminated, truncated, gamma):\n"
         "    done = np.maximum(terminated, truncated)\n"
         "    return rewards + gamma * (1 - done) * next_q.max(axis=1)\n",
         "a step cut by the time limit must still bootstrap"),
    ],
    "05_dqn_polyak": [
        ("def polyak_update(target_params, online_params, tau):\n"
         "    for t, o in zip(target_params, online_params):\n"
         "        t.copy_((1 - tau) * o + tau * t)\n",
         "τ is swapped"),
    ],
    "06_dqn_overestimation": [
        ("def double_dqn_target(rewards, next_q_online, next_q_target, terminated, gamma):\n"
         "    return rewards + gamma * (1 - terminated) * next_q_target.max(axis=1)\n",
         "the target network both chose a' and valued it"),
    ],
}


@pytest.mark.parametrize("stem,wrong,message",
                         [(s, w, m) for s, cases in WRONG.items() for w, m in cases])
def test_a_wrong_solution_fails_its_check_with_the_right_message(stem, wrong, message, capsys):
    exc, _ = _run_in_process(stem, _solution(stem) + "\n\n" + wrong, capsys)
    assert isinstance(exc, CheckFailed), exc
    assert message in str(exc)


@pytest.mark.parametrize("stem", STEMS)
def test_the_unfilled_notebook_says_not_written_yet(stem, capsys):
    exc, _ = _run_in_process(stem, None, capsys)
    assert isinstance(exc, CheckFailed), exc
    assert "is not written yet" in str(exc)


@pytest.mark.parametrize("stem", STEMS)
def test_the_reference_solution_passes_every_check(stem, capsys):
    exc, out = _run_in_process(stem, _solution(stem), capsys)
    assert exc is None, exc
    n_checks = sum("check(" in _source(c) for c in _cells(stem, None)
                   if c["cell_type"] == "code")
    assert out.count(CHECK_MARK) == n_checks >= 1, out


# ----- whole notebooks in a Jupyter kernel ----------------------------------------------------


@pytest.fixture(scope="module")
def kernel():
    """One Python kernel for every notebook here (each notebook starts with ``%reset -f``, so
    none sees another's names), the repository importable, the quick training budget."""
    pytest.importorskip("nbclient")
    from jupyter_client.manager import KernelManager

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(QUICK, "1")
        path = os.environ.get("PYTHONPATH")
        mp.setenv("PYTHONPATH", str(ROOT) + (os.pathsep + path if path else ""))
        mp.setenv("SDL_VIDEODRIVER", "dummy")
        km = KernelManager(kernel_name="python3")
        km.start_kernel(cwd=str(ROOT))
    try:
        yield km
    finally:
        km.shutdown_kernel(now=True)


def _execute(km, stem: str, solution: str | None):
    """Run the notebook from the top in ``km``'s kernel; returns (the executed notebook, the
    CellExecutionError or None)."""
    import nbclient
    import nbformat

    nb = nbformat.reads((EXERCISES / f"{stem}.ipynb").read_text(encoding="utf-8"), as_version=4)
    for cell, edited in zip(nb.cells, _cells(stem, solution), strict=True):
        cell.source = _source(edited)
    nb.cells.insert(0, nbformat.v4.new_code_cell("%reset -f"))
    client = nbclient.NotebookClient(nb, km=km, timeout=300)
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as exc:
        return nb, exc
    return nb, None


def _outputs(nb, kind: str) -> list[dict]:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
            if o.output_type == kind]


@pytest.mark.parametrize("stem", STEMS)
def test_the_notebook_runs_end_to_end_with_the_reference_solution(stem, kernel):
    nb, error = _execute(kernel, stem, _solution(stem))
    assert error is None, str(error)[-2000:]
    printed = "".join(o.text for o in _outputs(nb, "stream"))
    assert printed.count(CHECK_MARK) >= 1
    charts = [json.dumps(o.data) for o in _outputs(nb, "execute_result")
              + _outputs(nb, "display_data") if "vega" in json.dumps(o.data)]
    assert charts, "no chart drawn"
    assert "reference runs" in charts[0] or "Double DQN, 10 seeds" in charts[0], \
        "no reference band"


def test_an_unfilled_notebook_shows_the_message_not_a_traceback(kernel):
    nb, error = _execute(kernel, "01_seeds_variance", None)
    assert error is not None and error.ename == "CheckFailed"
    shown = _outputs(nb, "error")
    assert len(shown) == 1
    lines = shown[0].traceback
    assert lines == ["CheckFailed: `discounted_returns` is not written yet: replace "
                     "`raise NotImplementedError` in its cell with your code, run that cell, "
                     "then run this check again."]


@pytest.mark.parametrize("stem", STEMS)
def test_a_wrong_solution_stops_the_notebook_at_its_check_in_jupyter(stem, kernel):
    wrong, message = WRONG[stem][0]
    nb, error = _execute(kernel, stem, _solution(stem) + "\n\n" + wrong)
    assert error is not None and error.ename == "CheckFailed"
    shown = _outputs(nb, "error")
    assert len(shown) == 1 and len(shown[0].traceback) == 1
    assert message in shown[0].traceback[0]
    assert not any("train(" in _source(c) and c.outputs for c in nb.cells)  # stopped before
