"""RMSprop (torch.optim.RMSprop)."""
from __future__ import annotations

from typing import Any

import numpy as np

from .optimizer import Optimizer, ParamsT, check_nonnegative, lerp_


class RMSprop(Optimizer):
    """Divides the gradient by a running root mean square of recent gradients.

    Per parameter (torch.optim.RMSprop): ``g = grad + weight_decay * p``;
    ``s = alpha s + (1 - alpha) g^2``; centered: ``a = lerp(a, g, 1 - alpha)`` and
    ``avg = sqrt(s - a^2) + eps``, else ``avg = sqrt(s) + eps``; with momentum,
    ``buf = momentum buf + g / avg`` and ``p -= lr buf``, else ``p -= lr g / avg``.
    State: ``step``, ``square_avg`` (and ``momentum_buffer``, ``grad_avg``).
    """

    def __init__(self, params: ParamsT, lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum: float = 0.0,
                 centered: bool = False, *, maximize: bool = False) -> None:
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, maximize=maximize))

    def _check_group(self, group: dict[str, Any]) -> None:
        check_nonnegative("RMSprop", group, "alpha", "eps", "momentum", "weight_decay")

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any], private: bool = False) -> np.ndarray:
        alpha, momentum = group["alpha"], group["momentum"]
        if not state:
            state.update(step=0, square_avg=np.zeros_like(param))
        state["step"] += 1
        if group["weight_decay"] != 0.0:
            grad = grad + group["weight_decay"] * param
        square_avg = state["square_avg"]
        square_avg *= alpha
        square_avg += (1.0 - alpha) * grad * grad
        if group["centered"]:
            grad_avg = state.setdefault("grad_avg", np.zeros_like(param))
            lerp_(grad_avg, grad, 1.0 - alpha)
            avg = np.sqrt(square_avg - grad_avg * grad_avg)
        else:
            avg = np.sqrt(square_avg)
        avg += group["eps"]
        if momentum > 0.0:
            buf = state.setdefault("momentum_buffer", np.zeros_like(param))
            buf *= momentum
            buf += grad / avg
            return group["lr"] * buf
        return group["lr"] * grad / avg
