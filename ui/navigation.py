"""The app's pages in the lesson's order, as data: ``app.py`` builds ``st.navigation`` from
:data:`SECTIONS` and the Home page lists the same steps, so the two cannot drift apart.

The order follows the lesson's arc: why learn a policy at all, the policy gradient theorem and
REINFORCE (and how noisy it is), the fixes for that noise (a baseline, an entropy bonus, a
critic: actor-critic and A2C), then value-based learning (DQN) set against it. The Class board
sits under its own heading at the end.

The page files are grouped as the menu groups them: one folder of ``views/`` per section
(``why/``, ``reinforce/``, ``actor_critic/``, ``value/``, ``classroom/``), Home on its own at
``views/home.py``. A page's URL path is given here (``reinforce/seeds_variance.py`` is
``/seeds_variance``; Home is ``/``), not taken from its folder: links, bookmarks and tests use
those paths, so a page keeps its URL wherever its file moves. Its file keeps the URL path's
name (AppTest infers a page's path from its file's name before its first run).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

VIEWS = Path(__file__).resolve().parents[1] / "views"
"""The folder of the page files."""


@dataclass(frozen=True)
class Entry:
    """One page of the navigation: its file under ``views/``, URL path, title and icon."""

    file: str
    """The page's file, relative to ``views/`` (``why/rps.py``)."""
    url_path: str
    """The page's URL path (``rps``; ``""`` for the default page), fixed here."""
    title: str
    icon: str
    blurb: str = ""
    """What the page does, in a few words (Home's list of steps)."""
    default: bool = False

    @property
    def path(self) -> Path:
        """The page's file, absolute (``st.Page`` and ``st.page_link`` find it from any entry
        point: ``app.py`` or ``cloud/streamlit_app.py``)."""
        return VIEWS / self.file


HOME = Entry("home.py", "", "Home", ":material/home:", default=True)

SECTIONS: dict[str, tuple[Entry, ...]] = {
    "": (HOME,),
    "1 · Why a policy?": (
        Entry("why/rps.py", "rps", "Stochastic optimum (RPS)", ":material/casino:",
              "a game whose best play is random"),
        Entry("why/smoothness.py", "smoothness", "Smoothness", ":material/waves:",
              "a policy moves smoothly with its weights; an argmax jumps"),
        Entry("why/pendulum.py", "pendulum", "Continuous actions", ":material/rotate_right:",
              "a pendulum's torque, with no list of actions to take the argmax over"),
    ),
    "2 · The theorem and REINFORCE": (
        Entry("reinforce/theory.py", "theory", "Theory", ":material/menu_book:",
              "every formula next to the code that runs it"),
        Entry("reinforce/train.py", "train", "Train", ":material/monitoring:",
              "train one agent and watch it live, from plain REINFORCE on"),
        Entry("reinforce/seeds_variance.py", "seeds_variance", "Seeds & variance",
              ":material/stacked_line_chart:", "the same settings on several seeds"),
        Entry("reinforce/gradient_variance.py", "gradient_variance", "Gradient variance",
              ":material/blur_on:", "how biased and how noisy each gradient estimate is"),
    ),
    "3 · Baselines to actor-critic": (
        Entry("actor_critic/baseline.py", "baseline", "Baseline vs none",
              ":material/compare_arrows:", "a learned V(s) subtracted, against raw returns"),
        Entry("actor_critic/entropy.py", "entropy", "Entropy bonus", ":material/shuffle:",
              "keeping the policy from settling too soon"),
        Entry("actor_critic/race.py", "race", "Algorithm race", ":material/sports_score:",
              "REINFORCE to PPO on one seed: who reaches 475 first"),
    ),
    "4 · Value vs policy (DQN)": (
        Entry("value/value_vs_policy.py", "value_vs_policy", "Value vs policy",
              ":material/balance:", "the lesson's comparison table, measured"),
        Entry("value/dqn_target.py", "dqn_target", "Target network", ":material/gps_fixed:",
              "DQN with and without a frozen target"),
        Entry("value/dqn_polyak.py", "dqn_polyak", "Hard copy or Polyak", ":material/timeline:",
              "two ways to move the target"),
        Entry("value/dqn_overestimation.py", "dqn_overestimation", "Overestimation",
              ":material/trending_up:", "plain DQN's optimism against Double DQN"),
    ),
    "Class": (
        Entry("classroom/board.py", "board", "Class board", ":material/leaderboard:",
              "your class's runs together, and its leaderboards"),
    ),
}
"""Navigation sections (a header, then its pages), in the lesson's order."""


def entries() -> list[Entry]:
    """Every page, in navigation order."""
    return [e for pages in SECTIONS.values() for e in pages]


def page(url_path: str) -> Entry:
    """The page at ``url_path`` (``"train"``); a KeyError names the known paths."""
    for e in entries():
        if e.url_path == url_path:
            return e
    raise KeyError(f"no page at /{url_path}: one of {[e.url_path for e in entries()]}")
