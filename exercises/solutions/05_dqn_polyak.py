# ruff: noqa: F821 - the reference solution, run in the notebook after its first cell,
# which imports numpy as np, torch and torch.nn.functional as F.

def polyak_update(target_params, online_params, tau):
    for target, online in zip(target_params, online_params, strict=True):
        target.mul_(1.0 - tau).add_(tau * online)
