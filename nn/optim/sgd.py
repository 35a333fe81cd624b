"""Stochastic gradient descent (torch.optim.SGD)."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

import autograd_lite as ag

from .optimizer import Optimizer, ParamsT, check_nonnegative


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, Nesterov and weight decay.

    Per parameter (torch.optim.SGD): ``g = grad + weight_decay * p``; with momentum,
    ``buf = g`` on the first step, then ``buf = momentum * buf + (1 - dampening) * g``,
    and ``g = g + momentum * buf`` (Nesterov) or ``g = buf``; finally ``p -= lr * g``.
    ``maximize=True`` ascends (uses ``-grad``).  State: ``momentum_buffer``.
    """

    def __init__(self, params: ParamsT, lr: float = 1e-3, momentum: float = 0.0,
                 nesterov: bool = False, weight_decay: float = 0.0, dampening: float = 0.0,
                 *, maximize: bool = False) -> None:
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize))

    def _check_group(self, group: dict[str, Any]) -> None:
        check_nonnegative("SGD", group, "momentum", "weight_decay")
        if group["nesterov"] and (group["momentum"] <= 0.0 or group["dampening"] != 0.0):
            raise ValueError("SGD: Nesterov momentum needs momentum > 0 and dampening 0")

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """`Optimizer.step`; when no group uses momentum, weight decay or ``maximize`` (plain
        SGD, what small models run every step), a loop over the parameters' arrays alone:
        ``p -= lr * grad`` (in place, bumping the version) with no per-parameter state."""
        if any(g["momentum"] != 0.0 or g["weight_decay"] != 0.0 or g["maximize"]
               for g in self.param_groups):
            return super().step(closure)
        loss = None
        if closure is not None:
            with ag.enable_grad():
                loss = closure()
        with ag.no_grad():
            for group in self.param_groups:
                lr = group["lr"]
                for p in group["params"]:
                    grad = p.grad
                    if grad is not None:
                        p -= lr * grad
        return loss

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any], private: bool = False) -> np.ndarray:
        weight_decay, momentum = group["weight_decay"], group["momentum"]
        if weight_decay != 0.0:
            grad = grad + weight_decay * param
            private = True
        if momentum != 0.0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = grad.copy()
            else:
                buf *= momentum
                buf += (1.0 - group["dampening"]) * grad
            if group["nesterov"]:
                grad = grad + momentum * buf
                private = True
            else:
                grad, private = buf, False  # the state: scaling it would corrupt the buffer
        if private:  # nobody else reads it: scale in place (the same products as lr * grad)
            grad *= group["lr"]
            return grad
        return group["lr"] * grad
