"""One verdict record and one evidence rule for every page that checks a claim.

A page that tests something the lesson says shows a :class:`Verdict`: the claim (in our
words), a status from :data:`STATUSES`, what we measured, and the evidence the measurement
rests on ("all 3 seeds of C = 1000 and C = 1 finished", or "typical result from the reference
runs (...)").

The rule: **a claim about an experiment stays "too early" until every condition it compares
has the finished (or diverged) seeds it needs.** :func:`evidence` counts the runs of each
condition of an :class:`~pgcore.execution.experiments.ExperimentSnapshot` (finished, diverged,
running,
waiting, stopped, failed) and is the one place that decides whether the evidence is complete;
:func:`judge` turns an incomplete count into a "too early" verdict that says what is missing
("1 of 3 seeds finished, 1 running, 1 waiting") and only otherwise runs the measurement. Live
numbers may still be shown beside it, labelled as partial (:meth:`Evidence.so_far`).

Pure Python: no streamlit, no pandas; it reads a snapshot's ``runs`` (``label``, ``state``)
and nothing else, so it can be tested on hand-built snapshots.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

TOO_EARLY, HOLDS, PARTLY, DOES_NOT_HOLD, UNTESTED = (
    "too early", "holds", "partly", "does not hold", "untested")
STATUSES = (TOO_EARLY, HOLDS, PARTLY, DOES_NOT_HOLD, UNTESTED)
"""Every status a verdict can have."""

BADGES = {TOO_EARLY: ":gray[**too early**]", HOLDS: ":green[**holds**]",
          PARTLY: ":orange[**partly**]", DOES_NOT_HOLD: ":red[**does not hold**]",
          UNTESTED: ":gray[**not tested here**]"}
"""How each status is shown in markdown (coloured, bold)."""

DONE, RUNNING, WAITING, STOPPED, FAILED = "done", "running", "waiting", "stopped", "failed"
KIND = {"finished": DONE, "diverged": DONE, "running": RUNNING, "starting": RUNNING,
        "paused": RUNNING, "waiting": WAITING, "idle": WAITING, "stopped": STOPPED,
        "error": FAILED}
"""A run's state -> what it is worth as evidence: ``done`` (finished or diverged: its result
counts), ``running``, ``waiting`` (queued), ``stopped`` (ended early by a user) or
``failed``."""


# ----- the record -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """One claim checked against measurements."""

    lesson: str
    """What is claimed (the lesson's words, rephrased)."""
    status: str
    """One of :data:`STATUSES`."""
    text: str
    """What we measured, one or a few sentences (for "too early": what it waits for)."""
    evidence: str = ""
    """What the measurement rests on: the runs counted, or the reference runs used."""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown verdict status {self.status!r}: one of {STATUSES}")

    @property
    def badge(self) -> str:
        """The status as coloured markdown."""
        return BADGES[self.status]

    @property
    def decided(self) -> bool:
        """Whether the measurement says anything (not "too early", not "untested")."""
        return self.status not in (TOO_EARLY, UNTESTED)

    def measured(self) -> str:
        """``:green[**holds**]. <text> *(<evidence>)*`` as one markdown line."""
        out = f"{self.badge}. {self.text}"
        return out + (f" *({self.evidence})*" if self.evidence else "")

    def markdown(self, lead: str = "The lesson") -> str:
        """The claim and the measurement on two lines."""
        return f"**{lead}:** {self.lesson}  \n**Measured:** {self.measured()}"


# ----- the evidence rule ----------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    """The runs of one condition (one label of an experiment), counted by what they are worth
    as evidence (:data:`KIND`)."""

    name: str
    finished: int = 0
    diverged: int = 0
    running: int = 0
    waiting: int = 0
    stopped: int = 0
    failed: int = 0
    need: int | None = None
    """Finished (or diverged) seeds the claim needs; None: every seed."""

    @property
    def seeds(self) -> int:
        return (self.finished + self.diverged + self.running + self.waiting + self.stopped
                + self.failed)

    @property
    def done(self) -> int:
        """Seeds whose result counts: finished or diverged."""
        return self.finished + self.diverged

    @property
    def needed(self) -> int:
        return self.seeds if self.need is None else min(self.need, self.seeds)

    @property
    def complete(self) -> bool:
        return self.seeds > 0 and self.done >= max(1, self.needed)

    def text(self) -> str:
        """``"1 of 3 seeds finished, 1 running, 1 waiting"``."""
        if not self.seeds:
            return "no runs"
        out = f"{self.done} of {self.seeds} seed{'s' if self.seeds != 1 else ''} finished"
        if self.diverged:
            out += f" ({self.diverged} diverged)"
        rest = [f"{n} {what}" for n, what in ((self.running, "running"),
                                              (self.waiting, "waiting"),
                                              (self.stopped, "stopped"),
                                              (self.failed, "failed")) if n]
        return ", ".join([out, *rest])


@dataclass(frozen=True)
class Evidence:
    """What a set of conditions has to show for itself; see :func:`evidence`."""

    conditions: tuple[Condition, ...]

    @property
    def complete(self) -> bool:
        """Every condition has the finished (or diverged) seeds it needs."""
        return bool(self.conditions) and all(c.complete for c in self.conditions)

    @property
    def active(self) -> bool:
        """Some run is still running or queued."""
        return any(c.running or c.waiting for c in self.conditions)

    @property
    def stopped(self) -> bool:
        """Nothing runs any more, but some run was stopped before it finished."""
        return not self.active and any(c.stopped for c in self.conditions)

    @property
    def failed(self) -> bool:
        return any(c.failed for c in self.conditions)

    @property
    def runs(self) -> int:
        return sum(c.seeds for c in self.conditions)

    @property
    def done(self) -> int:
        return sum(c.done for c in self.conditions)

    def of(self, names: Iterable[str]) -> Evidence:
        """Only the conditions named ``names`` (in that order)."""
        by_name = {c.name: c for c in self.conditions}
        return Evidence(tuple(by_name.get(n, Condition(n)) for n in names))

    def text(self) -> str:
        """Complete: ``"all 3 seeds of A and B finished"``; otherwise each condition's
        counts, ``"A: 1 of 3 seeds finished, 2 running; B: ..."``."""
        conds = self.conditions
        if not conds:
            return "no runs"
        seeds = {c.seeds for c in conds}
        plain = all(c.done == c.seeds and not c.diverged for c in conds)
        if self.complete and plain and len(seeds) == 1:
            n = seeds.pop()
            return (f"{'both' if n == 2 else 'the one' if n == 1 else f'all {n}'} "
                    f"seed{'s' if n != 1 else ''} of {_names([c.name for c in conds])} "
                    "finished")
        return "; ".join(f"{c.name}: {c.text()}" for c in conds)

    def so_far(self) -> str:
        """A label for live numbers: ``"so far, 2 of 6 runs finished"`` (or ``"all 6 runs
        finished"``)."""
        if self.runs and self.done == self.runs:
            return f"all {self.runs} runs finished"
        return f"so far, {self.done} of {self.runs} runs finished"

    def partial_note(self) -> str:
        """For the caption of live numbers: ``""`` once complete, else ``"Partial: so far, 2 of
        6 runs finished; the verdicts wait for every seed."`` (or, once nothing runs any more,
        ``"Partial: 2 of 6 runs finished; no verdict on these runs."``)."""
        if self.complete:
            return ""
        if self.active:
            return f"Partial: {self.so_far()}; the verdicts wait for every seed."
        return f"Partial: {self.done} of {self.runs} runs finished; no verdict on these runs."

    def waiting(self) -> str:
        """Why there is no verdict yet, one sentence."""
        if self.active:
            return "No verdict until every seed has finished."
        if self.stopped:
            return ("The experiment was stopped before every seed finished, so there is no "
                    "verdict: start it again to judge the claim.")
        if self.failed:
            return "A run failed before it finished, so there is no verdict on these runs."
        return "No verdict: there are no finished runs to judge."


def evidence(snap, labels: Sequence[str] | None = None,
             names: Mapping[str, str] | None = None,
             need: int | Mapping[str, int] | None = None) -> Evidence:
    """Count the runs of each of ``labels`` (default: every label of ``snap``, an
    :class:`~pgcore.execution.experiments.ExperimentSnapshot`) by state (:data:`KIND`). ``names``:
    how the page calls each label; ``need``: finished seeds a claim needs per condition (a
    number for all, or per label; default: every seed the condition has)."""
    runs = list(getattr(snap, "runs", ()) or ())
    if labels is None:
        labels = list(dict.fromkeys(r.label for r in runs))
    out = []
    for label in labels:
        counts = {DONE: 0, RUNNING: 0, WAITING: 0, STOPPED: 0, FAILED: 0}
        diverged = 0
        for r in runs:
            if r.label == label:
                counts[KIND.get(r.state, WAITING)] += 1
                diverged += r.state == "diverged"
        n = need.get(label) if isinstance(need, Mapping) else need
        out.append(Condition((names or {}).get(label, label), counts[DONE] - diverged,
                             diverged, counts[RUNNING], counts[WAITING], counts[STOPPED],
                             counts[FAILED], n))
    return Evidence(tuple(out))


def judge(lesson: str, ev: Evidence, measure: Callable[[], tuple[str, str]]) -> Verdict:
    """The rule: "too early" (saying what is missing) unless ``ev`` is complete; otherwise
    ``measure()`` -> ``(status, text)``, with the evidence attached."""
    if not ev.complete:
        return Verdict(lesson, TOO_EARLY, ev.waiting(),
                       ("so far, " if ev.active else "") + ev.text())
    status, text = measure()
    return Verdict(lesson, status, text, ev.text())


def with_evidence(verdict: Verdict, evidence_text: str) -> Verdict:
    """``verdict`` with its evidence replaced."""
    return replace(verdict, evidence=evidence_text)


def from_reference(descriptions: Iterable[str]) -> str:
    """The evidence of a verdict read off the shipped reference runs, e.g. ``"typical result
    from the reference runs: 10 runs (seeds 100-109, 1,000 episodes each), not your runs"``."""
    described = sorted(set(descriptions))
    if not described:
        return "typical result from the reference runs"
    return ("typical result from the reference runs: " + "; ".join(described)
            + ", not your runs")


def _names(names: Sequence[str]) -> str:
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
