# ruff: noqa: F821 - the reference solution, run in the notebook after its first cell,
# which imports numpy as np, torch and torch.nn.functional as F.

def double_dqn_target(rewards, next_q_online, next_q_target, terminated, gamma):
    best = next_q_online.argmax(axis=1)  # the online network chooses a'
    value = next_q_target[np.arange(len(rewards)), best]  # the target network values it
    return rewards + gamma * (1.0 - terminated) * value
