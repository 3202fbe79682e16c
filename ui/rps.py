"""The rock-paper-scissors page's frames, charts, numbers and verdicts.

Everything here is a pure function of the matches :func:`pgcore.labs.rps.simulate_all`
returns (``{kind: [Records per seed]}``), giving a pandas frame, an altair chart, a dict or
a :class:`~ui.verdicts.Verdict`, so the page stays thin and the numbers are testable without a
Streamlit run. Nothing here imports streamlit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import altair as alt
import numpy as np
import pandas as pd

from pgcore.labs import rps as game
from pgcore.labs.stats import median_range

from .charts import palette
from .charts.numbers import counted, over_seeds, range_text
from .verdicts import DOES_NOT_HOLD, HOLDS, PARTLY, Verdict, with_evidence

Results = Mapping[str, Sequence[game.Records]]

PG, GREEDY = game.KINDS
LABELS = {PG: "policy gradient (softmax π)", GREEDY: "greedy on Q (ε = 0)"}
"""How the page names each learner."""
CURRENT, AVERAGE = palette.CURRENT, palette.TIME_AVERAGE
"""The two policies of a match; each learner, hand and policy is drawn in its look from
``ui.charts.palette`` (the softmax learner in the policy gradients' blue, the greedy one in DQN's
red, the time average dark and dashed)."""
TARGET = game.TARGET_EXPLOITABILITY
LAPS_TO_CYCLE = 1.0
"""At least this many laps around the uniform mix (median over seeds) count as cycling."""


def label(kind: str) -> str:
    return LABELS.get(kind, kind)


# ----- frames ---------------------------------------------------------------------------------


def records_frame(results: Results) -> pd.DataFrame:
    """Every record of every match, one row each: learner, seed, step, the current and
    the time-averaged policy (three columns each), the average payoff, both
    exploitabilities and the laps around the uniform mix. The CSV download."""
    parts = []
    for kind, runs in results.items():
        for r in runs:
            cols = {"learner": kind, "seed": r.seed, "step": r.step}
            for i, hand in enumerate(game.ACTIONS):
                cols[f"pi_{hand}"] = r.policy[:, i]
            for i, hand in enumerate(game.ACTIONS):
                cols[f"average_pi_{hand}"] = r.average_policy[:, i]
            cols.update({"average_payoff": r.average_payoff,
                         "exploitability": r.exploitability,
                         "average_exploitability": r.average_exploitability,
                         "laps": r.laps})
            parts.append(pd.DataFrame(cols))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def to_csv(results: Results) -> bytes:
    return records_frame(results).to_csv(index=False, float_format="%.6g").encode()


def run_of(results: Results, kind: str, seed: int) -> game.Records | None:
    return next((r for r in results.get(kind, ()) if r.seed == seed), None)


def policy_frame(records: game.Records, average: bool = False) -> pd.DataFrame:
    """One match's current (or time-averaged) policy in long form: step, hand, p, order
    (rock 0, paper 1, scissors 2: the stacking order)."""
    pi = records.average_policy if average else records.policy
    return pd.DataFrame({"step": np.repeat(records.step, 3),
                         "hand": np.tile(np.array(game.ACTIONS), len(records.step)),
                         "order": np.tile(np.arange(3), len(records.step)),
                         "p": pi.reshape(-1)})


def exploitability_frame(results: Results, seed: int) -> pd.DataFrame:
    """Both learners' exploitability (current and time-averaged policy) on ``seed``:
    step, learner, policy, exploitability."""
    parts = []
    for kind in results:
        r = run_of(results, kind, seed)
        if r is None:
            continue
        for which, values in ((CURRENT, r.exploitability), (AVERAGE, r.average_exploitability)):
            parts.append(pd.DataFrame({"step": r.step, "learner": label(kind),
                                       "policy": which, "exploitability": values}))
    return pd.concat(parts, ignore_index=True) if parts else \
        pd.DataFrame({"step": [], "learner": [], "policy": [], "exploitability": []})


def payoff_frame(results: Results) -> pd.DataFrame:
    """Every match's average payoff so far: step, learner, seed, payoff."""
    parts = [pd.DataFrame({"step": r.step, "learner": label(kind), "seed": f"seed {r.seed}",
                           "payoff": r.average_payoff})
             for kind, runs in results.items() for r in runs]
    return pd.concat(parts, ignore_index=True) if parts else \
        pd.DataFrame({"step": [], "learner": [], "seed": [], "payoff": []})


def simplex_frame(records: game.Records) -> pd.DataFrame:
    """One match's current and time-averaged policy as points of the plane
    (:func:`pgcore.labs.rps.simplex_point`): step, policy, x, y."""
    parts = []
    for which, pi in ((CURRENT, records.policy), (AVERAGE, records.average_policy)):
        z = game.simplex_point(pi)
        parts.append(pd.DataFrame({"step": records.step, "policy": which,
                                   "x": z.real, "y": z.imag}))
    return pd.concat(parts, ignore_index=True)


# ----- charts ---------------------------------------------------------------------------------


def _title(title: str, subtitle: str = "") -> alt.TitleParams:
    return alt.TitleParams(title, subtitle=subtitle or alt.Undefined, anchor="start",
                           fontSize=14)


def _x(steps: int) -> alt.X:
    return alt.X("step:Q", title="round", scale=alt.Scale(domain=[0, steps], nice=False))


def policy_chart(data: pd.DataFrame, steps: int, title: str, subtitle: str = "",
                 thirds: bool = False, height: int = 300) -> alt.LayerChart:
    """A policy over time as a stacked area (rock at the bottom, then paper, scissors: the
    legend's order), with dashed rules at 1/3 and 2/3 (where the uniform mix would split)
    when ``thirds``."""
    hands = list(game.ACTIONS)
    area = alt.Chart(data).mark_area(opacity=0.9, interpolate="step-after").encode(
        x=_x(steps),
        y=alt.Y("p:Q", stack="zero", title="probability",
                scale=alt.Scale(domain=[0, 1], nice=False), axis=palette.axis()),
        color=palette.color("hand", hands, symbol="square"), order=alt.Order("order:Q"),
        tooltip=[alt.Tooltip("step:Q", title="round", format=","), "hand:N",
                 alt.Tooltip("p:Q", format=".3f")])
    layers = [area]
    if thirds:
        rules = pd.DataFrame({"y": [1 / 3, 2 / 3]})
        look = palette.style(palette.REFERENCE)
        layers.append(alt.Chart(rules).mark_rule(strokeDash=look.stroke_dash, color=look.color,
                                                 strokeWidth=1.2).encode(y="y:Q"))
    return alt.layer(*layers).properties(title=_title(title, subtitle), height=height)


def _learners(kinds: Sequence[str]) -> list[str]:
    return [label(k) for k in kinds]


def exploitability_chart(data: pd.DataFrame, steps: int, kinds: Sequence[str], title: str,
                         height: int = 360) -> alt.LayerChart:
    """Exploitability over rounds: colour by learner, the current policy's dash (solid) or
    the time average's (dashed), with a dotted rule at the target."""
    policies = [CURRENT, AVERAGE]
    dash = palette.stroke_dash("policy", policies,
                               legend_=palette.legend(policies, orient="bottom"))
    lines = alt.Chart(data).mark_line(strokeWidth=1.8, clip=True).encode(
        x=_x(steps),
        y=alt.Y("exploitability:Q", title="exploitability",
                scale=alt.Scale(domain=[0, 1.05], nice=False), axis=palette.axis()),
        color=palette.color("learner", _learners(kinds)), strokeDash=dash,
        detail="policy:N",
        tooltip=[alt.Tooltip("step:Q", title="round", format=","), "learner:N", "policy:N",
                 alt.Tooltip("exploitability:Q", format=".3f")])
    rule = palette.rule_layers([(TARGET, "target", palette.TARGET)], text=False)
    return alt.layer(lines, *rule).properties(
        title=_title(title, f"dotted green: the target, {TARGET:g}"), height=height)


def payoff_chart(data: pd.DataFrame, steps: int, kinds: Sequence[str],
                 height: int = 360) -> alt.LayerChart:
    """Each match's average payoff so far (one line per seed, colour and dash by learner),
    with a rule at 0 (what the uniform mix earns against anything)."""
    learners = _learners(kinds)
    lines = alt.Chart(data).mark_line(strokeWidth=1.3, opacity=0.75, clip=True).encode(
        x=_x(steps),
        y=alt.Y("payoff:Q", title="average payoff per round",
                scale=alt.Scale(domain=[-1, 1], nice=False), axis=palette.axis()),
        color=palette.color("learner", learners),
        strokeDash=palette.stroke_dash("learner", learners), detail="seed:N",
        tooltip=[alt.Tooltip("step:Q", title="round", format=","), "learner:N", "seed:N",
                 alt.Tooltip("payoff:Q", format="+.3f")])
    zero = alt.Chart(pd.DataFrame({"y": [0.0]})).mark_rule(color=palette.GREY,
                                                          strokeWidth=1).encode(y="y:Q")
    return alt.layer(zero, lines).properties(
        title=_title("Average payoff so far", "every seed: +1 a win, −1 a loss, 0 a tie"),
        height=height)


_CORNERS = pd.DataFrame({
    "hand": [*game.ACTIONS, game.ACTIONS[0]],
    "x": [game.simplex_point(game.EYE[i]).real for i in (0, 1, 2, 0)],
    "y": [game.simplex_point(game.EYE[i]).imag for i in (0, 1, 2, 0)],
    "order": [0, 1, 2, 3]})


def simplex_chart(data: pd.DataFrame, title: str, size: int = 380) -> alt.LayerChart:
    """The current and the time-averaged policy of one match as paths through the triangle
    of all policies (corners: the pure hands, centre: the uniform mix), drawn ``size``
    pixels square so the triangle keeps its shape (draw it at its own width). The current
    policy's path is the lighter, solid one; the time average's dark and dashed."""
    scale = alt.Scale(domain=[-0.62, 1.08], nice=False)
    x = alt.X("x:Q", axis=None, scale=scale)
    y = alt.Y("y:Q", axis=None, scale=alt.Scale(domain=[-0.85, 0.85], nice=False))
    frame = alt.Chart(_CORNERS).mark_line(color="#9ca3af", strokeWidth=1).encode(
        x=x, y=y, order="order:Q")
    corners = alt.Chart(_CORNERS.iloc[:3]).mark_text(
        fontSize=12, fontWeight="bold", dx=0, dy=-10).encode(x=x, y=y, text="hand:N")
    policies = [CURRENT, AVERAGE]
    paths = alt.Chart(data).mark_line(strokeWidth=1.4, opacity=0.85).encode(
        x=x, y=y, color=palette.color("policy", policies),
        strokeDash=palette.stroke_dash("policy", policies), order="step:Q", detail="policy:N",
        tooltip=[alt.Tooltip("step:Q", title="round", format=","), "policy:N"])
    uniform = palette.style(palette.UNIFORM)
    centre = alt.Chart(pd.DataFrame({"x": [0.0], "y": [0.0]})).mark_point(
        shape=uniform.marker, size=120, color=uniform.color, strokeWidth=2).encode(x=x, y=y)
    return alt.layer(frame, corners, paths, centre).properties(
        title=_title(title, "green cross: the uniform mix"), width=size, height=size + 64)


# ----- numbers --------------------------------------------------------------------------------


def numbers(runs: Sequence[game.Records]) -> dict:
    """Median and range across seeds of one learner's final exploitability (current and
    time-averaged policy), its mean exploitability over the second half, its average
    payoff and its laps; and the per-seed finals."""
    finals = [r.final() for r in runs]
    pick = {k: median_range([f[k] for f in finals])
            for k in ("exploitability", "average_exploitability", "late_exploitability",
                      "average_payoff", "laps")}
    always_one = all(bool(np.all(r.exploitability == 1.0)) for r in runs)
    return {**pick, "seeds": len(runs), "steps": finals[0]["steps"] if finals else 0,
            "finals": finals, "always_one": always_one}


def numbers_table(results: Results) -> pd.DataFrame:
    """One row per learner: seeds, and the :func:`numbers` as "median (min – max)"."""
    rows = []
    for kind, runs in results.items():
        n = numbers(runs)
        rows.append({"learner": label(kind), "seeds": n["seeds"],
                     "final exploitability, π_T": range_text(n["exploitability"], ".3f"),
                     "mean exploitability, 2nd half": range_text(n["late_exploitability"],
                                                                 ".3f"),
                     "final exploitability, time average":
                         range_text(n["average_exploitability"], ".3f"),
                     "average payoff": range_text(n["average_payoff"], "+.3f"),
                     "laps around the uniform mix": range_text(n["laps"], "+.1f")})
    return pd.DataFrame(rows)


def seed_table(results: Results) -> pd.DataFrame:
    """Every match's final numbers, one row per learner and seed."""
    return pd.DataFrame([{"learner": label(kind), "seed": f["seed"],
                          "exploitability, π_T": round(f["exploitability"], 4),
                          "exploitability, time average": round(f["average_exploitability"], 4),
                          "average payoff": round(f["average_payoff"], 4),
                          "laps": round(f["laps"], 2)}
                         for kind, runs in results.items() for f in numbers(runs)["finals"]])


# ----- verdicts -------------------------------------------------------------------------------


LEAD = "The claim"
"""How the page leads each verdict (:meth:`ui.verdicts.Verdict.markdown`)."""


def _played(n: dict) -> str:
    """The evidence of a verdict: the matches, all played before anything is shown."""
    seeds = n["seeds"]
    return (f"{counted(seeds, 'match', 'matches')} of {n['steps']:,} rounds, one per seed, "
            "all played")


def pure_finding(greedy: dict) -> Verdict:
    """"A greedy learner plays a pure strategy, which is exploitable by 1": its exploitability
    at every recorded round of every seed."""
    claim = ("the greedy learner always plays one hand for sure, so the hand that beats it "
             "wins every round: its exploitability is 1 whatever it has learnt.")
    pay = range_text(greedy["average_payoff"], "+.3f")
    if greedy["always_one"]:
        return Verdict(claim, HOLDS, f"exploitability exactly 1 at every recorded round on "
                       f"all {greedy['seeds']} seeds. The exploiting opponent did take "
                       f"advantage: the greedy learner's average payoff is {pay} per round "
                       f"({over_seeds(greedy['seeds'])}).")
    return Verdict(claim, DOES_NOT_HOLD, "its exploitability fell below 1 somewhere, which "
                   f"a pure strategy cannot do; average payoff {pay}.")


def average_finding(pg: dict, target: float = TARGET) -> Verdict:
    """"The policy-gradient learner's time-averaged policy ends near the uniform mix":
    every seed's final time-averaged exploitability at most ``target``."""
    claim = (f"the policy-gradient learner's time-averaged policy ends within exploitability "
             f"{target:g} of the uniform mix on every seed.")
    finals = [f["average_exploitability"] for f in pg["finals"]]
    within = sum(v <= target for v in finals)
    text = (f"{within} of {len(finals)} seeds end within {target:g}; final time-averaged "
            f"exploitability {range_text(pg['average_exploitability'], '.3f')} "
            f"({over_seeds(pg['seeds'])}), after {pg['steps']:,} rounds.")
    if within == len(finals):
        return Verdict(claim, HOLDS, text)
    if within > len(finals) / 2:
        return Verdict(claim, PARTLY, text)
    return Verdict(claim, DOES_NOT_HOLD, text)


def cycle_finding(pg: dict, target: float = TARGET) -> Verdict:
    """"Its current policy does not settle: it circles the uniform mix": at least
    :data:`LAPS_TO_CYCLE` laps (median) and a mean exploitability over the second half above
    ``target``."""
    claim = ("the policy-gradient learner's *current* policy does not settle at the uniform "
             "mix: chased by the opponent it circles around it, and only the average over "
             "time sits in the middle.")
    laps, late = pg["laps"]["median"], pg["late_exploitability"]["median"]
    text = (f"π_t went {range_text(pg['laps'], '+.1f')} times around the uniform mix "
            f"(positive: rock → scissors → paper, each favourite giving way to the hand "
            f"that beats its punisher), and over the second half its exploitability "
            f"averaged {range_text(pg['late_exploitability'], '.3f')} "
            f"({over_seeds(pg['seeds'])}).")
    cycles, stays_exploitable = abs(laps) >= LAPS_TO_CYCLE, late > target
    if cycles and stays_exploitable:
        return Verdict(claim, HOLDS, text)
    if cycles or stays_exploitable:
        return Verdict(claim, PARTLY, text)
    return Verdict(claim, DOES_NOT_HOLD, text + " With settings this gentle it stays "
                   "close to the uniform mix itself.")


def findings(results: Results) -> list[Verdict]:
    """The page's three verdicts (the ones whose learner was played), each with its evidence:
    the matches are all played before the page shows anything, so none is "too early"."""
    out = []
    if GREEDY in results and results[GREEDY]:
        greedy = numbers(results[GREEDY])
        out.append(with_evidence(pure_finding(greedy), _played(greedy)))
    if PG in results and results[PG]:
        pg = numbers(results[PG])
        out += [with_evidence(v, _played(pg)) for v in (average_finding(pg), cycle_finding(pg))]
    return out
