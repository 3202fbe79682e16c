"""Checks for the exercise notebooks: call a learner's function on small fixed inputs, compare
it with pgcore's own maths, and say in plain words what is most likely wrong.

Each ``check_*`` is a small pure function of the learner's function: it returns a one-line
"passed" message (a notebook prints it) or raises :class:`CheckFailed` with a diagnosis such as
"your returns are not discounted: G_0 should be 2.71 for rewards [1, 1, 1] and γ = 0.9, you
gave 3". A function still raising ``NotImplementedError`` (the notebook's unfilled cell) gets
"not written yet"; any other exception in the learner's code is named with the line it came
from. The expected values always come from pgcore (:mod:`pgcore.rl.returns`, each algorithm's
``loss``, :func:`pgcore.rl.heads.policy_terms`, :func:`pgcore.algos.dqn.polyak_update`); the
mistakes recognised are the usual ones, each written out as the wrong formula it is.

``tests/test_exercise_checks.py`` feeds every check the reference solution and each mistake.
Never imports streamlit; runs on the learner's machine, never on the app's server.
"""

from __future__ import annotations

import math
import traceback
from collections.abc import Callable, Sequence

import numpy as np
import torch

from ..algos.a2c import loss as a2c_loss
from ..algos.dqn import polyak_update as reference_polyak
from ..algos.reinforce import loss as reinforce_loss
from ..rl.heads import policy_terms
from ..rl.returns import discounted_returns, double_td_targets, td_targets

TOL = 1e-4
"""Relative and absolute tolerance of every comparison (float32 arithmetic is fine)."""


class CheckFailed(Exception):
    """A learner's function disagrees with pgcore's maths; the message says how.

    In Jupyter the message alone is shown, not a traceback (IPython calls
    ``_render_traceback_``): the traceback would point into this module, not the learner's
    code."""

    def _render_traceback_(self) -> list[str]:
        return [f"CheckFailed: {self}"]


# ----- calling the learner's code -------------------------------------------------------------


def _call(fn: Callable, name: str, *args, **kwargs):
    """``fn(*args, **kwargs)``, turning "not written yet" and errors into a CheckFailed."""
    if not callable(fn):
        raise CheckFailed(f"`{name}` should be a function; got {type(fn).__name__}.")
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        raise CheckFailed(f"`{name}` is not written yet: replace `raise NotImplementedError` in "
                          "its cell with your code, run that cell, then run this check "
                          "again.") from None
    except CheckFailed:
        raise
    except Exception as exc:  # the learner's bug: name it and its line, briefly
        frames = traceback.extract_tb(exc.__traceback__)
        where = ""
        if len(frames) > 1:  # frames[0] is this function's call
            last = frames[-1]
            line = (last.line or "").strip()
            where = f" (line {last.lineno}" + (f": `{line}`" if line else "") + ")"
        raise CheckFailed(f"`{name}` raised {type(exc).__name__}: {exc}{where}.") from None


def _close(a, b) -> bool:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=TOL, atol=TOL))


def _fmt(x) -> str:
    """A number or a list of numbers as a person writes them: 2.71, [2.71, 1.9, 1]."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 0:
        v = float(x)
        return "nan" if math.isnan(v) else f"{v:.4g}"
    return "[" + ", ".join(_fmt(v) for v in x) + "]"


def _numbers(out, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """The learner's output as float64 numbers of ``shape``, or a CheckFailed saying why not."""
    if isinstance(out, torch.Tensor):
        out = out.detach().double().numpy()
    try:
        arr = np.asarray(out, dtype=np.float64)
    except (TypeError, ValueError):
        raise CheckFailed(f"`{name}` should return numbers; got {type(out).__name__}.") from None
    if arr.shape != shape:
        want = "a single number" if shape == () else f"shape {shape}"
        got = "a single number" if arr.shape == () else f"shape {arr.shape}"
        raise CheckFailed(f"`{name}` should return {want}; got {got}.")
    return arr


def _scalar_tensor(out, name: str) -> torch.Tensor:
    """The learner's loss as a 0-d tensor that still carries a gradient."""
    if not isinstance(out, torch.Tensor):
        raise CheckFailed(f"`{name}` should return a torch tensor (a loss autograd can "
                          f"differentiate); got {type(out).__name__}. Keep the arithmetic in "
                          "torch: no .item(), float() or numpy.")
    if out.dim() != 0:
        raise CheckFailed(f"`{name}` should return one number (a 0-d tensor); got shape "
                          f"{tuple(out.shape)}. Average over the steps with .mean().")
    if not out.requires_grad:
        raise CheckFailed(f"`{name}` returns a loss without a gradient: it must be computed "
                          "from the inputs with torch operations, without .detach() or .item().")
    return out


def _diagnose(out, expected, mistakes: Sequence[tuple[object, str]], otherwise: str) -> None:
    """Raise a CheckFailed: the message of the first mistake whose values ``out`` equals, or
    ``otherwise``. Nothing when ``out`` equals ``expected``."""
    if _close(out, expected):
        return
    for values, message in mistakes:
        if _close(out, values):
            raise CheckFailed(message)
    raise CheckFailed(otherwise)


def _grad(tensor: torch.Tensor) -> np.ndarray:
    g = tensor.grad
    return np.zeros(tuple(tensor.shape)) if g is None else g.detach().double().numpy()


# ----- exercise 1: discounted returns and the REINFORCE loss ----------------------------------


def _returns_mistakes(rewards, gamma) -> list[tuple[np.ndarray, str]]:
    r = np.asarray(rewards, dtype=np.float64)
    T = len(r)
    g = discounted_returns(r, gamma)
    undiscounted = np.cumsum(r[::-1])[::-1]
    k = np.arange(T)
    from_start = np.array([np.sum(gamma ** k[t:] * r[t:]) for t in range(T)])
    before = np.array([np.sum(gamma ** k[: t + 1] * r[: t + 1]) for t in range(T)])
    return [
        (undiscounted, f"your returns are not discounted: G_0 should be {_fmt(g[0])} for "
                       f"rewards {_fmt(r)} and γ = {gamma:g}, you gave {_fmt(undiscounted[0])}. "
                       "Each later reward counts γ times less than the one before it."),
        (g[::-1], "your returns come out in reverse order: the first entry must be G_0, the "
                  f"return from the first step ({_fmt(g[0])} here), and the last G_{T - 1} = "
                  f"r_{T - 1} = {_fmt(r[-1])}. Fill them from the end, then keep each at its "
                  "own step."),
        (np.full(T, g[0]), "every step gets the whole episode's return G_0: G_t should count "
                           "only the rewards from step t on (the reward-to-go)."),
        (np.full(T, undiscounted[0]), "every step gets the undiscounted total of the episode: "
                                      "G_t should count only the rewards from step t on, each "
                                      "discounted by γ."),
        (np.append(g[1:], 0.0), "your returns are off by one: G_t should include r_t itself "
                                f"(G_{T - 1} = r_{T - 1} = {_fmt(r[-1])}), yours starts at the "
                                "next step's reward."),
        (gamma * g, "you discounted r_t itself: G_t = r_t + γ r_(t+1) + γ² r_(t+2) + ..., "
                    f"so the last step's return is its reward, {_fmt(r[-1])}."),
        (from_start, "you discount from the start of the episode (γ^k) instead of from step t "
                     "(γ^(k−t)): G_t must weigh r_t fully, r_(t+1) by γ, and so on."),
        (before, "you added up the rewards *before* step t; G_t is the sum of the rewards from "
                 "t to the end of the episode."),
    ]


def check_discounted_returns(fn: Callable) -> str:
    """``fn(rewards, gamma)`` against :func:`pgcore.rl.returns.discounted_returns` (the
    episode terminated: nothing follows its last step).

    >>> check_discounted_returns(lambda r, g: discounted_returns(r, g))
    'discounted_returns: right on 3 episodes.'
    """
    name = "discounted_returns"
    cases = (([1.0, 1.0, 1.0], 0.9), ([1.0, 2.0, 3.0], 0.5), ([0.0, 0.0, 1.0, 0.0, 2.0], 0.99))
    for rewards, gamma in cases:
        out = _call(fn, name, list(rewards), gamma)
        out = _numbers(out, name, (len(rewards),))
        expected = discounted_returns(rewards, gamma)
        _diagnose(out, expected, _returns_mistakes(rewards, gamma),
                  f"for rewards {_fmt(rewards)} and γ = {gamma:g} your returns are {_fmt(out)}; "
                  f"they should be {_fmt(expected)} (G_t = r_t + γ G_(t+1), G after the last "
                  "step = 0).")
    return f"{name}: right on {len(cases)} episodes."


def _loss_inputs():
    log_probs = torch.log(torch.tensor([0.5, 0.25, 0.8, 0.6])).requires_grad_()
    returns = torch.tensor([2.0, 1.0, -1.0, 0.5])
    return log_probs, returns


def check_reinforce_loss(fn: Callable) -> str:
    """``fn(log_probs, returns)`` (both (T,) tensors) against REINFORCE's loss without a
    baseline, averaged over the steps: L = −mean_t[log π(a_t|s_t) G_t]
    (:func:`pgcore.algos.reinforce.loss`), its value and its gradient.

    >>> check_reinforce_loss(lambda lp, g: -(lp * g).mean())
    'reinforce_loss: value and gradient right.'
    """
    name = "reinforce_loss"
    log_probs, returns = _loss_inputs()
    out = _scalar_tensor(_call(fn, name, log_probs, returns.clone()), name)
    lp, g = log_probs.detach(), returns
    expected = reinforce_loss(lp, torch.zeros(4), g).total
    got = float(out.detach())
    _diagnose(got, float(expected), [
        (float((lp * g).mean()), "the sign of your loss is flipped: minimising it would make "
                                 "the actions that led to high returns *less* likely. The "
                                 "loss is −mean(log π · G)."),
        (float(-(lp * g).sum()), "you summed over the steps; this exercise averages them "
                                 "(mean), so an update's size does not grow with the "
                                 "episode's length."),
        (float((lp * g).sum()), "the sign is flipped and you summed: the loss is "
                                "−mean(log π · G)."),
        (float(-(lp.exp() * g).mean()), "you weighted the probability π(a|s); the gradient "
                                        "needs its logarithm, log π(a|s), which `log_probs` "
                                        "already is."),
        (float(-(lp.mean() * g.mean())), "you multiplied the mean of log π by the mean of G: "
                                         "each step's log π(a_t|s_t) must be weighted by its "
                                         "own G_t before averaging."),
    ], f"your loss is {got:.4g}; for these inputs it should be {float(expected):.4g} "
       "(−mean over steps of log π(a_t|s_t) · G_t).")
    out.backward()
    if not _close(_grad(log_probs), -g.numpy() / 4):
        raise CheckFailed("your loss has the right value but not the right gradient: "
                          "d L / d log π(a_t|s_t) should be −G_t / T.")
    return f"{name}: value and gradient right."


# ----- exercise 2: the learned value baseline -------------------------------------------------


def check_value_baseline_loss(fn: Callable) -> str:
    """``fn(log_probs, returns, values) -> (policy_loss, value_loss)``: the policy term
    −mean[log π (G − V)] with V held fixed, and the critic's mean[(V − G)²]
    (:func:`pgcore.algos.reinforce.loss` with the value baseline), values and gradients.

    >>> check_value_baseline_loss(lambda lp, g, v: (-(lp * (g - v.detach())).mean(),
    ...                                             ((v - g) ** 2).mean()))
    'value_baseline_loss: both terms and their gradients right.'
    """
    name = "value_baseline_loss"
    log_probs, returns = _loss_inputs()
    values = torch.tensor([1.5, 1.5, 0.0, 2.0], requires_grad=True)
    out = _call(fn, name, log_probs, returns.clone(), values)
    if not (isinstance(out, tuple | list) and len(out) == 2):
        raise CheckFailed(f"`{name}` should return two losses, (policy_loss, value_loss); "
                          f"got {type(out).__name__}.")
    policy = _scalar_tensor(out[0], f"{name}'s policy_loss")
    value = out[1]
    if not isinstance(value, torch.Tensor) or value.dim() != 0:
        raise CheckFailed(f"`{name}`'s value_loss should be one number (a 0-d tensor).")
    lp, g, v = log_probs.detach(), returns, values.detach()
    ref = reinforce_loss(lp, torch.zeros(4), g - v, values=v, returns=g)
    got = float(policy.detach())
    _diagnose(got, float(ref.policy), [
        (float(-(lp * g).mean()), "your policy loss ignores the baseline: weight each "
                                  "log π(a_t|s_t) by the advantage G_t − V(s_t), not by G_t."),
        (float((lp * (g - v)).mean()), "the sign of your policy loss is flipped: it is "
                                       "−mean(log π · (G − V)), with the advantage G_t − "
                                       "V(s_t) (how much better than expected), not "
                                       "V(s_t) − G_t."),
        (float(-(lp * (g - v)).sum()), "you summed the policy term over the steps; average "
                                       "it (mean)."),
    ], f"your policy loss is {got:.4g}; for these inputs it should be {float(ref.policy):.4g} "
       "(−mean over steps of log π(a_t|s_t) · (G_t − V(s_t))).")
    got_v = float(value.detach())
    _diagnose(got_v, float(ref.value), [
        (float((v - g).mean()), "your value loss is the mean error V − G, not its square: "
                                "errors of both signs would cancel. Use mean((V − G)²)."),
        (float(((v - g) ** 2).sum()), "you summed the critic's squared errors; average them "
                                      "(mean)."),
        (float(-((v - g) ** 2).mean()), "your value loss has a minus sign: minimising it "
                                        "would push V(s) *away* from the returns."),
        (float((v - g).abs().mean()), "your value loss is the mean absolute error; this "
                                      "exercise regresses with the squared error "
                                      "mean((V − G)²)."),
    ], f"your value loss is {got_v:.4g}; for these inputs it should be "
       f"{float(ref.value):.4g} (mean over steps of (V(s_t) − G_t)²).")
    policy.backward(retain_graph=True)
    if np.any(np.abs(_grad(values)) > TOL):
        raise CheckFailed("V(s) is not detached in your policy loss: the policy term sends "
                          "gradient into the critic, so the actor would drag the baseline "
                          "around. Use values.detach() in the advantage G − V.")
    if not value.requires_grad:
        raise CheckFailed("your value loss carries no gradient: the critic would never learn. "
                          "Do not detach V(s) in the value loss (only in the advantage).")
    values.grad = None
    value.backward()
    if not _close(_grad(values), 2 * (v - g).numpy() / 4):
        raise CheckFailed("your value loss has the right value but not the right gradient: "
                          "d/dV(s_t) of mean((V − G)²) is 2 (V(s_t) − G_t) / T; hold G fixed.")
    return f"{name}: both terms and their gradients right."


# ----- exercise 3: the entropy bonus ----------------------------------------------------------


def check_policy_entropy(fn: Callable) -> str:
    """``fn(logits)`` for logits (B, A) against the softmax policy's entropy per state,
    H = −Σ_a π(a|s) log π(a|s), shape (B,) (:func:`pgcore.rl.heads.policy_terms`), and its
    gradient.

    >>> import torch.nn.functional as F
    >>> check_policy_entropy(lambda z: -(F.softmax(z, -1) * F.log_softmax(z, -1)).sum(-1))
    'policy_entropy: right on 3 states, gradient included.'
    """
    name = "policy_entropy"
    logits = torch.tensor([[0.0, 0.0], [math.log(3.0), 0.0], [2.0, -1.0]], requires_grad=True)
    out = _call(fn, name, logits)
    if not isinstance(out, torch.Tensor):
        raise CheckFailed(f"`{name}` should return a torch tensor (the bonus needs its "
                          f"gradient); got {type(out).__name__}.")
    z = logits.detach()
    _, expected = policy_terms(z, torch.zeros(3, dtype=torch.int64))
    e = expected.numpy()
    if out.dim() == 0:
        raise CheckFailed(f"`{name}` should return one entropy per state, shape (3,) for 3 "
                          "states; you returned a single number. Sum over the actions only "
                          "(the last dimension).")
    got = _numbers(out, name, (3,))
    p = torch.softmax(z, -1)
    _diagnose(got, e, [
        (-e, "your entropy is negative: H = −Σ π log π. Every log π ≤ 0, so H ≥ 0 (ln 2 ≈ "
             "0.693 for a coin flip)."),
        (e / math.log(2.0), "you used log base 2; the entropy here is in nats (the natural "
                            "log), ln 2 ≈ 0.693 for a coin flip."),
        ((-(z * torch.log_softmax(z, -1)).sum(-1)).numpy(),
         "you weighted log π by the logits; weight it by the probabilities π = softmax(logits)."),
        ((-(p * z).sum(-1)).numpy(), "you multiplied π by the logits; use log π "
                                     "(log_softmax(logits)), not the logits."),
    ], f"for logits {_fmt(z[1])} (π = {_fmt(p[1])}) H should be {_fmt(e[1])}; yours gives "
       f"{_fmt(got[1])}. All three: {_fmt(e)} expected, {_fmt(got)} given.")
    if not out.requires_grad:
        raise CheckFailed("your entropy carries no gradient: compute it from the logits with "
                          "torch operations (no .detach() or numpy), or the bonus cannot push "
                          "the policy.")
    out.sum().backward()
    z2 = z.clone().requires_grad_()
    policy_terms(z2, torch.zeros(3, dtype=torch.int64))[1].sum().backward()
    if not _close(_grad(logits), _grad(z2)):
        raise CheckFailed("your entropy has the right values but not the right gradient: "
                          "compute it from the logits with softmax and log_softmax only.")
    return f"{name}: right on 3 states, gradient included."


def check_actor_critic_loss(fn: Callable) -> str:
    """``fn(log_probs, advantages, values, targets, entropy, beta)``, each (B,) but ``beta``,
    against A2C's loss with the entropy bonus (:func:`pgcore.algos.a2c.loss`, value weight
    0.5, averaged): L = −mean[log π A] + 0.5 mean[(V − R)²] − β mean[H].

    >>> check_actor_critic_loss(lambda lp, a, v, r, h, b: -(lp * a).mean()
    ...                         + 0.5 * ((v - r) ** 2).mean() - b * h.mean())
    'actor_critic_loss: right with β = 0 and β = 0.1, gradient included.'
    """
    name = "actor_critic_loss"
    for beta in (0.0, 0.1):
        log_probs = torch.log(torch.tensor([0.5, 0.25, 0.8])).requires_grad_()
        adv = torch.tensor([1.0, -0.5, 2.0])
        values = torch.tensor([1.0, 2.0, 0.5], requires_grad=True)
        targets = torch.tensor([1.5, 1.0, 2.0])
        entropy = torch.tensor([0.69, 0.5, 0.3], requires_grad=True)
        out = _scalar_tensor(_call(fn, name, log_probs, adv, values, targets, entropy, beta),
                             name)
        lp, v, h = log_probs.detach(), values.detach(), entropy.detach()
        ref = a2c_loss(lp, h, adv, v, targets, beta=beta, value_coef=0.5)
        policy, value = ref.policy, ref.value
        got = float(out.detach())
        _diagnose(got, float(ref.total), [
            (float(policy + 0.5 * value + beta * h.mean()),
             f"your entropy term has the wrong sign (with β = {beta:g}): you *add* β·H to the "
             "loss, which punishes an uncertain policy. The bonus is added to the objective "
             "J + β·H, so the loss *subtracts* it: L = ... − β·mean(H)."),
            (float(policy + 0.5 * value), "your loss has no entropy term: subtract "
                                          "β·mean(H) (with β = 0.1 it should change the "
                                          "loss by −0.1·mean(H))."),
            (float(policy + value - beta * h.mean()), "the critic's term needs its weight: "
                                                      "0.5·mean((V − R)²)."),
            (float(-policy + 0.5 * value - beta * h.mean()),
             "the sign of your policy term is flipped: it is −mean(log π · A)."),
            (float(policy + 0.5 * value - beta * h.sum()), "you summed the entropies; "
                                                           "average them: β·mean(H)."),
            (float(policy + 0.5 * value - h.mean()), "you forgot β: the bonus is "
                                                     "β·mean(H), not mean(H)."),
        ], f"with β = {beta:g} your loss is {got:.4g}; it should be {float(ref.total):.4g} "
           "(−mean(log π · A) + 0.5·mean((V − R)²) − β·mean(H)).")
        out.backward()
        if not _close(_grad(entropy), np.full(3, -beta / 3)):
            raise CheckFailed("your loss has the right value but the entropy's gradient is "
                              f"wrong: with β = {beta:g}, dL/dH_t should be −β/B.")
        if not _close(_grad(values), 2 * 0.5 * (v - targets).numpy() / 3):
            raise CheckFailed("your loss has the right value but the critic's gradient is "
                              "wrong: hold the targets R fixed (they are constants).")
    return f"{name}: right with β = 0 and β = 0.1, gradient included."


# ----- exercises 4-6: DQN's target, Polyak averaging, Double DQN ------------------------------

_REWARDS = [1.0, 1.0, 1.0, 1.0]
_NEXT_Q = [[2.0, 5.0], [3.0, 4.0], [1.0, 0.0], [6.0, 7.0]]
_TERMINATED = [False, True, False, False]
_TRUNCATED = [False, False, True, False]


def check_td_target(fn: Callable) -> str:
    """``fn(rewards, next_q, terminated, truncated, gamma)`` (numpy arrays (B,), (B, A), (B,),
    (B,); the two flags as 0.0 or 1.0) against DQN's target
    y = r + γ (1 − terminated) max_a' Q_target(s', a') (:func:`pgcore.rl.returns.td_targets`):
    a truncated step still bootstraps.

    >>> check_td_target(lambda r, q, term, trunc, g: r + g * (1 - term) * q.max(axis=1))
    'td_target: right on 4 transitions (one terminated, one truncated).'
    """
    name = "td_target"
    gamma = 0.9
    r, q = np.array(_REWARDS), np.array(_NEXT_Q)
    term, trunc = np.array(_TERMINATED), np.array(_TRUNCATED)
    out = _numbers(_call(fn, name, r.copy(), q.copy(), term.astype(np.float64),
                         trunc.astype(np.float64), gamma), name, (4,))
    expected = td_targets(r, q, term, gamma)
    done = term | trunc
    _diagnose(out, expected, [
        (td_targets(r, q, done, gamma),
         "a step cut by the time limit must still bootstrap: row 2 is truncated (not "
         f"terminated), so y = 1 + {gamma:g}·max Q(s', ·) = {_fmt(expected[2])}, you gave 1. "
         "Only `terminated` means nothing follows; CartPole-v1 stops at 500 steps with the "
         "pole still up."),
        (td_targets(r, q, np.zeros(4, bool), gamma),
         "a terminated step must not bootstrap: row 1 ended the task (the pole fell), so its "
         f"target is just its reward, y = 1; you gave {_fmt(out[1])}. Multiply the bootstrap "
         "by (1 − terminated)."),
        (td_targets(r, q, trunc, gamma),
         "you used `truncated` where `terminated` belongs: the terminated row 1 must not "
         "bootstrap (y = 1), the truncated row 2 must (y = "
         f"{_fmt(expected[2])})."),
        (r + gamma * (1 - term) * q.mean(axis=1), "you averaged Q(s', ·) over the actions; "
                                                  "the target takes the best one, max_a'."),
        (r + gamma * (1 - term) * q.min(axis=1), "you took the smallest Q(s', a'); the target "
                                                 "takes the largest, max_a'."),
        (r + gamma * (1 - term) * q.argmax(axis=1), "you used the index of the best action "
                                                    "(argmax) instead of its value (max)."),
        (td_targets(r, q, term, 1.0), "your target is not discounted: multiply the "
                                      f"bootstrap by γ = {gamma:g}."),
    ], f"your targets are {_fmt(out)}; they should be {_fmt(expected)} "
       "(y = r + γ·(1 − terminated)·max_a' Q(s', a')).")
    return f"{name}: right on 4 transitions (one terminated, one truncated)."


def _polyak_case():
    target = [torch.tensor([0.0, 0.0]), torch.tensor([[1.0, 1.0]])]
    online = [torch.tensor([1.0, 2.0], requires_grad=True),
              torch.tensor([[3.0, 5.0]], requires_grad=True)]
    return target, online


def check_polyak_update(fn: Callable) -> str:
    """``fn(target_params, online_params, tau)`` (lists of tensors, called under
    ``torch.no_grad()``) must move each target tensor in place to
    τ·online + (1 − τ)·target and leave the online ones alone
    (:func:`pgcore.algos.dqn.polyak_update`).

    >>> def polyak(target, online, tau):
    ...     for t, o in zip(target, online):
    ...         t.mul_(1 - tau).add_(tau * o)
    >>> check_polyak_update(polyak)
    'polyak_update: right with τ = 0.1 and τ = 1 (a hard copy).'
    """
    name = "polyak_update"
    for tau in (0.1, 1.0):
        target, online = _polyak_case()
        before_t = [t.clone() for t in target]
        before_o = [o.detach().clone() for o in online]
        expected = [t.clone() for t in target]
        reference_polyak(expected, [o.detach() for o in online], tau)
        with torch.no_grad():
            _call(fn, name, target, online, tau)
        got = np.concatenate([t.detach().double().numpy().ravel() for t in target])
        want = np.concatenate([t.double().numpy().ravel() for t in expected])
        o_now = np.concatenate([o.detach().double().numpy().ravel() for o in online])
        o_was = np.concatenate([o.double().numpy().ravel() for o in before_o])
        t_was = np.concatenate([t.double().numpy().ravel() for t in before_t])
        if not _close(o_now, o_was):
            raise CheckFailed("your update changed the online network's weights: only the "
                              "target moves (toward the online network).")
        _diagnose(got, want, [
            (t_was, "the target's weights did not change: update each tensor in place "
                    "(t.copy_(...), or t.mul_(...).add_(...)). Assigning a new tensor to the "
                    "loop variable throws the result away."),
            (o_was, f"that is a hard copy (target = online) with τ = {tau:g}; Polyak averaging "
                    "moves the target only a fraction τ of the way: "
                    "τ·online + (1 − τ)·target."),
            ((1 - tau) * o_was + tau * t_was,
             f"τ is swapped: with τ = {tau:g} the target should move {tau:.0%} of the way to "
             f"the online weights (τ·online + (1 − τ)·target); yours moved {1 - tau:.0%}."),
        ], f"with τ = {tau:g} the target should become {_fmt(want)}; yours is {_fmt(got)} "
           "(τ·online + (1 − τ)·target).")
    return f"{name}: right with τ = 0.1 and τ = 1 (a hard copy)."


def check_double_dqn_target(fn: Callable) -> str:
    """``fn(rewards, next_q_online, next_q_target, terminated, gamma)`` (``terminated`` as 0.0
    or 1.0) against Double DQN's
    target: the online network picks a' = argmax Q_online(s', ·), the target network values
    it (:func:`pgcore.rl.returns.double_td_targets`).

    >>> def double(r, q_on, q_tg, term, g):
    ...     best = q_on.argmax(axis=1)
    ...     return r + g * (1 - term) * q_tg[np.arange(len(r)), best]
    >>> check_double_dqn_target(double)
    'double_dqn_target: right on 4 transitions (one terminated).'
    """
    name = "double_dqn_target"
    gamma = 0.5
    r = np.array([1.0, 1.0, 1.0, 2.0])
    q_on = np.array([[2.0, 5.0], [3.0, 1.0], [0.0, 4.0], [1.0, 3.0]])
    q_tg = np.array([[3.0, 4.0], [2.0, 6.0], [5.0, 1.0], [8.0, 2.0]])
    term = np.array([False, False, True, False])
    out = _numbers(_call(fn, name, r.copy(), q_on.copy(), q_tg.copy(), term.astype(np.float64),
                         gamma), name, (4,))
    expected = double_td_targets(r, q_on, q_tg, term, gamma)
    rows = np.arange(4)
    _diagnose(out, expected, [
        (td_targets(r, q_tg, term, gamma),
         "the target network both chose a' and valued it: that is plain DQN's max. Let the "
         "online network choose, a' = argmax next_q_online, and take that action's value "
         "from next_q_target."),
        (td_targets(r, q_on, term, gamma),
         "you valued a' with the online network too: it should only choose a'; the value "
         "comes from next_q_target."),
        (r + gamma * (1 - term) * q_on[rows, q_tg.argmax(axis=1)],
         "the two networks' roles are swapped: the online network chooses a' (argmax "
         "next_q_online), the target network values it."),
        (double_td_targets(r, q_on, q_tg, np.zeros(4, bool), gamma),
         "a terminated step must not bootstrap: row 2 ended the task, so y = r = 1; "
         "multiply the bootstrap by (1 − terminated)."),
        (double_td_targets(r, q_on, q_tg, term, 1.0),
         f"your target is not discounted: multiply the bootstrap by γ = {gamma:g}."),
    ], f"your targets are {_fmt(out)}; they should be {_fmt(expected)} "
       "(y = r + γ·(1 − terminated)·Q_target(s', argmax_a' Q_online(s', a'))).")
    return f"{name}: right on 4 transitions (one terminated)."


CHECKS = {
    "discounted_returns": check_discounted_returns,
    "reinforce_loss": check_reinforce_loss,
    "value_baseline_loss": check_value_baseline_loss,
    "policy_entropy": check_policy_entropy,
    "actor_critic_loss": check_actor_critic_loss,
    "td_target": check_td_target,
    "polyak_update": check_polyak_update,
    "double_dqn_target": check_double_dqn_target,
}
"""Every check, by the name of the function it checks."""


def check(*fns: Callable) -> None:
    """Check each of ``fns`` by its ``__name__`` and print one line per function that passes;
    the first that fails raises :class:`CheckFailed`."""
    for fn in fns:
        name = getattr(fn, "__name__", "")
        if name not in CHECKS:
            raise CheckFailed(f"no check for a function named `{name}`: keep the name the "
                              f"exercise gives ({', '.join(CHECKS)}).")
        print("✓", CHECKS[name](fn))
