"""Activation modules over ``ag``'s functions: GELU, LeakyReLU, ELU, SiLU, Softplus, Mish,
Hardtanh (PyTorch's names, arguments and definitions; no parameters)."""
from __future__ import annotations

import autograd_lite as ag

from .module import Module, TensorLike


class GELU(Module):
    """``x * Phi(x)`` (exact, with erf) or its ``approximate="tanh"`` form."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x: TensorLike) -> TensorLike:
        return ag.gelu(x, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class LeakyReLU(Module):
    """``x`` for ``x > 0``, else ``negative_slope * x``."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = float(negative_slope)

    def forward(self, x: TensorLike) -> TensorLike:
        return ag.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class ELU(Module):
    """``x`` for ``x > 0``, else ``alpha * (exp(x) - 1)``."""

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = float(alpha)

    def forward(self, x: TensorLike) -> TensorLike:
        return ag.elu(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class SiLU(Module):
    """``x * sigmoid(x)``."""

    def forward(self, x: TensorLike) -> TensorLike:
        return ag.silu(x)


class Softplus(Module):
    """``log(1 + exp(beta x)) / beta``, linear where ``beta x > threshold``."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta, self.threshold = float(beta), float(threshold)

    def forward(self, x: TensorLike) -> TensorLike:
        return ag.softplus(x, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Mish(Module):
    """``x * tanh(softplus(x))``."""

    def forward(self, x: TensorLike) -> TensorLike:
        return ag.mish(x)


class Hardtanh(Module):
    """``x`` clipped to ``[min_val, max_val]`` (gradient 1 strictly inside)."""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0) -> None:
        super().__init__()
        if min_val > max_val:
            raise ValueError(f"Hardtanh: min_val {min_val} is greater than max_val {max_val}")
        self.min_val, self.max_val = float(min_val), float(max_val)

    def forward(self, x: TensorLike) -> TensorLike:
        return ag.hardtanh(x, self.min_val, self.max_val)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}"
