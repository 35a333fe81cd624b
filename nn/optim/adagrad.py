"""Adagrad (torch.optim.Adagrad)."""
from __future__ import annotations

from typing import Any

import numpy as np

from .optimizer import Optimizer, ParamsT, check_nonnegative


class Adagrad(Optimizer):
    """Divides the gradient by the root of the sum of all squared gradients so far.

    Per parameter, at step t (torch.optim.Adagrad): ``g = grad + weight_decay * p``;
    ``clr = lr / (1 + (t - 1) lr_decay)``; ``sum += g^2`` (starting from
    ``initial_accumulator_value``); ``p -= clr g / (sqrt(sum) + eps)``.
    State: ``step``, ``sum``.
    """

    def __init__(self, params: ParamsT, lr: float = 1e-2, lr_decay: float = 0.0,
                 weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
                 eps: float = 1e-10, *, maximize: bool = False) -> None:
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      eps=eps, maximize=maximize))

    def _check_group(self, group: dict[str, Any]) -> None:
        check_nonnegative("Adagrad", group, "lr_decay", "weight_decay",
                          "initial_accumulator_value", "eps")

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any], private: bool = False) -> np.ndarray:
        if not state:
            state.update(step=0, sum=np.full_like(param, group["initial_accumulator_value"]))
        state["step"] += 1
        if group["weight_decay"] != 0.0:
            grad = grad + group["weight_decay"] * param
        clr = group["lr"] / (1.0 + (state["step"] - 1) * group["lr_decay"])
        total = state["sum"]
        total += grad * grad
        std = np.sqrt(total)
        std += group["eps"]
        return clr * grad / std
