"""Gradient clipping: `clip_grad_norm_` and `clip_grad_value_` (torch.nn.utils's)."""
from __future__ import annotations

import math
from typing import Iterable

import numpy as np

import autograd_lite as ag


def _with_grads(parameters: ag.Tensor | Iterable[ag.Tensor]) -> list[ag.Tensor]:
    """The parameters (one Tensor or several) that have a gradient."""
    if isinstance(parameters, ag.Tensor):
        parameters = [parameters]
    return [p for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters: ag.Tensor | Iterable[ag.Tensor], max_norm: float,
                    norm_type: float = 2.0, error_if_nonfinite: bool = False) -> float:
    """Scale the gradients so that their joint ``norm_type``-norm is at most ``max_norm``.

    The total norm is that of all gradients concatenated into one vector (``inf``: the
    largest absolute value).  As in PyTorch, every gradient is multiplied by
    ``max_norm / (total_norm + 1e-6)`` when that is below 1, and left alone otherwise.
    Each clipped ``.grad`` is a new array (so gradients that share memory are scaled
    once).  Returns the total norm before clipping (0.0 without gradients); a NaN or
    infinite norm raises RuntimeError when ``error_if_nonfinite``.
    """
    params = _with_grads(parameters)
    if not params:
        return 0.0
    norm_type = float(norm_type)
    norms = [np.linalg.norm(p.grad.ravel(), ord=norm_type) for p in params]
    total = float(np.linalg.norm(np.array(norms, dtype=np.float64), ord=norm_type))
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} of the "
                           f"gradients is {total}, so they cannot be clipped (pass "
                           "error_if_nonfinite=False to scale them anyway)")
    clip_coef = float(max_norm) / (total + 1e-6)
    if clip_coef < 1.0:
        for p in params:
            p.grad = p.grad * clip_coef
    return total


def clip_grad_value_(parameters: ag.Tensor | Iterable[ag.Tensor], clip_value: float) -> None:
    """Clip every gradient element into ``[-clip_value, clip_value]`` (new arrays)."""
    clip_value = float(clip_value)
    for p in _with_grads(parameters):
        p.grad = np.clip(p.grad, -clip_value, clip_value)
