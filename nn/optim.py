"""Optimizers updating parameters exactly as ``torch.optim`` does (same formulas, same order).

Updates run under ``ag.no_grad()``: the buffers are NumPy arrays of each parameter's
dtype and the parameter itself changes by an in-place Tensor operation (``p -= ...``),
which bumps its version so a graph recorded before the step cannot be backpropagated
silently wrong afterwards.  Parameters whose ``.grad`` is None are skipped.
"""
from __future__ import annotations

import math
from typing import Iterable

import numpy as np

import autograd_lite as ag


class Optimizer:
    """Holds the parameters (in order) and per-parameter state."""

    def __init__(self, params: Iterable[ag.Tensor], lr: float) -> None:
        name = type(self).__name__
        if isinstance(params, ag.Tensor):
            raise TypeError(f"{name} takes an iterable of parameters, got a single Tensor: "
                            "wrap it in a list")
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{name} got an empty parameter list")
        seen = set()
        for i, p in enumerate(self.params):
            if not isinstance(p, ag.Tensor):
                raise TypeError(f"{name}: parameter {i} is a {type(p).__name__}, not a Tensor "
                                "(pass model.parameters())")
            if not p.requires_grad or not p.is_leaf:
                raise ValueError(f"{name}: parameter {i} (shape {p.shape}) must be a leaf "
                                 "Tensor that requires grad, e.g. an nn.Parameter")
            if id(p) in seen:
                raise ValueError(f"{name}: parameter {i} appears twice in the list")
            seen.add(id(p))
        if not lr >= 0.0:
            raise ValueError(f"{name}: invalid learning rate {lr}")
        self.lr = lr
        self.state: list[dict] = [{} for _ in self.params]

    def zero_grad(self) -> None:
        """Set every parameter's ``.grad`` to None (PyTorch's default, set_to_none=True)."""
        for p in self.params:
            p.grad = None

    @ag.no_grad()
    def step(self) -> None:
        """Update every parameter that has a gradient."""
        for p, state in zip(self.params, self.state):
            if p.grad is not None:
                p -= self._update(p.data, p.grad, state)

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict) -> np.ndarray:
        """The amount to subtract from ``param``."""
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, Nesterov and weight decay.

    Per parameter (torch.optim.SGD): ``g = grad + weight_decay * p``; with momentum,
    ``buf = g`` on the first step, then ``buf = momentum * buf + (1 - dampening) * g``,
    and ``g = g + momentum * buf`` (Nesterov) or ``g = buf``; finally ``p -= lr * g``.
    """

    def __init__(self, params: Iterable[ag.Tensor], lr: float, momentum: float = 0.0,
                 nesterov: bool = False, weight_decay: float = 0.0,
                 dampening: float = 0.0) -> None:
        super().__init__(params, lr)
        if momentum < 0.0 or weight_decay < 0.0:
            raise ValueError(f"SGD: momentum ({momentum}) and weight_decay ({weight_decay}) "
                             "must be >= 0")
        if nesterov and (momentum <= 0.0 or dampening != 0.0):
            raise ValueError("SGD: Nesterov momentum needs momentum > 0 and dampening 0")
        self.momentum, self.nesterov = momentum, nesterov
        self.weight_decay, self.dampening = weight_decay, dampening

    def _update(self, param, grad, state):
        if self.weight_decay != 0.0:
            grad = grad + self.weight_decay * param
        if self.momentum != 0.0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = grad.copy()
            else:
                buf *= self.momentum
                buf += (1.0 - self.dampening) * grad
            grad = grad + self.momentum * buf if self.nesterov else buf
        return self.lr * grad


class Adam(Optimizer):
    """Adam with bias correction; ``weight_decay`` is added to the gradient (L2, as
    torch.optim.Adam, not AdamW).

    Per parameter, at step t: ``g = grad + weight_decay * p``; ``m += (1 - b1)(g - m)``;
    ``v = b2 v + (1 - b2) g^2``; ``p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)``.
    """

    def __init__(self, params: Iterable[ag.Tensor], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        if not all(0.0 <= b < 1.0 for b in betas) or eps < 0.0 or weight_decay < 0.0:
            raise ValueError(f"Adam: invalid betas {betas}, eps {eps} or weight_decay "
                             f"{weight_decay}")
        self.betas, self.eps, self.weight_decay = tuple(betas), eps, weight_decay

    def _update(self, param, grad, state):
        beta1, beta2 = self.betas
        if not state:
            state.update(step=0, exp_avg=np.zeros_like(param), exp_avg_sq=np.zeros_like(param))
        state["step"] += 1
        step, m, v = state["step"], state["exp_avg"], state["exp_avg_sq"]
        if self.weight_decay != 0.0:
            grad = grad + self.weight_decay * param
        m += (1.0 - beta1) * (grad - m)  # torch's lerp_(grad, 1 - beta1)
        v *= beta2
        v += (1.0 - beta2) * grad * grad
        step_size = self.lr / (1.0 - beta1 ** step)
        denom = np.sqrt(v) / math.sqrt(1.0 - beta2 ** step) + self.eps
        return step_size * m / denom
