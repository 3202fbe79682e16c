"""One gradient step of A2C, PPO and DQN: through autograd and ``torch.optim.Adam`` (the way
pgcore did it before issue 11, and DQN before issue 9's speed work) against pgcore's update by
hand (:mod:`pgcore.rl.backprop`), side by side.

Both sides start from the same network (the default preset's, seed 0) and the same batch of
CartPole-like states, and take the same step: the loss's forward pass, its gradient, the
global norm and clip, and Adam. The autograd side is written here as a reference, in the
form the agents had before (``net(obs)``, ``head.log_prob_entropy``, ``loss.backward()``,
``clip_grad_norm_``, fused Adam); the by-hand side is the agents' own code path
(``HandNet.forward`` / the head's ``terms`` / ``HandNet.backward`` / ``HandAgent.step``; for DQN,
``DQNAgent.gradient_step``: Double DQN targets from both networks, the Huber loss at the taken
actions, clip, Adam, and the target copy every C steps on both sides). The two
sides are timed in alternating blocks so that load on a shared machine hits both alike, and
their gradients are compared (they agree to float32 rounding).

Usage::

    python bench/bench_update.py                 # A2C (128), PPO (512), DQN (128), 2x5 s each
    python bench/bench_update.py --seconds 1     # shorter
    python bench/bench_update.py --quick         # a smoke test of the script
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import log, markdown_table, single_thread  # noqa: E402

CASES = {  # name: (preset, batch size, what the batch is)
    "a2c": ("a2c", 128, "16 envs x 8 steps, shared 64-unit trunk"),
    "ppo": ("ppo", 512, "8 envs x 64 steps, separate 2x64 networks"),
    "dqn": ("dqn", 128, "a replay minibatch, 2x128 ReLU, Double DQN, Huber"),
}


def _batch(agent, n: int, seed: int = 0):
    import numpy as np

    rng = np.random.default_rng(seed)
    obs = (rng.standard_normal((n, agent.obs_dim)) * [1.0, 1.0, 0.1, 1.0]).astype(np.float32)
    actions = rng.integers(0, agent.n_actions, n).astype(np.int64)
    adv = rng.standard_normal(n)
    ret = rng.normal(20.0, 5.0, n)
    return obs, actions, adv, ret


def autograd_step(agent, optimizer, obs, actions, adv, ret, logp_old=None, clip=0.2):
    """The reference: one step through autograd (A2C's loss, or PPO's with ``logp_old``)."""
    import torch

    cfg = agent.config
    outputs, values = agent.net(torch.from_numpy(obs))
    logp, entropy = agent.head.log_prob_entropy(outputs, actions)
    a = torch.as_tensor(adv, dtype=torch.float32)
    if logp_old is None:
        policy_loss = -(logp * a).mean()
    else:
        ratio = torch.exp(logp - torch.as_tensor(logp_old, dtype=torch.float32))
        policy_loss = -torch.minimum(ratio * a, torch.clamp(ratio, 1 - clip, 1 + clip) * a).mean()
    value_loss = (values - torch.as_tensor(ret, dtype=torch.float32)).pow(2).mean()
    loss = policy_loss + cfg.value_coef * value_loss - cfg.entropy_beta * entropy.mean()
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    params = [p for g in optimizer.param_groups for p in g["params"]]
    norm = float(torch.nn.utils.clip_grad_norm_(params, cfg.max_grad_norm or float("inf")))
    optimizer.step()
    return norm


def autograd_dqn_step(agent, optimizer, obs, actions, rewards, next_obs, terminated):
    """The reference for DQN: Double DQN targets from torch forwards, Q(s, a) gathered with
    its graph, the Huber loss's backward, clip, fused Adam, the target copy when due."""
    import torch
    import torch.nn.functional as F

    from pgcore.algos.dqn import polyak_update
    from pgcore.rl.returns import double_td_targets

    cfg, net = agent.config, agent.net
    nxt = torch.from_numpy(next_obs)
    with torch.no_grad():
        y = double_td_targets(rewards, net.online.act_forward(nxt)[0].numpy(),
                              net.target.act_forward(nxt)[0].double().numpy(), terminated,
                              cfg.gamma)
    q = net(torch.from_numpy(obs))[0].gather(1, torch.from_numpy(actions)[:, None]).squeeze(1)
    loss = F.smooth_l1_loss(q, torch.from_numpy(y.astype("float32")))
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    norm = float(torch.nn.utils.clip_grad_norm_(agent.params, cfg.max_grad_norm or float("inf")))
    optimizer.step()
    agent.updates += 1
    if agent.updates % cfg.target_update == 0:
        polyak_update(agent.target_params, agent.params, cfg.tau)
    return norm


def by_hand_step(agent, obs, actions, adv, ret, logp_old=None, clip=0.2):
    """pgcore's path: the same loss's gradient written out, and FlatAdam."""
    import numpy as np

    from pgcore.algos.ppo import clipped_surrogate_grad, probability_ratio

    cfg, n = agent.config, len(obs)
    outputs, values, cache = agent.hand.forward(obs)
    terms = agent.head.terms(outputs, actions)
    if logp_old is None:
        coef = -adv / n
    else:
        ratio = probability_ratio(terms.log_prob, logp_old)
        coef = -clipped_surrogate_grad(ratio, adv, clip) / n
    grad_outputs = terms.output_grad(coef, -cfg.entropy_beta / n)
    grad_values = 2.0 * cfg.value_coef * (values - ret) / n
    agent.hand.backward(cache, grad_outputs, grad_values)
    loss = float(-(terms.log_prob * adv).mean() + cfg.value_coef * np.mean((values - ret) ** 2))
    return agent.step(loss)


def measure(name: str, seconds: float, blocks: int) -> dict:
    import copy

    import numpy as np
    import torch

    from pgcore import default_config
    from pgcore.algos import make_agent
    from pgcore.rl.envs import EnvSpec

    preset, n, _ = CASES[name]
    cfg = default_config(preset, seed=0)
    spec = EnvSpec.discrete(4, 2)
    hand = make_agent(cfg, spec)
    ref = copy.deepcopy(hand)  # the same weights, on torch's own optimiser
    groups = ref.params if name == "dqn" else ref.net.param_groups(cfg.lr, cfg.critic_lr)
    optimizer = torch.optim.Adam(groups, lr=cfg.lr, fused=True)
    obs, actions, adv, ret = _batch(hand, n)
    if name == "dqn":
        rng = np.random.default_rng(2)
        next_obs = (obs + rng.normal(0.0, 0.05, obs.shape)).astype(np.float32)
        terminated = rng.random(n) < 0.05  # a few episode ends; every reward 1 (CartPole)
        args = (obs, actions, np.ones(n), next_obs, terminated)
        ref_step = lambda: autograd_dqn_step(ref, optimizer, *args)  # noqa: E731
        hand_step = lambda: hand.gradient_step(*args)  # noqa: E731
    else:
        logp_old = None
        if name == "ppo":  # a later epoch: ratios away from 1, some clipped
            logp_old = hand.head.terms(hand.net.numpy_forward(obs)[0], actions).log_prob
            logp_old = logp_old + np.random.default_rng(1).normal(0.0, 0.15, n)
        args = (obs, actions, adv, ret, logp_old)
        ref_step = lambda: autograd_step(ref, optimizer, *args)  # noqa: E731
        hand_step = lambda: by_hand_step(hand, *args)  # noqa: E731

    # the gradients agree before any timing (one step each from the same weights)
    ref_step()
    hand_step()
    worst = 0.0
    for p, q in zip(ref.params, hand.params, strict=True):
        g = p.grad.numpy()
        h = hand.optimizer.grads[id(q)]
        worst = max(worst, float(np.abs(g - h).max() / (np.abs(g).max() + 1e-12)))

    times = {"autograd": [], "by hand": []}
    steps = {"autograd": ref_step, "by hand": hand_step}
    for _ in range(blocks):
        for side, fn in steps.items():
            count, t0 = 0, time.perf_counter()
            while time.perf_counter() - t0 < seconds / blocks:
                fn()
                count += 1
            times[side].append((time.perf_counter() - t0) / count * 1e3)  # ms per step
    return {"name": name, "batch": n, "worst_relative_gradient_difference": worst,
            **{side: statistics.median(v) for side, v in times.items()},
            "ranges": {side: (min(v), max(v)) for side, v in times.items()}}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cases", nargs="+", choices=list(CASES), default=list(CASES))
    p.add_argument("--seconds", type=float, default=5.0,
                   help="seconds of timing per side and case (default 5)")
    p.add_argument("--blocks", type=int, default=10,
                   help="alternating timing blocks per side (default 10)")
    p.add_argument("--quick", action="store_true", help="a smoke test: 0.2 s per side")
    args = p.parse_args(argv)
    if args.quick:
        args.seconds, args.blocks = 0.2, 2
    single_thread()
    rows = []
    for name in args.cases:
        log(f"timing {name} ...")
        r = measure(name, args.seconds, args.blocks)
        (a_lo, a_hi), (h_lo, h_hi) = r["ranges"]["autograd"], r["ranges"]["by hand"]
        rows.append([name, f"{r['batch']} ({CASES[name][2]})",
                     f"{r['autograd']:.2f} [{a_lo:.2f}-{a_hi:.2f}]",
                     f"{r['by hand']:.2f} [{h_lo:.2f}-{h_hi:.2f}]",
                     f"{r['autograd'] / r['by hand']:.1f}x",
                     f"{r['worst_relative_gradient_difference']:.1e}"])
    print("## One gradient step (forward, gradient, clip, Adam), ms: median [min-max] over "
          "timing blocks\n")
    print(markdown_table(("case", "batch", "autograd + torch.optim.Adam", "by hand (pgcore)",
                          "speed-up", "largest gradient difference (relative)"), rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
