"""Rock-paper-scissors: why the optimum can be a *stochastic* policy (pure numpy).

Two learners play repeated rock-paper-scissors against an opponent that exploits whatever
the learner has been doing lately:

* a **policy-gradient learner**: a softmax policy pi = softmax(theta) over the three hands,
  moved by gradient ascent on its expected payoff (plus an optional entropy bonus);
* a **greedy value learner**: action values Q(a), the running average of the payoffs it
  received when it played a, and it always plays argmax Q (epsilon = 0).

The greedy learner can only ever play a pure strategy, and every pure strategy loses every
round to the hand that beats it: its exploitability is 1 at every step. The best a player
can do at RPS is the uniform mix (1/3, 1/3, 1/3), which nobody can beat on average; only a
learner that represents a distribution over actions can play it.

Hands are numbered 0 = rock, 1 = paper, 2 = scissors. ``PAYOFF[a, b]`` is what the learner
gets for playing a against b (+1 win, -1 loss, 0 tie); the game is zero-sum and symmetric, so
``PAYOFF`` is antisymmetric and the opponent's payoff for b against a is ``PAYOFF[b, a]``.

The functions take one policy (shape ``(3,)``) or a batch of them (``(n, 3)``, one row per
seed). A :class:`Match` plays every seed at once, each from its own random streams, so a
seed's match is the same bit for bit whichever other seeds run beside it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

ACTIONS = ("rock", "paper", "scissors")
PAYOFF = np.array([[0.0, -1.0, 1.0],
                   [1.0, 0.0, -1.0],
                   [-1.0, 1.0, 0.0]])
"""PAYOFF[a, b]: the learner's payoff for hand a against hand b (rows: rock, paper,
scissors). Paper beats rock, scissors beat paper, rock beats scissors."""
UNIFORM = np.full(3, 1.0 / 3.0)
"""The unique optimal (Nash) policy of RPS."""
KINDS = ("policy-gradient", "greedy")
"""The learners a :class:`Match` knows."""
TIE_TOLERANCE = 1e-12
"""Values closer than this count as tied."""
EYE = np.eye(3)
"""EYE[a]: hand a as a one-hot mix."""
OMEGA = np.exp(-2j * np.pi * np.arange(3) / 3)
"""The simplex drawn as a plane: a policy pi sits at sum_a pi_a OMEGA_a, the uniform mix at 0,
and rock -> scissors -> paper -> rock turns anticlockwise (see :func:`winding`)."""

DEFAULT_STEPS = 4_000
DEFAULT_LR = 0.1
DEFAULT_MEMORY = 50
DEFAULT_BETA = 0.0
DEFAULT_SEEDS = 5
TARGET_EXPLOITABILITY = 0.05
"""The issue's target: the policy-gradient learner's *time-averaged* policy ends with an
exploitability of at most this on every seed 0-4, at the defaults."""


def _out(x: np.ndarray):
    """A plain float for a single policy's result, the array for a batch (-0.0 made 0.0)."""
    x = x + 0.0
    return float(x) if x.ndim == 0 else x


# ----- the game -------------------------------------------------------------------------------


def hand_values(mix) -> np.ndarray:
    """What each hand earns on average against the mix x: v_a = sum_b A[a, b] x_b = (A x)_a.
    Against the learner's policy these are the opponent's values too (the game is
    symmetric).

    >>> hand_values([1, 0, 0])   # against pure rock, paper earns 1 and scissors lose 1
    array([ 0.,  1., -1.])
    """
    x = np.asarray(mix, dtype=np.float64)
    return (x[..., None, :] * PAYOFF).sum(-1) + 0.0


def expected_payoff(policy, opponent):
    """The learner's expected payoff J = pi^T A q for its policy pi against the opponent's
    mix q (a pure hand is a one-hot q).

    >>> expected_payoff([1, 0, 0], [0, 0, 1])   # rock against scissors
    1.0
    >>> expected_payoff(UNIFORM, [1, 0, 0])     # the uniform mix breaks even against anything
    0.0
    """
    pi = np.asarray(policy, dtype=np.float64)
    return _out((pi * hand_values(opponent)).sum(-1))


def exploitability(policy):
    """How much a best response wins against ``policy`` in expectation: max_b (A pi)_b.
    It is 0 for the uniform mix (no hand does better than break even), 1 for any pure
    strategy (its counter wins every round), and never below 0 (RPS is fair).

    >>> exploitability(UNIFORM)
    0.0
    >>> exploitability([0, 0, 1])
    1.0
    >>> exploitability([0.5, 0.5, 0])
    0.5
    """
    return _out(np.maximum(hand_values(policy).max(-1), 0.0))


def best_responses(policy) -> np.ndarray:
    """Every best hand against one ``policy``: each b with (A pi)_b within
    ``TIE_TOLERANCE`` of the maximum, ascending.

    >>> best_responses([0, 1, 0]).tolist()   # scissors cut paper
    [2]
    >>> best_responses(UNIFORM).tolist()     # against the uniform mix every hand is as good
    [0, 1, 2]
    """
    v = hand_values(policy)
    return np.flatnonzero(v >= v.max() - TIE_TOLERANCE)


def pick_best(values, u=0.0):
    """argmax of ``values`` along the last axis, ties broken by ``u`` in [0, 1): with k
    tied maxima it takes the (floor(u k) + 1)-th of them, so a uniform u picks each tied
    hand with probability 1/k (u = 0: the first).

    >>> pick_best([1.0, 3.0, 3.0]), pick_best([1.0, 3.0, 3.0], u=0.7)
    (1, 2)
    """
    v = np.asarray(values, dtype=np.float64)
    tied = v >= v.max(-1, keepdims=True) - TIE_TOLERANCE
    count = tied.sum(-1)
    if np.all(count == 1):  # the usual case: no tie anywhere
        pick = np.argmax(tied, -1)
        return int(pick) if pick.ndim == 0 else pick
    k = np.floor(np.asarray(u, dtype=np.float64) * count)
    pick = np.argmax(np.cumsum(tied, -1) > k[..., None], -1)
    return int(pick) if pick.ndim == 0 else pick


def best_response(policy, rng: np.random.Generator | None = None) -> int:
    """A best hand against one ``policy``: argmax_b (A pi)_b, ties broken uniformly at
    random with ``rng`` (the lowest tied hand without one).

    >>> best_response([0.6, 0.3, 0.1])   # mostly rock: play paper
    1
    >>> best_response([0.5, 0.5, 0.0])   # scissors only break even here, paper wins 0.5
    1
    """
    return pick_best(hand_values(policy), 0.0 if rng is None else rng.random())


# ----- the policy-gradient learner ------------------------------------------------------------


def softmax(theta) -> np.ndarray:
    """pi_a = exp(theta_a) / sum_b exp(theta_b) along the last axis, computed stably
    (shifted by the max first).

    >>> softmax([0.0, 0.0, 0.0])
    array([0.33333333, 0.33333333, 0.33333333])
    >>> softmax([1000.0, 0.0, 0.0]).round(6)
    array([1., 0., 0.])
    """
    z = np.asarray(theta, dtype=np.float64)
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def softmax_ascent(pi, r) -> np.ndarray:
    """The gradient with respect to the logits of the expected value pi^T r of a softmax
    policy pi with fixed per-hand values r: pi_a (r_a - pi^T r) (the softmax's Jacobian,
    diag(pi) - pi pi^T, times r). It sums to 0 over the hands.

    >>> softmax_ascent(UNIFORM, [0.0, 0.0, 3.0])   # raise the hand that pays, lower the rest
    array([-0.33333333, -0.33333333,  0.66666667])
    """
    pi = np.asarray(pi, dtype=np.float64)
    r = np.asarray(r, dtype=np.float64)
    return pi * (r - (pi * r).sum(-1, keepdims=True)) + 0.0


def payoff_gradient(theta, opponent) -> np.ndarray:
    """The exact gradient of the expected payoff J(theta) = pi^T A q, pi = softmax(theta):
    dJ/dtheta_a = pi_a (r_a - pi^T r), where r = A q is what each hand pays against q.

    >>> payoff_gradient([0.0, 0.0, 0.0], [1, 0, 0])   # against rock: more paper, less scissors
    array([ 0.        ,  0.33333333, -0.33333333])
    """
    return softmax_ascent(softmax(theta), hand_values(opponent))


def entropy(policy):
    """H(pi) = -sum_a pi_a log pi_a (with 0 log 0 = 0): log 3 for the uniform mix, 0 for a
    pure strategy.

    >>> round(entropy(UNIFORM), 4), entropy([1, 0, 0])
    (1.0986, 0.0)
    """
    p = np.asarray(policy, dtype=np.float64)
    logp = np.log(np.where(p > 0, p, 1.0))
    return _out(-(p * logp).sum(-1))


def entropy_gradient(theta) -> np.ndarray:
    """dH/dtheta_a = -pi_a (log pi_a + H(pi)) for pi = softmax(theta): the softmax ascent
    on the values r_a = -log pi_a, which moves every logit towards the others, so the policy
    towards uniform.

    >>> bool(np.allclose(entropy_gradient([0.0, 0.0, 0.0]), 0))   # H is largest at uniform
    True
    >>> bool((entropy_gradient([2.0, 0.0, 0.0]) * [1, -1, -1] < 0).all())  # the big logit shrinks
    True
    """
    pi = softmax(theta)
    return softmax_ascent(pi, -np.log(pi))


def sample_hand(policy, u):
    """A hand drawn from ``policy`` by inverting its cumulative sum at ``u`` in [0, 1):
    rock if u < pi_rock, paper if u < pi_rock + pi_paper, else scissors.

    >>> sample_hand([0.2, 0.5, 0.3], 0.1), sample_hand([0.2, 0.5, 0.3], 0.69)
    (0, 1)
    """
    p = np.asarray(policy, dtype=np.float64)
    u = np.asarray(u, dtype=np.float64)
    hand = (u >= p[..., 0]).astype(np.int64) + (u >= p[..., 0] + p[..., 1])
    return int(hand) if hand.ndim == 0 else hand


class PolicyGradientLearner:
    """``n`` softmax policies over the three hands (logits theta, one row each, starting at
    the uniform mix), trained by gradient ascent.

    After each round it sees the opponent's hand b, and in RPS that tells it what *every*
    hand of its own would have paid (r = A[:, b]). So it follows the **exact** gradient of
    its expected payoff over its own randomness, pi_a (r_a - pi^T r), and not a sampled
    REINFORCE estimate (r(a) - baseline) grad log pi(a): the two agree in expectation, but
    the exact one has no sampling noise, so what the page shows is the game's dynamics
    rather than an estimator's variance. The loss it descends is

        L(theta) = -pi^T A e_b - beta H(pi)

    (the entropy term a bonus), i.e. theta <- theta + lr (grad J + beta grad H). The hand it
    samples only matters to the opponent, who watches it.

    >>> learner = PolicyGradientLearner(1, lr=1.0)
    >>> learner.learn(own=np.array([0]), opponent=np.array([0]))   # the opponent showed rock
    >>> learner.policy().argmax(-1).tolist()                       # so paper went up
    [1]
    """

    def __init__(self, n: int, lr: float = DEFAULT_LR, beta: float = DEFAULT_BETA) -> None:
        self.lr, self.beta = float(lr), float(beta)
        self.theta = np.zeros((int(n), 3))
        self._pi = softmax(self.theta)

    def policy(self) -> np.ndarray:
        return self._pi

    def act(self, u: np.ndarray) -> np.ndarray:
        """Each row's hand, sampled from its policy with the uniforms ``u``."""
        return sample_hand(self._pi, u)

    def learn(self, own: np.ndarray, opponent: np.ndarray) -> None:
        pi = self._pi
        step = softmax_ascent(pi, PAYOFF.T[opponent])  # row b of A^T: each hand against b
        if self.beta:
            step += self.beta * softmax_ascent(pi, -np.log(pi))
        self.theta = self.theta + self.lr * step
        self._pi = softmax(self.theta)


# ----- the greedy value learner ---------------------------------------------------------------


def greedy_hand(q, priority):
    """argmax_a Q(a), ties broken by ``priority`` (the tied hand with the highest wins).

    >>> greedy_hand([0.0, 0.0, -1.0], priority=[0, 2, 1])
    1
    """
    q = np.asarray(q, dtype=np.float64)
    tied = q >= q.max(-1, keepdims=True) - TIE_TOLERANCE
    hand = np.argmax(np.where(tied, np.asarray(priority), -1), -1)
    return int(hand) if hand.ndim == 0 else hand


class GreedyLearner:
    """``n`` rows of action values Q(a): the running average of the payoffs a row received
    when it played a (0 before it has), Q(a) <- Q(a) + (r - Q(a)) / N(a). It always plays
    argmax_a Q(a) (epsilon = 0), ties broken by a fixed order per row (``priority``, a
    permutation of 0, 1, 2 drawn from the seed), so its policy is a pure strategy at every
    step. It learns only from the hand it played (what it "received").

    >>> learner = GreedyLearner(np.array([[0, 1, 2]]))
    >>> learner.policy().tolist()   # all Q are 0: the highest priority, scissors
    [[0.0, 0.0, 1.0]]
    """

    def __init__(self, priority: np.ndarray) -> None:
        self.priority = np.asarray(priority, dtype=np.int64).reshape(-1, 3)
        self.q = np.zeros(self.priority.shape, dtype=np.float64)
        self.n = np.zeros(self.priority.shape, dtype=np.int64)
        self._rows = np.arange(len(self.priority))
        self._hand = greedy_hand(self.q, self.priority)

    def policy(self) -> np.ndarray:
        return EYE[self._hand]

    def act(self, u: np.ndarray) -> np.ndarray:
        return self._hand

    def learn(self, own: np.ndarray, opponent: np.ndarray) -> None:
        rows = self._rows
        self.n[rows, own] += 1
        self.q[rows, own] += (PAYOFF[own, opponent] - self.q[rows, own]) / self.n[rows, own]
        self._hand = greedy_hand(self.q, self.priority)


# ----- the exploiting opponent ----------------------------------------------------------------


class ExploitingOpponent:
    """Plays a best response to what the learner has done recently: per row an exponential
    moving average f of the learner's hands (one-hot), f <- f + (e_a - f) / memory, starting
    from the uniform mix. It plays argmax_b (A f)_b, ties broken at random. ``memory`` is the
    average's time scale in rounds (1: the last hand only).

    >>> opp = ExploitingOpponent(1, memory=1)
    >>> opp.observe(np.array([0]))   # the learner showed rock
    >>> opp.act(np.array([0.5]))     # so paper
    array([1])
    """

    def __init__(self, n: int, memory: float = DEFAULT_MEMORY) -> None:
        if not memory >= 1:
            raise ValueError(f"memory must be at least 1 round, got {memory}")
        self.rate = 1.0 / float(memory)
        self.freq = np.tile(UNIFORM, (int(n), 1))

    def act(self, u: np.ndarray) -> np.ndarray:
        return pick_best(hand_values(self.freq), u)

    def observe(self, learner_hand: np.ndarray) -> None:
        self.freq += self.rate * (EYE[learner_hand] - self.freq)


# ----- cycling --------------------------------------------------------------------------------


def simplex_point(policy):
    """The policy as a point of the plane, z = sum_a pi_a OMEGA_a: 0 for the uniform mix,
    the unit circle's three cube roots for the pure hands.

    >>> round(abs(simplex_point(UNIFORM)), 12), round(abs(simplex_point([0, 1, 0])), 12)
    (0.0, 1.0)
    """
    z = (np.asarray(policy, dtype=np.float64) * OMEGA).sum(-1)
    return complex(z) if z.ndim == 0 else z


def turn(before, after):
    """The signed angle, in laps, from policy ``before`` to ``after`` seen from the uniform
    mix: arg(z_after / z_before) / 2 pi, in (-1/2, 1/2]. Positive is the direction rock ->
    scissors -> paper -> rock, the way a learner turns when each of its favourites is
    punished by the hand that beats it (0 if either policy is the uniform mix).

    >>> round(turn([1, 0, 0], [0, 0, 1]), 4)   # rock to scissors: a third of a lap forwards
    0.3333
    """
    z = simplex_point(after) * np.conj(simplex_point(before))
    out = np.angle(z) / (2 * np.pi) + 0.0
    return float(out) if np.ndim(out) == 0 else out


def winding(policies) -> float:
    """How many times a sequence of policies circles the uniform mix: the sum of the
    :func:`turn` s between consecutive policies (positive: rock -> scissors -> paper).

    >>> winding([[1, 0, 0], [0, 0, 1], [0, 1, 0], [1, 0, 0]])   # one full lap
    1.0
    """
    p = np.asarray(policies, dtype=np.float64)
    return float(np.sum(turn(p[:-1], p[1:]))) if len(p) > 1 else 0.0


# ----- a match --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Records:
    """One learner's match on one seed, recorded every few rounds. Arrays of length R:

    * ``step``: rounds played so far (1-based);
    * ``policy``: (R, 3) the learner's policy pi_t in that round (before it learned from it);
    * ``average_policy``: (R, 3) the time-averaged policy, the mean of pi_1 .. pi_t;
    * ``average_payoff``: the learner's mean payoff over rounds 1 .. t;
    * ``exploitability``: of pi_t; ``average_exploitability``: of the time-averaged policy;
    * ``laps``: how many times pi had circled the uniform mix by round t (the running
      :func:`winding` of pi_1 .. pi_t, positive: rock -> scissors -> paper).
    """

    kind: str
    seed: int
    step: np.ndarray
    policy: np.ndarray
    average_policy: np.ndarray
    average_payoff: np.ndarray
    exploitability: np.ndarray
    average_exploitability: np.ndarray
    laps: np.ndarray

    def late_exploitability(self) -> float:
        """The mean exploitability of pi_t over the records of the second half of the
        rounds (t > T / 2): how exploitable the learner stays once it has had time to
        learn, less noisy than the last record alone."""
        late = self.step > self.step[-1] / 2
        return float(self.exploitability[late].mean())

    def final(self) -> dict:
        """The last record: exploitability of pi_T and of the time-averaged policy, the
        average payoff, the laps around the uniform mix, and both policies; and
        :meth:`late_exploitability`."""
        return {"kind": self.kind, "seed": self.seed, "steps": int(self.step[-1]),
                "exploitability": float(self.exploitability[-1]),
                "late_exploitability": self.late_exploitability(),
                "average_exploitability": float(self.average_exploitability[-1]),
                "average_payoff": float(self.average_payoff[-1]),
                "laps": float(self.laps[-1]),
                "policy": self.policy[-1].copy(),
                "average_policy": self.average_policy[-1].copy()}


def record_interval(steps: int, max_records: int = 500) -> int:
    """Record every this many rounds so a match gives at most ``max_records`` records.

    >>> record_interval(4000), record_interval(100)
    (8, 1)
    """
    return max(1, -(-int(steps) // int(max_records)))


def seed_streams(seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    """The learner's and the opponent's random generators for ``seed``: two independent
    children of ``SeedSequence(seed)``.

    >>> a, b = seed_streams(7)
    >>> bool(a.random() != b.random()), seed_streams(7)[0].random() == seed_streams(7)[0].random()
    (True, True)
    """
    a, b = np.random.SeedSequence(int(seed)).spawn(2)
    return np.random.default_rng(a), np.random.default_rng(b)


class Match:
    """The learner ``kind`` (one of ``KINDS``) against an :class:`ExploitingOpponent`, on
    every seed of ``seeds`` at once. :meth:`play` advances it, :meth:`records` reads it.

    Each seed has two random streams (:func:`seed_streams`): the learner's (the greedy
    learner's tie-break order, then one uniform per round for sampling its hand) and the
    opponent's (one uniform per round for its tie-breaks). They are drawn in chunks, which
    does not change them, so a seed plays the same match alone or beside others.

    Each round t: the learner's policy pi_t is noted, both play, the learner learns from the
    opponent's hand, the opponent sees the learner's hand; every ``every`` rounds the state
    is recorded.
    """

    CHUNK = 1024

    def __init__(self, kind: str, seeds: Iterable[int] = range(DEFAULT_SEEDS),
                 lr: float = DEFAULT_LR, memory: float = DEFAULT_MEMORY,
                 beta: float = DEFAULT_BETA, every: int = 1) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown learner {kind!r}: choose one of {', '.join(KINDS)}")
        self.kind, self.seeds = kind, [int(s) for s in seeds]
        if not self.seeds:
            raise ValueError("need at least one seed")
        if not (lr > 0 and np.isfinite(lr)):
            raise ValueError(f"the learning rate must be positive, got {lr}")
        if not beta >= 0:
            raise ValueError(f"the entropy bonus must be at least 0, got {beta}")
        self.every = max(1, int(every))
        self._streams = [seed_streams(s) for s in self.seeds]
        n = len(self.seeds)
        if kind == KINDS[0]:
            self.learner = PolicyGradientLearner(n, lr=lr, beta=beta)
        else:
            self.learner = GreedyLearner(np.stack([ls.permutation(3)
                                                   for ls, _ in self._streams]))
        self.opponent = ExploitingOpponent(n, memory)
        self.t = 0
        self._pi = self.learner.policy()
        self._z = simplex_point(self._pi)
        self._pi_sum = np.zeros((n, 3))
        self._pay_sum = np.zeros(n)
        self._laps = np.zeros(n)
        self._u = np.empty((0, 2, n))
        self._rows: list[tuple] = []

    def _uniforms(self) -> np.ndarray:
        """(CHUNK, 2, n): per round, the learner's and the opponent's uniform of each seed."""
        draws = [[ls.random(self.CHUNK), os.random(self.CHUNK)] for ls, os in self._streams]
        return np.asarray(draws).transpose(2, 1, 0)

    def play(self, rounds: int) -> None:
        """Play ``rounds`` more rounds on every seed."""
        learner, opponent = self.learner, self.opponent
        for _ in range(int(rounds)):
            if not len(self._u):
                self._u = self._uniforms()
            u, self._u = self._u[0], self._u[1:]
            pi = learner.policy()
            a = learner.act(u[0])
            b = opponent.act(u[1])
            learner.learn(a, b)
            opponent.observe(a)
            self.t += 1
            z = simplex_point(pi)
            self._laps += np.angle(z * np.conj(self._z)) / (2 * np.pi)
            self._pi, self._z = pi, z
            self._pi_sum += pi
            self._pay_sum += PAYOFF[a, b]
            if self.t % self.every == 0:
                self.record()

    def record(self) -> None:
        """Record the current state (once per round: a second call in a round is ignored)."""
        if self.t == 0 or (self._rows and self._rows[-1][0] == self.t):
            return
        self._rows.append((self.t, self._pi.copy(), self._pi_sum / self.t,
                           self._pay_sum / self.t, self._laps.copy()))

    def records(self) -> list[Records]:
        """What was recorded so far, one :class:`Records` per seed (in ``seeds`` order)."""
        if not self._rows:
            raise ValueError("nothing recorded yet: play some rounds first")
        step = np.array([r[0] for r in self._rows], dtype=np.int64)
        pi, avg, pay, laps = (np.stack([r[i] for r in self._rows], 1) for i in range(1, 5))
        return [Records(kind=self.kind, seed=seed, step=step, policy=pi[j],
                        average_policy=avg[j], average_payoff=pay[j],
                        exploitability=exploitability(pi[j]),
                        average_exploitability=exploitability(avg[j]), laps=laps[j])
                for j, seed in enumerate(self.seeds)]


def simulate_seeds(kind: str, steps: int = DEFAULT_STEPS, seeds=range(DEFAULT_SEEDS),
                   lr: float = DEFAULT_LR, memory: float = DEFAULT_MEMORY,
                   beta: float = DEFAULT_BETA, every: int | None = None) -> list[Records]:
    """Play ``steps`` rounds of ``kind`` on every seed; records every ``every`` rounds
    (default: :func:`record_interval`) and at the last round."""
    steps = int(steps)
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    match = Match(kind, seeds, lr=lr, memory=memory, beta=beta,
                  every=record_interval(steps) if every is None else every)
    match.play(steps)
    match.record()
    return match.records()


def simulate(kind: str, steps: int = DEFAULT_STEPS, seed: int = 0, lr: float = DEFAULT_LR,
             memory: float = DEFAULT_MEMORY, beta: float = DEFAULT_BETA,
             every: int | None = None) -> Records:
    """One seed of :func:`simulate_seeds`.

    >>> r = simulate("greedy", steps=10, seed=0, every=1)
    >>> r.exploitability.tolist() == [1.0] * 10   # a pure strategy at every round
    True
    >>> r = simulate("policy-gradient", steps=2000, seed=0)
    >>> bool(r.average_exploitability[-1] < 0.05)    # its time average nears the uniform mix
    True
    """
    return simulate_seeds(kind, steps, [seed], lr=lr, memory=memory, beta=beta,
                          every=every)[0]


def simulate_all(steps: int = DEFAULT_STEPS, seeds=range(DEFAULT_SEEDS), lr: float = DEFAULT_LR,
                 memory: float = DEFAULT_MEMORY, beta: float = DEFAULT_BETA,
                 kinds: Sequence[str] = KINDS) -> dict[str, list[Records]]:
    """:func:`simulate_seeds` for every learner of ``kinds`` on the same seeds and settings
    (``lr`` and ``beta`` only concern the policy-gradient learner)."""
    return {kind: simulate_seeds(kind, steps, seeds, lr=lr, memory=memory, beta=beta)
            for kind in kinds}
