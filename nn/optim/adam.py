"""Adam and AdamW (torch.optim.Adam, torch.optim.AdamW)."""
from __future__ import annotations

from typing import Any

import numpy as np

from .optimizer import Optimizer, ParamsT, lerp_


class Adam(Optimizer):
    """Adam with bias correction; ``weight_decay`` is added to the gradient (L2, as
    torch.optim.Adam; see `AdamW` for the decoupled form).

    Per parameter, at step t (torch's order of operations): ``g = grad + weight_decay * p``;
    ``m = lerp(m, g, 1 - b1)``; ``v = b2 v + (1 - b2) g^2``; with ``amsgrad``,
    ``v_max = max(v_max, v)`` replaces v below;
    ``p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)``.
    State: ``step``, ``exp_avg``, ``exp_avg_sq`` (and ``max_exp_avg_sq``).
    """

    _decoupled = False  # AdamW: decay the parameter itself, not the gradient

    def __init__(self, params: ParamsT, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize))

    def _check_group(self, group: dict[str, Any]) -> None:
        betas, eps, weight_decay = group["betas"], group["eps"], group["weight_decay"]
        if (len(betas) != 2 or not all(0.0 <= b < 1.0 for b in betas) or eps < 0.0
                or weight_decay < 0.0):
            raise ValueError(f"{type(self).__name__}: invalid betas {betas}, eps {eps} or "
                             f"weight_decay {weight_decay}")

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any], private: bool = False) -> np.ndarray:
        (beta1, beta2), lr, weight_decay = group["betas"], group["lr"], group["weight_decay"]
        if not state:
            state.update(step=0, exp_avg=np.zeros_like(param), exp_avg_sq=np.zeros_like(param))
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(param)
        state["step"] += 1
        step, m, v = state["step"], state["exp_avg"], state["exp_avg_sq"]
        if weight_decay != 0.0:
            if self._decoupled:
                param *= 1.0 - lr * weight_decay  # the array of the Tensor `step` then bumps
            else:
                grad = grad + weight_decay * param
        lerp_(m, grad, 1.0 - beta1)
        v *= beta2
        v += (1.0 - beta2) * grad * grad
        if group["amsgrad"]:
            v = np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
        step_size = lr / (1.0 - beta1 ** step)
        denom = np.sqrt(v) / (1.0 - beta2 ** step) ** 0.5 + group["eps"]
        return step_size * m / denom


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter; torch.optim.AdamW): each step
    first scales the parameter by ``1 - lr * weight_decay``, then applies Adam's update
    without weight decay.  Note the default ``weight_decay=1e-2``.
    """

    _decoupled = True

    def __init__(self, params: ParamsT, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)
