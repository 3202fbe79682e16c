"""``eval``: play a saved agent for N episodes, print its returns, optionally write a GIF."""

from __future__ import annotations

import argparse

import numpy as np

from ..training.checkpoint import load_checkpoint
from .common import EXIT_OK, CLIError, check_writable, write_file


def add_eval_parser(sub) -> None:
    e = sub.add_parser("eval", help="play a saved agent and report its returns",
                       description="Load a checkpoint, play N episodes in its environment with "
                                   "its policy, and print the mean and std of the returns.")
    e.add_argument("--checkpoint", required=True, metavar="PATH", help="file from train --save")
    e.add_argument("--episodes", type=int, default=10, metavar="N",
                   help="episodes to play (default 10)")
    e.add_argument("--seed", type=int, default=0, metavar="S",
                   help="episode i is reset with seed S+i; also seeds the action sampler "
                        "(default 0)")
    e.add_argument("--greedy", action="store_true",
                   help="take the most probable action instead of sampling")
    e.add_argument("--gif", metavar="FILE.gif", help="write a GIF of the first episode")


def cmd_eval(args: argparse.Namespace) -> int:
    if args.episodes < 1:
        raise CLIError(f"--episodes must be at least 1, got {args.episodes}")
    if not 0 <= args.seed <= 2**31 - 1 - args.episodes:
        raise CLIError(f"--seed must be from 0 to {2**31 - 1 - args.episodes}, got {args.seed}")
    gif = check_writable(args.gif, "--gif") if args.gif else None

    import torch

    from ..training.render import frames_to_gif, play_episode

    torch.set_num_threads(1)
    agent, config, meta = load_checkpoint(args.checkpoint)
    agent.rng = np.random.default_rng(args.seed)
    trained = meta["extra"].get("episodes")
    print(f"checkpoint {args.checkpoint}: {config.algo} on {config.env_id} "
          f"(seed {config.seed}" + (f", {trained} training episodes" if trained else "")
          + f", pgcore {meta['pgcore_version']})")
    returns, frames = [], []
    for i in range(args.episodes):
        ret, _, f = play_episode(agent, config.env_id, seed=args.seed + i, greedy=args.greedy,
                                 render=gif is not None and i == 0)
        returns.append(ret)
        if i == 0:
            frames = f
    arr = np.asarray(returns)
    mode = "greedy" if args.greedy else "sampled"
    print(f"returns ({mode} actions, env seeds {args.seed}..{args.seed + args.episodes - 1}): "
          + " ".join(f"{r:g}" for r in returns))
    print(f"mean return {arr.mean():.2f}  std {arr.std():.2f}  over {args.episodes} episodes")
    if gif is not None:
        data = frames_to_gif(frames)
        write_file(gif, "--gif", lambda p: p.write_bytes(data))
        print(f"wrote {gif} ({len(frames)} frames, first episode)")
    return EXIT_OK
