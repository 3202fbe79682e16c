# ruff: noqa: F821 - the reference solution, run in the notebook after its first cell,
# which imports numpy as np, torch and torch.nn.functional as F.

def discounted_returns(rewards, gamma):
    returns = np.zeros(len(rewards))
    running = 0.0
    for t in reversed(range(len(rewards))):
        running = rewards[t] + gamma * running
        returns[t] = running
    return returns


def reinforce_loss(log_probs, returns):
    return -(log_probs * returns).mean()
