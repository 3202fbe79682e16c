"""The app's pages in the lesson's order, as data: ``app.py`` builds ``st.navigation`` from
:data:`SECTIONS` and the Home page lists the same steps, so the two cannot drift apart.

The order follows the lesson's arc: why learn a policy at all, the policy gradient theorem and
REINFORCE (and how noisy it is), the fixes for that noise (a baseline, an entropy bonus, a
critic: actor-critic and A2C), then value-based learning (DQN) set against it. The Class board
sits under its own heading at the end.

A page's URL path is its file's name (``views/seeds_variance.py`` -> ``/seeds_variance``;
Home is ``/``): links, bookmarks and tests use those paths, so a page keeps its file name
wherever it moves in the list.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Entry:
    """One page of the navigation: its file in ``views/``, title and icon."""

    file: str
    title: str
    icon: str
    blurb: str = ""
    """What the page does, in a few words (Home's list of steps)."""
    default: bool = False

    @property
    def url_path(self) -> str:
        """The page's URL path: its file's stem ('' for the default page)."""
        return "" if self.default else Path(self.file).stem


HOME = Entry("home.py", "Home", ":material/home:", default=True)

SECTIONS: dict[str, tuple[Entry, ...]] = {
    "": (HOME,),
    "1 · Why a policy?": (
        Entry("rps.py", "Stochastic optimum (RPS)", ":material/casino:",
              "a game whose best play is random"),
        Entry("smoothness.py", "Smoothness", ":material/waves:",
              "a policy moves smoothly with its weights; an argmax jumps"),
        Entry("pendulum.py", "Continuous actions", ":material/rotate_right:",
              "a pendulum's torque, with no list of actions to take the argmax over"),
    ),
    "2 · The theorem and REINFORCE": (
        Entry("theory.py", "Theory", ":material/menu_book:",
              "every formula next to the code that runs it"),
        Entry("train.py", "Train", ":material/monitoring:",
              "train one agent and watch it live, from plain REINFORCE on"),
        Entry("seeds_variance.py", "Seeds & variance", ":material/stacked_line_chart:",
              "the same settings on several seeds"),
        Entry("gradient_variance.py", "Gradient variance", ":material/blur_on:",
              "how biased and how noisy each gradient estimate is"),
    ),
    "3 · Baselines to actor-critic": (
        Entry("baseline.py", "Baseline vs none", ":material/compare_arrows:",
              "a learned V(s) subtracted, against raw returns"),
        Entry("entropy.py", "Entropy bonus", ":material/shuffle:",
              "keeping the policy from settling too soon"),
        Entry("race.py", "Algorithm race", ":material/sports_score:",
              "REINFORCE to PPO on one seed: who reaches 475 first"),
    ),
    "4 · Value vs policy (DQN)": (
        Entry("value_vs_policy.py", "Value vs policy", ":material/balance:",
              "the lesson's comparison table, measured"),
        Entry("dqn_target.py", "Target network", ":material/gps_fixed:",
              "DQN with and without a frozen target"),
        Entry("dqn_polyak.py", "Hard copy or Polyak", ":material/timeline:",
              "two ways to move the target"),
        Entry("dqn_overestimation.py", "Overestimation", ":material/trending_up:",
              "plain DQN's optimism against Double DQN"),
    ),
    "Class": (
        Entry("board.py", "Class board", ":material/leaderboard:",
              "your class's runs together, and its leaderboards"),
    ),
}
"""Navigation sections (a header, then its pages), in the lesson's order."""


def entries() -> list[Entry]:
    """Every page, in navigation order."""
    return [e for pages in SECTIONS.values() for e in pages]
