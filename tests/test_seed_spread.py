"""Exercise 1's spread across seeds (pgcore/labs/stats.py) by hand, and the reference runs at
the Seeds & variance page's budget: budget-aware matching, a second reference file, and the
typical env steps behind the page's time estimate (pgcore/training/reference.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pgcore import default_config
from pgcore.labs.stats import final_spread, run_spread, seed_spread
from pgcore.training.config import preset
from pgcore.training.reference import (
    ReferenceGroup,
    ReferenceSet,
    combine,
    typical_env_steps,
)

ROOT = Path(__file__).resolve().parents[1]

# ----- the spread, by hand --------------------------------------------------------------------


def test_run_spread_averages_the_across_seed_std_where_two_seeds_have_a_value():
    # stds per index: |0 - 4| / 2 = 2, |2 - 8| / 2 = 3; the third index has one seed only
    assert run_spread([[0, 2, 9], [4, 8]]) == pytest.approx(2.5)
    assert run_spread([[1, 2, 3]]) is None
    assert run_spread([]) is None


def test_final_spread_is_the_population_std_of_the_finals_that_are_there():
    assert final_spread([100.0, 300.0]) == pytest.approx(100.0)
    assert final_spread([100.0, None, float("nan"), 300.0]) == pytest.approx(100.0)
    assert final_spread([100.0, None]) is None


def test_seed_spread_smooths_each_seed_then_measures_every_figure_the_same_way():
    # window 2: seed A's averages 10, 15, 25, 35; seed B's 100, 150, 200, 200 (3 episodes)
    a, b = [10, 20, 30, 40], [100, 200, 200]
    s = seed_spread([a, b, []], window=2)
    assert s.seeds == 2  # a seed without episodes is left out
    # per index stds: 45, 67.5, 87.5 (the fourth has seed A only)
    assert s.run_std == pytest.approx((45 + 67.5 + 87.5) / 3)
    assert s.finals == (35.0, 200.0)
    assert s.final_std == pytest.approx(82.5) and s.final_mean == pytest.approx(117.5)
    assert s.to_195 == (None, 3) and s.to_475 == (None, None)


def test_seed_spread_uses_the_lessons_100_episode_average_by_default():
    ramp = np.r_[np.full(100, 200.0), np.full(100, 480.0)]
    s = seed_spread([ramp, np.full(200, 20.0)])
    # 475 first at episode 199: its window holds one 200 and 99 of 480 (477.2)
    assert s.to_195 == (100, None) and s.to_475 == (199, None)
    assert s.finals == (480.0, 20.0)


# ----- reference runs at the page's budget ----------------------------------------------------


def _group(label: str, config, n: int = 3, length: int = 10) -> ReferenceGroup:
    return ReferenceGroup(label, config, tuple(range(n)),
                          tuple(np.full(length, 9.0) for _ in range(n)),
                          tuple(np.arange(1, length + 1) * 10 for _ in range(n)))


def test_match_prefers_the_group_run_at_the_same_kind_of_budget():
    by_steps = _group("dqn", default_config("dqn"))  # 150,000 env steps
    by_episodes = _group("dqn/1000-episodes",
                         default_config("dqn", max_episodes=1000, max_steps=None))
    refs = ReferenceSet((by_steps, by_episodes))
    assert refs.match(default_config("dqn")) is by_steps
    assert refs.match(default_config("dqn", max_episodes=1000, max_steps=None)) is by_episodes
    # another episode budget: still the group counted in episodes
    assert refs.match(default_config("dqn", max_episodes=300, max_steps=None)) is by_episodes
    assert ReferenceSet((by_steps,)).match(
        default_config("dqn", max_episodes=300, max_steps=None)) is by_steps
    assert refs.match(preset("dqn-lesson-c1000")) is None


def test_combine_keeps_every_files_groups_in_order_and_the_first_of_a_label():
    a = ReferenceSet((_group("x", default_config("a2c")),), "first", "2026-12-01")
    b = ReferenceSet((_group("x", default_config("ppo")), _group("y", default_config("ppo"))),
                     "second", "2026-12-07")
    both = combine(a, b)
    assert [g.label for g in both.groups] == ["x", "y"]
    assert both.get("x").config.algo == "a2c" and both.made_with == "first"


def test_typical_env_steps_is_the_median_and_extends_a_run_that_stopped_short():
    g = ReferenceGroup("toy", default_config("dqn"), (0, 1, 2),
                       (np.ones(3), np.ones(3), np.ones(2)),
                       (np.array([10, 20, 30]), np.array([5, 50, 100]), np.array([40, 100])))
    assert typical_env_steps(g, 2) == 50.0  # 20, 50, 100
    # at 3: 30, 100, and 100 + one more episode of the third seed's mean length (50)
    assert typical_env_steps(g, 3) == 100.0
    assert typical_env_steps(g, 0) is None


def test_the_shipped_exercise_1_runs_match_the_pages_settings():
    """The Seeds & variance page's DQN settings at its default budget have reference runs of
    that budget; the Train page's DQN default keeps its own (150,000 env steps)."""
    from ui.reference import reference_set

    reference_set.cache_clear()
    refs = reference_set()
    for config in (default_config("dqn", max_episodes=1000, max_steps=None),
                   preset("dqn-lesson-c1000", max_episodes=1000)):
        g = refs.match(config)
        assert g is not None and g.episodes == 1000 and g.n_seeds >= 3
        assert not set(g.seeds) & set(range(10)), "reference seeds must differ from the app's"
    assert refs.match(default_config("dqn")).label == "dqn"
    assert refs.match(default_config("reinforce", "none", max_episodes=1000)).episodes == 1000


def test_the_figures_docs_and_theory_quote_come_from_the_shipped_runs():
    """docs/lesson.md and the Theory page quote these; regenerate the text with the runs."""
    from pgcore.labs.stats import seed_spread
    from ui.reference import reference_set

    reference_set.cache_clear()
    refs = reference_set()

    def spread(label, seeds=None):
        g = refs.get(label)
        return seed_spread(g.returns[:seeds] if seeds else g.returns)

    figures = {label: (round(s.run_std, 1), round(s.final_std, 1), round(min(s.finals)),
                       round(max(s.finals)))
               for label, s in (("reinforce", spread("reinforce/none")),
                                ("reinforce 100-102", spread("reinforce/none", 3)),
                                ("dqn", spread("dqn/1000-episodes")),
                                ("dqn-lesson", spread("dqn-lesson-c1000/1000-episodes")),
                                ("a2c", spread("a2c")))}
    assert figures == {"reinforce": (96.5, 174.0, 74, 500),
                       "reinforce 100-102": (87.0, 84.1, 134, 321),
                       "dqn": (112.9, 166.2, 118, 500), "dqn-lesson": (58.1, 46.0, 276, 388),
                       "a2c": (96.5, 4.6, 485, 500)}
    theory = (ROOT / "views" / "reinforce" / "theory.py").read_text()
    lesson = (ROOT / "docs" / "lesson.md").read_text()
    for text in ("from 74 to 500", "deviation across seeds of 174", "118 to 500 (166)",
                 "276 to 388 (46)", "58 against REINFORCE's 97"):
        assert text in theory, text
    assert "| 96.5 | 174.0 | 74-500 |" in lesson and "| 58.1 | 46.0 | 276-388 |" in lesson
