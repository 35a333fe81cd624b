"""Activation functions (``ag.gelu``, ``ag.leaky_relu``, ...), PyTorch's definitions.

Each is a table entry (the piecewise ones, which choose their piece from the values
inside the entry, so a compiled replay chooses again) or a short composite of entries;
every one is differentiable to any order.
Arguments are Tensors, arrays or scalars; the result keeps the input's shape and dtype.
"""
from __future__ import annotations

import math

from . import primitives as P
from .tensor import Tensor

_SQRT_HALF = math.sqrt(0.5)
_SQRT_TWO_OVER_PI = math.sqrt(2.0 / math.pi)


def erf(x) -> Tensor:
    """The error function ``2/sqrt(pi) * integral_0^x exp(-t^2) dt`` (Cody's rational
    approximations, float64-accurate); derivative ``2/sqrt(pi) exp(-x^2)``."""
    return P.erf(x)


def gelu(x, approximate: str = "none") -> Tensor:
    """``x * Phi(x)`` with Phi the standard normal CDF, ``0.5 x (1 + erf(x / sqrt 2))``;
    ``approximate="tanh"``: ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``."""
    if approximate == "none":
        return 0.5 * x * (1.0 + P.erf(x * _SQRT_HALF))
    if approximate == "tanh":
        return 0.5 * x * (1.0 + P.tanh(_SQRT_TWO_OVER_PI * (x + 0.044715 * (x * x * x))))
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def leaky_relu(x, negative_slope: float = 0.01) -> Tensor:
    """``x`` where ``x > 0``, else ``negative_slope * x`` (gradient ``negative_slope`` at 0)."""
    return P.leaky_relu(x, negative_slope=negative_slope)


def elu(x, alpha: float = 1.0) -> Tensor:
    """``x`` where ``x > 0``, else ``alpha * (exp(x) - 1)``."""
    return P.elu(x, alpha=alpha)


def silu(x) -> Tensor:
    """``x * sigmoid(x)`` (also called swish)."""
    return x * P.sigmoid(x)


def softplus(x, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + exp(beta x)) / beta``, and ``x`` itself where ``beta x > threshold``
    (where they agree to float64 precision), as PyTorch."""
    return P.softplus(x, beta=beta, threshold=threshold)


def mish(x) -> Tensor:
    """``x * tanh(softplus(x))``."""
    return x * P.tanh(softplus(x))


def hardtanh(x, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """``x`` clipped to ``[min_val, max_val]``; the gradient is 1 strictly inside and 0
    outside and on the bounds (PyTorch's convention)."""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val {min_val} is greater than max_val {max_val}")
    return P.hardtanh(x, min_val=min_val, max_val=max_val)
