"""Backpropagation by hand: the fast path of the one-step actor-critic's, A2C's, PPO's and
DQN's updates, tested equal to autograd of each algorithm's ``loss``.

The one-step actor-critic takes a gradient step after *every* environment step, on a batch of
one; A2C takes one per 128-step rollout and PPO twenty per 512-step rollout. At these sizes the
arithmetic is tiny (a few 64 x 64 or 128 x 128 matrix products) and what costs the time is the
machinery around it: autograd records a graph node per operation and walks it back, and
``torch.optim.Adam`` loops over parameter groups in Python. At a batch of one they cost about
ten times the environment step; at PPO's batch of 512 a gradient step cost 2.7 ms through
torch against about 0.7 ms here. This module does the same update with a handful of numpy
calls on the *same memory* as the torch parameters:

* :class:`FlatAdam` moves each Adam parameter group into one flat buffer (the torch
  parameters become views of it) and runs Adam's equations on the whole buffer at once;
* the network's layers in numpy (:func:`~pgcore.rl.networks.layers_of`:
  :class:`~pgcore.rl.networks.Dense` layers whose weights are views of those buffers) get
  their gradients' views here too;
* :func:`forward` and :func:`backward` are the chain rule through those layers, written out;
* where a loss meets the policy, the head supplies log pi(a|s) and H(pi(.|s)) with their
  derivatives with respect to its outputs (:meth:`~pgcore.rl.heads.CategoricalHead.terms`,
  :meth:`~pgcore.rl.heads.GaussianHead.terms`, and ``one_step_grad`` for one sample): a
  distribution owns its maths, this module only the network's;
* :class:`HandNet` is a whole :class:`~pgcore.rl.networks.PolicyValueNet` (trunk, policy head,
  value head, state-independent outputs) as such layers: one forward, one backward.

``tests/test_backprop.py`` checks every gradient here against autograd and
:class:`FlatAdam` against ``torch.optim.Adam`` step by step. The results agree to float32
rounding, not bit for bit (the sums run in another order), so a run of the one-step
actor-critic is reproducible from its seed but not identical to the same run through autograd.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .networks import Dense, dense, layers_of

_ONE_BLAS_THREAD = []  # set once one_blas_thread() has run in this process


def one_blas_thread() -> None:
    """Let numpy's matrix library (OpenBLAS) use one thread in this process, as torch does
    for every trainer (``torch.set_num_threads(1)``). Idempotent; the trainer calls it.

    At these sizes (a batch of 144 or 512 through 64-unit layers) OpenBLAS splits a matrix
    product over every core and its threads spin-wait for each other; with the other core
    busy (another run, the app, a test) each product then waits for a descheduled thread.
    Measured with one core kept busy, A2C's 93k env steps to 475 on seed 0 took 4.4-4.9 s
    with OpenBLAS's threads and 1.9-3.5 s with one."""
    if _ONE_BLAS_THREAD:
        return
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")
    _ONE_BLAS_THREAD.append(True)


def forward(layers: list[Dense], x: np.ndarray) -> tuple[np.ndarray, list]:
    """y = layers(x) for a batch x (B, in) -> (B, out), and what :func:`backward` needs:
    each layer's input and output."""
    cache = []
    for layer in layers:
        h = dense(layer, x)
        cache.append((x, h))
        x = h
    return x, cache


def backward(layers: list[Dense], cache: list, grad_y: np.ndarray,
             input_grad: bool = True) -> np.ndarray | None:
    """Backpropagate dL/dy (B, out) through ``layers``; *writes* dL/dW and dL/db into the
    layers' gradient views (each layer is visited once per update, so nothing accumulates) and
    returns dL/dx (B, in), or None with ``input_grad=False`` (x is the observation).

    Per layer, with h = act(z), z = x W^T + b:  dL/dz = dL/dh * act'(z) (tanh: 1 - h^2;
    relu: 1 where h > 0), dL/dW = (dL/dz)^T x, dL/db = sum over the batch of dL/dz,
    dL/dx = (dL/dz) W.

    >>> w = np.array([[2.0, 0.0]]); g = {1: np.zeros((1, 2)), 2: np.zeros(1)}
    >>> layer = Dense(w, np.zeros(1), g[1], g[2], None)
    >>> y, cache = forward([layer], np.array([[1.0, 3.0]]))  # y = 2 * 1 + 0 * 3
    >>> backward([layer], cache, np.array([[1.0]])), g[1]
    (array([[2., 0.]]), array([[1., 3.]]))
    """
    last = len(layers) - 1
    ones = _ones(len(grad_y)) if len(grad_y) > 1 else None
    for i in range(last, -1, -1):
        layer, (x, h) = layers[i], cache[i]
        if layer.activation == "tanh":
            grad_z = h * h  # (B, out): dL/dz = dL/dh (1 - h^2), in one buffer
            np.subtract(1.0, grad_z, out=grad_z)
            grad_z *= grad_y
        elif layer.activation == "relu":
            grad_z = grad_y * (h > 0.0)
        else:
            grad_z = grad_y
        if ones is None:  # one sample: an outer product (about 2x faster than matmul)
            np.outer(grad_z[0], x[0], out=layer.grad_weight)
            layer.grad_bias[:] = grad_z[0]
        else:  # the bias's sum over the batch as a product with ones: 5x faster than sum
            np.matmul(grad_z.T, x, out=layer.grad_weight)
            np.matmul(ones, grad_z, out=layer.grad_bias[None])
        if i or input_grad:
            grad_y = grad_z @ layer.weight
    return grad_y if input_grad else None


_ONES: dict[int, np.ndarray] = {}


def _ones(n: int) -> np.ndarray:
    """A (1, n) row of float32 ones (kept: the same few batch sizes recur every update)."""
    row = _ONES.get(n)
    if row is None:
        row = _ONES[n] = np.ones((1, n), np.float32)
    return row


def first_row(cache: list) -> list:
    """The part of a :func:`forward` cache that belongs to the batch's first row."""
    return [(x[:1], h[:1]) for x, h in cache]


@dataclass
class HandNet:
    """A :class:`~pgcore.rl.networks.PolicyValueNet` as :class:`Dense` layers on the parameters'
    and gradients' memory (:func:`hand_net`)::

        x -> trunk -> features -+-> policy -> [outputs | extra]   (B, out_dim)
                                +-> value  -> V(s)                (B,)

    ``extra`` (k,) are the network's state-independent outputs (a Gaussian head's log-stds),
    appended to every row; ``grad_extra`` is their gradient view."""

    trunk: list[Dense]
    policy: list[Dense]
    value: list[Dense] | None
    extra: np.ndarray | None = None  # (k,)
    grad_extra: np.ndarray | None = None  # (k,)

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, tuple]:
        """(outputs (B, out_dim), V(s) (B,) or None, cache) for a batch x (B, obs_dim)."""
        features, trunk_cache = forward(self.trunk, x)  # (B, width)
        outputs, policy_cache = forward(self.policy, features)  # (B, out_dim - k)
        if self.extra is not None:
            outputs = np.concatenate(
                (outputs, np.broadcast_to(self.extra, (len(outputs), len(self.extra)))), axis=1)
        values = value_cache = None
        if self.value is not None:
            values, value_cache = forward(self.value, features)  # (B, 1)
            values = values[:, 0]
        return outputs, values, (trunk_cache, policy_cache, value_cache)

    def backward(self, cache: tuple, grad_outputs: np.ndarray,
                 grad_values: np.ndarray | None) -> None:
        """Write every parameter's gradient from dL/d outputs (B, out_dim) and dL/dV (B,)
        (None without a critic): the state-independent outputs get the sum over the batch,
        and a shared trunk gets what flows back from both heads."""
        trunk_cache, policy_cache, value_cache = cache
        k = 0 if self.extra is None else len(self.extra)
        if k:
            self.grad_extra[:] = grad_outputs[:, -k:].sum(axis=0)
        shared = bool(self.trunk)
        grad_features = backward(
            self.policy, policy_cache,
            np.ascontiguousarray(grad_outputs[:, : grad_outputs.shape[1] - k], np.float32),
            input_grad=shared)  # (B, width) or None
        if self.value is not None:
            grad_critic = backward(self.value, value_cache,
                                   np.asarray(grad_values, np.float32)[:, None],
                                   input_grad=shared)
            if shared:
                grad_features = grad_features + grad_critic
        if shared:
            backward(self.trunk, trunk_cache, grad_features, input_grad=False)


def hand_net(net, grads: dict[int, np.ndarray]) -> HandNet:
    """``net`` (a :class:`~pgcore.rl.networks.PolicyValueNet`) as a :class:`HandNet` whose
    gradients are the views ``grads`` (:attr:`FlatAdam.grads`)."""
    extra = grad_extra = None
    if net.state_independent is not None:
        extra = net.state_independent.detach().numpy()
        grad_extra = grads[id(net.state_independent)]
    value = None if net.value_head is None else layers_of(net.value_head, grads)
    return HandNet(layers_of(net.trunk, grads), layers_of(net.policy_head, grads), value,
                   extra, grad_extra)


# ----- Adam on flat buffers --------------------------------------------------------------------


class FlatAdam:
    """Adam (Kingma & Ba, 2015) on one flat buffer per parameter group, as numpy calls.

    Per element, at step t, with gradient g::

        m <- beta1 m + (1 - beta1) g            v <- beta2 v + (1 - beta2) g^2
        p <- p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    which is ``torch.optim.Adam`` without weight decay or amsgrad. Building it moves each
    group's parameters into one contiguous tensor (each ``nn.Parameter`` becomes a view of it,
    values unchanged), so the update is a dozen array operations per group however many
    tensors the group has. ``grads[id(p)]`` is parameter ``p``'s gradient view (numpy; the
    caller writes every element before each :meth:`step`). ``param_groups`` (``lr``,
    ``betas``, ``eps``, ``params``), :meth:`state_dict` and :meth:`load_state_dict` use
    ``torch.optim.Adam``'s layout, so a checkpoint moves between the two.
    """

    def __init__(self, groups: list[dict], betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8):
        self.param_groups = []
        self._flat = []  # per group: (params (torch, flat), grad, m, v, scratch (numpy))
        self.steps = 0
        for group in groups:
            params = list(group["params"])
            flat = flatten_params(params)
            self.param_groups.append({"params": params, "lr": float(group["lr"]),
                                      "betas": tuple(group.get("betas", betas)),
                                      "eps": float(group.get("eps", eps)),
                                      "weight_decay": 0.0, "amsgrad": False})
            grad = np.zeros(flat.numel(), np.float32)
            self._flat.append((flat, grad, np.zeros_like(grad), np.zeros_like(grad),
                               np.empty_like(grad)))
        self._index_grads()

    def _index_grads(self) -> None:
        self.grads: dict[int, np.ndarray] = {}
        for group, (_, grad, *_rest) in zip(self.param_groups, self._flat, strict=True):
            offset = 0
            for p in group["params"]:
                n = p.numel()
                self.grads[id(p)] = grad[offset:offset + n].reshape(p.shape)
                offset += n

    def __setstate__(self, state: dict) -> None:
        """After a copy (``copy.deepcopy`` of an agent): the copied parameters are new tensors
        with storage of their own, so each group is flattened again (values unchanged) and
        the gradient views are indexed again."""
        self.__dict__.update(state)
        self._flat = [(flatten_params(group["params"]), *rest)
                      for group, (_, *rest) in zip(self.param_groups, self._flat, strict=True)]
        self._index_grads()

    def flat_params(self, group: int = 0) -> torch.Tensor:
        """Group ``group``'s parameters as the one flat tensor they are views of."""
        return self._flat[group][0]

    def grad_norm(self) -> float:
        """The global L2 norm of all gradients (what ``clip_grad_norm_`` measures)."""
        return math.sqrt(sum(float(np.dot(g, g)) for _, g, *_rest in self._flat))

    def scale_grads(self, factor: float) -> None:
        for _, grad, *_rest in self._flat:
            grad *= factor

    def step(self) -> None:
        """One Adam step on every group from the current gradients."""
        self.steps += 1
        t = self.steps
        for group, (flat, g, m, v, tmp) in zip(self.param_groups, self._flat, strict=True):
            p = flat.numpy()  # the parameters' memory (a view: cheap, and right after a copy)
            beta1, beta2 = group["betas"]
            m *= beta1
            np.multiply(g, 1.0 - beta1, out=tmp)
            m += tmp  # m = beta1 m + (1 - beta1) g
            v *= beta2
            np.multiply(g, g, out=tmp)
            tmp *= 1.0 - beta2
            v += tmp  # v = beta2 v + (1 - beta2) g^2
            np.sqrt(v, out=tmp)
            tmp *= 1.0 / math.sqrt(1.0 - beta2 ** t)
            tmp += group["eps"]  # sqrt(v_hat) + eps
            np.divide(m, tmp, out=tmp)
            tmp *= group["lr"] / (1.0 - beta1 ** t)
            p -= tmp

    # ----- torch.optim.Adam's checkpoint layout -----------------------------------------------
    def state_dict(self) -> dict:
        state, index = {}, 0
        groups = []
        for group, (_, _, m, v, _) in zip(self.param_groups, self._flat, strict=True):
            offset, ids = 0, []
            for p in group["params"]:
                n = p.numel()
                if self.steps:
                    state[index] = {
                        "step": torch.tensor(float(self.steps)),
                        "exp_avg": torch.from_numpy(m[offset:offset + n].copy()).view_as(p),
                        "exp_avg_sq": torch.from_numpy(v[offset:offset + n].copy()).view_as(p)}
                ids.append(index)
                index += 1
                offset += n
            groups.append({k: val for k, val in group.items() if k != "params"} | {
                "params": ids})
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Load ``torch.optim.Adam``-layout state (ours or torch's); ``ValueError`` if it does
        not fit these groups."""
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError("optimizer state has another number of parameter groups")
        state = state_dict["state"]
        steps = {float(s["step"]) for s in state.values()} or {0.0}
        if len(steps) != 1:
            raise ValueError("optimizer state has parameters at different step counts")
        for saved, group, (_, _, m, v, _) in zip(groups, self.param_groups, self._flat,
                                                 strict=True):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError("optimizer state has another number of parameters")
            offset = 0
            for i, p in zip(saved["params"], group["params"], strict=True):
                n = p.numel()
                s = state.get(i)
                m[offset:offset + n] = 0.0 if s is None else _flat_of(s["exp_avg"], p)
                v[offset:offset + n] = 0.0 if s is None else _flat_of(s["exp_avg_sq"], p)
                offset += n
            group["lr"] = float(saved.get("lr", group["lr"]))
            group["betas"] = tuple(saved.get("betas", group["betas"]))
            group["eps"] = float(saved.get("eps", group["eps"]))
        self.steps = int(steps.pop())


def flatten_params(params: list[torch.Tensor]) -> torch.Tensor:
    """One contiguous tensor holding ``params``' values in order; each parameter becomes a
    view of its part (values unchanged)."""
    flat = torch.cat([p.detach().reshape(-1) for p in params]).contiguous()
    offset = 0
    for p in params:
        n = p.numel()
        p.data = flat[offset:offset + n].view_as(p)
        offset += n
    return flat


def _flat_of(tensor, param) -> np.ndarray:
    t = torch.as_tensor(tensor, dtype=torch.float32)
    if t.shape != param.shape:
        raise ValueError(f"optimizer state of shape {tuple(t.shape)} for a parameter of shape "
                         f"{tuple(param.shape)}")
    return t.reshape(-1).numpy()
