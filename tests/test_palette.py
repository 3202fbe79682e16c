"""The app's one palette (ui/charts/palette.py): the same label gets the same look everywhere, every
label a page shows is in the table, the conditions shown together are told apart by colour
(also for colour-blind eyes) and by dash, and every colour reads on white."""

from __future__ import annotations

import ast
import itertools
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pgcore import PRESETS, algos
from pgcore.labs import rps as game
from pgcore.labs import value_policy as value_lab
from ui import (
    dqn_exercises,
    pendulum,
    rps,
    smoothness,
)
from ui.charts import bands, live, palette, thresholds
from ui.charts.palette import contrast, style, styles

ROOT = Path(__file__).resolve().parents[1]


# ----- the labels the pages use, read from the page files themselves --------------------------


def _assigned(path: str, *names: str):
    """The literal values assigned to ``names`` at module level in ``path`` (``A, B = "x",
    "y"`` included), without running the page."""
    tree = ast.parse((ROOT / path).read_text())
    found = {}
    for node in tree.body:
        if not isinstance(node, ast.Assign):
            continue
        for target in node.targets:
            if isinstance(target, ast.Name):
                try:
                    found[target.id] = ast.literal_eval(node.value)
                except ValueError:
                    pass
            elif isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                for t, v in zip(target.elts, node.value.elts, strict=True):
                    if isinstance(t, ast.Name):
                        found[t.id] = ast.literal_eval(v)
    missing = [n for n in names if n not in found]
    assert not missing, f"{path} no longer assigns {missing}: update this test"
    values = [found[n] for n in names]
    return values[0] if len(values) == 1 else values


def _betas() -> list[str]:
    return [f"β = {b:g}" for b in _assigned("views/actor_critic/entropy.py", "BETAS")]


def _pendulum_runs() -> list[str]:
    """The Continuous actions page's run names (views/why/pendulum.py: series_name)."""
    names = []
    for preset in pendulum.pendulum_presets():
        title = algos.get(PRESETS[preset].values["algo"]).title
        names += [f"{title}, Gaussian policy", f"{title}, 5 torque values"]
    return names


RULES_195_475 = [label for _, label in thresholds.CRITERIA]


def pages() -> dict[str, dict[str, list]]:
    """Per page (or per chart where a page's charts show unrelated things): ``lines``, groups
    of conditions drawn as lines together (within a group told apart by colour and dash; a
    chart can encode two things, e.g. learner by colour and policy by dash), and ``marks``:
    labelled rules, reference bands, points, the thin per-episode noise and stacked areas,
    told apart from everything else on the page by colour (their words, width or place say
    the rest)."""
    none, value = _assigned("views/actor_critic/baseline.py", "NONE", "VALUE")
    frozen, no_target = _assigned("views/value/dqn_target.py", "FROZEN", "NONE")
    hard, polyak, hard200 = _assigned("views/value/dqn_polyak.py", "HARD_1000", "POLYAK",
                                      "HARD_200")
    plain, double = _assigned("views/value/dqn_overestimation.py", "PLAIN", "DOUBLE")
    reinforce, *rivals = _assigned("views/reinforce/seeds_variance.py", "REINFORCE", "DQN",
                                   "DQN_LESSON", "A2C")
    out = {
        "baseline": {"lines": [[none, value]], "marks": RULES_195_475},
        "race": {"lines": [list(_assigned("views/actor_critic/race.py", "RUNNERS"))],
                 "marks": ["finish line: 475"]},
        # plain REINFORCE beside one rival at a time
        "seeds & variance": {"lines": [[reinforce, rival] for rival in rivals],
                             "marks": [*RULES_195_475, bands.REF_LEGEND, "one seed"]},
        "value vs policy": {"lines": [list(value_lab.RUNNERS)], "marks": ["195", "475"]},
        "gradient variance": {"lines": [list(_assigned("views/reinforce/gradient_variance.py",
                                                       "SHORT").values())], "marks": []},
        # seeds 0-5 (the default 3, the most 10): six colours, then the colours come round
        # again with other dashes (test_seeds_follow_their_own_ordered_scheme)
        "target network": {"lines": [[f"seed {k}" for k in range(6)]],
                           "marks": ["475", palette.CEILING]},
        "target network (titles)": {"lines": [[frozen, no_target]], "marks": []},
        "hard copy or Polyak": {"lines": [[hard, polyak, hard200]], "marks": RULES_195_475},
        "overestimation": {"lines": [[dqn_exercises.PREDICTED, dqn_exercises.COLLECTED]],
                           "marks": []},
        "overestimation (titles)": {"lines": [[plain, double]], "marks": []},
        "smoothness": {"lines": [[*smoothness.SERIES, *smoothness.AGENTS]],
                       "marks": ["475"]},
        "rock-paper-scissors": {
            "lines": [list(rps.LABELS.values()), [rps.CURRENT, rps.AVERAGE]],
            "marks": [*game.ACTIONS, palette.TARGET, palette.UNIFORM]},
        "continuous actions": {"lines": [_pendulum_runs()],
                               "marks": [pendulum.THRESHOLDS[0][1]]},
        "train: returns": {"lines": [["100-episode average"]],
                           "marks": ["return", live.eval_legend(5), bands.REF_LEGEND,
                                     *[label for _, label in thresholds.SOLVED]]},
        "train: critic": {"lines": [[live.V_LABEL, live.G_LABEL]], "marks": []},
        "class board": {"lines": [["Ada", "Grace", "Alan", "Barbara", "Edsger", "Donald"]],
                        "marks": ["475: CartPole-v1 solved"]},
    }
    for beta in _betas():
        if beta != palette.BETA_0:
            out[f"entropy, {beta}"] = {"lines": [[palette.BETA_0, beta]],
                                       "marks": RULES_195_475}
    return out


def every_page_label() -> list[str]:
    labels = []
    for name, page in pages().items():
        if name != "class board":  # learners' names: the fallback's job
            labels += [v for group in page["lines"] for v in group] + page["marks"]
    return list(dict.fromkeys(labels))


# ----- colour-blind simulation (Machado, Oliveira & Fernandes 2009, severity 1) ---------------

CVD = {"normal vision": np.eye(3),
       "protanopia": np.array([[0.152286, 1.052583, -0.204868],
                               [0.114503, 0.786281, 0.099216],
                               [-0.003882, -0.048116, 1.051998]]),
       "deuteranopia": np.array([[0.367322, 0.860646, -0.227968],
                                 [0.280085, 0.672501, 0.047413],
                                 [-0.011820, 0.042940, 0.968881]])}
_XYZ = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])


def _lab(color: str, matrix: np.ndarray) -> np.ndarray:
    srgb = np.array([int(color[i:i + 2], 16) for i in (1, 3, 5)]) / 255
    linear = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    xyz = _XYZ @ np.clip(matrix @ linear, 0, 1) / (_XYZ @ np.ones(3))
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def colour_distance(a: str, b: str) -> float:
    """The smallest CIELAB distance between ``a`` and ``b`` for normal, protan and deutan
    vision (about 2 is just noticeable; 10 is clearly different)."""
    return min(float(np.linalg.norm(_lab(a, m) - _lab(b, m))) for m in CVD.values())


MIN_DISTANCE = 10.0


# ----- the tests ------------------------------------------------------------------------------


def test_every_label_a_page_shows_has_a_look_of_its_own():
    unknown = [label for label in every_page_label() if not palette.known(label)]
    assert not unknown, f"add these to ui/charts/palette.py (STYLES or ALIASES): {unknown}"


def test_the_same_condition_looks_the_same_under_every_name():
    # the bug this palette fixes: Baseline vs none's two charts swapped these colours
    for names in (["no baseline", "REINFORCE", "REINFORCE, no baseline"],
                  ["learned value baseline", "value baseline", "REINFORCE + baseline"],
                  ["A2C", "π (A2C)", "softmax policy (A2C)", "A2C, Gaussian policy"],
                  ["DQN", "argmax of Q (DQN)", "Q-network (DQN)", "DQN, 5 torque values"],
                  ["hard copy every 1,000", "C = 1000 (frozen target)"],
                  ["475", "475: CartPole-v1 criterion", "475: CartPole-v1 solved",
                   "finish line: 475"],
                  ["195", "195: CartPole-v0 criterion", "195: CartPole-v0 solved"],
                  ["10-episode average", "100-episode average"]):
        assert len({style(n) for n in names}) == 1, names


def test_a_look_does_not_depend_on_order_or_company():
    labels = ["REINFORCE", "REINFORCE + baseline", "actor-critic", "A2C", "PPO", "Ada", "Bob"]
    first = styles(labels)
    for perm in itertools.permutations(labels, 4):
        got = styles(perm)
        for label in perm:
            if palette.known(label):
                assert got[label] == first[label] == style(label)
    assert styles(reversed(labels)) == {k: first[k] for k in reversed(labels)}


def test_a_label_s_look_is_the_same_in_every_process():
    """The fallback hashes the label with a stable hash (Python's own differs per process)."""
    code = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); from ui.charts.palette import style; "
            "print(style('Ada Lovelace'), style('seed 12'))")
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"},
                           check=True).stdout for seed in ("1", "2")}
    assert len(outs) == 1


def test_conditions_shown_together_differ_in_colour_and_dash():
    problems = []
    for page, drawn in pages().items():
        lines = [v for group in drawn["lines"] for v in group]
        together = styles([*lines, *drawn["marks"]])  # as one chart would resolve them
        by_condition = {}
        for label, look in together.items():  # aliases of one condition count once
            by_condition.setdefault(palette.canonical(label) or label, look)
        for (a, sa), (b, sb) in itertools.combinations(by_condition.items(), 2):
            d = colour_distance(sa.color, sb.color)
            if d < MIN_DISTANCE:
                problems.append(f"{page}: {a} and {b} look alike ({d:.1f})")
        for group in drawn["lines"]:
            looks = {palette.canonical(v) or v: together[v] for v in group}
            for (a, sa), (b, sb) in itertools.combinations(looks.items(), 2):
                if sa.dash == sb.dash:
                    problems.append(f"{page}: {a} and {b} have the same dash")
    assert not problems, "\n".join(problems)


def test_seeds_follow_their_own_ordered_scheme():
    seeds = [style(f"seed {k}") for k in range(12)]
    assert len({(s.color, s.dash) for s in seeds}) == 12
    assert [s.color for s in seeds[:6]] == list(palette.SEED_COLORS)
    assert all(s.color not in (palette.GREEN, palette.GREY, palette.BLACK) for s in seeds)
    assert style("seed 3") == palette.seed_style(3)


def test_unknown_labels_never_take_a_known_condition_s_look():
    known = {(s.color, s.dash) for s in palette.STYLES.values()}
    assert palette.FALLBACKS and not {(s.color, s.dash) for s in palette.FALLBACKS} & known
    for name in ("Ada", "Grace Hopper", "run 7 · a2c seed 0 (abc123)", "β = 0.3"):
        look = style(name)
        assert look in palette.FALLBACKS and (look.color, look.dash) not in known
        assert look.color != palette.GREEN  # the lines to reach are green
    # a class's learners on one chart: different colours while there are colours left
    learners = ["Ada", "Grace", "Alan", "Barbara", "Edsger", "Donald", "Frances"]
    assert len({s.color for s in styles(learners).values()}) == len(palette.HUES)


def test_every_colour_reads_on_white():
    """WCAG 2.1 1.4.11: graphical objects need 3:1 against their background; the words next to
    a rule (``text_color``) 4.5:1 (1.4.3)."""
    looks = [*palette.STYLES.values(), *palette.FALLBACKS,
             *(palette.seed_style(k) for k in range(6))]
    low = {s.color: round(contrast(s.color), 2) for s in looks if contrast(s.color) < 3.0}
    assert not low
    assert all(contrast(s.text_color) >= 4.5 for s in looks)
    assert contrast(palette.LIGHT_GREY) >= 3.0 and contrast(palette.GREY) >= 3.0
    assert contrast("#FFFFFF") == pytest.approx(1.0) and contrast("#000000") == pytest.approx(21)


def test_scales_keep_the_given_order_and_carry_each_look():
    labels = ["A2C", "no baseline", "seed 2"]
    color, dash, shape = (s.to_dict() for s in palette.scales(labels))
    assert color["domain"] == dash["domain"] == shape["domain"] == labels
    assert color["range"] == [style(v).color for v in labels]
    assert dash["range"] == [list(style(v).dash) for v in labels]
    assert shape["range"] == [style(v).marker for v in labels]


def test_legend_leaves_room_for_its_longest_label_and_wraps():
    labels = ["greedy evaluation (mean of 10 episodes)", "return"]
    spec = palette.legend(labels).to_dict()
    assert spec["labelLimit"] >= 10 * len(labels[0]) and spec["symbolOpacity"] == 1
    assert palette.legend_columns(["a", "b", "c"]) == 3
    assert palette.legend_columns(["REINFORCE + baseline"] * 5) < 5
    assert palette.legend_columns(["x" * 80, "y"]) == 1


def test_numbers_on_axes_are_plain():
    assert "'s'" not in palette.NUMBER_EXPR and "~s" not in palette.NUMBER_EXPR
    assert palette.decades(3e-4, 3.0) == [0.001, 0.01, 0.1, 1.0]
    with pytest.raises(ValueError, match="positive"):
        palette.decades(0.0, 1.0)
    with pytest.raises(ValueError, match="positive"):
        palette.log_scale(0, 10)
    assert np.isnan(palette.positive([0.0, -1.0, 2.0])[:2]).all()
    assert palette.positive([0.0, 2.0])[1] == 2.0
